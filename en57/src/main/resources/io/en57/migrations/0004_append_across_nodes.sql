-- Appends from every application node commit together, and bulk appends cost less.
--
-- Every append still takes the one append lock, checks its condition under it, inserts and
-- commits, so positions stay dense and in commit order. What changes is who does the writing when
-- the lock is busy. Before, each session waited for the lock and then wrote and committed its own
-- appends, so separate application nodes (separate stores, separate pools) committed one after the
-- other, each paying a WAL flush under the lock. Now a session that finds the lock busy queues its
-- group of appends and waits; whoever holds the lock writes every queued group in its own
-- transaction, with one flush for all, and leaves each group's outcome for its session to collect.
-- A session whose group was not taken by then takes the lock itself and writes what is queued.
--
-- One database may hold several logs, each in a schema of its own, and their locks must not meet:
-- a shared append lock would make independent logs wait for each other, and a shared ticket lock
-- would make one log's lock holder take another log's waiting session for its own. So each log's
-- advisory locks carry its key, the oid of its schema (en57.log_key()): the append lock is
-- (1164850487, log key), replacing the (1164850487, 1) of migration 0001 that every log shared.
--
-- Waiting sessions must wake when the lock holder commits without standing in the way of the next
-- one: each tenure of the append lock also takes a lock of its own, (1164850490, key), and
-- publishes its key in the unlogged sequence en57.append_tenure (sequences are not transactional,
-- so it is visible at once); a waiting session reads the key and waits for that lock in shared
-- mode. The next lock holder takes another key, so it never waits for the sessions that are waking
-- up. The key is the tenure's transaction id, which no other transaction has, so other logs' tenures
-- never share it (one transaction holding the append locks of two logs is one tenure of both).
-- The queue and the outcomes are unlogged tables: a queued group is worth nothing after a crash
-- (its session is gone too), so queuing costs no WAL flush. A session keeps a lock on its ticket
-- (advisory lock (log key, ticket)) while it waits; a group whose session is gone (killed, its
-- caller told that the outcome is unknown) is dropped, not written later.
CREATE UNLOGGED SEQUENCE en57.append_tenure;

