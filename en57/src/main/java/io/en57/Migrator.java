package io.en57;

import io.en57.internal.DatabaseUrl;
import io.en57.internal.LogSchema;
import io.en57.internal.Migration;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import javax.sql.DataSource;

/**
 * Creates and upgrades the En57 schema ({@code en57}, or the one {@link #withSchema} names) from
 * the versioned SQL migrations shipped in the jar. Run {@link #migrate()} before first use of a
 * store, for example at deploy time with the CLI ({@code en57 migrate}, reading {@code
 * DATABASE_URL}); stores refuse to start on a database that is not migrated.
 *
 * <p>Each migration runs in its own transaction, announced beforehand in the schema's version table
 * ({@code en57.schema_migrations}), so one that did not complete is reported as {@link
 * MigrationState#PARTIAL} and never silently continued. Concurrent migrators are safe: {@code
 * migrate} holds an advisory lock, and a second migrator waits, then finds nothing to do.
 *
 * <p>Each schema is a log of its own with a version table of its own, so several logs in one
 * database are migrated and versioned independently.
 *
 * <p>Thread-safe; each call uses its own connection.
 */
public final class Migrator {

  /** The oldest server the migrations run on ({@code server_version_num} of PostgreSQL 15). */
  static final int MIN_SERVER_VERSION_NUM = 150_000;

  private static final long MIGRATION_LOCK_CLASS = 1164850487L;

  private final DataSource dataSource;
  private final List<Migration> migrations;
  private final String applicationRole;
  private final LogSchema schema;

  Migrator(DataSource dataSource, List<Migration> migrations) {
    this(dataSource, migrations, null, LogSchema.DEFAULT);
  }

  private Migrator(
      DataSource dataSource, List<Migration> migrations, String applicationRole, LogSchema schema) {
    this.dataSource = Objects.requireNonNull(dataSource, "dataSource must not be null");
    this.migrations = List.copyOf(migrations);
    this.applicationRole = applicationRole;
    this.schema = schema;
  }

  /**
   * A migrator connecting with {@code url} ({@code postgres://...} or {@code
   * jdbc:postgresql://...}).
   */
  public static Migrator forUrl(String url) {
    return new Migrator(DatabaseUrl.parse(url).unpooled(), Migration.shipped());
  }

  /** A migrator borrowing connections from {@code dataSource}. */
  public static Migrator forDataSource(DataSource dataSource) {
    return new Migrator(dataSource, Migration.shipped());
  }

  /**
   * This migrator, also setting up {@code role} as the application's role: {@link #migrate()} then
   * grants it what a store needs and nothing else (USAGE on the schema, SELECT on its tables,
   * EXECUTE on its functions, which write with their owner's rights) and revokes any other
   * privilege it holds there, and {@link #status()} reports whether that is in place. The role must
   * exist and must be neither the schema's owner nor a superuser, who could rewrite history, nor,
   * before PostgreSQL 16, have CREATEROLE, with which it could make itself the owner.
   */
  public Migrator withApplicationRole(String role) {
    Objects.requireNonNull(role, "application role must not be null");
    if (role.isBlank()) {
      throw new IllegalArgumentException("application role must not be blank");
    }
    return new Migrator(dataSource, migrations, role, schema);
  }

  /**
   * This migrator, working on the log in schema {@code schema} instead of {@code en57}: it creates
   * the schema, records its version in a table of its own ({@code <schema>.schema_migrations}) and
   * reports its status alone, whatever other logs the database holds.
   *
   * @throws IllegalArgumentException if {@code schema} is not a plain lower-case SQL identifier
   *     (letters, digits and {@code _}, not starting with a digit or {@code pg_})
   */
  public Migrator withSchema(String schema) {
    return new Migrator(dataSource, migrations, applicationRole, LogSchema.of(schema));
  }

  /** The version table, {@code <schema>.schema_migrations}. */
  private String versionTable() {
    return schema.sql("en57.schema_migrations");
  }

