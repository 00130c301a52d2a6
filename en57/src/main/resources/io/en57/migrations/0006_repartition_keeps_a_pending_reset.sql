-- Changing a projection's number of segments keeps its pending reset, and fences the old segments.
--
-- The number of segments can change only after a rebuild: every segment at position 0, no owner.
-- Migration 0003 then replaced the rows with fresh ones, which dropped the rebuild's pending reset
-- (the new runner never ran the reset handler, and applied the log again over the old read model)
-- and kept the old epoch (a runner of the old segments that had stalled could still pass for an
-- owner of the new segment of the same number). The new rows carry the reset over, and start one
-- epoch above every old one.
CREATE OR REPLACE FUNCTION en57.projection_register(p_name text, p_segments int) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_segments int;
  v_epoch bigint;
  v_reset_pending boolean;
BEGIN
  IF p_name IS NULL OR btrim(p_name) = '' THEN
    RAISE EXCEPTION 'a projection name must not be blank' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF p_segments IS NULL OR p_segments < 1 THEN
    RAISE EXCEPTION 'segments must be positive, got %', p_segments
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  PERFORM 1 FROM en57.projections p WHERE p.name = p_name ORDER BY p.segment FOR UPDATE;
  SELECT max(p.segments), max(p.epoch), bool_or(p.reset_pending)
    INTO v_segments, v_epoch, v_reset_pending
    FROM en57.projections p WHERE p.name = p_name;
  IF v_segments IS NOT NULL AND v_segments <> p_segments THEN
    IF EXISTS (SELECT 1 FROM en57.projections p
                WHERE p.name = p_name
                  AND (p.position > 0 OR (p.owner IS NOT NULL AND p.lease_until > clock_timestamp())))
    THEN
      RAISE EXCEPTION 'projection % has % segments, not %; to change that, stop its runners and'
        ' rebuild it (reset it to 0) first', p_name, v_segments, p_segments
        USING ERRCODE = 'invalid_parameter_value';
    END IF;
    DELETE FROM en57.projections p WHERE p.name = p_name;
    v_epoch := v_epoch + 1;
  END IF;
  INSERT INTO en57.projections (name, segment, segments, epoch, reset_pending)
  SELECT p_name, s, p_segments, coalesce(v_epoch, 0), coalesce(v_reset_pending, false)
    FROM generate_series(0, p_segments - 1) AS s
  ON CONFLICT (name, segment) DO NOTHING;
END;
$$;
