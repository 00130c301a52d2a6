-- Projections: one row per projection segment holds its checkpoint (the position up to which every
-- matching event has been applied), its owner and lease, the owner's fencing epoch, and its state.
-- The application role only reads these tables; every write goes through the SECURITY DEFINER
-- functions below, which the runner calls inside the application's own transactions.
--
-- A batch runs in one transaction: en57.projection_begin locks the segment's row (so batches of one
-- segment never run at the same time, on any node) and checks the caller's epoch; the handler writes
-- the read model; en57.projection_advance moves the checkpoint with a compare-and-set on the old
-- position and the epoch; then the transaction commits, read model and checkpoint together.
CREATE TABLE en57.projections (
  name          text        NOT NULL,
  segment       int         NOT NULL,
  segments      int         NOT NULL,
  position      bigint      NOT NULL DEFAULT 0,
  epoch         bigint      NOT NULL DEFAULT 0,
  owner         text,
  lease_until   timestamptz,
  state         text        NOT NULL DEFAULT 'RUNNING',
  error         text,
  reset_pending boolean     NOT NULL DEFAULT false,
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (name, segment),
  CHECK (state IN ('RUNNING', 'FAILED')),
  CHECK (segment >= 0 AND segment < segments),
  CHECK (position >= 0)
);

-- Events a projection skipped because its handler kept failing on them (only for projections that
-- opted in; the others stop in state FAILED instead).
CREATE TABLE en57.projection_dead_letters (
  name        text        NOT NULL,
  segment     int         NOT NULL,
  position    bigint      NOT NULL,
  event_id    uuid        NOT NULL,
  error       text        NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (name, position)
);

-- Creates the rows of a projection's segments if missing. The number of segments can change only
-- while every segment is at position 0 with no owner, that is after a rebuild (reset to 0).
CREATE FUNCTION en57.projection_register(p_name text, p_segments int) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_segments int;
  v_epoch bigint;
BEGIN
  IF p_name IS NULL OR btrim(p_name) = '' THEN
    RAISE EXCEPTION 'a projection name must not be blank' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF p_segments IS NULL OR p_segments < 1 THEN
    RAISE EXCEPTION 'segments must be positive, got %', p_segments
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  PERFORM 1 FROM en57.projections p WHERE p.name = p_name ORDER BY p.segment FOR UPDATE;
  SELECT max(p.segments), max(p.epoch) INTO v_segments, v_epoch
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
  END IF;
  -- Epochs never go back, so that no runner of the old segments can pass for an owner.
  INSERT INTO en57.projections (name, segment, segments, epoch)
  SELECT p_name, s, p_segments, coalesce(v_epoch, 0) FROM generate_series(0, p_segments - 1) AS s
  ON CONFLICT (name, segment) DO NOTHING;
END;
$$;

