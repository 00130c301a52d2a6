package io.en57.testing;

import io.en57.Migrator;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * A PostgreSQL primary and real streaming replicas of it, made by the test for the test: {@code
 * initdb} a primary in a temporary directory on a free port ({@code wal_level=replica}, replication
 * trusted from 127.0.0.1), {@code pg_basebackup -R} each standby from it, start each on another
 * free port as a hot standby replaying the primary's WAL. Methods without a standby's index act on
 * the first. Uses the PostgreSQL binaries in {@code EN57_PG_BIN} (default {@code
 * /usr/lib/postgresql/15/bin}); as root, runs them as the {@code postgres} OS user, since
 * PostgreSQL refuses to run as root. {@link #close()} stops both and deletes their directories (a
 * shutdown hook does it too, should the JVM end first).
 */
public final class StreamingReplica implements AutoCloseable {

  /** Where the PostgreSQL binaries are. */
  public static final String BIN_VARIABLE = "EN57_PG_BIN";

  private static final AtomicInteger DATABASES = new AtomicInteger();

  private final Path bin;
  private final Path dir;
  private final Path primary;
  private final List<Path> standbys = new ArrayList<>();
  private final int primaryPort;
  private final List<Integer> standbyPorts;
  private final boolean asPostgres;
  private final Thread cleanup;

  private StreamingReplica(Path bin, Path dir, int primaryPort, List<Integer> standbyPorts) {
    this.bin = bin;
    this.dir = dir;
    this.primary = dir.resolve("primary");
    for (int i = 0; i < standbyPorts.size(); i++) {
      standbys.add(dir.resolve(i == 0 ? "standby" : "standby" + (i + 1)));
    }
    this.primaryPort = primaryPort;
    this.standbyPorts = List.copyOf(standbyPorts);
    this.asPostgres = "root".equals(System.getProperty("user.name"));
    this.cleanup = new Thread(this::stopQuietly, "en57-streaming-replica-cleanup");
  }

  /** Makes and starts a primary and its standby. */
  public static StreamingReplica start() {
    return start(1);
  }

