-- What the ceiling measurement needs besides a migrated en57 schema; in a scratch database only.
CREATE SCHEMA ceiling;
CREATE TABLE ceiling.raw (id uuid PRIMARY KEY, data jsonb);

-- One node's group of p_appends conditional single-event appends, as its group commit passes them
-- to en57.append from a pool: each event carries a fresh tag, on condition that no event carries
-- it. Returns the ticket when the group was queued behind another session's lock, else 0.
CREATE FUNCTION ceiling.append_group(p_appends int) RETURNS bigint
LANGUAGE sql AS $$
  SELECT coalesce(a.ticket, 0)
    FROM (SELECT array_agg('course:' || (1 + floor(random() * 1e9))::bigint) AS tags
            FROM generate_series(1, p_appends)) t,
         en57.append(
           ARRAY(SELECT generate_series(1, p_appends)),
           ARRAY(SELECT gen_random_uuid() FROM generate_series(1, p_appends)),
           array_fill('Booked'::text, ARRAY[p_appends]),
           (SELECT jsonb_agg('{"course":"c1","student":"s1"}'::jsonb)
              FROM generate_series(1, p_appends)),
           (SELECT jsonb_agg('null'::jsonb) FROM generate_series(1, p_appends)),
           ARRAY(SELECT generate_series(0, p_appends)),
           t.tags,
           (SELECT jsonb_agg(jsonb_build_object('r', i, 'a', 0, 'ty', '[]'::jsonb,
                                                'tg', jsonb_build_array(t.tags[i])))
              FROM generate_series(1, p_appends) i),
           '{}', p_appends, '5000', true) a
$$;

-- A prototype of an append without the global append lock: the condition is checked under a lock
-- on the event's tags, positions come from a sequence and are not in commit order, and no reader
-- horizon is kept (with p_register, the writers' part of one is). Not a design En57 ships: it shows what such a design could reach at most. It
-- writes to copies of the log's tables, so that its positions never meet the shipped append's.
CREATE TABLE ceiling.events (LIKE en57.events INCLUDING ALL);
CREATE TABLE ceiling.event_tags (LIKE en57.event_tags INCLUDING ALL);
CREATE SEQUENCE ceiling.positions;
CREATE FUNCTION ceiling.append_per_key(p_id uuid, p_type text, p_data jsonb, p_tags text[],
                                       p_after bigint, p_register boolean) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
  v_position bigint;
BEGIN
  PERFORM pg_advisory_xact_lock(1164850499, hashtext(t)) FROM unnest(p_tags) t ORDER BY hashtext(t);
  IF EXISTS (SELECT 1 FROM ceiling.event_tags t WHERE t.tag = p_tags[1] AND t.position > p_after) THEN
    RETURN -1;
  END IF;
  IF p_register THEN
    -- What a gap-safe read horizon needs at least from the writers: each append registers the
    -- position it draws, so that a reader can tell that every position below some value has been
    -- committed or rolled back. The registration is a lock on the position, released when the
    -- append's transaction ends. Drawing and registering happen under a gate held in shared mode
    -- (writers do not wait for each other) and released at once: a reader takes it exclusively
    -- (ceiling.horizon), so that it never sees a position drawn but not yet registered.
    PERFORM pg_advisory_lock_shared(1164850498, 0);
    v_position := nextval('ceiling.positions');
    PERFORM pg_advisory_xact_lock(1164850497, v_position::int);
    PERFORM pg_advisory_unlock_shared(1164850498, 0);
  ELSE
    v_position := nextval('ceiling.positions');
  END IF;
  INSERT INTO ceiling.events (position, id, type, data, meta, tags)
  VALUES (v_position, p_id, p_type, p_data, NULL, p_tags);
  INSERT INTO ceiling.event_tags (tag, position) SELECT t, v_position FROM unnest(p_tags) t;
  RETURN v_position;
END;
$$;

-- The readers' side of the prototype's horizon: every position up to the returned one is final
-- (committed or rolled back), since under the gate no position is drawn but unregistered, and the
-- lowest position still registered is the first that may not be. Finding it scans pg_locks: a
-- registration is a lock, and the lock manager is the only place that lists them.
CREATE FUNCTION ceiling.horizon() RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  v_drawn bigint;
  v_lowest_in_flight bigint;
BEGIN
  PERFORM pg_advisory_lock(1164850498, 0);
  SELECT CASE WHEN s.is_called THEN s.last_value ELSE 0 END INTO v_drawn FROM ceiling.positions s;
  SELECT min(l.objid::bigint) INTO v_lowest_in_flight FROM pg_locks l
   WHERE l.locktype = 'advisory' AND l.classid = 1164850497 AND l.objsubid = 2;
  PERFORM pg_advisory_unlock(1164850498, 0);
  RETURN coalesce(v_lowest_in_flight - 1, v_drawn);
END;
$$;

-- A prototype without positions at append time (not shipped): the condition is checked under a
-- lock on the event's tags against the decision's snapshot (no event of the tag committed outside
-- it), each event keeps the transaction id that wrote it, and one sequencer gives positions later,
-- in transaction id order, to the events every snapshot now sees: those of transactions below the
-- oldest one still running (pg_snapshot_xmin), so a position once given is final and dense. Only
-- the events get positions here, not their tag rows: a lower bound on the sequencer's cost.
CREATE TABLE ceiling.s_events (id uuid PRIMARY KEY, type text NOT NULL, data jsonb NOT NULL,
                               tags text[] NOT NULL, xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
                               position bigint UNIQUE);
CREATE INDEX s_events_unsequenced ON ceiling.s_events (xid) WHERE position IS NULL;
CREATE TABLE ceiling.s_tags (tag text NOT NULL, xid xid8 NOT NULL, id uuid NOT NULL);
CREATE INDEX s_tags_tag ON ceiling.s_tags (tag);
CREATE FUNCTION ceiling.append_snapshot(p_id uuid, p_type text, p_data jsonb, p_tags text[],
                                        p_snapshot pg_snapshot) RETURNS boolean
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp SET jit = off AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(1164850499, hashtext(t)) FROM unnest(p_tags) t ORDER BY hashtext(t);
  IF EXISTS (SELECT 1 FROM ceiling.s_tags t
              WHERE t.tag = p_tags[1]
                AND (p_snapshot IS NULL OR NOT pg_visible_in_snapshot(t.xid, p_snapshot))) THEN
    RETURN false;
  END IF;
  INSERT INTO ceiling.s_events (id, type, data, tags) VALUES (p_id, p_type, p_data, p_tags);
  INSERT INTO ceiling.s_tags (tag, xid, id) SELECT t, pg_current_xact_id(), p_id FROM unnest(p_tags) t;
  RETURN true;
END;
$$;
-- The sequencer: one at a time; returns how many events it gave positions to.
CREATE FUNCTION ceiling.sequence_events() RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  v_horizon xid8 := pg_snapshot_xmin(pg_current_snapshot());
  v_base bigint;
  v_count bigint;
BEGIN
  PERFORM pg_advisory_xact_lock(1164850496, 0);
  SELECT coalesce(max(position), 0) INTO v_base FROM ceiling.s_events;
  UPDATE ceiling.s_events e SET position = v_base + t.n
    FROM (SELECT id, row_number() OVER (ORDER BY xid, id) AS n FROM ceiling.s_events
           WHERE position IS NULL AND xid < v_horizon) t
   WHERE e.id = t.id;
  GET DIAGNOSTICS v_count = ROW_COUNT;
  RETURN v_count;
END;
$$;
