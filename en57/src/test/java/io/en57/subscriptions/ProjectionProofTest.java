package io.en57.subscriptions;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.en57.Event;
import io.en57.EventStore;
import io.en57.SequencedEvent;
import io.en57.testing.TestDatabases;
import io.en57.testing.TestDatabases.TestDatabase;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Logger;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Item 6 of the issue, on the real database: projections apply every event exactly once although
 * their runners lose connections mid-batch, throw mid-batch, are killed with their JVM mid-batch or
 * are cut off from the database; a standby takes over when the owner dies; and two nodes never
 * apply batches of one projection at the same time. Every check is against the final log.
 */
@Tag("postgres")
@Tag("slow")
class ProjectionProofTest {

  private static final Duration PATIENCE = Duration.ofSeconds(60);
  static final String NAME = "proof";

  private TestDatabase database;
  private final List<AutoCloseable> opened = new ArrayList<>();
  private final ExecutorService threads = Executors.newCachedThreadPool();

  @BeforeEach
  void createDatabase() {
    database = TestDatabases.createMigrated();
    database.execute(
        "CREATE TABLE applied (position bigint NOT NULL, node text NOT NULL);"
            + " CREATE TABLE journal (id bigserial PRIMARY KEY, node text NOT NULL,"
            + " started timestamptz NOT NULL, finished timestamptz)");
  }

  @AfterEach
  void dropDatabase() throws Exception {
    threads.shutdownNow();
    Collections.reverse(opened);
    for (AutoCloseable closeable : opened) {
      closeable.close();
    }
    database.close();
  }

  private <T extends AutoCloseable> T closeLater(T closeable) {
    opened.add(closeable);
    return closeable;
  }

  /** A pool of its own, as an application node has; its connections are named after the node. */
  private HikariDataSource pool(String node) {
    var config = new HikariConfig();
    config.setJdbcUrl(database.jdbcUrl() + "&ApplicationName=" + node);
    config.setMaximumPoolSize(4);
    return closeLater(new HikariDataSource(config));
  }

  private EventStore store(DataSource pool) {
    return closeLater(
        EventStore.builder().pollInterval(Duration.ofMillis(100)).forDataSource(pool));
  }

  /** Inserts one row per event into {@code applied}, in the batch's transaction. */
  static void insertApplied(Batch batch, Connection connection, String node) throws SQLException {
    try (PreparedStatement insert =
        connection.prepareStatement("INSERT INTO applied (position, node) VALUES (?, ?)")) {
      for (SequencedEvent event : batch.events()) {
        insert.setLong(1, event.position());
        insert.setString(2, node);
        insert.addBatch();
      }
      insert.executeBatch();
    }
  }

  /**
   * The projection the separate-process node runs: applies each batch and journals when its handler
   * started and finished, on a connection of its own (outside the batch's transaction, so that a
   * batch cut short by a kill is journalled too). Each batch takes at least 30 ms, so a kill most
   * likely lands in the middle of one.
   */
  static Projection journalled(EventStore store, String node, DataSource journal) {
    return Projection.of(
            NAME,
            store.read().ofType("Counted"),
            (batch, connection) -> {
              long entry;
              try (Connection journalling = journal.getConnection();
                  PreparedStatement start =
                      journalling.prepareStatement(
                          "INSERT INTO journal (node, started) VALUES (?, clock_timestamp())"
                              + " RETURNING id")) {
                start.setString(1, node);
                try (ResultSet id = start.executeQuery()) {
                  id.next();
                  entry = id.getLong(1);
                }
              }
              insertApplied(batch, connection, node);
              Thread.sleep(30);
              try (Connection journalling = journal.getConnection();
                  PreparedStatement finish =
                      journalling.prepareStatement(
                          "UPDATE journal SET finished = clock_timestamp() WHERE id = ?")) {
                finish.setLong(1, entry);
                finish.executeUpdate();
              }
            })
        .withBatchSize(10);
  }

  private List<Long> matching(EventStore store) {
    return store.read().ofType("Counted").sequenced().map(SequencedEvent::position).toList();
  }

  private List<Long> applied() throws SQLException {
    return longs("SELECT position FROM applied ORDER BY position");
  }

