-- A batch, or a reset being applied, waits for the segments' rows at most about a lease.
--
-- en57.projection_begin waits for its segment's row, and en57.projection_reset_apply for every
-- segment's, while another transaction holds them: a reset whose handler runs (a rebuild may take
-- hours), or a batch. The runner could not put a network timeout on these calls: a timeout cuts
-- its own wait, but the server's session waits on, holding a connection for every wait cut off.
-- Without one, a runner whose connection died silently while it waited hung until the kernel gave
-- up, with no limit at all when nothing it sent was left unacknowledged. Now the server ends the
-- wait itself after the caller's lease (en57.projection_begin), or after what is left of the
-- caller's lease on its segment and at least a second (en57.projection_reset_apply), with
-- lock_not_available; the runner tries again in a new transaction, and waits for the call's
-- answer no longer than the lease and a margin. The caller's lock_timeout is back in force for
-- the rest of the transaction, where the handlers run.
CREATE OR REPLACE FUNCTION en57.projection_begin(p_name text, p_segment int, p_epoch bigint,
  p_lease_ms bigint, OUT o_status text, OUT o_position bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v en57.projections%ROWTYPE;
  v_lock_timeout text := current_setting('lock_timeout');
BEGIN
  PERFORM set_config('lock_timeout', greatest(p_lease_ms, 1)::text, true);
  SELECT * INTO v FROM en57.projections p
   WHERE p.name = p_name AND p.segment = p_segment FOR UPDATE;
  o_position := v.position;
  IF NOT FOUND THEN
    o_status := 'missing';
  ELSIF v.epoch <> p_epoch THEN
    o_status := 'fenced';
  ELSIF v.state = 'FAILED' THEN
    o_status := 'failed';
  ELSIF v.reset_pending THEN
    o_status := 'reset';
  ELSE
    UPDATE en57.projections p
       SET lease_until = clock_timestamp() + p_lease_ms * interval '1 millisecond'
     WHERE p.name = p_name AND p.segment = p_segment;
    o_status := 'ok';
  END IF;
  PERFORM set_config('lock_timeout', v_lock_timeout, true);
END;
$$;

CREATE OR REPLACE FUNCTION en57.projection_reset_apply(p_name text, p_segment int, p_epoch bigint)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_position bigint;
  v_lock_timeout text := current_setting('lock_timeout');
  v_lease_left_ms bigint;
BEGIN
  SELECT (extract(epoch FROM p.lease_until - clock_timestamp()) * 1000)::bigint
    INTO v_lease_left_ms
    FROM en57.projections p WHERE p.name = p_name AND p.segment = p_segment;
  PERFORM set_config('lock_timeout', greatest(coalesce(v_lease_left_ms, 0), 1000)::text, true);
  PERFORM 1 FROM en57.projections p WHERE p.name = p_name ORDER BY p.segment FOR UPDATE;
  PERFORM set_config('lock_timeout', v_lock_timeout, true);
  IF NOT EXISTS (SELECT 1 FROM en57.projections p
                  WHERE p.name = p_name AND p.segment = p_segment AND p.epoch = p_epoch) THEN
    RAISE EXCEPTION 'projection % segment % is no longer owned with epoch %', p_name, p_segment,
      p_epoch USING ERRCODE = 'EN001';
  END IF;
  SELECT min(p.position) INTO v_position FROM en57.projections p
   WHERE p.name = p_name AND p.reset_pending;
  UPDATE en57.projections p SET reset_pending = false WHERE p.name = p_name AND p.reset_pending;
  RETURN v_position;
END;
$$;
