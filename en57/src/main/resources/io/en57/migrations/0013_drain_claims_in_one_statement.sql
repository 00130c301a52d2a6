-- The lock holder claims queued groups with one plain locking read, and keeps within its budget
-- as it goes through them.
--
-- Since migration 0009, each round of a drain claimed its groups with a query that summed their
-- sizes in a window over the first 64 queued groups, then locked those within the budget; with
-- migration 0011's reading and deleting in two statements, every tenure of the append lock got
-- slower, and all appends of every node wait for that lock. With 4 nodes of 4 threads queuing in
-- the database (no forwarding) on PostgreSQL 15 and 2 cores, interleaved runs made a median of
-- 3,386 appends a second with 0011's drain, 3,746 with 0005's (no budget, one DELETE ...
-- RETURNING) and 3,934 with this one (README, Performance). Now one statement locks the
-- first groups in the queue (FOR UPDATE SKIP LOCKED) and returns their sizes as stored, read
-- without fetching the values, and the loop takes them in turn while they fit the budget, the
-- first of a drain whatever its size, as before. Groups locked beyond the budget stay queued for
-- the next drain; until this transaction ends, a session withdrawing one of them waits for it, as
-- it waits for a lock holder that took its group. The groups taken are read, then deleted, in two
-- statements, as migration 0011 made it for large values.
CREATE OR REPLACE FUNCTION en57.drain_append_queue(p_own_ticket bigint) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_budget constant bigint := en57.drain_budget();
  v_tickets bigint[];
  v_sizes bigint[];
  v_live_tickets bigint[];
  v_live en57.append_queue[];
  q en57.append_queue;
  v_written record;
  v_taken int := 0;
  v_bytes bigint := 0;
  v_claimed bigint;
BEGIN
  FOR round IN 1 .. 4 LOOP
    EXIT WHEN v_taken >= 64 OR v_bytes >= v_budget;
    SELECT array_agg(c.ticket ORDER BY c.ticket), array_agg(c.bytes ORDER BY c.ticket)
      INTO v_tickets, v_sizes
      FROM (SELECT c.ticket,
                   pg_column_size(c.event_request) + pg_column_size(c.ids)
                   + pg_column_size(c.types) + pg_column_size(c.data) + pg_column_size(c.meta)
                   + pg_column_size(c.tag_bounds) + pg_column_size(c.tags)
                   + pg_column_size(c.criteria) + pg_column_size(c.dependencies) AS bytes
              FROM en57.append_queue c
             ORDER BY c.ticket
             LIMIT 64 - v_taken
               FOR UPDATE SKIP LOCKED) c;
    EXIT WHEN v_tickets IS NULL;
    v_live_tickets := '{}';
    v_claimed := 0;
    FOR i IN 1 .. cardinality(v_tickets) LOOP
      EXIT WHEN v_bytes + v_claimed + v_sizes[i] > v_budget AND (v_bytes > 0 OR i > 1);
      v_claimed := v_claimed + v_sizes[i];
      v_taken := v_taken + 1;
      IF v_tickets[i] IS DISTINCT FROM p_own_ticket
         AND pg_try_advisory_lock(en57.log_key(), en57.ticket_key(v_tickets[i])) THEN
        -- Its session is gone: nobody waits for this group, whose caller was told the outcome is
        -- unknown. Writing it later would surprise everyone; it is dropped.
        DELETE FROM en57.append_queue c WHERE c.ticket = v_tickets[i];
        PERFORM pg_advisory_unlock(en57.log_key(), en57.ticket_key(v_tickets[i]));
      ELSE
        v_live_tickets := v_live_tickets || v_tickets[i];
      END IF;
    END LOOP;
    -- The first group left does not fit what this drain has read: it is the next drain's.
    EXIT WHEN v_claimed = 0;
    CONTINUE WHEN cardinality(v_live_tickets) = 0;
    SELECT array_agg(c ORDER BY c.ticket) INTO v_live
      FROM en57.append_queue c WHERE c.ticket = ANY (v_live_tickets);
    DELETE FROM en57.append_queue c WHERE c.ticket = ANY (v_live_tickets);
    v_bytes := v_bytes + pg_column_size(v_live);
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
  END LOOP;
  -- Outcomes nobody collected (the waiting session died) do not pile up.
  IF random() < 0.01 THEN
    DELETE FROM en57.append_outcomes WHERE decided_at < now() - interval '10 minutes';
  END IF;
END;
$$;
