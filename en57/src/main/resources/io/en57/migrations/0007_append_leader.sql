-- One application node leads appends, and the others forward theirs to it.
--
-- Application nodes whose stores forward appends (EventStoreBuilder.forwardAppends) elect one of
-- them: the node whose dedicated session holds the advisory lock (1164850491, log key). It
-- publishes where it listens, and the token other nodes present, in en57.append_leader. Other
-- nodes send it their appends, which it writes in its own groups, one commit for all of them. The
-- leader is only where appends are written from: each append still takes the append lock and
-- checks its condition in the database, so two nodes that both think they lead, or a node that
-- appends directly meanwhile, are as safe as two nodes without forwarding.
--
-- The row outlives its leader's session; it names the leader only while that session (its pid)
-- holds the lock, which PostgreSQL releases when the session ends.
CREATE TABLE en57.append_leader (
  only_row   boolean     PRIMARY KEY DEFAULT true CHECK (only_row),
  pid        int         NOT NULL,
  address    text        NOT NULL,
  token      text        NOT NULL,
  since      timestamptz NOT NULL DEFAULT now()
);

-- Whether the session with this pid holds the lead. A SELECT without a SET clause, so that
-- PostgreSQL inlines it where it is called.
CREATE FUNCTION en57.holds_append_lead(p_pid int) RETURNS boolean
LANGUAGE sql STABLE
AS $$
  SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_locks
                  WHERE locktype = 'advisory' AND pid = p_pid AND granted
                    AND classid = 1164850491::oid AND objid = en57.log_key()::oid
                    AND objsubid = 2)
$$;

-- Takes the lead for this session unless another session holds it, and returns the leader: its
-- address and token, or no row when no session leads. A session keeps the lead until it ends or
-- calls en57.resign_appends. The row is written only when it does not name this session already,
-- so the leader's calls every second write nothing; and it is written again by the next call if a
-- failure left the lock taken but the row not written.
CREATE FUNCTION en57.lead_appends(p_address text, p_token text,
                                  OUT address text, OUT token text)
RETURNS SETOF record
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF p_address IS NULL OR p_token IS NULL THEN
    RAISE EXCEPTION 'a leader needs an address and a token' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  -- Session locks stack: take it only once, so that one unlock, or ending the session, lets go.
  IF (en57.holds_append_lead(pg_backend_pid()) OR pg_try_advisory_lock(1164850491, en57.log_key()))
     AND NOT EXISTS (SELECT 1 FROM en57.append_leader l
                      WHERE l.pid = pg_backend_pid() AND l.address = p_address
                        AND l.token = p_token)
  THEN
    INSERT INTO en57.append_leader AS l (pid, address, token)
    VALUES (pg_backend_pid(), p_address, p_token)
    ON CONFLICT (only_row) DO UPDATE
      SET pid = excluded.pid, address = excluded.address, token = excluded.token, since = now();
  END IF;
  RETURN QUERY
    SELECT l.address, l.token FROM en57.append_leader l WHERE en57.holds_append_lead(l.pid);
END;
$$;

-- Gives up the lead, if this session holds it: a store closing on a connection that goes back to a
-- pool would otherwise keep it, and no other node could take it.
CREATE FUNCTION en57.resign_appends() RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  -- Taken once (en57.lead_appends does not stack it); unlocking a lock not held would warn.
  IF en57.holds_append_lead(pg_backend_pid()) THEN
    PERFORM pg_advisory_unlock(1164850491, en57.log_key());
  END IF;
END;
$$;

-- En57's functions are for the owner and the roles the migrator grants them to.
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA en57 FROM PUBLIC;