  /** Reports the database's state without changing anything. */
  public MigrationStatus status() {
    try (Connection connection = dataSource.getConnection()) {
      MigrationStatus status = status(connection);
      if (applicationRole != null
          && status.state() != MigrationState.FRESH
          && status.state() != MigrationState.UNVERSIONED) {
        return status.withApplicationRole(RoleCheck.check(connection, schema, applicationRole));
      }
      return status;
    } catch (SQLException e) {
      throw new En57StorageException("cannot read the migration status: " + e.getMessage(), e);
    }
  }

  /**
   * Applies the pending migrations, each in its own transaction, and returns the names of those it
   * applied (none when the schema is up to date).
   *
   * @throws MigrationException if the database is partial, unversioned, ahead, or holds an applied
   *     migration that differs from the shipped one, or if a migration fails (it is rolled back and
   *     the status becomes partial, naming the repair)
   */
  public List<String> migrate() {
    try (Connection connection = dataSource.getConnection()) {
      connection.setAutoCommit(true);
      execute(connection, "SELECT pg_advisory_lock(" + MIGRATION_LOCK_CLASS + ", 0)");
      try {
        return migrate(connection);
      } finally {
        unlock(connection);
      }
    } catch (SQLException e) {
      throw new En57StorageException("migration failed: " + e.getMessage(), e);
    }
  }

  /** Releases the migration lock; if the connection broke, closing it releases the lock anyway. */
  private static void unlock(Connection connection) {
    try {
      execute(connection, "SELECT pg_advisory_unlock(" + MIGRATION_LOCK_CLASS + ", 0)");
    } catch (SQLException e) {
      // Keep the exception that ended the migration, which names the repair.
    }
  }

  private List<String> migrate(Connection connection) throws SQLException {
    MigrationStatus status = status(connection);
    if (status.warning().isPresent()) {
      throw new MigrationException("not migrating: " + status.warning().get());
    }
    var applied = new ArrayList<String>();
    if (status.state() == MigrationState.UP_TO_DATE) {
      grantToApplicationRole(connection);
      return applied;
    }
    requireSupportedServer(connection);
    execute(connection, schema.sql("CREATE SCHEMA IF NOT EXISTS en57"));
    execute(
        connection,
        "CREATE TABLE IF NOT EXISTS "
            + versionTable()
            + " (version int PRIMARY KEY,"
            + " name text NOT NULL, checksum text NOT NULL,"
            + " started_at timestamptz NOT NULL DEFAULT now(), completed_at timestamptz)");
    for (Migration migration : migrations) {
      if (migration.version() <= status.currentVersion()) {
        continue;
      }
      apply(connection, migration);
      applied.add(migration.name());
    }
    grantToApplicationRole(connection);
    return applied;
  }

  /** The roles granted EXECUTE on the schema's append function, the owner's own grant aside. */
  private List<String> rolesThatCanAppend(Connection connection) throws SQLException {
    var roles = new ArrayList<String>();
    try (Statement statement = connection.createStatement();
        ResultSet rows =
            statement.executeQuery(
                schema.sql(
                    "SELECT DISTINCT r.rolname FROM pg_proc p, aclexplode(p.proacl) a, pg_roles r"
                        + " WHERE p.pronamespace = 'en57'::regnamespace AND p.proname = 'append'"
                        + " AND a.privilege_type = 'EXECUTE' AND a.grantee = r.oid"
                        + " AND a.grantee <> p.proowner ORDER BY 1"))) {
      while (rows.next()) {
        roles.add(rows.getString(1));
      }
    }
    return roles;
  }

  private void grantToApplicationRole(Connection connection) throws SQLException {
    if (applicationRole != null) {
      grantTo(connection, applicationRole);
    }
  }

  /** Grants the named {@code role}, if fit to be the application's, what a store needs. */
  private void grantTo(Connection connection, String role) throws SQLException {
    List<String> problems = RoleCheck.identityProblems(RoleCheck.check(connection, schema, role));
    if (!problems.isEmpty()) {
      throw new MigrationException(
          "not granting to application role "
              + role
              + ": it "
              + String.join(" and ", problems)
              + "; the application needs a role of its own, created by an administrator"
              + " (CREATE ROLE ... LOGIN), that owns nothing in schema "
              + schema.name());
    }
    connection.setAutoCommit(false);
    try {
      grantWhatAStoreNeeds(connection, role);
      connection.commit();
    } catch (SQLException e) {
      connection.rollback();
      throw e;
    } finally {
      connection.setAutoCommit(true);
    }
  }

