-- The database enforces what the library promises (DESIGN.md §9): the log is append-only, and the
-- application's role appends only through en57.append.

-- en57.append runs with the rights of its owner (the role that migrates) and a search_path that
-- nobody can redirect, so the application's role needs no write privilege on the log: it cannot
-- insert around the append lock, skip the tag rows, or make positions jump.
ALTER FUNCTION en57.append(int[], uuid[], text[], text[], text[], text[], jsonb, int[], int, text)
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp;

-- PostgreSQL lets every role execute a new function. En57's functions are for the owner and the
-- roles the migrator grants them to (Migrator.withApplicationRole); every migration that creates a
-- function revokes it from PUBLIC (a per-schema default privilege cannot take away what PUBLIC
-- gets by default).
REVOKE EXECUTE ON FUNCTION
  en57.append(int[], uuid[], text[], text[], text[], text[], jsonb, int[], int, text) FROM PUBLIC;

-- Nobody updates, deletes or truncates history through SQL, the owner included. The deliberate
-- way out, for an operator who must (say, to erase personal data), is to say so in the same
-- transaction: SET LOCAL en57.allow_history_rewrite = on. Only a role holding UPDATE, DELETE or
-- TRUNCATE on the tables can use it, and the application's role holds none of them.
CREATE FUNCTION en57.refuse_history_rewrite() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF current_setting('en57.allow_history_rewrite', true) IS DISTINCT FROM 'on' THEN
    RAISE EXCEPTION 'En57 history is append-only: % on en57.% is refused', TG_OP, TG_TABLE_NAME
      USING ERRCODE = 'insufficient_privilege',
            HINT = 'An operator who must rewrite history runs SET LOCAL en57.allow_history_rewrite'
                   ' = on in the same transaction first.';
  END IF;
  RETURN NULL;
END;
$$;
REVOKE EXECUTE ON FUNCTION en57.refuse_history_rewrite() FROM PUBLIC;

CREATE TRIGGER append_only
  BEFORE UPDATE OR DELETE OR TRUNCATE ON en57.events
  FOR EACH STATEMENT EXECUTE FUNCTION en57.refuse_history_rewrite();
CREATE TRIGGER append_only
  BEFORE UPDATE OR DELETE OR TRUNCATE ON en57.event_tags
  FOR EACH STATEMENT EXECUTE FUNCTION en57.refuse_history_rewrite();