-- Claims or renews a segment for p_owner for p_lease_ms milliseconds. status is 'owner' (with the
-- epoch to fence with; a new owner gets a new epoch), 'taken' (another owner's lease is valid),
-- 'busy' (a batch or a reset holds the row: its owner is alive), 'missing', or 'mismatch' (the
-- projection now has another number of segments than p_segments).
CREATE FUNCTION en57.projection_claim(p_name text, p_segment int, p_segments int, p_owner text,
  p_lease_ms bigint,
  OUT o_status text, OUT o_epoch bigint, OUT o_position bigint, OUT o_state text,
  OUT o_reset_pending boolean)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v en57.projections%ROWTYPE;
BEGIN
  SELECT * INTO v FROM en57.projections p
   WHERE p.name = p_name AND p.segment = p_segment FOR UPDATE SKIP LOCKED;
  IF NOT FOUND THEN
    SELECT * INTO v FROM en57.projections p WHERE p.name = p_name AND p.segment = p_segment;
    o_status := CASE WHEN FOUND THEN 'busy' ELSE 'missing' END;
    o_epoch := v.epoch; o_position := v.position; o_state := v.state;
    o_reset_pending := v.reset_pending;
    RETURN;
  END IF;
  IF v.segments <> p_segments THEN
    o_status := 'mismatch';
  ELSIF v.owner IS NOT NULL AND v.owner <> p_owner AND v.lease_until > clock_timestamp() THEN
    o_status := 'taken';
  ELSE
    IF v.owner IS DISTINCT FROM p_owner THEN
      v.epoch := v.epoch + 1;
    END IF;
    UPDATE en57.projections p
       SET owner = p_owner, epoch = v.epoch,
           lease_until = clock_timestamp() + p_lease_ms * interval '1 millisecond',
           updated_at = clock_timestamp()
     WHERE p.name = p_name AND p.segment = p_segment;
    o_status := 'owner';
  END IF;
  o_epoch := v.epoch; o_position := v.position; o_state := v.state;
  o_reset_pending := v.reset_pending;
END;
$$;

-- Gives a segment up, so that another node can claim it at once.
CREATE FUNCTION en57.projection_release(p_name text, p_segment int, p_owner text, p_epoch bigint)
RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
  UPDATE en57.projections p SET owner = NULL, lease_until = NULL, updated_at = clock_timestamp()
   WHERE p.name = p_name AND p.segment = p_segment AND p.owner = p_owner AND p.epoch = p_epoch;
$$;

-- Starts a batch in the caller's transaction: locks the segment's row until the transaction ends
-- and extends the lease. status is 'ok' with the checkpoint, or 'fenced' (another owner or a reset
-- took over: the caller must stop), 'failed', 'reset' (a reset waits to be applied) or 'missing'.
CREATE FUNCTION en57.projection_begin(p_name text, p_segment int, p_epoch bigint, p_lease_ms bigint,
  OUT o_status text, OUT o_position bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v en57.projections%ROWTYPE;
BEGIN
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
END;
$$;

-- Moves the checkpoint from p_from to p_to in the caller's transaction, if the caller's epoch still
-- owns the segment and the checkpoint is still p_from; otherwise raises EN001, so that the
-- transaction, and the read model writes in it, cannot commit.
CREATE FUNCTION en57.projection_advance(p_name text, p_segment int, p_epoch bigint, p_from bigint,
  p_to bigint, p_lease_ms bigint) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF p_to < p_from THEN
    RAISE EXCEPTION 'a checkpoint moves forward only: % to %', p_from, p_to
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  UPDATE en57.projections p
     SET position = p_to, updated_at = clock_timestamp(),
         lease_until = clock_timestamp() + p_lease_ms * interval '1 millisecond'
   WHERE p.name = p_name AND p.segment = p_segment AND p.epoch = p_epoch
     AND p.position = p_from AND p.state = 'RUNNING' AND NOT p.reset_pending;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'projection % segment %: the checkpoint is no longer % for epoch %; another'
      ' owner or a reset moved it', p_name, p_segment, p_from, p_epoch
      USING ERRCODE = 'EN001';
  END IF;
END;
$$;

-- Records an event the handler kept failing on, in the caller's transaction (which then moves the
-- checkpoint past it).
CREATE FUNCTION en57.projection_dead_letter(p_name text, p_segment int, p_epoch bigint,
  p_position bigint, p_event_id uuid, p_error text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM en57.projections p
                  WHERE p.name = p_name AND p.segment = p_segment AND p.epoch = p_epoch) THEN
    RAISE EXCEPTION 'projection % segment % is no longer owned with epoch %', p_name, p_segment,
      p_epoch USING ERRCODE = 'EN001';
  END IF;
  INSERT INTO en57.projection_dead_letters (name, segment, position, event_id, error)
  VALUES (p_name, p_segment, p_position, p_event_id, p_error)
  ON CONFLICT (name, position) DO UPDATE
    SET segment = EXCLUDED.segment, event_id = EXCLUDED.event_id, error = EXCLUDED.error,
        recorded_at = now();
END;
$$;

-- Stops a segment in state FAILED, with the error, until a reset.
CREATE FUNCTION en57.projection_fail(p_name text, p_segment int, p_epoch bigint, p_error text)
RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
  UPDATE en57.projections p SET state = 'FAILED', error = p_error, updated_at = clock_timestamp()
   WHERE p.name = p_name AND p.segment = p_segment AND p.epoch = p_epoch;
$$;

-- Moves every segment of a projection to p_position (0 rebuilds it), clears FAILED, and fences the
-- owners; the next owner applies the projection's reset handler (en57.projection_reset_apply)
-- before any batch. Waits for batches in flight. Returns the number of segments.
CREATE FUNCTION en57.projection_reset(p_name text, p_position bigint) RETURNS int
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_head bigint;
  v_segments int;
BEGIN
  IF p_position IS NULL OR p_position < 0 THEN
    RAISE EXCEPTION 'position must not be negative, got %', p_position
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  SELECT coalesce(max(e.position), 0) INTO v_head FROM en57.events e;
  IF p_position > v_head THEN
    RAISE EXCEPTION 'position % is beyond the head %', p_position, v_head
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  PERFORM 1 FROM en57.projections p WHERE p.name = p_name ORDER BY p.segment FOR UPDATE;
  UPDATE en57.projections p
     SET position = p_position, epoch = p.epoch + 1, owner = NULL, lease_until = NULL,
         state = 'RUNNING', error = NULL, reset_pending = true, updated_at = clock_timestamp()
   WHERE p.name = p_name;
  GET DIAGNOSTICS v_segments = ROW_COUNT;
  IF v_segments = 0 THEN
    RAISE EXCEPTION 'there is no projection named %', p_name USING ERRCODE = 'undefined_object';
  END IF;
  RETURN v_segments;
END;
$$;

-- In the caller's transaction: locks every segment of the projection and, if a reset waits to be
-- applied, marks it applied and returns its position (the caller then runs the reset handler in
-- the same transaction); NULL when there is none. Checks the caller's epoch on p_segment.
CREATE FUNCTION en57.projection_reset_apply(p_name text, p_segment int, p_epoch bigint)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_position bigint;
BEGIN
  PERFORM 1 FROM en57.projections p WHERE p.name = p_name ORDER BY p.segment FOR UPDATE;
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

-- En57's functions are for the owner and the roles the migrator grants them to
-- (Migrator.withApplicationRole), never for every role.
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA en57 FROM PUBLIC;
