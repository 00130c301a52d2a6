package io.en57.testing;

import io.en57.Migrator;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * The PostgreSQL server tests run against: one embedded server per test JVM, or the server named by
 * {@code EN57_TEST_DATABASE_URL} (a {@code postgres://} or {@code jdbc:postgresql://} URL of a
 * database whose user may create databases). Each caller gets a database of its own.
 */
public final class TestDatabases {

  /** Set to run the tests against that server instead of an embedded one. */
  public static final String SERVER_URL_VARIABLE = "EN57_TEST_DATABASE_URL";

  private static final AtomicInteger COUNTER = new AtomicInteger();
  private static PGSimpleDataSource admin;

  private TestDatabases() {}

  /** A new, empty database (no En57 schema). */
  public static TestDatabase create() {
    return create("");
  }

  /**
   * A new, empty database created with {@code options}, such as {@code ENCODING 'LATIN1' LC_COLLATE
   * 'C' LC_CTYPE 'C' TEMPLATE template0}.
   */
  public static TestDatabase create(String options) {
    PGSimpleDataSource server = admin();
    String name = "en57_test_" + ProcessHandle.current().pid() + "_" + COUNTER.incrementAndGet();
    execute(server, "CREATE DATABASE " + name + " " + options);
    var database = new PGSimpleDataSource();
    database.setURL(server.getURL());
    database.setUser(server.getUser());
    database.setPassword(server.getPassword());
    database.setDatabaseName(name);
    return new TestDatabase(name, database);
  }

  /** A new database with the En57 schema migrated. */
  public static TestDatabase createMigrated() {
    TestDatabase database = create();
    Migrator.forDataSource(database.dataSource()).migrate();
    return database;
  }

  /** A database of the test server. {@link #close()} drops it. */
  public record TestDatabase(String name, PGSimpleDataSource dataSource) implements AutoCloseable {

    /** A {@code jdbc:postgresql://} URL with user and password as parameters. */
    public String jdbcUrl() {
      String url = dataSource.getURL();
      String separator = url.contains("?") ? "&" : "?";
      return url
          + separator
          + "user="
          + dataSource.getUser()
          + (dataSource.getPassword() == null ? "" : "&password=" + dataSource.getPassword());
    }

    /** A {@code postgres://user@host:port/database} URL, the form DATABASE_URL takes. */
    public String postgresUrl() {
      return "postgres://"
          + dataSource.getUser()
          + (dataSource.getPassword() == null ? "" : ":" + dataSource.getPassword())
          + "@"
          + dataSource.getServerNames()[0]
          + ":"
          + dataSource.getPortNumbers()[0]
          + "/"
          + name;
    }

    /**
     * Empties the En57 log and the given tables of the application. The log is append-only: this
     * takes the operator's deliberate way around its triggers.
     */
    public void emptyLog(String... applicationTables) {
      var tables = new StringBuilder("en57.events, en57.event_tags");
      for (String table : applicationTables) {
        tables.append(", ").append(table);
      }
      execute("BEGIN; SET LOCAL en57.allow_history_rewrite = on; TRUNCATE " + tables + "; COMMIT");
    }

    /**
     * A new login role for the application, with no privileges yet: grant them with {@code
     * Migrator.withApplicationRole(role.name())} or by hand. {@link ApplicationRole#close()} drops
     * it.
     */
    public ApplicationRole createApplicationRole() {
      String role = "en57_app_" + ProcessHandle.current().pid() + "_" + COUNTER.incrementAndGet();
      TestDatabases.execute(admin(), "CREATE ROLE " + role + " LOGIN");
      var asRole = new PGSimpleDataSource();
      asRole.setURL(dataSource.getURL());
      asRole.setUser(role);
      return new ApplicationRole(role, asRole, this);
    }

    /** Runs SQL on this database. */
    public void execute(String sql) {
      TestDatabases.execute(dataSource, sql);
    }

    @Override
    public void close() {
      TestDatabases.execute(admin(), "DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
    }
  }

  /** A login role of the test server, connecting to one test database. */
  public record ApplicationRole(String name, PGSimpleDataSource dataSource, TestDatabase database)
      implements AutoCloseable {

    @Override
    public void close() {
      database.execute("DROP OWNED BY " + name);
      TestDatabases.execute(admin(), "DROP ROLE " + name);
    }
  }

  /** Runs SQL on a data source. */
  public static void execute(DataSource dataSource, String sql) {
    try (Connection connection = dataSource.getConnection();
        Statement statement = connection.createStatement()) {
      statement.execute(sql);
    } catch (SQLException e) {
      throw new IllegalStateException(sql + ": " + e.getMessage(), e);
    }
  }

  /**
   * The server's TCP keepalive settings for the session of {@code connection}, as "idle interval
   * count user-timeout" in seconds, probes and milliseconds.
   */
  public static String keepalives(Connection connection) throws SQLException {
    try (Statement statement = connection.createStatement();
        ResultSet row =
            statement.executeQuery(
                "SELECT current_setting('tcp_keepalives_idle') || ' '"
                    + " || current_setting('tcp_keepalives_interval') || ' '"
                    + " || current_setting('tcp_keepalives_count') || ' '"
                    + " || current_setting('tcp_user_timeout')")) {
      row.next();
      return row.getString(1);
    }
  }

  private static synchronized PGSimpleDataSource admin() {
    if (admin == null) {
      admin = new PGSimpleDataSource();
      String url = System.getenv(SERVER_URL_VARIABLE);
      if (url == null || url.isBlank()) {
        EmbeddedPostgres server = startEmbedded();
        admin.setServerNames(new String[] {"localhost"});
        admin.setPortNumbers(new int[] {server.getPort()});
        admin.setDatabaseName("postgres");
        admin.setUser("postgres");
      } else {
        var parsed = io.en57.internal.DatabaseUrl.parse(url);
        admin.setURL(parsed.jdbcUrl());
        if (parsed.user() != null) {
          admin.setUser(parsed.user());
        }
        if (parsed.password() != null) {
          admin.setPassword(parsed.password());
        }
      }
    }
    return admin;
  }

  private static EmbeddedPostgres startEmbedded() {
    try {
      EmbeddedPostgres server =
          EmbeddedPostgres.builder().setServerConfig("max_connections", "300").start();
      Runtime.getRuntime()
          .addShutdownHook(
              new Thread(
                  () -> {
                    try {
                      server.close();
                    } catch (IOException e) {
                      // The JVM is exiting; the data directory is a temporary one.
                    }
                  }));
      return server;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start the embedded PostgreSQL", e);
    }
  }
}
