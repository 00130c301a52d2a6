#!/usr/bin/env bash
# How far appends from many application nodes can go, measured with pgbench from 16 connections
# (16 nodes of one thread each) next to raw one-row commits in the same run:
#   - queued:      en57.append + en57.await_append as shipped;
#   - free-writer: the same, with the lock holder's writing made free (it stores nothing), which
#                  leaves the cost of the queue itself: the ceiling of this design;
#   - per-key:     a prototype append under a lock on its tag only, with no global order.
# Rounds are interleaved; medians are printed with their ratio to the raw rate.
#
# Usage: en57-bench/pgbench/across-nodes-ceiling.sh [rounds] [seconds]
# The server comes from the libpq environment (PGHOST, PGPORT, PGUSER; default 127.0.0.1:5432,
# postgres); the user must be able to create databases. It makes the database en57_ceiling, migrates
# it with the CLI (en57-cli/target/en57.jar, built by ./mvnw -DskipTests package) and drops it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
rounds=${1:-3}
seconds=${2:-8}
export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-postgres}
pg_bin=${PG_BIN:-$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)}
db=en57_ceiling

PGOPTIONS="-c client_min_messages=warning" psql -qX -d postgres -c "DROP DATABASE IF EXISTS $db" \
  -c "CREATE DATABASE $db"
trap 'psql -qX -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"' EXIT
DATABASE_URL="postgres://$PGUSER@$PGHOST:$PGPORT/$db" \
  java -jar "$here/../../en57-cli/target/en57.jar" migrate >/dev/null
psql -qX -d $db -v ON_ERROR_STOP=1 -f "$here/setup.sql"
shipped_writer=$(psql -qAtX -d $db -c "SELECT pg_get_functiondef('en57.write_queued_together'::regproc)")

rate() { # script -> transactions per second
  psql -qX -d $db -c "VACUUM en57.append_queue, en57.append_outcomes" >/dev/null
  "$pg_bin/pgbench" -n -c 16 -j 2 -T "$seconds" -f "$here/$1" $db 2>/dev/null |
    sed -n 's/^tps = \([0-9]*\).*/\1/p'
}
median() { printf '%s\n' "$@" | sort -n | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : int((v[NR/2] + v[NR/2+1]) / 2)}'; }

raw=(); queued=(); free_writer=(); per_key=()
for round in $(seq 1 "$rounds"); do
  raw+=("$(rate raw-commit.sql)")
  queued+=("$(rate queued-append.sql)")
  psql -qX -d $db -c "SELECT ceiling.free_writer()" -At | psql -qX -d $db >/dev/null
  free_writer+=("$(rate queued-append.sql)")
  printf '%s\n' "$shipped_writer" ";" | psql -qX -d $db >/dev/null
  per_key+=("$(rate per-key-append.sql)")
  echo "round $round: raw ${raw[-1]}, queued ${queued[-1]}, free-writer ${free_writer[-1]}, per-key ${per_key[-1]}"
done
r=$(median "${raw[@]}")
for name in queued free_writer per_key; do
  declare -n runs=$name
  awk -v name="${name/_/-}" -v m="$(median "${runs[@]}")" -v r="$r" \
    'BEGIN {printf "%-12s %6d appends/s  %.2f x raw (%d one-row commits/s)\n", name, m, m / r, r}'
done
