-- A runner giving a segment up, or recording that it failed, no longer waits for a reset's handler.
--
-- A reset holds every segment's row while its handler runs, which may take hours. Until now
-- en57.projection_release and en57.projection_fail waited for those rows without a limit: the
-- runner gave the call up after its lease and a margin and dropped the connection, but the server's
-- session waited on, queued behind the reset until it committed. Now en57.projection_release skips
-- a row another transaction holds (the lease then runs out, as after a crash), and
-- en57.projection_fail waits for the row at most a second, with lock_not_available after that; the
-- runner tries again until it records the failure, loses the segment, or closes.
CREATE OR REPLACE FUNCTION en57.projection_release(p_name text, p_segment int, p_owner text,
  p_epoch bigint)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM 1 FROM en57.projections p
    WHERE p.name = p_name AND p.segment = p_segment AND p.owner = p_owner AND p.epoch = p_epoch
    FOR UPDATE SKIP LOCKED;
  IF FOUND THEN
    UPDATE en57.projections p SET owner = NULL, lease_until = NULL, updated_at = clock_timestamp()
     WHERE p.name = p_name AND p.segment = p_segment;
  END IF;
END;
$$;

CREATE OR REPLACE FUNCTION en57.projection_fail(p_name text, p_segment int, p_epoch bigint,
  p_error text)
RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET lock_timeout = '1s'
AS $$
BEGIN
  UPDATE en57.projections p SET state = 'FAILED', error = p_error, updated_at = clock_timestamp()
   WHERE p.name = p_name AND p.segment = p_segment AND p.epoch = p_epoch;
  RETURN FOUND;
END;
$$;