  private List<Long> longs(String sql) throws SQLException {
    var values = new ArrayList<Long>();
    try (Connection connection = database.dataSource().getConnection();
        Statement statement = connection.createStatement();
        ResultSet rows = statement.executeQuery(sql)) {
      while (rows.next()) {
        values.add(rows.getLong(1));
      }
    }
    return values;
  }

  /** Writers on each of {@code stores} append until {@code writing} goes false. */
  private List<Future<Integer>> write(List<EventStore> stores, AtomicBoolean writing, long seed) {
    var writers = new ArrayList<Future<Integer>>();
    for (int w = 0; w < 4; w++) {
      EventStore store = stores.get(w % stores.size());
      var random = new Random(seed + w);
      writers.add(
          threads.submit(
              () -> {
                int appends = 0;
                while (writing.get()) {
                  var events = new ArrayList<Event>();
                  for (int i = random.nextInt(3); i >= 0; i--) {
                    events.add(Event.of(random.nextInt(4) == 0 ? "Other" : "Counted"));
                  }
                  store.append(events);
                  appends++;
                  Thread.sleep(random.nextInt(3));
                }
                return appends;
              }));
    }
    return writers;
  }

  private static void stop(AtomicBoolean writing, List<Future<Integer>> writers) throws Exception {
    writing.set(false);
    for (Future<Integer> writer : writers) {
      assertThat(writer.get(PATIENCE.toSeconds(), TimeUnit.SECONDS)).isPositive();
    }
  }

  private String ownerOf(Projections projections) {
    return projections.status(NAME).get(0).owner().orElse("");
  }

  private void awaitOwner(Projections projections, String prefix) throws InterruptedException {
    long deadline = System.nanoTime() + PATIENCE.toNanos();
    while (!ownerOf(projections).startsWith(prefix)) {
      assertThat(System.nanoTime())
          .as("%s owns the projection in time", prefix)
          .isLessThan(deadline);
      Thread.sleep(5);
    }
  }

  @Test
  void everyEventIsAppliedExactlyOnceThoughBatchesLoseTheirConnectionOrThrowMidway()
      throws Exception {
    HikariDataSource runnerPool = pool("runner");
    EventStore reader = store(runnerPool);
    EventStore writerA = store(pool("writer-a"));
    EventStore writerB = store(pool("writer-b"));
    var killed = new AtomicInteger();
    var thrown = new AtomicInteger();
    var random = new Random(57);
    ProjectionHandler hostile =
        (batch, connection) -> {
          insertApplied(batch, connection, "runner");
          int fault;
          synchronized (random) {
            fault = random.nextInt(10);
          }
          if (fault == 0) {
            thrown.incrementAndGet();
            throw new IllegalStateException("the handler crashed after writing");
          }
          if (fault == 1) {
            killed.incrementAndGet();
            int pid;
            try (Statement statement = connection.createStatement();
                ResultSet row = statement.executeQuery("SELECT pg_backend_pid()")) {
              row.next();
              pid = row.getInt(1);
            }
            database.execute("SELECT pg_terminate_backend(" + pid + ")");
            insertApplied(batch, connection, "runner"); // fails: the connection is gone
          }
        };
    ProjectionRunner runner =
        closeLater(
            ProjectionRunner.start(
                reader,
                runnerPool,
                RunnerOptions.defaults().withLease(Duration.ofSeconds(2)),
                Projection.of(NAME, reader.read().ofType("Counted"), hostile)
                    .withBatchSize(10)
                    .withRetry(new Retry(30, Duration.ofMillis(1), Duration.ofMillis(10)))));
    var writing = new AtomicBoolean(true);
    List<Future<Integer>> writers = write(List.of(writerA, writerB), writing, 57);
    Thread.sleep(4_000);
    stop(writing, writers);
    long head = reader.head();

    assertThat(runner.await(NAME, head, PATIENCE)).isTrue();

    System.out.printf(
        "Exactly once: %d events, %d connections killed and %d handler crashes mid-batch%n",
        head, killed.get(), thrown.get());
    assertThat(applied()).isEqualTo(matching(reader));
    assertThat(killed.get()).as("connections killed mid-batch").isGreaterThan(5);
    assertThat(thrown.get()).as("handler crashes mid-batch").isGreaterThan(5);
  }