-- This log's key in its advisory locks: the oid of its schema, unique in the database, as an int
-- with the same bits (pg_locks shows it as the oid again). One SELECT without FROM, without a SET
-- clause, so that PostgreSQL inlines it where it is called; the literal cast to regnamespace is
-- resolved when the caller's statement is parsed, so the key is a constant in the caller's plan.
-- (Written as a catalog query, it ran as a function call that parsed and planned its body at every
-- call: about a fifth of the lock holder's time.)
CREATE FUNCTION en57.log_key() RETURNS int
LANGUAGE sql STABLE
AS $$
  SELECT (('en57'::regnamespace::pg_catalog.oid::bigint + 2147483648) % 4294967296 - 2147483648)::int
$$;

-- Takes the lock of this tenure of the append lock, and publishes its key; the caller holds the
-- append lock. The key comes from the transaction id: each tenure is one transaction.
CREATE FUNCTION en57.begin_tenure() RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_key int := (pg_current_xact_id()::text::bigint % 2147483647)::int;
BEGIN
  PERFORM pg_advisory_xact_lock(1164850490, v_key);
  PERFORM setval('en57.append_tenure', v_key);
END;
$$;

CREATE UNLOGGED TABLE en57.append_queue (
  ticket        bigserial   PRIMARY KEY,
  queued_at     timestamptz NOT NULL DEFAULT now(),
  event_request int[]       NOT NULL,
  ids           uuid[]      NOT NULL,
  types         text[]      NOT NULL,
  data          jsonb       NOT NULL,
  meta          jsonb       NOT NULL,
  tag_bounds    int[]       NOT NULL,
  tags          text[]      NOT NULL,
  criteria      jsonb       NOT NULL,
  dependencies  int[]       NOT NULL,
  request_count int         NOT NULL
);

CREATE UNLOGGED TABLE en57.append_outcomes (
  ticket             bigint      PRIMARY KEY,
  decided_at         timestamptz NOT NULL DEFAULT now(),
  base               bigint,
  statuses           int[],
  conflict_positions bigint[],
  error_state        text,
  error_message      text
);

-- Writes one group of appends; the caller holds the append lock.
--
-- Events arrive as parallel arrays in request order: p_event_request gives each event's request
-- (1-based); p_data and p_meta are JSON arrays with one document per event (meta null when the
-- event has none), parsed once for the whole group; p_tags holds every event's tags one after the
-- other, event i's being p_tags[p_tag_bounds[i] + 1 : p_tag_bounds[i + 1]]. p_criteria holds the
-- conditions as [{"r": request, "a": after, "ty": [types], "tg": [tags]}]. p_dependencies lists
-- pairs (request k, earlier request j) where j's events match k's condition, sorted by k: the
-- caller computes those, because only it knows the group's events before they are stored.
--
-- Each request gets a status: 0 stored, 1 condition matched, 2 an event id is already stored
-- (only looked for with p_probe_ids; otherwise the unique index refuses the statement), 3 a
-- condition's "after" is beyond the head. Stored requests get consecutive positions from base + 1
-- in request order; conflict_positions holds, per request, the latest stored event matching its
-- condition; positions holds each event's position, null when its request was not stored.
--
-- Every statement here must stay cheap under a generic plan, which PL/pgSQL adopts after a few
-- calls with row estimates that know nothing of the arguments: no joins between sets unnested
-- from the arguments (a misestimated nested loop over them is quadratic), every look-up in the log
-- is a LIMITed lateral subquery, which can only be an index probe, and the arguments are reached by
-- subscript.
CREATE FUNCTION en57.write_group(
  p_event_request int[],
  p_ids           uuid[],
  p_types         text[],
  p_data          jsonb,
  p_meta          jsonb,
  p_tag_bounds    int[],
  p_tags          text[],
  p_criteria      jsonb,
  p_dependencies  int[],
  p_request_count int,
  p_probe_ids     boolean,
  OUT base               bigint,
  OUT statuses           int[],
  OUT conflict_positions bigint[],
  OUT positions          bigint[])
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
-- The condition check's cost estimate (generic, for a hundred criteria) can pass jit_above_cost,
-- and compiling it takes ten milliseconds, under the lock, for a query that runs in a hundred
-- microseconds.
SET jit = off
AS $$
DECLARE
  v_row record;
  k int;
  j int;
BEGIN
  statuses := array_fill(0, ARRAY[p_request_count]);
  conflict_positions := array_fill(NULL::bigint, ARRAY[p_request_count]);
  -- In READ COMMITTED every statement takes a fresh snapshot, so from here on this sees every
  -- append committed before the lock was granted (and the groups this transaction wrote before).
  base := (SELECT coalesce(max(e.position), 0) FROM en57.events e);

  IF p_probe_ids THEN
    FOR k IN
      SELECT DISTINCT p_event_request[x.i]
        FROM unnest(p_ids) WITH ORDINALITY AS x(id, i)
       CROSS JOIN LATERAL (SELECT 1 FROM en57.events e WHERE e.id = x.id LIMIT 1) stored
    LOOP
      statuses[k] := 2;
    END LOOP;
  END IF;

  IF p_criteria <> '[]'::jsonb THEN
    FOR v_row IN
      SELECT c.r AS request, bool_or(c.a > base) AS beyond_head, max(hit.position) AS conflict
      FROM jsonb_to_recordset(p_criteria) AS c(r int, a bigint, ty text[], tg text[])
      LEFT JOIN LATERAL (
        (SELECT t.position
           FROM en57.event_tags t JOIN en57.events e ON e.position = t.position
          WHERE cardinality(c.tg) > 0 AND t.tag = c.tg[1] AND t.position > c.a
            AND (cardinality(c.ty) = 0 OR e.type = ANY (c.ty)) AND e.tags @> c.tg
          ORDER BY t.position DESC LIMIT 1)
        UNION ALL
        (SELECT latest.position
           FROM unnest(c.ty) AS ty(name)
          CROSS JOIN LATERAL (
            -- A row comparison, not "type = name", so that only the (type, position) index can
            -- deliver this order: otherwise the planner may walk the primary key backwards and
            -- filter on type, which crosses the whole log for a type with no recent events.
            SELECT e.position FROM en57.events e
             WHERE (e.type, e.position) > (ty.name, c.a)
               AND (e.type, e.position) < (ty.name, 9223372036854775807)
             ORDER BY e.type DESC, e.position DESC LIMIT 1) latest
          WHERE cardinality(c.tg) = 0)
        UNION ALL
        (SELECT base WHERE cardinality(c.tg) = 0 AND cardinality(c.ty) = 0 AND base > c.a)
      ) hit ON true
      GROUP BY c.r
    LOOP
      IF v_row.beyond_head THEN
        statuses[v_row.request] := 3;
      ELSIF v_row.conflict IS NOT NULL AND statuses[v_row.request] = 0 THEN
        statuses[v_row.request] := 1;
        conflict_positions[v_row.request] := v_row.conflict;
      END IF;
    END LOOP;
  END IF;

  FOR i IN 1 .. coalesce(array_length(p_dependencies, 1), 0) / 2 LOOP
    k := p_dependencies[2 * i - 1];
    j := p_dependencies[2 * i];
    IF statuses[k] = 0 AND statuses[j] = 0 THEN
      statuses[k] := 1;
    END IF;
  END LOOP;

  -- Each event's position, or null when its request is not stored.
  positions := ARRAY(
    SELECT CASE WHEN statuses[x.r] = 0
                THEN base + count(*) FILTER (WHERE statuses[x.r] = 0) OVER (ORDER BY x.i) END
      FROM unnest(p_event_request) WITH ORDINALITY AS x(r, i)
     ORDER BY x.i);

  INSERT INTO en57.events (position, id, type, data, meta, tags)
  SELECT positions[i], p_ids[i], p_types[i], p_data -> (i - 1),
         nullif(p_meta -> (i - 1), 'null'::jsonb),
         p_tags[p_tag_bounds[i] + 1 : p_tag_bounds[i + 1]]
    FROM generate_subscripts(p_ids, 1) AS i
   WHERE positions[i] IS NOT NULL;

  INSERT INTO en57.event_tags (tag, position)
  SELECT t.tag, positions[i]
    FROM generate_subscripts(p_ids, 1) AS i
   CROSS JOIN LATERAL unnest(p_tags[p_tag_bounds[i] + 1 : p_tag_bounds[i + 1]]) AS t(tag)
   WHERE positions[i] IS NOT NULL;
END;
$$;

-- The key of the lock a waiting session holds on its ticket. Arithmetic on its argument only, so
-- it needs no search_path of its own, and without one PostgreSQL inlines it into the caller's
-- statements (a function call per ticket showed in the lock holder's profile).
CREATE FUNCTION en57.ticket_key(p_ticket bigint) RETURNS int
LANGUAGE sql IMMUTABLE
AS $$ SELECT (p_ticket % 2147483647)::int $$;

-- Writes queued groups as one: their requests renumbered one after the other, each group's
-- dependencies kept and those between groups added (an earlier group's events that match a later
-- group's condition), so that one call of en57.write_group decides them all, in queue order, as
-- if they had been written one by one. Records each group's outcome for its session: its base
-- (positions before its first stored event), its statuses and its conflict positions, where a
-- conflict with an earlier group's events is the latest event of that group it depends on (the
-- group's session reads the conflicting events at or before it, all committed by then).
CREATE FUNCTION en57.write_queued_together(p_groups en57.append_queue[]) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
  q en57.append_queue;
  g int;
  k int;
  v_requests int := 0;
  v_event_request int[] := '{}';
  v_ids uuid[] := '{}';
  v_types text[] := '{}';
  v_data jsonb := '[]';
  v_meta jsonb := '[]';
  v_tag_bounds int[] := '{0}';
  v_tags text[] := '{}';
  v_criteria jsonb := '[]';
  v_dependencies int[];
  v_group_of_request int[] := '{}';
  v_first_request int[] := '{}';
  v_written record;
  v_statuses int[];
  v_latest bigint;
  v_positions bigint[];
  v_conflicts bigint[];
  v_match_request int[];
  v_match_event int[];
  v_base bigint;
BEGIN
  FOR g IN 1 .. cardinality(p_groups) LOOP
    q := p_groups[g];
    v_first_request := v_first_request || (v_requests + 1);
    v_event_request := v_event_request || ARRAY(SELECT r + v_requests FROM unnest(q.event_request) r);
    v_ids := v_ids || q.ids;
    v_types := v_types || q.types;
    v_data := v_data || q.data;
    v_meta := v_meta || q.meta;
    v_tag_bounds := v_tag_bounds
                    || ARRAY(SELECT b + cardinality(v_tags) FROM unnest(q.tag_bounds[2:]) b);
    v_tags := v_tags || q.tags;
    v_criteria := v_criteria
                  || coalesce((SELECT jsonb_agg(jsonb_set(c, '{r}', to_jsonb((c->>'r')::int + v_requests)))
                                 FROM jsonb_array_elements(q.criteria) c), '[]'::jsonb);
    v_group_of_request := v_group_of_request || array_fill(g, ARRAY[q.request_count]);
    v_requests := v_requests + q.request_count;
  END LOOP;

  -- Every event of an earlier group that matches a later group's condition: (request, event).
  SELECT coalesce(array_agg(c.r ORDER BY c.r, e.i), '{}'),
         coalesce(array_agg(e.i ORDER BY c.r, e.i), '{}')
    INTO v_match_request, v_match_event
    FROM jsonb_to_recordset(v_criteria) AS c(r int, a bigint, ty text[], tg text[])
   CROSS JOIN generate_subscripts(v_ids, 1) AS e(i)
   WHERE v_group_of_request[v_event_request[e.i]] < v_group_of_request[c.r]
     AND (cardinality(c.ty) = 0 OR v_types[e.i] = ANY (c.ty))
     AND v_tags[v_tag_bounds[e.i] + 1 : v_tag_bounds[e.i + 1]] @> c.tg;

  -- Every dependency (request k, earlier request j), sorted by k: those within a group, as its
  -- session computed them, and those between groups.
  WITH pairs AS (
    SELECT p_groups_d.k, p_groups_d.j
      FROM (SELECT d.deps[2 * i - 1] + d.shift AS k, d.deps[2 * i] + d.shift AS j
              FROM (SELECT (p_groups[g2]).dependencies AS deps, v_first_request[g2] - 1 AS shift
                      FROM generate_subscripts(p_groups, 1) AS g2) d
             CROSS JOIN LATERAL generate_series(1, coalesce(array_length(d.deps, 1), 0) / 2) AS i)
           p_groups_d
    UNION
    SELECT m.r, v_event_request[m.e] FROM unnest(v_match_request, v_match_event) AS m(r, e))
  SELECT coalesce(array_agg(v ORDER BY pairs.k, pairs.j, t.ord), '{}')
    INTO v_dependencies
    FROM pairs CROSS JOIN LATERAL (VALUES (1, pairs.k), (2, pairs.j)) AS t(ord, v);

  -- No look-up of the ids first: the unique index refuses a stored id, and the caller then writes
  -- each group on its own, looking them up; that is rare, and the look-up costs every drain.
  SELECT * INTO v_written
    FROM en57.write_group(v_event_request, v_ids, v_types, v_data, v_meta, v_tag_bounds, v_tags,
                          v_criteria, v_dependencies, v_requests, false);

  v_statuses := v_written.statuses;
  v_positions := v_written.positions;
  v_conflicts := v_written.conflict_positions;
  FOR k, v_latest IN
    SELECT m.r, max(v_positions[m.e])
      FROM unnest(v_match_request, v_match_event) AS m(r, e)
     WHERE v_statuses[m.r] = 1 AND v_positions[m.e] IS NOT NULL
     GROUP BY m.r
  LOOP
    v_conflicts[k] := greatest(v_conflicts[k], v_latest);
  END LOOP;

  v_base := v_written.base;
  FOR g IN 1 .. cardinality(p_groups) LOOP
    q := p_groups[g];
    INSERT INTO en57.append_outcomes (ticket, base, statuses, conflict_positions)
    VALUES (q.ticket, v_base,
            v_statuses[v_first_request[g] : v_first_request[g] + q.request_count - 1],
            v_conflicts[v_first_request[g] : v_first_request[g] + q.request_count - 1]);
    v_base := v_base + (SELECT count(*) FROM unnest(q.event_request) r
                         WHERE v_statuses[r + v_first_request[g] - 1] = 0);
  END LOOP;
END;
$$;

-- Writes the queued groups, oldest first, up to 64 at a time; the caller holds the append lock,
-- and p_own_ticket is the caller's own queued group, if any. The groups are written as one; if
-- that fails (one group's data, say), each is written alone in a subtransaction, and a group that
-- fails gets its error as its outcome and fails alone (64 subtransactions stay within what a
-- backend tracks without overflowing).
CREATE FUNCTION en57.drain_append_queue(p_own_ticket bigint) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_claimed en57.append_queue[];
  v_live en57.append_queue[] := '{}';
  q en57.append_queue;
  v_written record;
BEGIN
  WITH claimed AS (
    DELETE FROM en57.append_queue
     WHERE ticket IN (SELECT c.ticket FROM en57.append_queue c
                       ORDER BY c.ticket LIMIT 64 FOR UPDATE SKIP LOCKED)
    RETURNING *)
  SELECT coalesce(array_agg(claimed ORDER BY claimed.ticket), '{}') INTO v_claimed FROM claimed;
  FOREACH q IN ARRAY v_claimed LOOP
    IF q.ticket IS DISTINCT FROM p_own_ticket
       AND pg_try_advisory_lock(en57.log_key(), en57.ticket_key(q.ticket)) THEN
      -- Its session is gone: nobody waits for this group, whose caller was told the outcome is
      -- unknown. Writing it later would surprise everyone; it is dropped.
      PERFORM pg_advisory_unlock(en57.log_key(), en57.ticket_key(q.ticket));
    ELSE
      v_live := v_live || q;
    END IF;
  END LOOP;
  IF cardinality(v_live) > 0 THEN
    BEGIN
      PERFORM en57.write_queued_together(v_live);
    EXCEPTION WHEN OTHERS THEN
      FOREACH q IN ARRAY v_live LOOP
        BEGIN
          SELECT * INTO v_written
            FROM en57.write_group(q.event_request, q.ids, q.types, q.data, q.meta, q.tag_bounds,
                                  q.tags, q.criteria, q.dependencies, q.request_count, true);
          INSERT INTO en57.append_outcomes (ticket, base, statuses, conflict_positions)
          VALUES (q.ticket, v_written.base, v_written.statuses, v_written.conflict_positions);
        EXCEPTION WHEN OTHERS THEN
          INSERT INTO en57.append_outcomes (ticket, error_state, error_message)
          VALUES (q.ticket, SQLSTATE, SQLERRM);
        END;
      END LOOP;
    END;
  END IF;
  -- Outcomes nobody collected (the waiting session died) do not pile up.
  IF random() < 0.01 THEN
    DELETE FROM en57.append_outcomes WHERE decided_at < now() - interval '10 minutes';
  END IF;
END;
$$;

-- The append function of migration 0001 gives way to the one below.
DROP FUNCTION en57.append(int[], uuid[], text[], text[], text[], text[], jsonb, int[], int, text);

-- Appends a group of requests (arguments as for en57.write_group). With p_may_queue (a session on
-- a pool, committing each call), a busy lock queues the group instead of waiting: the call returns
-- only a ticket, and en57.await_append collects the outcome. Without it (the caller's own
-- transaction, which the lock holder could not commit for it), the call waits for the lock up to
-- p_lock_timeout milliseconds, and looks for stored ids first so that a duplicate does not abort
-- the caller's transaction. The lock holder also writes what is queued.
CREATE FUNCTION en57.append(
  p_event_request int[],
  p_ids           uuid[],
  p_types         text[],
  p_data          jsonb,
  p_meta          jsonb,
  p_tag_bounds    int[],
  p_tags          text[],
  p_criteria      jsonb,
  p_dependencies  int[],
  p_request_count int,
  p_lock_timeout  text,
  p_may_queue     boolean,
  OUT base               bigint,
  OUT statuses           int[],
  OUT conflict_positions bigint[],
  OUT ticket             bigint)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
-- Restores the caller's lock_timeout when the function returns, whatever it sets inside.
SET lock_timeout = 0
SET jit = off
AS $$
BEGIN
  IF current_setting('transaction_isolation') <> 'read committed' THEN
    RAISE EXCEPTION 'En57 appends need READ COMMITTED isolation, the transaction runs at %',
      current_setting('transaction_isolation')
      USING ERRCODE = 'feature_not_supported';
  END IF;
  IF p_may_queue THEN
    IF NOT pg_try_advisory_xact_lock(1164850487, en57.log_key()) THEN
      INSERT INTO en57.append_queue (event_request, ids, types, data, meta, tag_bounds, tags,
                                     criteria, dependencies, request_count)
      VALUES (p_event_request, p_ids, p_types, p_data, p_meta, p_tag_bounds, p_tags,
              p_criteria, p_dependencies, p_request_count)
      RETURNING append_queue.ticket INTO ticket;
      PERFORM pg_advisory_lock(en57.log_key(), en57.ticket_key(ticket));
      RETURN;
    END IF;
  ELSE
    -- The lock timeout is set first (the select list is evaluated in order), then the lock taken.
    PERFORM set_config('lock_timeout', p_lock_timeout, true),
            pg_advisory_xact_lock(1164850487, en57.log_key());
  END IF;
  -- Whoever holds the append lock holds its tenure's lock too, for the sessions waiting on it.
  PERFORM en57.begin_tenure();
  SELECT w.base, w.statuses, w.conflict_positions INTO base, statuses, conflict_positions
    FROM en57.write_group(p_event_request, p_ids, p_types, p_data, p_meta, p_tag_bounds, p_tags,
                          p_criteria, p_dependencies, p_request_count, NOT p_may_queue) w;
  IF p_may_queue THEN
    PERFORM en57.drain_append_queue(NULL);
  END IF;
END;
$$;

-- Collects the outcome of a queued group, writing the queue itself when the lock is free. Waits
-- for the lock holder to commit (as a shared waiter of its tenure's lock, so that every waiting
-- session wakes at once),
-- at most p_lock_timeout_ms in all; then withdraws the group if no lock holder took it, and says
-- so with decided = false: nothing of it was written. A group that failed raises its error. In
-- every case but a failure of this call itself, it releases the lock on its ticket.
CREATE FUNCTION en57.await_append(
  p_ticket          bigint,
  p_lock_timeout_ms bigint,
  OUT decided            boolean,
  OUT base               bigint,
  OUT statuses           int[],
  OUT conflict_positions bigint[])
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET lock_timeout = 0
SET jit = off
AS $$
DECLARE
  v_deadline timestamptz := clock_timestamp() + p_lock_timeout_ms * interval '1 millisecond';
  v_outcome en57.append_outcomes;
  v_left_ms bigint;
  v_tenure int;
  v_waited int;
BEGIN
  LOOP
    DELETE FROM en57.append_outcomes o WHERE o.ticket = p_ticket RETURNING o.* INTO v_outcome;
    IF FOUND THEN
      PERFORM pg_advisory_unlock(en57.log_key(), en57.ticket_key(p_ticket));
      IF v_outcome.error_state IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = v_outcome.error_state, MESSAGE = v_outcome.error_message;
      END IF;
      decided := true;
      base := v_outcome.base;
      statuses := v_outcome.statuses;
      conflict_positions := v_outcome.conflict_positions;
      RETURN;
    END IF;
    IF pg_try_advisory_xact_lock(1164850487, en57.log_key()) THEN
      PERFORM en57.begin_tenure(), en57.drain_append_queue(p_ticket);
      CONTINUE;
    END IF;
    v_left_ms := (extract(epoch FROM v_deadline - clock_timestamp()) * 1000)::bigint;
    IF v_left_ms <= 0 THEN
      -- Waits (without limit: its transaction is short) while a lock holder that took the group
      -- commits; then the group is gone from the queue, and its outcome is there.
      PERFORM set_config('lock_timeout', '0', true);
      DELETE FROM en57.append_queue q WHERE q.ticket = p_ticket;
      IF FOUND THEN
        PERFORM pg_advisory_unlock(en57.log_key(), en57.ticket_key(p_ticket));
        decided := false;
        RETURN;
      END IF;
      CONTINUE;
    END IF;
    BEGIN
      PERFORM set_config('lock_timeout', v_left_ms::text, true);
      -- Waits for the tenure it sees: the lock holder's, or the one it just waited for, when
      -- the new lock holder has not published its key yet; then it pauses a moment instead of
      -- spinning (on a busy machine the lock holder needs the processor).
      v_tenure := (SELECT t.last_value FROM en57.append_tenure t)::int;
      IF v_tenure = v_waited THEN
        PERFORM pg_sleep(0.0002);
      ELSE
        PERFORM pg_advisory_lock_shared(1164850490, v_tenure);
        PERFORM pg_advisory_unlock_shared(1164850490, v_tenure);
        v_waited := v_tenure;
      END IF;
    EXCEPTION WHEN lock_not_available THEN
      NULL;
    END;
  END LOOP;
END;
$$;

-- Releases the lock on a ticket after en57.await_append failed (cancelled, say) in a session that
-- lives on in a pool: its group, no longer waited for, is then dropped from the queue.
CREATE FUNCTION en57.release_ticket(p_ticket bigint) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_locks
              WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted
                AND classid = en57.log_key()::oid AND objid = en57.ticket_key(p_ticket) AND objsubid = 2)
  THEN
    PERFORM pg_advisory_unlock(en57.log_key(), en57.ticket_key(p_ticket));
  END IF;
END;
$$;

-- En57's functions are for the owner and the roles the migrator grants them to.
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA en57 FROM PUBLIC;
