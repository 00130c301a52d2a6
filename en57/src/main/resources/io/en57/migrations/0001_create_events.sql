-- The log. Positions are assigned by en57.append under the append lock, in commit order, so a
-- reader paging with "position > last seen" never skips an event that commits later.
CREATE TABLE en57.events (
  position    bigint      PRIMARY KEY,
  id          uuid        NOT NULL UNIQUE,
  type        text        NOT NULL,
  data        jsonb       NOT NULL,
  meta        jsonb,
  tags        text[]      NOT NULL DEFAULT '{}',
  recorded_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX events_type_position ON en57.events (type, position);

-- One row per (tag, event): a tag query is an ordered range scan that pages by position.
CREATE TABLE en57.event_tags (
  tag      text   NOT NULL,
  position bigint NOT NULL,
  PRIMARY KEY (tag, position)
);

-- Appends a group of requests in one statement, under the append lock.
--
-- Events arrive as parallel arrays in request order; p_event_request gives each event's request
-- (1-based), p_tag_event each tag's event (1-based). p_criteria holds the conditions as
-- [{"r": request, "a": after, "ty": [types], "tg": [tags]}]. p_dependencies lists pairs
-- (request k, earlier request j) where j's events match k's condition, sorted by k: the caller
-- computes those, because only it knows the events of the group before they are stored.
--
-- Each request gets a status: 0 stored, 1 condition matched, 2 an event id is already stored,
-- 3 a condition's "after" is beyond the head. Stored requests get consecutive positions from
-- base + 1 in request order; conflict_positions holds, per request, the latest stored event
-- matching its condition.
CREATE FUNCTION en57.append(
  p_event_request    int[],
  p_ids              uuid[],
  p_types            text[],
  p_data             text[],
  p_meta             text[],
  p_tag_event        int[],
  p_tags             text[],
  p_criteria         jsonb,
  p_dependencies     int[],
  p_request_count    int,
  p_lock_timeout     text,
  OUT base               bigint,
  OUT statuses           int[],
  OUT conflict_positions bigint[])
LANGUAGE plpgsql
-- Restores the caller's lock_timeout when the function returns, whatever it sets inside.
SET lock_timeout = 0
AS $$
DECLARE
  v_row record;
  k int;
  j int;
BEGIN
  IF current_setting('transaction_isolation') <> 'read committed' THEN
    RAISE EXCEPTION 'En57 appends need READ COMMITTED isolation, the transaction runs at %',
      current_setting('transaction_isolation')
      USING ERRCODE = 'feature_not_supported';
  END IF;
  PERFORM set_config('lock_timeout', p_lock_timeout, true);
  PERFORM pg_advisory_xact_lock(1164850487, 1);
  -- In READ COMMITTED every statement below takes a fresh snapshot, so from here on it sees every
  -- append committed before the lock was granted, and none can commit until this one does.

  statuses := array_fill(0, ARRAY[p_request_count]);
  conflict_positions := array_fill(NULL::bigint, ARRAY[p_request_count]);
  SELECT coalesce(max(e.position), 0) INTO base FROM en57.events e;

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
    ELSIF v_row.conflict IS NOT NULL THEN
      statuses[v_row.request] := 1;
      conflict_positions[v_row.request] := v_row.conflict;
    END IF;
  END LOOP;

  FOR v_row IN
    SELECT DISTINCT p_event_request[x.i] AS request
    FROM unnest(p_ids) WITH ORDINALITY AS x(id, i)
    JOIN en57.events e ON e.id = x.id
  LOOP
    IF statuses[v_row.request] <> 3 THEN
      statuses[v_row.request] := 2;
    END IF;
  END LOOP;

  FOR i IN 1 .. coalesce(array_length(p_dependencies, 1), 0) / 2 LOOP
    k := p_dependencies[2 * i - 1];
    j := p_dependencies[2 * i];
    IF statuses[k] = 0 AND statuses[j] = 0 THEN
      statuses[k] := 1;
    END IF;
  END LOOP;

  WITH winners AS (
    SELECT x.i, x.id, x.type, x.data, x.meta,
           base + row_number() OVER (ORDER BY x.i) AS position
      FROM unnest(p_event_request, p_ids, p_types, p_data, p_meta)
           WITH ORDINALITY AS x(r, id, type, data, meta, i)
     WHERE statuses[x.r] = 0
  ), tag_rows AS (
    SELECT t.tag, w.position, t.o
      FROM unnest(p_tag_event, p_tags) WITH ORDINALITY AS t(ev, tag, o)
      JOIN winners w ON w.i = t.ev
  ), tag_lists AS (
    SELECT tr.position, array_agg(tr.tag ORDER BY tr.o) AS tags
      FROM tag_rows tr GROUP BY tr.position
  ), inserted AS (
    INSERT INTO en57.events (position, id, type, data, meta, tags)
    SELECT w.position, w.id, w.type, w.data::jsonb, w.meta::jsonb, coalesce(tl.tags, '{}')
      FROM winners w LEFT JOIN tag_lists tl ON tl.position = w.position
  )
  INSERT INTO en57.event_tags (tag, position)
  SELECT tr.tag, tr.position FROM tag_rows tr;
END;
$$;
