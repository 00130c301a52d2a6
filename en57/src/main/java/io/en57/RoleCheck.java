package io.en57;

import io.en57.internal.LogSchema;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/**
 * Checks and grants the application role's privileges in schema en57 (DESIGN.md §9): it reads the
 * tables and executes the functions, which write with their owner's rights; nothing else.
 */
final class RoleCheck {

  private static final String DOES_NOT_EXIST = "does not exist";
  private static final String OWNER = "owns schema %s (or is a member of its owner)";
  private static final String SUPERUSER = "is a superuser (or a member of one)";
  private static final String CREATEROLE =
      "has CREATEROLE (or is a member of a role that has), which before PostgreSQL 16 lets it"
          + " grant itself the owner's role";

  /**
   * Per table: a missing SELECT, and any privilege beyond it, on the table or on any of its columns
   * (a column's INSERT lets a role insert around the append lock as well).
   */
  private static final String TABLES =
      "SELECT c.oid::regclass::text,"
          + " has_table_privilege(?, c.oid, 'SELECT'),"
          + " ARRAY(SELECT p FROM unnest(ARRAY['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE',"
          + " 'REFERENCES', 'TRIGGER']) p WHERE CASE WHEN p IN ('INSERT', 'UPDATE', 'REFERENCES')"
          + " THEN has_any_column_privilege(?, c.oid, p) ELSE has_table_privilege(?, c.oid, p) END)"
          + " FROM pg_class c WHERE c.relnamespace = 'en57'::regnamespace AND c.relkind = 'r'"
          + " ORDER BY 1";

  /**
   * The functions a store calls: every function of the schema but the trigger functions; and
   * whether every role (PUBLIC) may execute one, which would let any role append.
   */
  private static final String FUNCTIONS =
      "SELECT p.oid::regprocedure::text, has_function_privilege(?, p.oid, 'EXECUTE'),"
          + " EXISTS (SELECT 1 FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner)))"
          + " a WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE')"
          + " FROM pg_proc p WHERE p.pronamespace = 'en57'::regnamespace AND p.prokind = 'f'"
          + " AND p.prorettype <> 'trigger'::regtype ORDER BY 1";

  private RoleCheck() {}

  /**
   * What makes a role unfit to be the application's role whatever is granted: it does not exist, or
   * it owns the schema or is a superuser, or is a member of either (it could SET ROLE to it), from
   * whom privileges on the log cannot be taken; or, before PostgreSQL 16, it has CREATEROLE (or is
   * a member of a role that has), with which it can grant itself any role but a superuser, the
   * owner too (16 asks for ADMIN OPTION on the role granted).
   */
  static List<String> identityProblems(ApplicationRoleStatus status) {
    var problems = new ArrayList<String>();
    for (String problem : status.missing()) {
      if (problem.equals(DOES_NOT_EXIST)) {
        problems.add(problem);
      }
    }
    for (String problem : status.excess()) {
      if (problem.equals(SUPERUSER)
          || problem.startsWith("owns schema ")
          || problem.equals(CREATEROLE)) {
        problems.add(problem);
      }
    }
    return problems;
  }

  /** What {@code role} lacks and holds beyond what it needs; the schema must exist. */
  static ApplicationRoleStatus check(Connection connection, LogSchema schema, String role)
      throws SQLException {
    var missing = new ArrayList<String>();
    var excess = new ArrayList<String>();
    try (PreparedStatement query =
        connection.prepareStatement(
            schema.sql(
                // MEMBER, not USAGE: a member that does not inherit can still SET ROLE to it.
                "SELECT r.rolsuper OR EXISTS (SELECT 1 FROM pg_roles s WHERE s.rolsuper"
                    + " AND pg_has_role(r.oid, s.oid, 'MEMBER')),"
                    + " pg_has_role(r.oid, n.nspowner, 'MEMBER'),"
                    + " has_schema_privilege(r.oid, n.oid, 'USAGE'),"
                    + " has_schema_privilege(r.oid, n.oid, 'CREATE'),"
                    + " current_setting('server_version_num')::int < 160000"
                    + " AND EXISTS (SELECT 1 FROM pg_roles c WHERE c.rolcreaterole"
                    + " AND pg_has_role(r.oid, c.oid, 'MEMBER'))"
                    + " FROM pg_roles r, pg_namespace n WHERE r.rolname = ? AND n.nspname = 'en57'"))) {
      query.setString(1, role);
      try (ResultSet row = query.executeQuery()) {
        if (!row.next()) {
          return new ApplicationRoleStatus(role, List.of(DOES_NOT_EXIST), List.of());
        }
        if (row.getBoolean(1)) {
          excess.add(SUPERUSER);
        }
        if (row.getBoolean(2)) {
          excess.add(OWNER.formatted(schema.name()));
        }
        if (!row.getBoolean(3)) {
          missing.add("USAGE on schema " + schema.name());
        }
        if (row.getBoolean(4)) {
          excess.add("CREATE on schema " + schema.name());
        }
        if (row.getBoolean(5)) {
          excess.add(CREATEROLE);
        }
      }
    }
    try (PreparedStatement query = connection.prepareStatement(schema.sql(TABLES))) {
      query.setString(1, role);
      query.setString(2, role);
      query.setString(3, role);
      try (ResultSet rows = query.executeQuery()) {
        while (rows.next()) {
          String table = rows.getString(1);
          if (!rows.getBoolean(2)) {
            missing.add("SELECT on table " + table);
          }
          for (String privilege : (String[]) rows.getArray(3).getArray()) {
            excess.add(privilege + " on table " + table);
          }
        }
      }
    }
    try (PreparedStatement query = connection.prepareStatement(schema.sql(FUNCTIONS))) {
      query.setString(1, role);
      try (ResultSet rows = query.executeQuery()) {
        while (rows.next()) {
          if (!rows.getBoolean(2)) {
            missing.add("EXECUTE on function " + rows.getString(1));
          }
          if (rows.getBoolean(3)) {
            excess.add("EXECUTE on function " + rows.getString(1) + " for PUBLIC (every role)");
          }
        }
      }
    }
    return new ApplicationRoleStatus(role, missing, excess);
  }

  /**
   * The statements that give {@code role} what a store needs and take away the rest, with the role
   * name quoted by the server.
   */
  static List<String> grants(Connection connection, LogSchema schema, String role)
      throws SQLException {
    var grants = new ArrayList<String>();
    try (PreparedStatement query =
        connection.prepareStatement(
            schema.sql(
                "SELECT format('GRANT USAGE ON SCHEMA en57 TO %I', ?)"
                    + " UNION ALL SELECT format('REVOKE CREATE ON SCHEMA en57 FROM %I', ?)"
                    + " UNION ALL SELECT format('GRANT SELECT ON ALL TABLES IN SCHEMA en57 TO %I', ?)"
                    + " UNION ALL SELECT format('REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES,"
                    + " TRIGGER ON ALL TABLES IN SCHEMA en57 FROM %I', ?)"
                    + " UNION ALL SELECT format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC;"
                    + " GRANT EXECUTE ON FUNCTION %s TO %I',"
                    + " p.oid::regprocedure, p.oid::regprocedure, ?) FROM pg_proc p"
                    + " WHERE p.pronamespace = 'en57'::regnamespace AND p.prokind = 'f'"
                    + " AND p.prorettype <> 'trigger'::regtype"))) {
      for (int i = 1; i <= 5; i++) {
        query.setString(i, role);
      }
      try (ResultSet rows = query.executeQuery()) {
        while (rows.next()) {
          grants.add(rows.getString(1));
        }
      }
    }
    return grants;
  }
}