  /** Grants {@code role} what a store needs, and revokes everything else in the schema. */
  private void grantWhatAStoreNeeds(Connection connection, String role) throws SQLException {
    for (String grant : RoleCheck.grants(connection, schema, role)) {
      execute(connection, grant);
    }
  }

  /**
   * Applies {@code migration} and records it in one transaction: one that fails or is cut off
   * leaves nothing, its version row neither, and migrating again retries it. (A row left started
   * and not completed, which {@link #status} reports as PARTIAL, comes only from a migrator that
   * recorded the start on its own.)
   *
   * <p>A migration may drop and create functions, and it adds tables and functions: the roles that
   * could append before get what a store needs again, named or not (--app-role once is enough), in
   * the same transaction, so no commit leaves a role that could append unable to, whatever stops
   * the migrations after it. They are not checked as a named role is: one unfit to be the
   * application's (a superuser, a member of the owner) holds all this anyway, and refusing it would
   * take the other roles' grants with it.
   */
  private void apply(Connection connection, Migration migration) throws SQLException {
    connection.setAutoCommit(false);
    try {
      try (PreparedStatement start =
          connection.prepareStatement(
              "INSERT INTO " + versionTable() + " (version, name, checksum) VALUES (?, ?, ?)")) {
        start.setInt(1, migration.version());
        start.setString(2, migration.name());
        start.setString(3, migration.checksum());
        start.executeUpdate();
      }
      List<String> appendingRoles = rolesThatCanAppend(connection);
      execute(connection, schema.sql(migration.sql()));
      for (String role : appendingRoles) {
        grantWhatAStoreNeeds(connection, role);
      }
      execute(
          connection,
          "UPDATE "
              + versionTable()
              + " SET completed_at = now() WHERE version = "
              + migration.version());
      connection.commit();
    } catch (SQLException e) {
      connection.rollback();
      throw new MigrationException(
          "migration "
              + migration.name()
              + " failed and was rolled back, leaving nothing; fix the cause and migrate again: "
              + e.getMessage(),
          e);
    } finally {
      connection.setAutoCommit(true);
    }
  }

  private MigrationStatus status(Connection connection) throws SQLException {
    int target = migrations.isEmpty() ? 0 : migrations.get(migrations.size() - 1).version();
    boolean schemaExists =
        queryBoolean(
            connection,
            schema.sql("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'en57')"));
    boolean versioned =
        schemaExists
            && queryBoolean(connection, "SELECT to_regclass('" + versionTable() + "') IS NOT NULL");
    if (!versioned) {
      boolean hasObjects =
          schemaExists
              && queryBoolean(
                  connection,
                  schema.sql(
                      "SELECT EXISTS (SELECT 1 FROM pg_class WHERE relnamespace = 'en57'::regnamespace)"
                          + " OR EXISTS (SELECT 1 FROM pg_proc WHERE pronamespace = 'en57'::regnamespace)"));
      if (hasObjects) {
        return new MigrationStatus(
            MigrationState.UNVERSIONED,
            0,
            target,
            List.of(),
            Optional.of(
                "schema "
                    + schema.name()
                    + " holds tables or functions but no version table "
                    + versionTable()
                    + ", so it was not created by this migrator. Repair: move it away (ALTER SCHEMA "
                    + schema.name()
                    + " RENAME TO ...) or drop it if it holds nothing you need (DROP SCHEMA "
                    + schema.name()
                    + " CASCADE), then migrate"));
      }
      return new MigrationStatus(MigrationState.FRESH, 0, target, names(0), Optional.empty());
    }

    var applied = new LinkedHashMap<Integer, Applied>();
    try (Statement statement = connection.createStatement();
        ResultSet rows =
            statement.executeQuery(
                "SELECT version, name, checksum, completed_at IS NOT NULL FROM "
                    + versionTable()
                    + " ORDER BY version")) {
      while (rows.next()) {
        applied.put(
            rows.getInt(1), new Applied(rows.getString(2), rows.getString(3), rows.getBoolean(4)));
      }
    }
    int current = 0;
    for (Map.Entry<Integer, Applied> row : applied.entrySet()) {
      if (!row.getValue().completed()) {
        return new MigrationStatus(
            MigrationState.PARTIAL,
            current,
            target,
            List.of(),
            Optional.of(
                "migration "
                    + row.getValue().name()
                    + " started and did not complete. "
                    + repairStep(row.getKey(), row.getValue().name())));
      }
      current = Math.max(current, row.getKey());
    }
    if (current > target) {
      return new MigrationStatus(
          MigrationState.AHEAD,
          current,
          target,
          List.of(),
          Optional.of(
              "the database is at migration "
                  + current
                  + ", newer than this library's "
                  + target
                  + "; it was migrated by a newer En57. Upgrade the library (never migrate down)"));
    }
    MigrationState state = current == target ? MigrationState.UP_TO_DATE : MigrationState.PENDING;
    for (Migration migration : migrations) {
      Applied row = applied.get(migration.version());
      if (row != null && !row.checksum().equals(migration.checksum())) {
        return new MigrationStatus(
            state,
            current,
            target,
            names(current),
            Optional.of(
                "applied migration "
                    + migration.name()
                    + " differs from the one this library ships"
                    + " (checksum "
                    + row.checksum()
                    + " in the database). Repair: find out who changed it; if the"
                    + " shipped file is right, make the schema match it and update the checksum in "
                    + versionTable()));
      }
    }
    return new MigrationStatus(state, current, target, names(current), Optional.empty());
  }