  /** Makes and starts a primary and {@code standbyCount} standbys of it. */
  public static StreamingReplica start(int standbyCount) {
    Path bin = Path.of(System.getenv().getOrDefault(BIN_VARIABLE, "/usr/lib/postgresql/15/bin"));
    if (!Files.isExecutable(bin.resolve("pg_basebackup"))) {
      throw new IllegalStateException(
          "the replica tests need PostgreSQL's server binaries (initdb, pg_ctl, pg_basebackup) in "
              + bin
              + "; set "
              + BIN_VARIABLE);
    }
    try {
      Path dir = Files.createTempDirectory("en57-replica-");
      var ports = new ArrayList<Integer>();
      for (int i = 0; i < standbyCount; i++) {
        ports.add(freePort());
      }
      var pair = new StreamingReplica(bin, dir, freePort(), ports);
      Runtime.getRuntime().addShutdownHook(pair.cleanup);
      try {
        pair.setUp();
      } catch (RuntimeException | Error e) {
        pair.close();
        throw e;
      }
      return pair;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private void setUp() throws IOException {
    if (asPostgres) {
      run(false, "chown", "postgres:postgres", dir.toString());
    }
    pg(
        "initdb",
        "-D",
        primary.toString(),
        "-U",
        "postgres",
        "-A",
        "trust",
        "--no-sync",
        "-E",
        "UTF8");
    String socket = dir.toString();
    Files.writeString(
        primary.resolve("postgresql.conf"),
        String.join(
            "\n",
            "",
            "listen_addresses = '127.0.0.1'",
            "port = " + primaryPort,
            "unix_socket_directories = '" + socket + "'",
            "wal_level = replica",
            "max_wal_senders = 5",
            "wal_keep_size = '512MB'",
            "hot_standby = on",
            "hot_standby_feedback = on",
            "fsync = off",
            "synchronous_commit = on",
            "max_connections = 100",
            ""),
        StandardOpenOption.APPEND);
    pg(
        "pg_ctl",
        "-D",
        primary.toString(),
        "-l",
        dir.resolve("primary.log").toString(),
        "-w",
        "start");
    for (int i = 0; i < standbys.size(); i++) {
      pg(
          "pg_basebackup",
          "-h",
          "127.0.0.1",
          "-p",
          String.valueOf(primaryPort),
          "-U",
          "postgres",
          "-D",
          standbys.get(i).toString(),
          "-R",
          "-X",
          "stream",
          "-c",
          "fast");
      // The standby's own settings: its port; everything else is the primary's, copied.
      Files.writeString(
          standbys.get(i).resolve("postgresql.conf"),
          "\nport = " + standbyPorts.get(i) + "\n",
          StandardOpenOption.APPEND);
      startStandby(i);
    }
  }

  /** A new database on the primary, migrated, and already replayed by every standby. */
  public String createMigratedDatabase() {
    String name = "en57_replica_" + DATABASES.incrementAndGet();
    try (Connection connection = dataSource(primaryPort, "postgres").getConnection();
        Statement statement = connection.createStatement()) {
      statement.execute("CREATE DATABASE " + name);
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
    Migrator.forDataSource(dataSource(primaryPort, name)).migrate();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    for (int port : standbyPorts) {
      while (true) {
        try (Connection connection = dataSource(port, name).getConnection();
            Statement statement = connection.createStatement()) {
          statement.executeQuery("SELECT 1 FROM en57.events LIMIT 1").close();
          break;
        } catch (SQLException e) {
          if (System.nanoTime() > deadline) {
            throw new IllegalStateException("a standby did not replay database " + name, e);
          }
          sleep(50);
        }
      }
    }
    return name;
  }

  /** A {@code postgres://} URL of {@code database} on the primary. */
  public String primaryUrl(String database) {
    return "postgres://postgres@127.0.0.1:" + primaryPort + "/" + database;
  }

  /** A {@code postgres://} URL of {@code database} on the standby. */
  public String standbyUrl(String database) {
    return standbyUrl(0, database);
  }

  /** A {@code postgres://} URL of {@code database} on standby {@code index}. */
  public String standbyUrl(int index, String database) {
    return "postgres://postgres@127.0.0.1:" + standbyPorts.get(index) + "/" + database;
  }

  /** Connections to {@code database} on the primary. */
  public PGSimpleDataSource primary(String database) {
    return dataSource(primaryPort, database);
  }

  /** Connections to {@code database} on the standby. */
  public PGSimpleDataSource standby(String database) {
    return standby(0, database);
  }

  /** Connections to {@code database} on standby {@code index}. */
  public PGSimpleDataSource standby(int index, String database) {
    return dataSource(standbyPorts.get(index), database);
  }

  /**
   * Stops replaying WAL on the standby, returning once it stopped: it keeps answering, and falls
   * behind.
   */
  public void pauseReplay() {
    pauseReplay(0);
  }

  /** As {@link #pauseReplay()}, on standby {@code index}. */
  public void pauseReplay(int index) {
    standbySql(index, "SELECT pg_wal_replay_pause()");
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (true) {
      try (Connection connection = dataSource(standbyPorts.get(index), "postgres").getConnection();
          Statement statement = connection.createStatement();
          var state = statement.executeQuery("SELECT pg_get_wal_replay_pause_state()")) {
        state.next();
        if (state.getString(1).equals("paused")) {
          return;
        }
      } catch (SQLException e) {
        throw new IllegalStateException("reading the standby's replay state failed", e);
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("the standby did not pause replay");
      }
      sleep(10);
    }
  }

  /** Replays WAL again. */
  public void resumeReplay() {
    resumeReplay(0);
  }

  /** Replays WAL again on standby {@code index}. */
  public void resumeReplay(int index) {
    standbySql(index, "SELECT pg_wal_replay_resume()");
  }

  /** Stops the standby (fast shutdown): connections to it fail. */
  public void stopStandby() {
    pg("pg_ctl", "-D", standbys.get(0).toString(), "-m", "fast", "-w", "stop");
  }

  /** Starts the standby again; it catches up with the primary from where it stopped. */
  public void startStandby() {
    startStandby(0);
  }

  private void startStandby(int index) {
    pg(
        "pg_ctl",
        "-D",
        standbys.get(index).toString(),
        "-l",
        dir.resolve(standbys.get(index).getFileName() + ".log").toString(),
        "-w",
        "start");
  }

  /** Starts the standby if a test stopped it. */
  public void startStandbyIfStopped() {
    if (!Files.exists(standbys.get(0).resolve("postmaster.pid"))) {
      startStandby();
    }
  }

  @Override
  public void close() {
    stopQuietly();
    try {
      Runtime.getRuntime().removeShutdownHook(cleanup);
    } catch (IllegalStateException e) {
      // The JVM is shutting down: the hook runs or ran.
    }
  }

  private void stopQuietly() {
    var servers = new ArrayList<>(standbys);
    servers.add(primary);
    for (Path data : servers) {
      if (Files.exists(data.resolve("postmaster.pid"))) {
        try {
          pg("pg_ctl", "-D", data.toString(), "-m", "immediate", "-w", "stop");
        } catch (RuntimeException e) {
          System.err.println("stopping " + data + " failed: " + e.getMessage());
        }
      }
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      paths.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
    } catch (IOException e) {
      System.err.println("deleting " + dir + " failed: " + e.getMessage());
    }
  }

  private void standbySql(int index, String sql) {
    try (Connection connection = dataSource(standbyPorts.get(index), "postgres").getConnection();
        Statement statement = connection.createStatement()) {
      statement.execute(sql);
    } catch (SQLException e) {
      throw new IllegalStateException(sql + " failed on the standby", e);
    }
  }

  private static PGSimpleDataSource dataSource(int port, String database) {
    var dataSource = new PGSimpleDataSource();
    dataSource.setServerNames(new String[] {"127.0.0.1"});
    dataSource.setPortNumbers(new int[] {port});
    dataSource.setDatabaseName(database);
    dataSource.setUser("postgres");
    dataSource.setConnectTimeout(5);
    return dataSource;
  }

  /** Runs a PostgreSQL binary, as the postgres OS user when the JVM runs as root. */
  private void pg(String program, String... args) {
    var command = new ArrayList<String>();
    if (asPostgres) {
      command.addAll(List.of("runuser", "-u", "postgres", "--"));
    }
    command.add(bin.resolve(program).toString());
    command.addAll(List.of(args));
    run(true, command.toArray(String[]::new));
  }

  private void run(boolean logged, String... command) {
    try {
      Path output = Files.createTempFile("en57-replica-command-", ".log");
      try {
        Process process =
            new ProcessBuilder(command)
                .directory(dir.toFile())
                .redirectErrorStream(true)
                .redirectOutput(output.toFile())
                .start();
        if (!process.waitFor(120, TimeUnit.SECONDS)) {
          process.destroyForcibly();
          throw new IllegalStateException("timed out: " + String.join(" ", command));
        }
        if (process.exitValue() != 0) {
          throw new IllegalStateException(
              String.join(" ", command)
                  + " exited with "
                  + process.exitValue()
                  + ":\n"
                  + Files.readString(output)
                  + (logged ? logs() : ""));
        }
      } finally {
        Files.deleteIfExists(output);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted: " + String.join(" ", command), e);
    }
  }

  private String logs() {
    var text = new StringBuilder();
    var logs = new ArrayList<String>();
    logs.add("primary.log");
    standbys.forEach(standby -> logs.add(standby.getFileName() + ".log"));
    for (String log : logs) {
      Path path = dir.resolve(log);
      try {
        if (Files.exists(path)) {
          text.append("\n--- ").append(log).append(":\n").append(Files.readString(path));
        }
      } catch (IOException e) {
        text.append("\n--- ").append(log).append(" unreadable: ").append(e);
      }
    }
    return text.toString();
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
