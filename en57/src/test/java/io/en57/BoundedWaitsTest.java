package io.en57;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.en57.AppendResult.Success;
import io.en57.testing.AppendLock;
import io.en57.testing.FreezableProxy;
import io.en57.testing.TestDatabases;
import io.en57.testing.TestDatabases.TestDatabase;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.net.ServerSocket;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * Every wait of the store is bounded and interruptible, and its errors say what happened: a server
 * that stops answering, a table locked under a read, an interrupted caller, a database that is
 * down, a broken connection on a pool without auto-commit.
 */
@Tag("postgres")
class BoundedWaitsTest {

  /** Generous: each scenario ends in seconds once fixed, and never without the fix. */
  private static final Duration SCENARIO_BOUND = Duration.ofSeconds(60);

  private static TestDatabase database;
  private static ExecutorService threads;
  private final List<AutoCloseable> resources = new ArrayList<>();

  @BeforeAll
  static void createDatabase() {
    database = TestDatabases.createMigrated();
    threads = Executors.newCachedThreadPool();
  }

  @AfterAll
  static void dropDatabase() {
    threads.shutdownNow();
    database.close();
  }

  @BeforeEach
  void emptyLog() {
    database.emptyLog();
  }

  @AfterEach
  void close() throws Exception {
    for (AutoCloseable resource : resources) {
      resource.close();
    }
  }

  private <T extends AutoCloseable> T closedAfterwards(T resource) {
    resources.add(resource);
    return resource;
  }

  @Test
  void aServerThatStopsAnsweringFailsAppendsAndReadsInsteadOfHangingThem() throws Exception {
    var proxy =
        closedAfterwards(
            new FreezableProxy(
                database.dataSource().getServerNames()[0],
                database.dataSource().getPortNumbers()[0]));
    String viaProxy =
        "postgres://"
            + database.dataSource().getUser()
            + "@127.0.0.1:"
            + proxy.port()
            + "/"
            + database.name();
    EventStore store =
        closedAfterwards(
            EventStore.builder()
                .lockTimeout(Duration.ofSeconds(1))
                .queryTimeout(Duration.ofSeconds(1))
                .groupCommit(64, Duration.ofSeconds(2))
                .forUrl(viaProxy));
    store.append(List.of(Event.of("BeforeTheFreeze")));
    proxy.freeze();
    assertTimeoutPreemptively(
        SCENARIO_BOUND,
        () -> {
          Future<AppendResult> leader =
              threads.submit(() -> store.append(List.of(Event.of("Leader"))));
          Thread.sleep(200);
          Future<AppendResult> queued =
              threads.submit(() -> store.append(List.of(Event.of("Queued"))));
          Future<List<Event>> read = threads.submit(() -> store.read().toList());
          assertThatThrownBy(leader::get).hasCauseInstanceOf(En57StorageException.class);
          assertThatThrownBy(queued::get).isInstanceOf(ExecutionException.class);
          assertThatThrownBy(read::get).hasCauseInstanceOf(En57StorageException.class);
        });
    proxy.thaw();
    // The same store recovers once the server answers again.
    assertTimeoutPreemptively(
        SCENARIO_BOUND,
        () ->
            assertThat(store.append(List.of(Event.of("AfterTheThaw"))))
                .isInstanceOf(Success.class));
  }

  @Test
  void aReadBlockedLongerThanTheQueryTimeoutIsCancelledInTheDatabase() throws Exception {
    EventStore store =
        closedAfterwards(
            EventStore.builder().queryTimeout(Duration.ofSeconds(1)).forUrl(database.jdbcUrl()));
    store.append(List.of(Event.of("A")));
    try (Connection locker = lockTheLog()) {
      assertTimeoutPreemptively(
          SCENARIO_BOUND,
          () ->
              assertThatThrownBy(() -> store.read().toList())
                  .isInstanceOf(En57StorageException.class)
                  .hasMessageContaining("queryTimeout"));
      assertThat(queriesOfTheStoreStillRunning()).isZero();
    }
  }

