-- en57.projection_fail says whether it stopped the segment.
--
-- It stops the segment only while the caller's epoch is the segment's. Another runner may have
-- taken the segment over, or a reset fenced it, since the caller last owned it, and the call then
-- changes nothing. Before, it returned nothing, and the caller reported the segment FAILED (in its
-- log and to its listeners) while it ran on under its new owner.
DROP FUNCTION en57.projection_fail(text, int, bigint, text);

CREATE FUNCTION en57.projection_fail(p_name text, p_segment int, p_epoch bigint, p_error text)
RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  UPDATE en57.projections p SET state = 'FAILED', error = p_error, updated_at = clock_timestamp()
   WHERE p.name = p_name AND p.segment = p_segment AND p.epoch = p_epoch;
  RETURN FOUND;
END;
$$;

REVOKE EXECUTE ON FUNCTION en57.projection_fail(text, int, bigint, text) FROM PUBLIC;
