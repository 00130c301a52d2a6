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
-- (1-based) and p_tags its tags as a JSON array. p_criteria holds the conditions as
-- [{"r": request, "a": after, "ty": [types], "tg": [tags]}]. p_dependencies lists pairs
-- (request k, earlier request j) where j's events match k's condition, sorted by k: the caller
-- computes those, because only it knows the events of the group before they are stored.
--
-- Each request gets a status: 0 stored, 1 condition matched, 2 an event id is already stored,
-- 3 a condition's "after" is beyond the head. Stored requests get consecutive positions from
-- base + 1 in request order; conflict_positions holds, per request, the latest stored event
-- matching its condition.
--
-- Every statement here must stay cheap under a generic plan, which PL/pgSQL adopts after a few
-- calls with row estimates that know nothing of the arguments: no joins between sets unnested
-- from the arguments (a misestimated nested loop over them is quadratic), and every look-up in
-- the log is a LIMITed lateral subquery, which can only be an index probe.
CREATE FUNCTION en57.append(
  p_event_request    int[],
  p_ids              uuid[],
  p_types            text[],
  p_data             text[],
  p_meta             text[],
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
-- The condition check's cost estimate (generic, for a hundred criteria) can pass jit_above_cost,
-- and compiling it takes ten milliseconds, under the lock, for a query that runs in a hundred
-- microseconds.
SET jit = off
AS $$
DECLARE
  v_row record;
  v_duplicates int[];
  k int;
  j int;
BEGIN
  IF current_setting('transaction_isolation') <> 'read committed' THEN
    RAISE EXCEPTION 'En57 appends need READ COMMITTED isolation, the transaction runs at %',
      current_setting('transaction_isolation')
      USING ERRCODE = 'feature_not_supported';
  END IF;
  -- The lock timeout is set first (the select list is evaluated in order), then the lock taken.
  PERFORM set_config('lock_timeout', p_lock_timeout, true), pg_advisory_xact_lock(1164850487, 1);
  -- In READ COMMITTED every statement below takes a fresh snapshot, so from here on it sees every
  -- append committed before the lock was granted, and none can commit until this one does.

  statuses := array_fill(0, ARRAY[p_request_count]);
  conflict_positions := array_fill(NULL::bigint, ARRAY[p_request_count]);
  SELECT (SELECT coalesce(max(e.position), 0) FROM en57.events e),
         ARRAY(SELECT DISTINCT p_event_request[x.i]
                 FROM unnest(p_ids) WITH ORDINALITY AS x(id, i)
                CROSS JOIN LATERAL (SELECT 1 FROM en57.events e WHERE e.id = x.id LIMIT 1) stored)
    INTO base, v_duplicates;
  FOREACH k IN ARRAY v_duplicates LOOP
    statuses[k] := 2;
  END LOOP;

  IF p_criteria <> '[]'::jsonb THEN
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
      ELSIF v_row.conflict IS NOT NULL AND statuses[v_row.request] = 0 THEN
        statuses[v_row.request] := 1;
        conflict_positions[v_row.request] := v_row.conflict;
      END IF;
    END LOOP;
  END IF;

  FOR i IN 1 .. coalesce(array_length(p_dependencies, 1), 0) / 2 LOOP
    k := p_dependencies[2 * i - 1];
    j := p_dependencies[2 * i];
    IF statuses[k] = 0 AND statuses[j] = 0 THEN
      statuses[k] := 1;
    END IF;
  END LOOP;

  WITH inserted AS (
    INSERT INTO en57.events (position, id, type, data, meta, tags)
    SELECT base + row_number() OVER (ORDER BY x.i), x.id, x.type, x.data::jsonb, x.meta::jsonb,
           ARRAY(SELECT jsonb_array_elements_text(x.tags::jsonb))
      FROM unnest(p_event_request, p_ids, p_types, p_data, p_meta, p_tags)
           WITH ORDINALITY AS x(r, id, type, data, meta, tags, i)
     WHERE statuses[x.r] = 0
    RETURNING position, tags
  )
  INSERT INTO en57.event_tags (tag, position)
  SELECT unnest(i.tags), i.position FROM inserted i;
END;
$$;
