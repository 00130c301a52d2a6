#!/usr/bin/env bash
# How far appends from many application nodes can go, measured with pgbench next to raw one-row
# commits from 16 connections in the same run:
#   - 16 nodes x 1 thread: 16 connections, one append a call:
#       queued:       en57.append + en57.await_append as shipped;
#       free-writer:  the same, with the lock holder's writing made free (it stores nothing), which
#                     leaves the cost of the queue itself: the ceiling of this design;
#       async-commit: as shipped, but committing under the lock without waiting for the WAL flush,
#                     the wait for durability moved after it (async-commit-group.sql);
#       per-key:      a prototype append under a lock on its tag only, with no global order;
#       per-key-registered: the same, registering each drawn position for a reader's horizon;
#   - 16 nodes x 1 thread making decisions: a read of a tag's events, then the append:
#       queued:       as shipped;
#       per-key:      the registered prototype, its read without a horizon (not gap-safe);
#       per-key-horizon: the same, the read stopping at a gap-safe horizon (ceiling.horizon);
#   - the snapshot prototype (ceiling.append_snapshot), 16 nodes x 1, with its sequencer giving
#     positions beside the writers (one session, every 2 ms): appends, and decisions whose
#     condition is their read's snapshot;
#   - 4 nodes x 4 threads: 4 connections, groups of 4 appends a call (as each node's group commit
#     makes them), as shipped, with the flush after the lock, and with the free writer;
#   - 1 node x 16 threads: 1 connection, groups of 16 appends a call, as shipped.
# Rounds are interleaved; medians are printed in appends/s with their ratio to the raw rate.
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
shipped_definition=$(psql -qAtX -d $db -c "SELECT pg_get_functiondef('en57.write_queued_together'::regproc)")

rate() { # script connections appends-per-call -> appends per second
  psql -qX -d $db -c "VACUUM en57.append_queue, en57.append_outcomes" >/dev/null
  "$pg_bin/pgbench" -n -c "$2" -j "$(( $2 < 2 ? 1 : 2 ))" -T "$seconds" -D appends="$3" \
    -f "$here/$1" $db \
    2>/dev/null | sed -n 's/^tps = \([0-9]*\).*/\1/p' | awk -v n="$3" '{print $1 * n}'
}
median() { printf '%s\n' "$@" | sort -n | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : int((v[NR/2] + v[NR/2+1]) / 2)}'; }
sequenced_rate() { # script -> appends per second with the sequencer running beside 16 writers
  PGOPTIONS="-c statement_timeout=$(( seconds + 5 ))s" psql -qX -d $db -c "DO \$\$ BEGIN LOOP
    PERFORM ceiling.sequence_events(); COMMIT; PERFORM pg_sleep(0.002); END LOOP; END \$\$" \
    >/dev/null 2>&1 &
  local sequencer=$!
  rate "$1" 16 1
  psql -qX -d $db -c "SELECT pg_cancel_backend(pid) FROM pg_stat_activity
    WHERE query LIKE 'DO %sequence_events%' AND pid <> pg_backend_pid()" >/dev/null
  wait $sequencer || true
}
unsequenced() { # how many events the sequencer had not reached; then it reaches them
  psql -qAtX -d $db -c "SELECT count(*) FROM ceiling.s_events WHERE position IS NULL"
  psql -qAtX -d $db -c "SELECT ceiling.sequence_events()" >/dev/null
}
free_writer() { psql -qX -d $db -v ON_ERROR_STOP=1 -f "$here/free-writer.sql" >/dev/null; }
shipped_writer() { printf '%s\n;\n' "$shipped_definition" | psql -qX -d $db -v ON_ERROR_STOP=1 >/dev/null; }

names=(raw queued_16x1 free_writer_16x1 async_commit_16x1 per_key_16x1 per_key_registered_16x1
       queued_decisions_16x1 per_key_decisions_16x1 per_key_horizon_decisions_16x1
       snapshot_16x1 snapshot_decisions_16x1
       queued_4x4 async_commit_4x4 free_writer_4x4 shipped_1x16)
declare -A runs
for round in $(seq 1 "$rounds"); do
  declare -A now=(
    [raw]=$(rate raw-commit.sql 16 1)
    [queued_16x1]=$(rate queued-group.sql 16 1)
    [queued_4x4]=$(rate queued-group.sql 4 4)
    [async_commit_16x1]=$(rate async-commit-group.sql 16 1)
    [async_commit_4x4]=$(rate async-commit-group.sql 4 4)
    [shipped_1x16]=$(rate queued-group.sql 1 16)
    [per_key_16x1]=$(rate per-key-append.sql 16 1)
    [per_key_registered_16x1]=$(rate per-key-registered-append.sql 16 1)
    [queued_decisions_16x1]=$(rate queued-decision.sql 16 1)
    [per_key_decisions_16x1]=$(rate per-key-decision.sql 16 1)
    [per_key_horizon_decisions_16x1]=$(rate per-key-horizon-decision.sql 16 1))
  now[snapshot_16x1]=$(sequenced_rate snapshot-append.sql)
  left_after_appends=$(unsequenced)
  now[snapshot_decisions_16x1]=$(sequenced_rate snapshot-decision.sql)
  left_after_decisions=$(unsequenced)
  free_writer
  now[free_writer_16x1]=$(rate queued-group.sql 16 1)
  now[free_writer_4x4]=$(rate queued-group.sql 4 4)
  shipped_writer
  line="round $round:"
  for name in "${names[@]}"; do
    runs[$name]+=" ${now[$name]}"
    line+=" $name ${now[$name]}"
  done
  echo "$line (left unsequenced when the writers stopped: $left_after_appends, $left_after_decisions)"
done
r=$(median ${runs[raw]})
for name in "${names[@]:1}"; do
  awk -v name="$name" -v m="$(median ${runs[$name]})" -v r="$r" \
    'BEGIN {printf "%-31s %6d appends/s  %.2f x raw (%d one-row commits/s from 16 connections)\n", name, m, m / r, r}'
done
