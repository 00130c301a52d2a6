-- The lock holder also writes the groups queued while it was writing, before it commits.
--
-- Before, a lock holder claimed what was queued once and committed. A group queued a moment later
-- (most of them, with many sessions: they queue while the lock holder writes) waited for that
-- commit, found no outcome, and waited for a whole further tenure. Now the lock holder claims again
-- after each write, up to four rounds, until a claim finds nothing; at most 64 groups in all, so
-- that the subtransactions of a failed round's one-by-one writing stay within what a backend
-- tracks without overflowing. The rest of the queue waits for the next tenure, as before.
CREATE OR REPLACE FUNCTION en57.drain_append_queue(p_own_ticket bigint) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_claimed en57.append_queue[];
  v_live en57.append_queue[];
  q en57.append_queue;
  v_written record;
  v_taken int := 0;
BEGIN
  FOR round IN 1 .. 4 LOOP
    EXIT WHEN v_taken >= 64;
    WITH claimed AS (
      DELETE FROM en57.append_queue
       WHERE ticket IN (SELECT c.ticket FROM en57.append_queue c
                         ORDER BY c.ticket LIMIT 64 - v_taken FOR UPDATE SKIP LOCKED)
      RETURNING *)
    SELECT coalesce(array_agg(claimed ORDER BY claimed.ticket), '{}') INTO v_claimed FROM claimed;
    EXIT WHEN cardinality(v_claimed) = 0;
    v_taken := v_taken + cardinality(v_claimed);
    v_live := '{}';
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
    CONTINUE WHEN cardinality(v_live) = 0;
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