  @Test
  void aStandbyTakesOverWhenTheOwnersJvmIsKilledMidBatchAndBatchesNeverOverlap() throws Exception {
    EventStore writer = store(pool("writer"));
    for (int i = 0; i < 60; i++) {
      writer.append(List.of(Event.of("Counted"), Event.of("Counted"), Event.of("Other")));
    }
    Projections projections = Projections.forDataSource(database.dataSource());
    Duration lease = Duration.ofMillis(1_000);
    Process owner = startNode("doomed", lease);
    try {
      awaitOwner(projections, "doomed");
      HikariDataSource standbyPool = pool("standby");
      EventStore standbyStore = store(standbyPool);
      ProjectionRunner standby =
          closeLater(
              ProjectionRunner.start(
                  standbyStore,
                  standbyPool,
                  RunnerOptions.defaults().withLease(lease).withNodeName("standby"),
                  journalled(standbyStore, "standby", standbyPool)));
      var writing = new AtomicBoolean(true);
      List<Future<Integer>> writers = write(List.of(writer), writing, 58);
      while (projections.status(NAME).get(0).checkpoint() < 60) {
        Thread.sleep(5);
      }
      assertThat(ownerOf(projections)).startsWith("doomed");

      owner.destroyForcibly().waitFor();
      long killedAt = System.nanoTime();
      String killTime = queryText("SELECT clock_timestamp()::text");
      awaitOwner(projections, "standby");
      long takeoverMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killedAt);
      stop(writing, writers);
      long head = writer.head();

      assertThat(standby.await(NAME, head, PATIENCE)).isTrue();

      long unfinished = longs("SELECT count(*) FROM journal WHERE finished IS NULL").get(0);
      System.out.printf(
          "Takeover %d ms after the kill (lease %d ms); the killed node left %d batch(es)"
              + " unfinished; %d events%n",
          takeoverMillis, lease.toMillis(), unfinished, head);
      assertThat(applied()).isEqualTo(matching(writer));
      assertThat(longs("SELECT count(*) FROM applied WHERE node = 'doomed'").get(0)).isPositive();
      assertThat(longs("SELECT count(*) FROM applied WHERE node = 'standby'").get(0)).isPositive();
      // A batch cut short by the kill ends at the kill at the latest.
      database.execute("UPDATE journal SET finished = '" + killTime + "' WHERE finished IS NULL");
      assertThat(
              longs(
                  "SELECT count(*) FROM journal a JOIN journal b ON a.id < b.id"
                      + " AND a.started < b.finished AND b.started < a.finished"))
          .as("handler runs that overlap in time")
          .containsExactly(0L);
    } finally {
      owner.destroyForcibly();
    }
  }

  @Test
  void anOwnerCutOffFromTheDatabaseIsReplacedAndFencedWhenItComesBack() throws Exception {
    var cut = new AtomicBoolean();
    HikariDataSource ownerPool = pool("owner");
    DataSource severable = severable(ownerPool, cut);
    EventStore ownerStore = store(ownerPool);
    EventStore writer = store(pool("writer"));
    Projections projections = Projections.forDataSource(database.dataSource());
    Duration lease = Duration.ofMillis(600);
    Projection counted =
        Projection.of(
                NAME,
                writer.read().ofType("Counted"),
                (batch, connection) -> insertApplied(batch, connection, "any"))
            .withBatchSize(10);
    closeLater(
        ProjectionRunner.start(
            ownerStore,
            severable,
            RunnerOptions.defaults().withLease(lease).withNodeName("owner"),
            counted));
    awaitOwner(projections, "owner");
    HikariDataSource standbyPool = pool("standby");
    ProjectionRunner standby =
        closeLater(
            ProjectionRunner.start(
                store(standbyPool),
                standbyPool,
                RunnerOptions.defaults().withLease(lease).withNodeName("standby"),
                counted));
    var writing = new AtomicBoolean(true);
    List<Future<Integer>> writers = write(List.of(writer), writing, 59);
    Thread.sleep(500);

    cut.set(true);
    database.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'owner'");
    awaitOwner(projections, "standby");
    cut.set(false);
    Thread.sleep(3 * lease.toMillis()); // the former owner is back, and must stay a standby
    stop(writing, writers);
    long head = writer.head();

    assertThat(standby.await(NAME, head, PATIENCE)).isTrue();
    assertThat(ownerOf(projections)).startsWith("standby");
    assertThat(applied()).isEqualTo(matching(writer));
  }

  @Test
  void aLeaseShorterThanABatchNeverLetsTwoNodesApplyBatchesAtOnce() throws Exception {
    EventStore writer = store(pool("writer"));
    var inFlight = new AtomicInteger();
    var mostAtOnce = new AtomicInteger();
    var batches = new AtomicInteger();
    List<ProjectionRunner> runners = new ArrayList<>();
    for (String node : List.of("one", "two")) {
      HikariDataSource nodePool = pool(node);
      EventStore nodeStore = store(nodePool);
      ProjectionHandler slow =
          (batch, connection) -> {
            mostAtOnce.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
            try {
              insertApplied(batch, connection, node);
              Thread.sleep(150); // three times the lease
              batches.incrementAndGet();
            } finally {
              inFlight.decrementAndGet();
            }
          };
      runners.add(
          closeLater(
              ProjectionRunner.start(
                  nodeStore,
                  nodePool,
                  RunnerOptions.defaults().withLease(Duration.ofMillis(50)).withNodeName(node),
                  Projection.of(NAME, nodeStore.read().ofType("Counted"), slow).withBatchSize(5))));
    }
    for (int i = 0; i < 150; i++) {
      writer.append(List.of(Event.of("Counted")));
      Thread.sleep(10);
    }
    long head = writer.head();

    boolean caughtUp = runners.get(0).await(NAME, head, PATIENCE);

    System.out.printf(
        "%d batches by %s node(s), at most %d at once%n",
        batches.get(), longs("SELECT count(DISTINCT node) FROM applied").get(0), mostAtOnce.get());
    assertThat(mostAtOnce.get()).isEqualTo(1);
    assertThat(caughtUp).isTrue();
    assertThat(batches.get()).isGreaterThan(5);
    assertThat(applied()).isEqualTo(matching(writer));
  }

  private String queryText(String sql) throws SQLException {
    try (Connection connection = database.dataSource().getConnection();
        Statement statement = connection.createStatement();
        ResultSet row = statement.executeQuery(sql)) {
      row.next();
      return row.getString(1);
    }
  }

  /** Starts {@link ProjectionNode} in a JVM of its own and waits until it says it started. */
  private Process startNode(String node, Duration lease) throws Exception {
    var command =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp",
                System.getProperty("java.class.path"),
                ProjectionNode.class.getName(),
                database.jdbcUrl() + "&ApplicationName=" + node,
                Long.toString(lease.toMillis()),
                node)
            .redirectErrorStream(true);
    Process process = command.start();
    var output =
        new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
    Future<Boolean> started =
        threads.submit(
            () -> {
              String line;
              boolean seen = false;
              while ((line = output.readLine()) != null) {
                seen |= line.startsWith("started " + node);
              }
              return seen;
            });
    long deadline = System.nanoTime() + PATIENCE.toNanos();
    while (!started.isDone() && System.nanoTime() < deadline) {
      if (longs("SELECT count(*) FROM en57.projections").get(0) > 0) {
        return process;
      }
      Thread.sleep(10);
    }
    process.destroyForcibly();
    throw new AssertionError("the node did not start");
  }

  /** {@code pool}, failing every request for a connection while {@code cut} is set. */
  private static DataSource severable(DataSource pool, AtomicBoolean cut) {
    return new DataSource() {
      @Override
      public Connection getConnection() throws SQLException {
        if (cut.get()) {
          throw new SQLException("the network to the database is cut", "08001");
        }
        return pool.getConnection();
      }

      @Override
      public Connection getConnection(String user, String password) throws SQLException {
        throw new SQLException("not supported");
      }

      @Override
      public PrintWriter getLogWriter() {
        return null;
      }

      @Override
      public void setLogWriter(PrintWriter out) {}

      @Override
      public void setLoginTimeout(int seconds) {}

      @Override
      public int getLoginTimeout() {
        return 0;
      }

      @Override
      public Logger getParentLogger() {
        return Logger.getGlobal();
      }

      @Override
      public <T> T unwrap(Class<T> type) throws SQLException {
        throw new SQLException("not a wrapper");
      }

      @Override
      public boolean isWrapperFor(Class<?> type) {
        return false;
      }
    };
  }
}
