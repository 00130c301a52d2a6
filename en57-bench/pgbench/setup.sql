-- What the ceiling measurement needs besides a migrated en57 schema; in a scratch database only.
CREATE SCHEMA ceiling;
CREATE TABLE ceiling.raw (id uuid PRIMARY KEY, data jsonb);

-- A prototype of an append without the global append lock: the condition is checked under a lock
-- on the event's tags, positions come from a sequence and are not in commit order, and no reader
-- horizon is kept. Not a design En57 ships: it shows what such a design could reach at most. It
-- writes to copies of the log's tables, so that its positions never meet the shipped append's.
CREATE TABLE ceiling.events (LIKE en57.events INCLUDING ALL);
CREATE TABLE ceiling.event_tags (LIKE en57.event_tags INCLUDING ALL);
CREATE SEQUENCE ceiling.positions;
CREATE FUNCTION ceiling.append_per_key(p_id uuid, p_type text, p_data jsonb, p_tags text[],
                                       p_after bigint) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
  v_position bigint;
BEGIN
  PERFORM pg_advisory_xact_lock(1164850499, hashtext(t)) FROM unnest(p_tags) t ORDER BY hashtext(t);
  IF EXISTS (SELECT 1 FROM ceiling.event_tags t WHERE t.tag = p_tags[1] AND t.position > p_after) THEN
    RETURN -1;
  END IF;
  v_position := nextval('ceiling.positions');
  INSERT INTO ceiling.events (position, id, type, data, meta, tags)
  VALUES (v_position, p_id, p_type, p_data, NULL, p_tags);
  INSERT INTO ceiling.event_tags (tag, position) SELECT t, v_position FROM unnest(p_tags) t;
  RETURN v_position;
END;
$$;
