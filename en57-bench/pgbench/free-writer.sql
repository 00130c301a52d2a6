-- The lock holder's writing made free: it records every queued group's requests as stored, writing
-- nothing. With it, what remains is the queue itself: queuing, waking, collecting, the tenure's
-- commit. For a scratch database only: across-nodes-ceiling.sh puts the shipped function back.
CREATE OR REPLACE FUNCTION en57.write_queued_together(p_groups en57.append_queue[])
RETURNS void LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
  INSERT INTO en57.append_outcomes (ticket, base, statuses, conflict_positions)
  SELECT (g).ticket, 0, array_fill(0, ARRAY[(g).request_count]),
         array_fill(NULL::bigint, ARRAY[(g).request_count])
    FROM unnest(p_groups) g;
$$;