  @Test
  void closingTheStoreCancelsItsRunningReads() throws Exception {
    EventStore store = EventStore.builder().forUrl(database.jdbcUrl());
    store.append(List.of(Event.of("A")));
    try (Connection locker = lockTheLog()) {
      CompletableFuture<List<Event>> read =
          CompletableFuture.supplyAsync(() -> store.read().toList(), threads);
      awaitQueriesOfTheStoreRunning(1);
      assertTimeoutPreemptively(
          SCENARIO_BOUND,
          () -> {
            store.close();
            assertThatThrownBy(read::join).hasCauseInstanceOf(En57StorageException.class);
          });
      assertThat(queriesOfTheStoreStillRunning()).isZero();
    }
  }

  @Test
  void closingAStreamCancelsTheBatchItWasFetchingAhead() throws Exception {
    var gate = new GatedDataSource(database.dataSource());
    EventStore store = closedAfterwards(EventStore.builder().readBatchSize(1).forDataSource(gate));
    store.append(List.of(Event.of("A"), Event.of("B"), Event.of("C")));
    gate.holdNextReadAhead();
    Stream<Event> stream = store.read().stream();
    Iterator<Event> events = stream.iterator();
    assertThat(events.next().type()).isEqualTo("A");
    // The second batch is being fetched ahead; it waits for a connection until the log is locked.
    gate.awaitHeldBorrow();
    try (Connection locker = lockTheLog()) {
      gate.release();
      awaitQueriesOfTheStoreRunning(1);
      stream.close();
      for (int i = 0; i < 500 && queriesOfTheStoreStillRunning() > 0; i++) {
        Thread.sleep(10);
      }
      assertThat(queriesOfTheStoreStillRunning()).isZero();
    }
  }

  @Test
  void aStreamFetchesTheTwoBatchesAfterTheCallersAndNoMore() throws Exception {
    var counting = new GatedDataSource(database.dataSource());
    EventStore store =
        closedAfterwards(EventStore.builder().readBatchSize(1).forDataSource(counting));
    store.append(List.of(Event.of("A"), Event.of("B"), Event.of("C"), Event.of("D")));
    try (Stream<Event> stream = store.read().stream()) {
      Iterator<Event> events = stream.iterator();
      assertThat(events.next().type()).isEqualTo("A");
      // B, then C as soon as B arrived, without the caller asking; D only once the caller takes B.
      awaitReadAheadBorrows(counting, 2);
      Thread.sleep(200);
      assertThat(counting.readAheadBorrows()).as("batches fetched ahead of A").isEqualTo(2);
      assertThat(events.next().type()).isEqualTo("B");
      awaitReadAheadBorrows(counting, 3);
      assertThat(events.next().type()).isEqualTo("C");
      assertThat(events.next().type()).isEqualTo("D");
      assertThat(events.hasNext()).isFalse();
    }
  }

  @Test
  void aStreamWhoseStoreClosesWhileItFetchesAheadEndsInsteadOfWaiting() throws Exception {
    var gate = new GatedDataSource(database.dataSource());
    EventStore store = EventStore.builder().readBatchSize(1).forDataSource(gate);
    store.append(List.of(Event.of("A"), Event.of("B"), Event.of("C"), Event.of("D")));
    gate.holdNextReadAhead();
    Iterator<Event> events = store.read().stream().iterator();
    assertThat(events.next().type()).isEqualTo("A");
    // B is held at its borrow and C waits for B; the store closes, then B goes on: B and C end.
    gate.awaitHeldBorrow();
    store.close();
    gate.release();
    assertTimeoutPreemptively(
        SCENARIO_BOUND,
        () -> {
          try {
            events.forEachRemaining(event -> {});
          } catch (RuntimeException closed) {
            // Failing is fine once the store is closed; waiting forever is not.
          }
        });
  }

  private static void awaitReadAheadBorrows(GatedDataSource source, int borrows)
      throws InterruptedException {
    for (int i = 0; i < 1_000 && source.readAheadBorrows() < borrows; i++) {
      Thread.sleep(10);
    }
    assertThat(source.readAheadBorrows()).isEqualTo(borrows);
  }

