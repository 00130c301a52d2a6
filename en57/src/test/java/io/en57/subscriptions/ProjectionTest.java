package io.en57.subscriptions;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.en57.En57StorageException;
import io.en57.Event;
import io.en57.EventStore;
import io.en57.SequencedEvent;
import io.en57.observation.ProjectionBatch;
import io.en57.observation.ProjectionFailure;
import io.en57.observation.StoreListener;
import io.en57.testing.FreezableProxy;
import io.en57.testing.TestDatabases;
import io.en57.testing.TestDatabases.TestDatabase;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * Projections on PostgreSQL: a read model kept with its checkpoint, restarts, retries, FAILED and
 * dead letters, resets and rebuilds, partitioning, and waiting for a position.
 */
@Tag("postgres")
class ProjectionTest {

  static final Duration PATIENCE = Duration.ofSeconds(30);

  private static TestDatabase database;
  private static HikariDataSource pool;
  private final List<AutoCloseable> opened = new ArrayList<>();
  private EventStore store;
  private Projections projections;

  @BeforeAll
  static void createDatabase() {
    database = TestDatabases.createMigrated();
    var config = new HikariConfig();
    config.setDataSource(database.dataSource());
    config.setMaximumPoolSize(8);
    pool = new HikariDataSource(config);
  }

  @AfterAll
  static void dropDatabase() {
    pool.close();
    database.close();
  }

  @BeforeEach
  void emptyEverything() {
    database.emptyLog("en57.projections", "en57.projection_dead_letters");
    database.execute(
        "DROP TABLE IF EXISTS applied; CREATE TABLE applied (position bigint, type text,"
            + " segment int)");
    store =
        closeLater(EventStore.builder().pollInterval(Duration.ofMillis(200)).forDataSource(pool));
    projections = Projections.forDataSource(pool);
  }

  @AfterEach
  void closeEverything() throws Exception {
    Collections.reverse(opened);
    for (AutoCloseable closeable : opened) {
      closeable.close();
    }
    opened.clear();
  }

  private <T extends AutoCloseable> T closeLater(T closeable) {
    opened.add(closeable);
    return closeable;
  }

  private ProjectionRunner run(Projection... projection) {
    return run(store, projection);
  }

  private ProjectionRunner run(EventStore on, Projection... projection) {
    return closeLater(
        ProjectionRunner.start(
            on, pool, RunnerOptions.defaults().withLease(Duration.ofSeconds(2)), projection));
  }

  /** A handler inserting one row per event into {@code applied}. */
  static ProjectionHandler recordInto(int segment) {
    return (batch, connection) -> {
      try (PreparedStatement insert =
          connection.prepareStatement(
              "INSERT INTO applied (position, type, segment) VALUES (?, ?, ?)")) {
        for (SequencedEvent event : batch.events()) {
          insert.setLong(1, event.position());
          insert.setString(2, event.event().type());
          insert.setInt(3, segment);
          insert.addBatch();
        }
        insert.executeBatch();
      }
    };
  }

  static List<Long> applied(javax.sql.DataSource dataSource) throws SQLException {
    var positions = new ArrayList<Long>();
    try (Connection connection = dataSource.getConnection();
        Statement statement = connection.createStatement();
        ResultSet rows = statement.executeQuery("SELECT position FROM applied ORDER BY position")) {
      while (rows.next()) {
        positions.add(rows.getLong(1));
      }
    }
    return positions;
  }

  private List<Long> positionsOf(String type) {
    return store.read().ofType(type).sequenced().map(SequencedEvent::position).toList();
  }

  private long appendSome(int count, String type) {
    long last = 0;
    for (int i = 0; i < count; i++) {
      last = store.append(List.of(Event.of(type).withTags("n:" + i))).position();
    }
    return last;
  }

  @Test
  void aProjectionAppliesEveryMatchingEventOnceAndRecordsItsCheckpoint() throws Exception {
    appendSome(30, "Counted");
    appendSome(5, "Ignored");
    ProjectionRunner runner =
        run(
            Projection.of("counter", store.read().ofType("Counted"), recordInto(0))
                .withBatchSize(7));
    long head = appendSome(12, "Counted");

    assertThat(runner.await("counter", head, PATIENCE)).isTrue();

    assertThat(applied(pool)).isEqualTo(positionsOf("Counted")).hasSize(42);
    ProjectionStatus status = projections.status("counter").get(0);
    assertThat(status.checkpoint()).isEqualTo(head);
    assertThat(status.lag()).isZero();
    assertThat(status.state()).isEqualTo(ProjectionState.RUNNING);
    assertThat(status.owner()).contains(runner.node());
  }

  @Test
  void theCheckpointMovesPastEventsThatDoNotMatchSoAwaitSeesThem() throws Exception {
    ProjectionRunner runner =
        run(Projection.of("counter", store.read().ofType("Counted"), recordInto(0)));
    long head = appendSome(3, "Ignored");
    assertThat(runner.await("counter", head, PATIENCE)).isTrue();
    assertThat(projections.await("counter", head, PATIENCE)).isTrue();
    assertThat(applied(pool)).isEmpty();
  }