  /** A row of the version table. */
  private record Applied(String name, String checksum, boolean completed) {}

  private String repairStep(int version, String name) {
    return "Repair: check what of "
        + name
        + " is in schema "
        + schema.name()
        + " (PostgreSQL rolls a failed migration"
        + " back, but not statements that ran outside its transaction), undo what is there, then"
        + " run `DELETE FROM "
        + versionTable()
        + " WHERE version = "
        + version
        + "` and migrate again";
  }

  private List<String> names(int afterVersion) {
    return migrations.stream()
        .filter(m -> m.version() > afterVersion)
        .map(Migration::name)
        .toList();
  }

  /**
   * Refuses, before anything is applied, a server older than {@link #MIN_SERVER_VERSION_NUM}, on
   * which a migration failing half-way through the list would leave a database some stores could no
   * longer start on, and a database not encoded in UTF8: it refuses text the in-memory engine
   * stores, or stores it mangled, so the two engines would no longer take the same input.
   */
  private static void requireSupportedServer(Connection connection) throws SQLException {
    try (Statement statement = connection.createStatement();
        ResultSet row =
            statement.executeQuery(
                "SELECT current_setting('server_version_num')::int,"
                    + " current_setting('server_version'), current_setting('server_encoding')")) {
      row.next();
      requireSupportedServer(row.getInt(1), row.getString(2));
      String encoding = row.getString(3);
      if (!encoding.equals("UTF8")) {
        throw new MigrationException(
            "En57 needs a database encoded in UTF8 (events may carry any Unicode text); this"
                + " database is encoded in "
                + encoding
                + ". Create one with CREATE DATABASE ... ENCODING 'UTF8' TEMPLATE template0 and"
                + " migrate that. Nothing was migrated");
      }
    }
  }

  static void requireSupportedServer(int versionNum, String version) {
    if (versionNum < MIN_SERVER_VERSION_NUM) {
      throw new MigrationException(
          "En57 needs PostgreSQL "
              + MIN_SERVER_VERSION_NUM / 10_000
              + " or newer (its migrations use unlogged sequences); this server is "
              + version
              + ". Nothing was migrated");
    }
  }

  private static boolean queryBoolean(Connection connection, String sql) throws SQLException {
    try (Statement statement = connection.createStatement();
        ResultSet row = statement.executeQuery(sql)) {
      row.next();
      return row.getBoolean(1);
    }
  }

  private static void execute(Connection connection, String sql) throws SQLException {
    try (Statement statement = connection.createStatement()) {
      statement.execute(sql);
    }
  }
}