  /**
   * A data source that counts the borrows made to fetch a batch ahead (on one of the store's
   * read-ahead threads) and, once told, holds the next one until the test releases it.
   */
  private static final class GatedDataSource extends PGSimpleDataSource {

    private final AtomicBoolean armed = new AtomicBoolean();
    private final Semaphore held = new Semaphore(0);
    private final CountDownLatch released = new CountDownLatch(1);
    private final AtomicInteger readAheadBorrows = new AtomicInteger();

    GatedDataSource(PGSimpleDataSource database) {
      setURL(database.getURL());
      setUser(database.getUser());
    }

    void holdNextReadAhead() {
      armed.set(true);
    }

    void awaitHeldBorrow() throws InterruptedException {
      assertThat(held.tryAcquire(10, TimeUnit.SECONDS)).isTrue();
    }

    void release() {
      released.countDown();
    }

    int readAheadBorrows() {
      return readAheadBorrows.get();
    }

    @Override
    public Connection getConnection() throws SQLException {
      boolean readingAhead = Thread.currentThread().getName().startsWith("en57-read-ahead");
      if (readingAhead) {
        readAheadBorrows.incrementAndGet();
      }
      if (readingAhead && armed.compareAndSet(true, false)) {
        held.release();
        try {
          released.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new SQLException("interrupted", e);
        }
      }
      return super.getConnection();
    }
  }

  @Test
  void anAppendByAnInterruptedThreadFailsClearlyAndWritesNothing() {
    EventStore store = closedAfterwards(EventStore.builder().forUrl(database.jdbcUrl()));
    Thread.currentThread().interrupt();
    try {
      assertThatThrownBy(() -> store.append(List.of(Event.of("Interrupted"))))
          .isInstanceOf(En57Exception.class)
          .hasMessageContaining("interrupted")
          .hasMessageContaining("nothing was written");
    } finally {
      assertThat(Thread.interrupted()).as("the interrupt flag is kept").isTrue();
    }
    assertThat(store.read().toList()).isEmpty();
  }

  @Test
  void anInterruptedAppendThatIsStillQueuedFailsClearlyAndWritesNothing() throws Exception {
    EventStore store = closedAfterwards(EventStore.builder().forUrl(database.jdbcUrl()));
    var interruptedAfterwards = new AtomicBoolean();
    try (Connection holder = AppendLock.hold(database.dataSource())) {
      Future<AppendResult> leader = threads.submit(() -> store.append(List.of(Event.of("Leader"))));
      AppendLock.awaitWaiters(database.dataSource(), 1);
      var queuedThread = new AtomicReference<Thread>();
      Future<AppendResult> queued =
          appendWatched(store, "Interrupted", queuedThread, interruptedAfterwards);
      Thread.sleep(200);
      queuedThread.get().interrupt();
      assertTimeoutPreemptively(
          SCENARIO_BOUND,
          () ->
              assertThatThrownBy(queued::get)
                  .hasCauseInstanceOf(En57Exception.class)
                  .hasMessageContaining("interrupted")
                  .hasMessageContaining("nothing was written"));
      holder.commit();
      assertThat(leader.get()).isInstanceOf(Success.class);
    }
    assertThat(interruptedAfterwards).isTrue();
    assertThat(store.read().toList())
        .extracting(Event::type)
        .containsExactly("HoldsTheLock", "Leader");
  }

