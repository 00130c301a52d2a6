package io.en57.bench;

import io.en57.Migrator;
import io.en57.internal.DatabaseUrl;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * The PostgreSQL server a run measures: an embedded one started with {@link #EMBEDDED_SETTINGS}, or
 * the one {@code DATABASE_URL} names (its user must be allowed to create databases). Hands out
 * fresh databases, empty or copied from a seeded template, and drops every database it created when
 * closed.
 */
final class Server implements AutoCloseable {

  /**
   * The embedded server's settings. Zonky's defaults turn fsync, synchronous commit and full-page
   * writes off, which would make every commit free; these are PostgreSQL's durable defaults.
   */
  static final Map<String, String> EMBEDDED_SETTINGS =
      orderedMap(
          "fsync", "on",
          "synchronous_commit", "on",
          "full_page_writes", "on",
          "shared_buffers", "256MB",
          "max_connections", "300",
          "max_wal_size", "2GB");

  /** The settings printed with every run. */
  static final List<String> SHOWN_SETTINGS =
      List.of(
          "fsync",
          "synchronous_commit",
          "full_page_writes",
          "wal_sync_method",
          "commit_delay",
          "shared_buffers",
          "work_mem",
          "max_connections",
          "max_wal_size",
          "checkpoint_timeout",
          "autovacuum",
          "jit");

  private final EmbeddedPostgres embedded;
  private final List<String> shownSettings;
  private final String description;
  private final String adminUrl;
  private final String adminDatabase;
  private final String user;
  private final String password;
  private final String prefix = "en57_bench_" + ProcessHandle.current().pid() + "_";
  private final AtomicInteger counter = new AtomicInteger();
  private final Map<String, String> templates = new LinkedHashMap<>();
  private final List<String> created = new ArrayList<>();

  private Server(
      EmbeddedPostgres embedded, String description, DatabaseUrl admin, List<String> extraShown) {
    this.embedded = embedded;
    this.shownSettings = new ArrayList<>(SHOWN_SETTINGS);
    extraShown.stream().filter(name -> !shownSettings.contains(name)).forEach(shownSettings::add);
    this.description = description;
    var parsed = new PGSimpleDataSource();
    parsed.setURL(admin.jdbcUrl());
    this.adminUrl = admin.jdbcUrl();
    this.adminDatabase = parsed.getDatabaseName().isEmpty() ? "postgres" : parsed.getDatabaseName();
    this.user = admin.user();
    this.password = admin.password();
  }

  /**
   * Uses the server {@code databaseUrl} names, or starts an embedded one in {@code dataDirectory}
   * when it is null or blank, with {@link #EMBEDDED_SETTINGS} and then {@code extraSettings}.
   */
  static Server start(String databaseUrl, Path dataDirectory, Map<String, String> extraSettings)
      throws IOException {
    if (databaseUrl != null && !databaseUrl.isBlank()) {
      if (!extraSettings.isEmpty()) {
        throw new IllegalArgumentException("server settings apply to the embedded server only");
      }
      DatabaseUrl admin = DatabaseUrl.parse(databaseUrl);
      return new Server(null, "DATABASE_URL", admin, List.of());
    }
    clearDataDirectory(dataDirectory);
    var builder =
        EmbeddedPostgres.builder()
            .setDataDirectory(dataDirectory)
            .setCleanDataDirectory(true)
            .setPGStartupWait(java.time.Duration.ofMinutes(2));
    EMBEDDED_SETTINGS.forEach(builder::setServerConfig);
    extraSettings.forEach(builder::setServerConfig);
    EmbeddedPostgres postgres = builder.start();
    var admin =
        new DatabaseUrl(
            "jdbc:postgresql://localhost:" + postgres.getPort() + "/postgres", "postgres", null);
    return new Server(
        postgres,
        "embedded, data in " + dataDirectory.toAbsolutePath(),
        admin,
        List.copyOf(extraSettings.keySet()));
  }

  String description() {
    return description;
  }

  /** A new database with the En57 schema and no events. */
  Database create() {
    Database database = createDatabase("");
    Migrator.forDataSource(database.dataSource()).migrate();
    return database;
  }

  /**
   * A new database copied from the template named {@code key}, which {@code seed} fills (on a
   * migrated database) the first time the key is asked for.
   */
  synchronized Database copyOf(String key, Seeder seed) throws Exception {
    String template = templates.get(key);
    if (template == null) {
      // Closing a template does not drop it; the server drops it when it closes.
      try (Database database = create()) {
        seed.seed(database);
        template = database.name();
        templates.put(key, template);
      }
    }
    // FILE_COPY copies the files instead of writing the whole template through the WAL.
    return createDatabase(
        " TEMPLATE " + template + (versionNumber() >= 150000 ? " STRATEGY FILE_COPY" : ""));
  }

  /** Fills a template database. */
  interface Seeder {
    void seed(Database database) throws Exception;
  }

  private Database createDatabase(String options) {
    String name = prefix + counter.incrementAndGet();
    admin("CREATE DATABASE " + name + options);
    synchronized (this) {
      created.add(name);
    }
    return new Database(name, urlOf(name), user, password, this);
  }

  /** The JDBC URL of database {@code name} on this server, built by the driver. */
  private String urlOf(String name) {
    var url = new PGSimpleDataSource();
    url.setURL(adminUrl);
    url.setDatabaseName(name);
    return url.getURL();
  }

  /** Drops a database this server created, unless it is a template. */
  synchronized void drop(String name) {
    if (!templates.containsValue(name) && created.remove(name)) {
      admin("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
    }
  }

  /** The server's version string. */
  String version() {
    return queryAdmin("SHOW server_version");
  }

  int versionNumber() {
    return Integer.parseInt(queryAdmin("SHOW server_version_num"));
  }

  /** The effective values of {@link #SHOWN_SETTINGS} and of any extra settings. */
  Map<String, String> settings() {
    var settings = new LinkedHashMap<String, String>();
    shownSettings.forEach(name -> settings.put(name, queryAdmin("SHOW " + name)));
    return settings;
  }

  @Override
  public synchronized void close() throws IOException {
    try {
      for (String name : List.copyOf(created)) {
        admin("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
      }
      created.clear();
    } finally {
      if (embedded != null) {
        embedded.close();
      }
    }
  }

  private Database adminDatabase() {
    return new Database(adminDatabase, urlOf(adminDatabase), user, password, this);
  }

  private void admin(String sql) {
    try (Connection connection = adminDatabase().connect();
        Statement statement = connection.createStatement()) {
      statement.execute(sql);
    } catch (SQLException e) {
      throw new IllegalStateException(sql + ": " + e.getMessage(), e);
    }
  }

  private String queryAdmin(String sql) {
    try (Connection connection = adminDatabase().connect();
        Statement statement = connection.createStatement();
        ResultSet row = statement.executeQuery(sql)) {
      row.next();
      return row.getString(1);
    } catch (SQLException e) {
      throw new IllegalStateException(sql + ": " + e.getMessage(), e);
    }
  }

  /** Removes a data directory left by an aborted run; refuses anything else. */
  private static void clearDataDirectory(Path directory) throws IOException {
    if (!Files.exists(directory)) {
      return;
    }
    try (Stream<Path> entries = Files.list(directory)) {
      if (entries.findAny().isPresent() && !Files.exists(directory.resolve("PG_VERSION"))) {
        throw new IOException(directory + " exists and is not a PostgreSQL data directory");
      }
    }
    try (Stream<Path> paths = Files.walk(directory)) {
      paths
          .sorted(Comparator.reverseOrder())
          .forEach(
              path -> {
                try {
                  Files.delete(path);
                } catch (IOException e) {
                  throw new UncheckedIOException(e);
                }
              });
    }
  }

  private static Map<String, String> orderedMap(String... keysAndValues) {
    var map = new LinkedHashMap<String, String>();
    for (int i = 0; i < keysAndValues.length; i += 2) {
      map.put(keysAndValues[i], keysAndValues[i + 1]);
    }
    return map;
  }
}