  @Test
  void awaitOutlastsItsConnectionsBeingTerminatedWhileItWaits() throws Exception {
    run(Projection.of("counter", store.read().ofType("Counted"), recordInto(0))).close();
    long head = appendSome(3, "Counted");
    var config = new HikariConfig();
    config.setDataSource(database.dataSource());
    config.setMaximumPoolSize(1);
    config.setConnectionInitSql("SET application_name = 'awaiting'");
    var awaiting = Projections.forDataSource(closeLater(new HikariDataSource(config)));
    var waiter = Executors.newSingleThreadExecutor();
    try {
      Future<Boolean> reached = waiter.submit(() -> awaiting.await("counter", head, PATIENCE));
      // Terminated while idle in the pool (the pool hands it out again without a check) or while
      // reading: either way, the waiting read fails on a broken connection.
      for (int i = 0; i < 5; i++) {
        Thread.sleep(100);
        database.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                + " WHERE application_name = 'awaiting'");
      }
      assertThat(reached).isNotDone();
      run(Projection.of("counter", store.read().ofType("Counted"), recordInto(0)));
      assertThat(reached.get(PATIENCE.toSeconds(), TimeUnit.SECONDS)).isTrue();
    } finally {
      waiter.shutdownNow();
    }
  }

  @Test
  void awaitFailsASecondAfterItsTimeoutWhenTheDatabaseStopsAnswering() throws Exception {
    run(Projection.of("counter", store.read().ofType("Counted"), recordInto(0))).close();
    long head = appendSome(1, "Counted");
    FreezableProxy proxy = proxyToTheDatabase();
    var config = new HikariConfig();
    config.setDataSource(through(proxy));
    config.setMaximumPoolSize(1);
    var awaiting = Projections.forDataSource(closeLater(new HikariDataSource(config)));
    var waiter = Executors.newSingleThreadExecutor();
    try {
      Future<Boolean> reached =
          waiter.submit(() -> awaiting.await("counter", head, Duration.ofSeconds(1)));
      Thread.sleep(200);
      proxy.freeze();
      // Without a network timeout, the read in flight would wait for ever.
      assertThatThrownBy(() -> reached.get(15, TimeUnit.SECONDS))
          .isInstanceOf(ExecutionException.class)
          .hasCauseInstanceOf(En57StorageException.class);
    } finally {
      proxy.thaw();
      waiter.shutdownNow();
    }
  }

  @Test
  void aRestartedRunnerResumesFromTheCheckpoint() throws Exception {
    var calls = new AtomicInteger();
    ProjectionHandler counting =
        (batch, connection) -> {
          calls.addAndGet(batch.events().size());
          recordInto(0).apply(batch, connection);
        };
    ProjectionRunner first = run(Projection.of("counter", store.read(), counting));
    long head = appendSome(20, "Counted");
    assertThat(first.await("counter", head, PATIENCE)).isTrue();
    first.close();
    assertThat(projections.status("counter").get(0).state()).isEqualTo(ProjectionState.STOPPED);

    long more = appendSome(10, "Counted");
    ProjectionRunner second = run(Projection.of("counter", store.read(), counting));

    assertThat(second.await("counter", more, PATIENCE)).isTrue();
    assertThat(calls.get()).isEqualTo(30);
    assertThat(applied(pool)).isEqualTo(positionsOf("Counted"));
  }

  @Test
  void aFailingBatchIsRolledBackAndRetriedSoEveryEventIsAppliedOnce() throws Exception {
    var failures = new AtomicInteger();
    ProjectionHandler flaky =
        (batch, connection) -> {
          recordInto(0).apply(batch, connection);
          if (failures.incrementAndGet() % 3 != 0) {
            throw new IllegalStateException("flaky after writing");
          }
        };
    ProjectionRunner runner =
        run(
            Projection.of("flaky", store.read(), flaky)
                .withBatchSize(5)
                .withRetry(new Retry(3, Duration.ofMillis(1), Duration.ofMillis(5))));
    long head = appendSome(40, "Counted");

    assertThat(runner.await("flaky", head, PATIENCE)).isTrue();

    assertThat(applied(pool)).isEqualTo(positionsOf("Counted"));
    assertThat(failures.get()).isGreaterThan(16);
  }

  @Test
  void anEventTheHandlerKeepsFailingOnStopsTheProjectionInStateFailedRightBeforeIt()
      throws Exception {
    var broken = new AtomicBoolean(true);
    appendSome(10, "Fine");
    long poison = store.append(List.of(Event.of("Poison"))).position();
    long head = appendSome(10, "Fine");
    ProjectionHandler handler =
        (batch, connection) -> {
          recordInto(0).apply(batch, connection);
          if (broken.get()
              && batch.events().stream().anyMatch(e -> e.event().type().equals("Poison"))) {
            throw new IllegalArgumentException("cannot digest " + batch.events().size());
          }
        };
    ProjectionRunner runner =
        run(
            Projection.of("picky", store.read(), handler)
                .withBatchSize(8)
                .withRetry(new Retry(2, Duration.ofMillis(1), Duration.ofMillis(1))));

    assertThatThrownBy(() -> runner.await("picky", head, PATIENCE))
        .isInstanceOf(ProjectionFailedException.class)
        .hasMessageContaining("position " + poison)
        .hasMessageContaining("cannot digest 1");
    ProjectionStatus status = projections.status("picky").get(0);
    assertThat(status.state()).isEqualTo(ProjectionState.FAILED);
    assertThat(status.checkpoint()).isEqualTo(poison - 1);
    assertThat(status.error()).hasValueSatisfying(e -> assertThat(e).contains("Poison"));
    assertThat(applied(pool)).isEqualTo(positionsOf("Fine").subList(0, 10));

    broken.set(false);
    projections.reset("picky", status.checkpoint());

    assertThat(runner.await("picky", head, PATIENCE)).isTrue();
    assertThat(applied(pool)).hasSize(21).doesNotHaveDuplicates();
  }

  @Test
  void aStackOverflowInTheHandlerRollsItsBatchBackAndStopsTheProjectionInStateFailed()
      throws Exception {
    ProjectionHandler overflowing =
        (batch, connection) -> {
          recordInto(0).apply(batch, connection);
          throw new StackOverflowError("deep");
        };
    ProjectionRunner runner = run(Projection.of("overflowing", store.read(), overflowing));
    long head = appendSome(3, "Counted");

    // Ending the transaction by switching autocommit back on would have committed the rows.
    assertThatThrownBy(() -> runner.await("overflowing", head, PATIENCE))
        .isInstanceOf(ProjectionFailedException.class)
        .hasMessageContaining("StackOverflowError");
    assertThat(projections.status("overflowing").get(0).checkpoint()).isZero();
    assertThat(applied(pool)).isEmpty();
  }

  @Test
  void anErrorTheHandlerThrowsWithAMessagePostgresCannotStoreStillStopsTheProjection()
      throws Exception {
    ProjectionHandler failing =
        (batch, connection) -> {
          throw new IllegalStateException("the broker said bad\u0000byte");
        };
    ProjectionRunner runner =
        run(
            Projection.of("unstorable", store.read(), failing)
                .withRetry(new Retry(2, Duration.ofMillis(1), Duration.ofMillis(1))));
    long head = appendSome(1, "Counted");

    assertThatThrownBy(() -> runner.await("unstorable", head, PATIENCE))
        .isInstanceOf(ProjectionFailedException.class)
        .hasMessageContaining("bad\uFFFDbyte");
    assertThat(projections.status("unstorable").get(0).state()).isEqualTo(ProjectionState.FAILED);
  }

  @Test
  void eachBatchIsReportedWithItsLagEvenWhenTheRunnersHoldEveryConnectionOfTheStoresPool()
      throws Exception {
    var config = new HikariConfig();
    config.setDataSource(database.dataSource());
    config.setMaximumPoolSize(2);
    config.setConnectionTimeout(2_000);
    HikariDataSource small = closeLater(new HikariDataSource(config));
    var reports = Collections.synchronizedList(new ArrayList<ProjectionBatch>());
    EventStore observed =
        closeLater(
            EventStore.builder()
                .listener(
                    new StoreListener() {
                      @Override
                      public void projectionBatchApplied(ProjectionBatch batch) {
                        reports.add(batch);
                      }
                    })
                .forDataSource(small));
    long head = appendSome(10, "Counted");
    // Both runners hold a connection of the two at once, in their first batch.
    var together = new CyclicBarrier(2);
    ProjectionRunner runner =
        closeLater(
            ProjectionRunner.start(
                observed,
                small,
                RunnerOptions.defaults(),
                Projection.of("left", observed.read(), meetingOnce(together)).withBatchSize(5),
                Projection.of("right", observed.read(), meetingOnce(together)).withBatchSize(5)));

    assertThat(runner.await("left", head, PATIENCE)).isTrue();
    assertThat(runner.await("right", head, PATIENCE)).isTrue();
    // Asking for the head with the batch's connection still held would wait for a connection
    // neither runner gives back, until the pool's timeout failed the report.
    assertThat(reports)
        .filteredOn(report -> report.checkpoint() == 5)
        .extracting(ProjectionBatch::projection)
        .containsExactlyInAnyOrder("left", "right");
    assertThat(reports)
        .filteredOn(report -> report.checkpoint() == 5)
        .extracting(ProjectionBatch::lag)
        .containsOnly(head - 5);
  }

  /** A handler whose first batch waits until another handler's first batch is being handled. */
  private static ProjectionHandler meetingOnce(CyclicBarrier barrier) {
    var first = new AtomicBoolean(true);
    return (batch, connection) -> {
      if (first.getAndSet(false)) {
        try {
          barrier.await(10, TimeUnit.SECONDS);
        } catch (Exception e) {
          throw new IllegalStateException("the other runner never came", e);
        }
      }
    };
  }

  @Test
  void aRunnerWhoseStoreClosesFirstStopsAndGivesItsSegmentUp() throws Exception {
    EventStore owning =
        EventStore.builder().pollInterval(Duration.ofMillis(200)).forUrl(database.jdbcUrl());
    ProjectionRunner runner = run(owning, Projection.of("orphaned", owning.read(), recordInto(0)));
    long head = owning.append(List.of(Event.of("Counted"))).position();
    assertThat(runner.await("orphaned", head, PATIENCE)).isTrue();

    owning.close();

    // Its pool gone, the store refuses at once; before, the runner kept claiming the segment.
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (projections.status("orphaned").get(0).owner().isPresent()) {
      assertThat(System.nanoTime()).as("segment given up within 10 s").isLessThan(deadline);
      Thread.sleep(50);
    }
  }

  @Test
  void attemptsOutlastingTheLeaseKeepTheSegmentSoTheProjectionStillReachesFailed()
      throws Exception {
    var calls = new AtomicInteger();
    ProjectionHandler slowlyFailing =
        (batch, connection) -> {
          calls.incrementAndGet();
          Thread.sleep(300);
          throw new IllegalStateException("still failing");
        };
    Projection projection =
        Projection.of("stubborn", store.read(), slowlyFailing)
            .withRetry(new Retry(6, Duration.ofMillis(300), Duration.ofMillis(300)));
    // Two nodes; the six attempts take longer than the lease.
    ProjectionRunner runner = run(projection);
    run(projection);
    long head = appendSome(1, "Counted");

    assertThatThrownBy(() -> runner.await("stubborn", head, PATIENCE))
        .isInstanceOf(ProjectionFailedException.class)
        .hasMessageContaining("still failing");
    // Another node taking the segment between attempts would have started counting again.
    assertThat(calls).hasValue(6);
  }

  @Test
  void aHandlerThatLeavesItsTransactionAbortedFailsItsBatchRatherThanTheDatabase()
      throws Exception {
    ProjectionHandler swallowing =
        (batch, connection) -> {
          recordInto(0).apply(batch, connection);
          try (Statement statement = connection.createStatement()) {
            statement.execute("SELECT 1 / 0");
          } catch (SQLException e) {
            // Swallowed, as a handler might; the transaction stays aborted all the same.
          }
        };
    ProjectionRunner runner =
        run(
            Projection.of("swallowing", store.read(), swallowing)
                .withRetry(new Retry(2, Duration.ofMillis(1), Duration.ofMillis(1))));
    long head = appendSome(3, "Counted");

    assertThatThrownBy(() -> runner.await("swallowing", head, PATIENCE))
        .isInstanceOf(ProjectionFailedException.class)
        .hasMessageContaining("current transaction is aborted");
    ProjectionStatus status = projections.status("swallowing").get(0);
    assertThat(status.state()).isEqualTo(ProjectionState.FAILED);
    assertThat(status.checkpoint()).isZero();
    assertThat(applied(pool)).isEmpty();
  }

  @Test
  void aBatchTheDatabaseKeepsFailingIsRetriedWithAGrowingPauseWhateverTheHandlersRetry()
      throws Exception {
    var calls = new AtomicInteger();
    ProjectionHandler deadlocking =
        (batch, connection) -> {
          calls.incrementAndGet();
          throw new SQLException("deadlock detected", "40P01");
        };
    run(Projection.of("deadlocking", store.read(), deadlocking).withRetry(Retry.none()));
    appendSome(1, "Counted");

    Thread.sleep(2_000);

    // 100, 200, 400, 800 ms between tries: about five in two seconds, where no pause makes
    // hundreds.
    assertThat(calls.get()).isBetween(1, 8);
    assertThat(projections.status("deadlocking").get(0).state()).isEqualTo(ProjectionState.RUNNING);
  }

  /** A payload class the stored data does not fit. */
  record SeatsLeft(int left) {}

  @Test
  void anEventThatCannotBeDecodedStopsTheProjectionInStateFailedBeforeIt() throws Exception {
    long fine = appendSome(2, "Counted");
    long head = store.append(List.of(Event.of("SeatsLeft", Map.of("left", "many")))).position();
    EventStore strict =
        closeLater(
            EventStore.builder()
                .register("SeatsLeft", SeatsLeft.class)
                .pollInterval(Duration.ofMillis(200))
                .forDataSource(pool));
    ProjectionRunner runner =
        run(strict, Projection.of("strict", strict.read(), recordInto(0)).withBatchSize(1));

    assertThatThrownBy(() -> runner.await("strict", head, PATIENCE))
        .isInstanceOf(ProjectionFailedException.class)
        .hasMessageContaining("cannot decode the event at position " + head);
    ProjectionStatus status = projections.status("strict").get(0);
    assertThat(status.state()).isEqualTo(ProjectionState.FAILED);
    assertThat(status.checkpoint()).isEqualTo(fine);
    assertThat(applied(pool)).isEqualTo(positionsOf("Counted"));
  }

  @Test
  void withDeadLettersAnEventTheHandlerKeepsFailingOnIsSkippedAndRecorded() throws Exception {
    appendSome(5, "Fine");
    long poison = store.append(List.of(Event.of("Poison"))).position();
    long head = appendSome(5, "Fine");
    ProjectionHandler handler =
        (batch, connection) -> {
          recordInto(0).apply(batch, connection);
          if (batch.events().stream().anyMatch(e -> e.event().type().equals("Poison"))) {
            throw new IllegalArgumentException("indigestible");
          }
        };
    ProjectionRunner runner =
        run(
            Projection.of("tolerant", store.read(), handler)
                .withDeadLetters()
                .withRetry(new Retry(2, Duration.ofMillis(1), Duration.ofMillis(1))));

    assertThat(runner.await("tolerant", head, PATIENCE)).isTrue();

    assertThat(applied(pool)).isEqualTo(positionsOf("Fine"));
    List<DeadLetter> letters = projections.deadLetters("tolerant");
    assertThat(letters).hasSize(1);
    assertThat(letters.get(0).position()).isEqualTo(poison);
    assertThat(letters.get(0).eventId())
        .isEqualTo(store.read().ofType("Poison").toList().get(0).id());
    assertThat(letters.get(0).error()).contains("indigestible");
  }

  @Test
  void withDeadLettersAnEventTheHandlerCallsUnprocessableIsSkippedAtOnceWithoutRetries()
      throws Exception {
    appendSome(5, "Fine");
    long poison = store.append(List.of(Event.of("Poison"))).position();
    long head = appendSome(5, "Fine");
    var poisonSeen = new AtomicInteger();
    ProjectionHandler handler =
        (batch, connection) -> {
          for (SequencedEvent event : batch.events()) {
            if (event.event().type().equals("Poison")) {
              poisonSeen.incrementAndGet();
              throw new UnprocessableEventException(event, "not for this read model");
            }
          }
          recordInto(0).apply(batch, connection);
        };
    // Were the event retried as this policy says, the await below would run out first.
    ProjectionRunner runner =
        run(
            Projection.of("strict", store.read(), handler)
                .withDeadLetters()
                .withRetry(new Retry(1_000, Duration.ofSeconds(1), Duration.ofSeconds(1))));

    assertThat(runner.await("strict", head, PATIENCE)).isTrue();

    assertThat(poisonSeen).hasValue(1);
    assertThat(applied(pool)).isEqualTo(positionsOf("Fine"));
    List<DeadLetter> letters = projections.deadLetters("strict");
    assertThat(letters).extracting(DeadLetter::position).containsExactly(poison);
    assertThat(letters.get(0).error()).contains("not for this read model");
  }

  @Test
  void aResetRunsTheResetHandlerOnceThenAppliesTheEventsAfterThePositionAgain() throws Exception {
    var resets = Collections.synchronizedList(new ArrayList<Long>());
    ResetHandler undo =
        (connection, position) -> {
          resets.add(position);
          try (PreparedStatement delete =
              connection.prepareStatement("DELETE FROM applied WHERE position > ?")) {
            delete.setLong(1, position);
            delete.executeUpdate();
          }
        };
    ProjectionRunner runner =
        run(Projection.of("resettable", store.read(), recordInto(0)).onReset(undo));
    long head = appendSome(20, "Counted");
    assertThat(runner.await("resettable", head, PATIENCE)).isTrue();

    projections.reset("resettable", 12);
    long more = appendSome(3, "Counted");

    assertThat(runner.await("resettable", more, PATIENCE)).isTrue();
    assertThat(resets).containsExactly(12L);
    assertThat(applied(pool)).isEqualTo(positionsOf("Counted"));

    projections.rebuild("resettable");
    assertThat(runner.await("resettable", more, PATIENCE)).isTrue();
    assertThat(resets).containsExactly(12L, 0L);
    assertThat(applied(pool)).isEqualTo(positionsOf("Counted"));
  }

  @Test
  void anErrorInTheResetHandlerRollsTheResetBackAndItRunsAgain() throws Exception {
    var resets = new AtomicInteger();
    ResetHandler failingOnce =
        (connection, position) -> {
          try (Statement statement = connection.createStatement()) {
            statement.execute("DELETE FROM applied WHERE position > " + position);
          }
          if (resets.incrementAndGet() == 1) {
            throw new AssertionError("not yet");
          }
        };
    ProjectionRunner runner =
        run(
            Projection.of("resettable", store.read(), recordInto(0))
                .onReset(failingOnce)
                .withRetry(new Retry(3, Duration.ofMillis(1), Duration.ofMillis(1))));
    long head = appendSome(5, "Counted");
    assertThat(runner.await("resettable", head, PATIENCE)).isTrue();

    projections.reset("resettable", 2);
    long more = appendSome(2, "Counted");

    assertThat(runner.await("resettable", more, PATIENCE)).isTrue();
    assertThat(resets.get()).isEqualTo(2);
    assertThat(applied(pool)).isEqualTo(positionsOf("Counted"));
  }

  @Test
  void aResetHandlerThatLeavesItsTransactionAbortedFailsRatherThanRunningAgainAndAgain()
      throws Exception {
    var resets = new AtomicInteger();
    ResetHandler swallowing =
        (connection, position) -> {
          resets.incrementAndGet();
          try (Statement statement = connection.createStatement()) {
            statement.execute("SELECT 1 / 0");
          } catch (SQLException e) {
            // Swallowed, as a handler might; the transaction stays aborted all the same.
          }
        };
    ProjectionRunner runner =
        run(
            Projection.of("resettable", store.read(), recordInto(0))
                .onReset(swallowing)
                .withRetry(new Retry(2, Duration.ofMillis(1), Duration.ofMillis(1))));
    long head = appendSome(3, "Counted");
    assertThat(runner.await("resettable", head, PATIENCE)).isTrue();

    projections.reset("resettable", 1);

    assertThatThrownBy(() -> runner.await("resettable", head, PATIENCE))
        .isInstanceOf(ProjectionFailedException.class)
        .hasMessageContaining("current transaction is aborted");
    assertThat(resets.get()).isEqualTo(2);
  }

  @Test
  void aHandlerThatInterruptsItsThreadLeavesTheWorkerWaitingIdleAndFollowing() throws Exception {
    var interrupted = new AtomicBoolean();
    var interruptedOnEntry = new AtomicInteger();
    ProjectionHandler interrupting =
        (batch, connection) -> {
          if (Thread.currentThread().isInterrupted()) {
            interruptedOnEntry.incrementAndGet();
          }
          recordInto(0).apply(batch, connection);
          if (interrupted.compareAndSet(false, true)) {
            Thread.currentThread().interrupt();
          }
        };
    // One event a batch: the second comes at once, without a wait in between.
    ProjectionRunner runner =
        run(Projection.of("interrupted", store.read(), interrupting).withBatchSize(1));
    assertThat(runner.await("interrupted", appendSome(2, "Counted"), PATIENCE)).isTrue();
    assertThat(interrupted).isTrue();

    // Caught up, the worker waits for events: kept, the interrupt would end every wait at once.
    Thread worker =
        Thread.getAllStackTraces().keySet().stream()
            .filter(thread -> thread.getName().equals("en57-projection-interrupted-0"))
            .findFirst()
            .orElseThrow();
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    long cpuBefore = threads.getThreadCpuTime(worker.getId());
    assertThat(cpuBefore).isNotNegative();
    Thread.sleep(1_000);
    long idleCpu = threads.getThreadCpuTime(worker.getId()) - cpuBefore;
    assertThat(Duration.ofNanos(idleCpu)).isLessThan(Duration.ofMillis(200));

    long head = appendSome(3, "Counted");

    assertThat(runner.await("interrupted", head, PATIENCE)).isTrue();
    assertThat(applied(pool)).isEqualTo(positionsOf("Counted"));
    assertThat(interruptedOnEntry).hasValue(0);
  }

  @Test
  void aBatchWhoseConnectionDiesWithoutAWordIsGivenUpAndAppliedAgain() throws Exception {
    var proxy = proxyToTheDatabase();
    var handling = new CountDownLatch(1);
    var cutOff = new CountDownLatch(1);
    var calls = new AtomicInteger();
    ProjectionHandler waitingForTheCut =
        (batch, connection) -> {
          recordInto(0).apply(batch, connection);
          if (calls.incrementAndGet() == 1) {
            handling.countDown();
            cutOff.await();
          }
        };
    ProjectionRunner runner =
        runThrough(proxy, Projection.of("cut-off", store.read(), waitingForTheCut));
    long head = appendSome(3, "Counted");
    assertThat(handling.await(PATIENCE.toSeconds(), TimeUnit.SECONDS)).isTrue();

    // The server ends the batch's session, and the runner's next call waits for an answer in vain.
    proxy.cutOff();
    cutOff.countDown();

    assertThat(runner.await("cut-off", head, PATIENCE)).isTrue();
    assertThat(calls).hasValue(2);
    assertThat(applied(pool)).isEqualTo(positionsOf("Counted"));
  }

  @Test
  void aHandlersStatementOnAConnectionGoneSilentEndsWithTheDataSourcesSocketTimeout()
      throws Exception {
    var proxy = proxyToTheDatabase();
    var calls = new AtomicInteger();
    var cut = new CountDownLatch(1);
    ProjectionHandler cutBeforeWriting =
        (batch, connection) -> {
          if (calls.incrementAndGet() == 1) {
            proxy.cutOff(); // the handler's statement below waits for an answer in vain
            cut.countDown();
          }
          recordInto(0).apply(batch, connection);
        };
    PGSimpleDataSource withTimeout = through(proxy);
    withTimeout.setSocketTimeout(2);
    ProjectionRunner runner =
        runThrough(withTimeout, Projection.of("silent-handler", store.read(), cutBeforeWriting));
    long head = appendSome(2, "Counted");
    // Waiting through the proxy only after the cut, which would cut the wait's connection too.
    assertThat(cut.await(PATIENCE.toSeconds(), TimeUnit.SECONDS)).isTrue();

    assertThat(runner.await("silent-handler", head, PATIENCE)).isTrue();
    assertThat(calls).hasValueGreaterThan(1);
    assertThat(applied(pool)).isEqualTo(positionsOf("Counted"));
  }

  @Test
  void aResetWhoseConnectionDiesWithoutAWordIsGivenUpAndAppliedAgain() throws Exception {
    var proxy = proxyToTheDatabase();
    var resetting = new CountDownLatch(1);
    var cutOff = new CountDownLatch(1);
    var resets = new AtomicInteger();
    ResetHandler waitingForTheCut =
        (connection, position) -> {
          if (resets.incrementAndGet() == 1) {
            resetting.countDown();
            cutOff.await();
          }
        };
    ProjectionRunner runner =
        runThrough(
            proxy,
            Projection.of("reset-cut-off", store.read(), recordInto(0)).onReset(waitingForTheCut));
    long head = appendSome(1, "Counted");
    assertThat(runner.await("reset-cut-off", head, PATIENCE)).isTrue();
    projections.reset("reset-cut-off", 0);
    assertThat(resetting.await(PATIENCE.toSeconds(), TimeUnit.SECONDS)).isTrue();

    // The server ends the reset's session, and the runner's next call waits for an answer in vain.
    proxy.cutOff();
    cutOff.countDown();

    long later = appendSome(1, "Counted");
    assertThat(runner.await("reset-cut-off", later, PATIENCE)).isTrue();
    assertThat(resets).hasValue(2);
  }

  @Test
  void aBatchWaitingForItsSegmentWhoseConnectionDiesWithoutAWordIsGivenUpAndAppliedLater()
      throws Exception {
    var proxy = proxyToTheDatabase();
    ProjectionRunner runner =
        runThrough(proxy, Projection.of("waiting-cut-off", store.read(), recordInto(0)));
    long head = appendSome(1, "Counted");
    assertThat(runner.await("waiting-cut-off", head, PATIENCE)).isTrue();
    long later;
    try (Connection holder = pool.getConnection();
        Statement statement = holder.createStatement()) {
      // The segment's row held, as by a reset whose handler runs: the next batch waits for it.
      holder.setAutoCommit(false);
      statement.execute("SELECT 1 FROM en57.projections FOR UPDATE");
      later = appendSome(1, "Counted");
      awaitACallWaitingForALock("projection_begin");

      // The server ends the waiting batch's session, and the runner waits for an answer in vain.
      proxy.cutOff();
      holder.rollback();
    }

    assertThat(runner.await("waiting-cut-off", later, PATIENCE)).isTrue();
  }

  /** A proxy to the test database, which can cut its connections off without a word. */
  private FreezableProxy proxyToTheDatabase() {
    PGSimpleDataSource direct = database.dataSource();
    return closeLater(new FreezableProxy(direct.getServerNames()[0], direct.getPortNumbers()[0]));
  }

  /** Runs {@code projection} on connections through {@code proxy}, with a lease of a second. */
  private ProjectionRunner runThrough(FreezableProxy proxy, Projection projection) {
    return runThrough(through(proxy), projection);
  }

  /** Runs {@code projection} on connections from {@code viaProxy}, with a lease of a second. */
  private ProjectionRunner runThrough(PGSimpleDataSource viaProxy, Projection projection) {
    return closeLater(
        ProjectionRunner.start(
            store,
            viaProxy,
            RunnerOptions.defaults().withLease(Duration.ofSeconds(1)),
            projection));
  }

  private PGSimpleDataSource through(FreezableProxy proxy) {
    PGSimpleDataSource direct = database.dataSource();
    var viaProxy = new PGSimpleDataSource();
    viaProxy.setURL("jdbc:postgresql://127.0.0.1:" + proxy.port() + "/" + database.name());
    viaProxy.setUser(direct.getUser());
    viaProxy.setPassword(direct.getPassword());
    return viaProxy;
  }

  @Test
  void whileABatchOrAResetHoldsSegmentsTheServerProbesASilentClientSoonerThanByDefault()
      throws Exception {
    var seen = Collections.synchronizedList(new ArrayList<String>());
    ProjectionHandler probed =
        (batch, connection) -> seen.add("batch " + TestDatabases.keepalives(connection));
    ResetHandler probedReset =
        (connection, position) -> seen.add("reset " + TestDatabases.keepalives(connection));
    ProjectionRunner runner =
        run(Projection.of("probed", store.read(), probed).onReset(probedReset));
    long head = appendSome(1, "Counted");
    assertThat(runner.await("probed", head, PATIENCE)).isTrue();

    projections.reset("probed", 0);

    assertThat(runner.await("probed", head, PATIENCE)).isTrue();
    assertThat(seen).containsExactly("batch 5 5 3 30000", "reset 5 5 3 30000", "batch 5 5 3 30000");
    // Only while they hold the rows: the pool's sessions keep the server's settings.
    try (Connection connection = pool.getConnection()) {
      assertThat(TestDatabases.keepalives(connection)).isNotEqualTo("5 5 3 30000");
    }
  }

  @Test
  void aRunnerFencedBeforeItCouldStopInFailedReportsNoFailureAndTheProjectionRunsOn()
      throws Exception {
    var actions = Collections.synchronizedList(new ArrayList<ProjectionFailure.Action>());
    EventStore observed = storeTellingFailuresTo(actions);
    var resetting = new CompletableFuture<CompletableFuture<Void>>();
    ProjectionHandler failingOnceWhileAResetWaits =
        (batch, connection) -> {
          recordInto(0).apply(batch, connection);
          if (!resetting.isDone()) {
            // The reset waits for this batch, and fences its runner before it records FAILED.
            resetting.complete(CompletableFuture.runAsync(() -> projections.reset("fenced", 0)));
            awaitACallWaitingForALock("projection_reset");
            throw new IllegalStateException("fails once");
          }
        };
    // Once the batch has rolled back, the waiting reset and the runner's call recording FAILED
    // race for the segment's row, and the server does not always let the waiter in first: the
    // call waits here until the reset has committed.
    try (var gate = new FailCallGate()) {
      ProjectionRunner runner =
          runWithoutRetries(observed, "fenced", failingOnceWhileAResetWaits, Duration.ofSeconds(2));

      long head = appendSome(1, "Counted");

      resetting
          .get(PATIENCE.toSeconds(), TimeUnit.SECONDS)
          .get(PATIENCE.toSeconds(), TimeUnit.SECONDS);
      gate.open();
      assertThat(runner.await("fenced", head, PATIENCE)).isTrue();
      assertThat(projections.status("fenced").get(0).state()).isEqualTo(ProjectionState.RUNNING);
      assertThat(applied(pool)).isEqualTo(positionsOf("Counted"));
      assertThat(actions).doesNotContain(ProjectionFailure.Action.FAILED);
    }
  }

  @Test
  void aRunnerClosingWhileAResetHoldsItsSegmentLeavesNoCallWaitingForIt() throws Exception {
    ProjectionRunner runner = run(Projection.of("closing", store.read(), recordInto(0)));
    long head = appendSome(1, "Counted");
    assertThat(runner.await("closing", head, PATIENCE)).isTrue();
    try (Connection holder = pool.getConnection();
        Statement statement = holder.createStatement()) {
      // The segment's row held, as by a reset whose handler runs.
      holder.setAutoCommit(false);
      statement.execute("SELECT 1 FROM en57.projections FOR UPDATE");

      runner.close();

      assertThat(callsWaitingForALock("projection_release")).isZero();
      holder.rollback();
    }
    // Not given up: its lease runs out, as after a crash.
    assertThat(projections.status("closing").get(0).owner()).isPresent();
  }

  @Test
  void aFailureMetWhileAResetHoldsTheSegmentIsRecordedOnceTheResetEnds() throws Exception {
    var actions = Collections.synchronizedList(new ArrayList<ProjectionFailure.Action>());
    EventStore observed = storeTellingFailuresTo(actions);
    var handled = new AtomicInteger();
    ProjectionHandler failing =
        (batch, connection) -> {
          handled.incrementAndGet();
          throw new IllegalStateException("fails");
        };
    // The runner's calls recording FAILED wait at a gate the test opens once it holds the segment's
    // row: the batch holds the row until the calls begin.
    try (var gate = new FailCallGate();
        Connection holder = pool.getConnection();
        Statement holding = holder.createStatement()) {
      ProjectionRunner runner =
          runWithoutRetries(observed, "failing", failing, Duration.ofSeconds(30));
      long head = appendSome(1, "Counted");
      awaitFailCalls(1);

      // The segment's row held, as by a reset whose handler runs, before the gate opens.
      holder.setAutoCommit(false);
      holding.execute("SELECT 1 FROM en57.projections FOR UPDATE");
      gate.open();
      long before = awaitFailCalls(1);
      // Two more calls: the server ended a wait for the row, and the runner called again.
      awaitFailCalls(before + 2);
      assertThat(projections.status("failing").get(0).state()).isEqualTo(ProjectionState.RUNNING);
      holder.commit();

      assertThatThrownBy(() -> runner.await("failing", head, PATIENCE))
          .isInstanceOf(ProjectionFailedException.class);
      assertThat(projections.status("failing").get(0).state()).isEqualTo(ProjectionState.FAILED);
      runner.close(); // its thread told the listener before it ended
      assertThat(actions).containsExactly(ProjectionFailure.Action.FAILED);
      // The runner called again without applying the batch again.
      assertThat(handled).hasValue(1);
    }
  }

  private EventStore storeTellingFailuresTo(List<ProjectionFailure.Action> actions) {
    return closeLater(
        EventStore.builder()
            .listener(
                new StoreListener() {
                  @Override
                  public void projectionFailed(ProjectionFailure failure) {
                    actions.add(failure.action());
                  }
                })
            .forDataSource(pool));
  }

  /** Runs {@code handler} on {@code on}; the first failure stops the projection in FAILED. */
  private ProjectionRunner runWithoutRetries(
      EventStore on, String name, ProjectionHandler handler, Duration lease) {
    return closeLater(
        ProjectionRunner.start(
            on,
            pool,
            RunnerOptions.defaults().withLease(lease),
            Projection.of(name, on.read(), handler)
                .withRetry(new Retry(1, Duration.ofMillis(1), Duration.ofMillis(1)))));
  }

  /**
   * Makes each of the runners' calls recording FAILED count itself in the sequence {@code
   * fail_calls} and then wait at a gate, closed until {@link #open}, which orders those calls after
   * something else. Like any wait for a lock in that call, the server ends it after a second, and
   * the runner calls again. Closing removes the gate.
   */
  private static final class FailCallGate implements AutoCloseable {
    private static final long ADVISORY_LOCK = 57_001;
    private final Connection keeper = pool.getConnection();

    FailCallGate() throws SQLException {
      keeper.setAutoCommit(false);
      try (Statement statement = keeper.createStatement()) {
        statement.execute("SELECT pg_advisory_xact_lock(" + ADVISORY_LOCK + ")");
      }
      // The trigger runs inside the call, whose search path holds only the system's schemas.
      database.execute(
          "CREATE SEQUENCE public.fail_calls; CREATE FUNCTION public.gate_the_fail()"
              + " RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
              + " IF current_query() LIKE '%projection_fail(%' THEN"
              + " PERFORM nextval('public.fail_calls'); PERFORM pg_advisory_xact_lock_shared("
              + ADVISORY_LOCK
              + "); END IF; RETURN NULL; END $$;"
              + " CREATE TRIGGER gate_the_fail BEFORE UPDATE ON en57.projections"
              + " FOR EACH STATEMENT EXECUTE FUNCTION public.gate_the_fail()");
    }

    void open() throws SQLException {
      keeper.commit();
    }

    @Override
    public void close() throws SQLException {
      keeper.close(); // the pool rolls back, which opens the gate
      database.execute(
          "DROP TRIGGER gate_the_fail ON en57.projections; DROP FUNCTION public.gate_the_fail();"
              + " DROP SEQUENCE public.fail_calls");
    }
  }

  /**
   * Waits until the runner's calls recording FAILED number at least {@code calls}; their number.
   */
  private static long awaitFailCalls(long calls) throws Exception {
    long deadline = System.nanoTime() + PATIENCE.toNanos();
    try (Connection connection = pool.getConnection();
        PreparedStatement count =
            connection.prepareStatement(
                "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM public.fail_calls")) {
      while (System.nanoTime() < deadline) {
        try (ResultSet row = count.executeQuery()) {
          row.next();
          if (row.getLong(1) >= calls) {
            return row.getLong(1);
          }
        }
        Thread.sleep(10);
      }
    }
    throw new AssertionError("fewer than " + calls + " calls recorded FAILED");
  }

  private static void awaitACallWaitingForALock(String calling) throws Exception {
    long deadline = System.nanoTime() + PATIENCE.toNanos();
    while (System.nanoTime() < deadline) {
      if (callsWaitingForALock(calling) > 0) {
        return;
      }
      Thread.sleep(10);
    }
    throw new AssertionError("no statement calling " + calling + " waited for a lock");
  }

  /** The sessions of the test database whose statement calls {@code calling} and waits. */
  private static long callsWaitingForALock(String calling) throws SQLException {
    try (Connection connection = pool.getConnection();
        PreparedStatement waiting =
            connection.prepareStatement(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                    + " AND datname = current_database() AND query LIKE ?")) {
      waiting.setString(1, "%" + calling + "(%");
      try (ResultSet row = waiting.executeQuery()) {
        row.next();
        return row.getLong(1);
      }
    }
  }

  @Test
  void resetAttemptsOutlastingTheLeaseKeepTheSegmentSoTheProjectionStillReachesFailed()
      throws Exception {
    var resets = new AtomicInteger();
    ResetHandler slowlyFailing =
        (connection, position) -> {
          resets.incrementAndGet();
          Thread.sleep(300);
          throw new IllegalStateException("reset still failing");
        };
    Projection projection =
        Projection.of("resettable", store.read(), recordInto(0))
            .onReset(slowlyFailing)
            .withRetry(new Retry(6, Duration.ofMillis(300), Duration.ofMillis(300)));
    // Two nodes; the six attempts take longer than the lease.
    ProjectionRunner runner = run(projection);
    run(projection);
    long head = appendSome(3, "Counted");
    assertThat(runner.await("resettable", head, PATIENCE)).isTrue();

    projections.reset("resettable", 1);

    assertThatThrownBy(() -> runner.await("resettable", head, PATIENCE))
        .isInstanceOf(ProjectionFailedException.class)
        .hasMessageContaining("reset still failing");
    // Another node taking the segment between attempts would have started counting again.
    assertThat(resets).hasValue(6);
  }

  @Test
  void aPartitionedProjectionKeepsOrderPerKeyAndACheckpointPerSegment() throws Exception {
    var seen = Collections.synchronizedMap(new LinkedHashMap<String, List<Long>>());
    ProjectionHandler byCourse =
        (batch, connection) -> {
          for (SequencedEvent event : batch.events()) {
            String course =
                event.event().tags().stream()
                    .filter(t -> t.startsWith("course:"))
                    .min(String::compareTo)
                    .orElse("none");
            seen.computeIfAbsent(course, c -> Collections.synchronizedList(new ArrayList<>()))
                .add(event.position());
          }
          recordInto(0).apply(batch, connection);
        };
    ProjectionRunner runner =
        run(Projection.of("by-course", store.read(), byCourse).partitionedBy("course:", 3));
    for (int i = 0; i < 60; i++) {
      store.append(List.of(Event.of("Booked").withTags("course:c" + (i % 7), "student:s" + i)));
    }
    long head = store.append(List.of(Event.of("Untagged"))).position();

    assertThat(runner.await("by-course", head, PATIENCE)).isTrue();

    assertThat(applied(pool))
        .isEqualTo(store.read().sequenced().map(SequencedEvent::position).toList());
    assertThat(seen).hasSize(8);
    seen.values().forEach(positions -> assertThat(positions).isSorted());
    List<ProjectionStatus> segments = projections.status("by-course");
    assertThat(segments).extracting(ProjectionStatus::segment).containsExactly(0, 1, 2);
    assertThat(segments).allSatisfy(s -> assertThat(s.checkpoint()).isEqualTo(head));
  }

  @Test
  void aHandlerCannotEndTheRunnersTransaction() throws Exception {
    var refused = Collections.synchronizedList(new ArrayList<Throwable>());
    ProjectionHandler sneaky =
        (batch, connection) -> {
          for (Runnable attempt :
              List.<Runnable>of(
                  () -> call(connection::commit),
                  () -> call(connection::rollback),
                  () -> call(connection::close),
                  () -> call(() -> connection.setAutoCommit(true)))) {
            try {
              attempt.run();
            } catch (IllegalStateException e) {
              refused.add(e);
            }
          }
          recordInto(0).apply(batch, connection);
        };
    ProjectionRunner runner = run(Projection.of("sneaky", store.read(), sneaky));
    long head = appendSome(1, "Counted");

    assertThat(runner.await("sneaky", head, PATIENCE)).isTrue();
    assertThat(refused).hasSize(4);
    assertThat(applied(pool)).containsExactly(head);
  }

  private interface SqlCall {
    void run() throws SQLException;
  }

  private static void call(SqlCall call) {
    try {
      call.run();
    } catch (SQLException e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void anAtLeastOnceProjectionHandsItsBatchesToAHandlerWithoutAConnection() throws Exception {
    var handled = Collections.synchronizedList(new ArrayList<Long>());
    ProjectionRunner runner =
        run(
            Projection.atLeastOnce(
                "mailer",
                store.read().ofType("Registered"),
                batch -> batch.events().forEach(e -> handled.add(e.position()))));
    long head = appendSome(4, "Registered");
    assertThat(runner.await("mailer", head, PATIENCE)).isTrue();
    assertThat(handled).isEqualTo(positionsOf("Registered"));
  }

  /** A read model outside PostgreSQL that keeps its checkpoint with its data. */
  private static final class ExternalReadModel implements CheckpointStore {
    final List<Long> handled = Collections.synchronizedList(new ArrayList<>());
    final Map<Integer, Long> checkpoints = Collections.synchronizedMap(new LinkedHashMap<>());

    @Override
    public long load(String projection, int segment) {
      return checkpoints.getOrDefault(segment, 0L);
    }

    @Override
    public void save(String projection, int segment, long position) {
      checkpoints.put(segment, position);
    }
  }

  @Test
  void anAtLeastOnceProjectionKeepsItsReadModelsCheckpointAndResumesFromTheLaterOne()
      throws Exception {
    var readModel = new ExternalReadModel();
    Projection indexer =
        Projection.atLeastOnce(
                "indexer",
                store.read(),
                batch -> batch.events().forEach(e -> readModel.handled.add(e.position())))
            .withCheckpointStore(readModel);
    long first = appendSome(5, "Indexed");
    ProjectionRunner runner = run(indexer);
    assertThat(runner.await("indexer", first, PATIENCE)).isTrue();
    assertThat(readModel.checkpoints).containsEntry(0, first);
    runner.close();

    // The read model applied two more and saved its checkpoint; the runner died before its own.
    long head = appendSome(4, "Indexed");
    readModel.handled.addAll(List.of(first + 1, first + 2));
    readModel.save("indexer", 0, first + 2);
    ProjectionRunner restarted = run(indexer);

    assertThat(restarted.await("indexer", head, PATIENCE)).isTrue();
    assertThat(readModel.handled).isEqualTo(positionsOf("Indexed"));
    assertThat(readModel.checkpoints).containsEntry(0, head);

    projections.reset("indexer", 3);
    assertThat(restarted.await("indexer", head, PATIENCE)).isTrue();
    assertThat(readModel.handled.subList(9, readModel.handled.size()))
        .isEqualTo(positionsOf("Indexed").subList(3, 9));
    assertThatThrownBy(
            () ->
                Projection.of("exact", store.read(), recordInto(0)).withCheckpointStore(readModel))
        .isInstanceOf(IllegalStateException.class);
  }

  @Test
  void awaitIsBoundedAndNamesUnknownProjections() throws Exception {
    ProjectionRunner runner = run(Projection.of("counter", store.read(), recordInto(0)));
    assertThat(runner.await("counter", 5, Duration.ofMillis(50))).isFalse();
    assertThatThrownBy(() -> runner.await("nothing", 0, PATIENCE))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("nothing");
    assertThatThrownBy(() -> projections.reset("nothing", 0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("there is no projection named nothing");
    assertThatThrownBy(() -> projections.reset("counter", 1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("position 1 is beyond the head 0");
    assertThatThrownBy(() -> projections.reset("counter", -1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("negative");
  }

  @Test
  void runnersRefuseBadDefinitions() {
    Projection counter = Projection.of("counter", store.read(), recordInto(0));
    assertThatThrownBy(() -> ProjectionRunner.start(store, pool, counter, counter))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("repeats the name counter");
    assertThatThrownBy(() -> Projection.of(" ", store.read(), recordInto(0)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("name");
    assertThatThrownBy(() -> Projection.of("latest", store.read().limit(5), recordInto(0)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("without limit() or backwards()");
    assertThatThrownBy(
            () -> Projection.atLeastOnce("newest", store.read().backwards(), batch -> {}))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("without limit() or backwards()");
    assertThatThrownBy(() -> counter.partitionedBy("course:", 0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("segments");
  }

  @Test
  void theNumberOfSegmentsChangesOnlyAfterARebuildWhoseResetTheNewSegmentsRun() throws Exception {
    var resets = Collections.synchronizedList(new ArrayList<Long>());
    ResetHandler truncate =
        (connection, position) -> {
          resets.add(position);
          try (Statement statement = connection.createStatement()) {
            statement.execute("TRUNCATE applied");
          }
        };
    ProjectionRunner runner =
        run(Projection.of("split", store.read(), recordInto(0)).onReset(truncate));
    long head = appendSome(3, "Counted");
    assertThat(runner.await("split", head, PATIENCE)).isTrue();
    runner.close();

    Projection resplit =
        Projection.of("split", store.read(), recordInto(0))
            .partitionedBy("n:", 2)
            .onReset(truncate);
    assertThatThrownBy(() -> ProjectionRunner.start(store, pool, resplit))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("has 1 segments, not 2")
        .hasMessageContaining("rebuild");
    projections.rebuild("split");
    long oldEpoch = queryLong("SELECT max(epoch) FROM en57.projections WHERE name = 'split'");
    // The new segments start one epoch above every old one, so no runner of the old segments
    // passes for their owner.
    database.execute("SELECT en57.projection_register('split', 2)");
    assertThat(queryLong("SELECT min(epoch) FROM en57.projections WHERE name = 'split'"))
        .isGreaterThan(oldEpoch);

    ProjectionRunner again = run(resplit);
    assertThat(again.await("split", head, PATIENCE)).isTrue();
    assertThat(projections.status("split")).hasSize(2);
    assertThat(resets).containsExactly(0L);
    assertThat(applied(pool)).isEqualTo(positionsOf("Counted"));
  }

  private static long queryLong(String sql) throws SQLException {
    try (Connection connection = pool.getConnection();
        Statement statement = connection.createStatement();
        ResultSet rows = statement.executeQuery(sql)) {
      rows.next();
      return rows.getLong(1);
    }
  }
}