  @Test
  void anInterruptedAppendWhoseGroupIsBeingWrittenWaitsForItsOutcomeWithoutSpinning()
      throws Exception {
    EventStore store =
        closedAfterwards(EventStore.builder().groupsInFlight(1).forUrl(database.jdbcUrl()));
    ThreadMXBean cpu = ManagementFactory.getThreadMXBean();
    var interruptedAfterwards = new AtomicBoolean();
    var memberThread = new AtomicReference<Thread>();
    Future<AppendResult> member;
    try (Connection locker = lockTheLog();
        Connection holder = database.dataSource().getConnection()) {
      // The first group (the opener alone) takes the append lock and waits for the locked log;
      // a holder queues for the append lock behind it; the second group (the next leader and the
      // member) then finds the append lock held and waits in the database for it.
      Future<AppendResult> opener = threads.submit(() -> store.append(List.of(Event.of("Opener"))));
      awaitStatementsWaitingForALock(1);
      holder.setAutoCommit(false);
      Future<?> hold =
          threads.submit(
              () -> {
                try (Statement statement = holder.createStatement()) {
                  // The append lock, with the tenure a holder keeps for the sessions waiting.
                  statement.execute(
                      "SELECT pg_advisory_xact_lock(1164850487, en57.log_key()), en57.begin_tenure()");
                }
                return null;
              });
      AppendLock.awaitWaiters(database.dataSource(), 1);
      Future<AppendResult> nextLeader =
          threads.submit(() -> store.append(List.of(Event.of("NextLeader"))));
      Thread.sleep(200);
      member = appendWatched(store, "Member", memberThread, interruptedAfterwards);
      Thread.sleep(200);
      locker.commit();
      assertThat(opener.get()).isInstanceOf(Success.class);
      hold.get();
      // The second group now waits in the database behind the holder.
      AppendLock.awaitWaiters(database.dataSource(), 1);
      memberThread.get().interrupt();
      long cpuBefore = cpu.getThreadCpuTime(memberThread.get().getId());
      Thread.sleep(1_000);
      long cpuDuringOneSecond = cpu.getThreadCpuTime(memberThread.get().getId()) - cpuBefore;
      holder.commit();
      assertThat(nextLeader.get()).isInstanceOf(Success.class);
      // Parked, not spinning: far below the second of CPU a busy loop burns.
      assertThat(Duration.ofNanos(cpuDuringOneSecond)).isLessThan(Duration.ofMillis(200));
    }
    assertThat(member.get()).isInstanceOf(Success.class);
    assertThat(interruptedAfterwards).isTrue();
  }

  @Test
  void anInterruptWhileTheGroupWaitsForAPoolConnectionDoesNotFailTheGroup() throws Exception {
    var config = new HikariConfig();
    config.setJdbcUrl(database.jdbcUrl());
    config.setMaximumPoolSize(1);
    HikariDataSource pool = closedAfterwards(new HikariDataSource(config));
    EventStore store = closedAfterwards(EventStore.forDataSource(pool));
    var interruptedAfterwards = new AtomicBoolean();
    var appender = new AtomicReference<Thread>();
    Future<AppendResult> append;
    try (Connection onlyConnection = pool.getConnection()) {
      append = appendWatched(store, "Interrupted", appender, interruptedAfterwards);
      awaitWaitingForAPoolConnection(appender);
      // Its group is being written: the interrupt is kept for afterwards, as documented, rather
      // than making the pool give up on the connection the group needs.
      appender.get().interrupt();
      Thread.sleep(200);
    }
    assertTimeoutPreemptively(
        SCENARIO_BOUND, () -> assertThat(append.get()).isInstanceOf(Success.class));
    assertThat(interruptedAfterwards).as("the interrupt flag is kept").isTrue();
    assertThat(store.read().toList()).extracting(Event::type).containsExactly("Interrupted");
  }

  private static void awaitWaitingForAPoolConnection(AtomicReference<Thread> thread)
      throws InterruptedException {
    for (int i = 0; i < 1_000 && !waitingForAPoolConnection(thread.get()); i++) {
      Thread.sleep(10);
    }
    assertThat(waitingForAPoolConnection(thread.get())).isTrue();
  }

  private static boolean waitingForAPoolConnection(Thread thread) {
    return thread != null
        && thread.getState() == Thread.State.TIMED_WAITING
        && Stream.of(thread.getStackTrace())
            .anyMatch(
                frame ->
                    frame.getMethodName().equals("getConnection")
                        && frame.getClassName().endsWith("HikariPool"));
  }

  @Test
  void aStoreForADatabaseThatIsDownThrowsTheLibrarysExceptionWithoutThePassword() throws Exception {
    int closedPort;
    try (var socket = new ServerSocket(0)) {
      closedPort = socket.getLocalPort();
    }
    assertThatThrownBy(
            () -> EventStore.forUrl("postgres://someone:s3cret@127.0.0.1:" + closedPort + "/db"))
        .isInstanceOf(En57StorageException.class)
        .hasMessageContaining("cannot connect")
        .hasMessageNotContaining("s3cret");
  }

  @Test
  void onAPoolWithoutAutoCommitABrokenConnectionReportsTheRealError() throws Exception {
    var config = new HikariConfig();
    config.setJdbcUrl(database.jdbcUrl());
    config.setAutoCommit(false);
    config.setMaximumPoolSize(3);
    HikariDataSource pool = closedAfterwards(new HikariDataSource(config));
    EventStore store = closedAfterwards(EventStore.forDataSource(pool));
    try (Connection holder = AppendLock.hold(database.dataSource())) {
      Future<AppendResult> append = threads.submit(() -> store.append(List.of(Event.of("Lost"))));
      AppendLock.awaitWaiters(database.dataSource(), 1);
      AppendLock.terminateWaiters(database.dataSource());
      assertThatThrownBy(append::get)
          .hasCauseInstanceOf(En57StorageException.class)
          .hasMessageContaining("terminating connection due to administrator command");
      holder.rollback();
    }
  }

  /**
   * Appends one event of {@code type} on a thread of its own, which it makes known in {@code
   * thread}, and records whether that thread's interrupt flag was set when the append returned.
   */
  private static Future<AppendResult> appendWatched(
      EventStore store,
      String type,
      AtomicReference<Thread> thread,
      AtomicBoolean interruptedAfterwards) {
    return threads.submit(
        () -> {
          thread.set(Thread.currentThread());
          try {
            return store.append(List.of(Event.of(type)));
          } finally {
            interruptedAfterwards.set(Thread.interrupted());
          }
        });
  }

  /** Locks the log's table in an open transaction, so that any read of it waits. */
  private static Connection lockTheLog() throws SQLException {
    Connection locker = database.dataSource().getConnection();
    locker.setAutoCommit(false);
    try (Statement statement = locker.createStatement()) {
      statement.execute("LOCK TABLE en57.events IN ACCESS EXCLUSIVE MODE");
    }
    return locker;
  }

  private static void awaitStatementsWaitingForALock(int statements)
      throws SQLException, InterruptedException {
    for (int i = 0; i < 200 && statementsWaitingForALock() < statements; i++) {
      Thread.sleep(10);
    }
    assertThat(statementsWaitingForALock()).isGreaterThanOrEqualTo(statements);
  }

  private static int statementsWaitingForALock() throws SQLException {
    try (Connection connection = database.dataSource().getConnection();
        Statement statement = connection.createStatement();
        ResultSet row =
            statement.executeQuery(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    + " AND wait_event_type = 'Lock'")) {
      row.next();
      return row.getInt(1);
    }
  }

  private static void awaitQueriesOfTheStoreRunning(int queries)
      throws SQLException, InterruptedException {
    for (int i = 0; i < 200 && queriesOfTheStoreStillRunning() < queries; i++) {
      Thread.sleep(10);
    }
    assertThat(queriesOfTheStoreStillRunning()).isGreaterThanOrEqualTo(queries);
  }

  /** Statements of the store (reads of the log) still active in the database. */
  private static int queriesOfTheStoreStillRunning() throws SQLException {
    try (Connection connection = database.dataSource().getConnection();
        Statement statement = connection.createStatement();
        ResultSet row =
            statement.executeQuery(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    + " AND state = 'active' AND pid <> pg_backend_pid()"
                    + " AND query LIKE '%FROM en57.events%'")) {
      row.next();
      return row.getInt(1);
    }
  }
}
