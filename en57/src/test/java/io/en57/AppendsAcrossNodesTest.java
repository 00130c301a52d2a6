package io.en57;

import static io.en57.AppendCondition.failIf;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.en57.AppendResult.Failure;
import io.en57.AppendResult.Success;
import io.en57.testing.AppendLock;
import io.en57.testing.TestDatabases;
import io.en57.testing.TestDatabases.TestDatabase;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Appends from several application nodes (store instances, each with a pool of its own) commit
 * together: a node that finds the append lock busy queues its group in the database, and the
 * session holding the lock writes it with its own, in one transaction. Each group is still decided
 * on its own, in order.
 */
@Tag("postgres")
class AppendsAcrossNodesTest {

  private static final int NODES = 4;

  private static TestDatabase database;
  private static ExecutorService threads;
  private final List<EventStore> nodes = new ArrayList<>();

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
  void openNodes() {
    database.emptyLog();
    for (int i = 0; i < NODES; i++) {
      nodes.add(EventStore.builder().maxPoolSize(2).forUrl(database.jdbcUrl()));
    }
  }

  @AfterEach
  void closeNodes() {
    nodes.forEach(EventStore::close);
  }

  @Test
  void groupsQueuedByEveryNodeAreWrittenInOneTransactionEachDecidedOnItsOwn() throws Exception {
    nodes.get(0).append(List.of(Event.of("SeatTaken").withTags("seat:1")));
    var results = new ArrayList<Future<AppendResult>>();
    try (Connection holder = AppendLock.hold(database.dataSource())) {
      for (int i = 0; i < NODES; i++) {
        EventStore node = nodes.get(i);
        String seat = i % 2 == 0 ? "seat:1" : "seat:" + (10 + i);
        results.add(
            threads.submit(
                () ->
                    node.append(
                        List.of(Event.of("SeatTaken").withTags(seat)),
                        failIf(node.read().withTag(seat)))));
      }
      // Every node's group is queued, its session waiting for the lock holder to finish.
      AppendLock.awaitWaiters(database.dataSource(), NODES);
      assertThat(count("SELECT count(*) FROM en57.append_queue")).isEqualTo(NODES);
      holder.commit();
    }
    var outcomes = new ArrayList<AppendResult>();
    for (Future<AppendResult> result : results) {
      outcomes.add(result.get());
    }
    // Seat 1 was taken before: the nodes asking for it fail; the others succeed.
    assertThat(outcomes.get(0)).isInstanceOf(Failure.class);
    assertThat(outcomes.get(2)).isInstanceOf(Failure.class);
    assertThat(outcomes.get(1)).isInstanceOf(Success.class);
    assertThat(outcomes.get(3)).isInstanceOf(Success.class);
    // One transaction (one commit, one WAL flush) wrote the queued groups of all nodes: their
    // events carry its start time. (Each group runs in a subtransaction, so xmin differs.)
    assertThat(
            count(
                "SELECT count(DISTINCT recorded_at) FROM en57.events"
                    + " WHERE type = 'SeatTaken' AND position > 2"))
        .isEqualTo(1);
    assertThat(count("SELECT count(*) FROM en57.append_queue")).isZero();
    assertThat(count("SELECT count(*) FROM en57.append_outcomes")).isZero();
  }

  @Test
  void queuedGroupsRacingForTheSameSeatAreDecidedInQueueOrderOneWinning() throws Exception {
    var results = new ArrayList<Future<AppendResult>>();
    try (Connection holder = AppendLock.hold(database.dataSource())) {
      for (int i = 0; i < NODES; i++) {
        EventStore node = nodes.get(i);
        int n = i;
        results.add(
            threads.submit(
                () ->
                    node.append(
                        List.of(Event.of("SeatTaken", Map.of("node", n)).withTags("seat:9")),
                        failIf(node.read().withTag("seat:9")))));
        // Queued one after the other, so the queue order is the node order.
        AppendLock.awaitWaiters(database.dataSource(), i + 1);
      }
      holder.commit();
    }
    var outcomes = new ArrayList<AppendResult>();
    for (Future<AppendResult> result : results) {
      outcomes.add(result.get());
    }
    // The first queued group wins; the later ones conflict with its event, written in the same
    // transaction, and their failures name it.
    assertThat(outcomes.get(0)).isEqualTo(new Success(2));
    for (AppendResult outcome : outcomes.subList(1, NODES)) {
      assertThat(outcome).isInstanceOf(Failure.class);
      assertThat(((Failure) outcome).conflictingEvents())
          .extracting(SequencedEvent::position)
          .containsExactly(2L);
    }
    assertThat(nodes.get(0).read().withTag("seat:9").toList()).hasSize(1);
  }

  @Test
  void aGroupQueuedWhileTheLockHolderWritesIsWrittenBeforeItCommits() throws Exception {
    Event slow = Event.of("Slow");
    Future<AppendResult> first;
    Future<AppendResult> second;
    try (Connection blocker = database.dataSource().getConnection()) {
      // An uncommitted row with the same id: whoever writes the slow event waits for this
      // transaction, holding the append lock.
      blocker.setAutoCommit(false);
      try (Statement statement = blocker.createStatement()) {
        statement.execute(
            "INSERT INTO en57.events (position, id, type, data, tags)"
                + " VALUES (1000000, '"
                + slow.id()
                + "', 'Blocker', '{}', '{}')");
      }
      try (Connection holder = AppendLock.hold(database.dataSource())) {
        first = threads.submit(() -> nodes.get(0).append(List.of(slow)));
        AppendLock.awaitWaiters(database.dataSource(), 1);
        holder.commit();
      }
      // Node 0's session took the lock and writes its group, waiting for the blocker's row.
      awaitCount("SELECT count(*) FROM pg_locks WHERE locktype = 'transactionid' AND NOT granted");
      second = threads.submit(() -> nodes.get(1).append(List.of(Event.of("QueuedMeanwhile"))));
      AppendLock.awaitWaiters(database.dataSource(), 1);
      blocker.rollback();
    }
    assertThat(first.get()).isInstanceOf(Success.class);
    assertThat(second.get()).isInstanceOf(Success.class);
    // Node 0's transaction also wrote the group queued while it wrote: one commit for both.
    assertThat(
            count(
                "SELECT count(DISTINCT recorded_at) FROM en57.events"
                    + " WHERE type IN ('Slow', 'QueuedMeanwhile')"))
        .isEqualTo(1);
    assertThat(count("SELECT count(*) FROM en57.append_queue")).isZero();
  }

  @Test
  void aDrainClaimsQueuedGroupsUpToItsBudgetAndLeavesTheRestForTheNextDrain() throws Exception {
    // Three groups of about 1.2 MB against a budget of 1 MB, standing in for groups of hundreds of
    // MB against 256 MB: before the budget, one drain claimed them all into one array, and a few
    // large groups made every drain fail (PostgreSQL builds no array over 1 GB).
    String budget = functionDefinition("en57.drain_budget()");
    database.execute(
        "CREATE OR REPLACE FUNCTION en57.drain_budget() RETURNS bigint LANGUAGE sql STABLE"
            + " AS $$ SELECT 1024 * 1024::bigint $$");
    try {
      var results = new ArrayList<Future<AppendResult>>();
      try (Connection holder = AppendLock.hold(database.dataSource())) {
        for (int i = 0; i < 3; i++) {
          EventStore node = nodes.get(i);
          // Random text, which PostgreSQL cannot compress: it is stored as large as it is.
          Event large = Event.of("Large", Map.of("blob", randomText(1_200_000)));
          results.add(threads.submit(() -> node.append(List.of(large))));
        }
        AppendLock.awaitWaiters(database.dataSource(), 3);
        // The lock holder drains the queue, as one on a pool does after writing its own group.
        // Each group exceeds the budget alone: it writes the first and leaves the others queued.
        try (Statement statement = holder.createStatement()) {
          statement.execute("SELECT en57.drain_append_queue(NULL)");
          try (ResultSet left = statement.executeQuery("SELECT count(*) FROM en57.append_queue")) {
            left.next();
            assertThat(left.getLong(1)).isEqualTo(2);
          }
        }
        holder.commit();
      }
      // The sessions of the groups left drain the rest.
      for (Future<AppendResult> result : results) {
        assertThat(result.get()).isInstanceOf(Success.class);
      }
      assertThat(nodes.get(0).read().ofType("Large").toList()).hasSize(3);
      assertThat(count("SELECT count(*) FROM en57.append_queue")).isZero();
    } finally {
      database.execute(budget);
    }
  }

  @Test
  void aQueuedGroupWithAStoredIdFailsAloneAndTheOthersQueuedWithItAreWritten() throws Exception {
    Event stored = Event.of("Stored");
    nodes.get(0).append(List.of(stored));
    var results = new ArrayList<Future<AppendResult>>();
    try (Connection holder = AppendLock.hold(database.dataSource())) {
      for (int i = 0; i < NODES; i++) {
        EventStore node = nodes.get(i);
        Event event = i == 1 ? Event.of("Again").withId(stored.id()) : Event.of("New");
        results.add(threads.submit(() -> node.append(List.of(event))));
      }
      AppendLock.awaitWaiters(database.dataSource(), NODES);
      holder.commit();
    }
    // The unique index refuses the combined write; each group is then written on its own.
    assertThatThrownBy(() -> results.get(1).get())
        .hasCauseInstanceOf(DuplicateEventIdException.class);
    for (int i : new int[] {0, 2, 3}) {
      assertThat(results.get(i).get()).isInstanceOf(Success.class);
    }
    assertThat(nodes.get(0).read().toList())
        .extracting(Event::type)
        .containsExactly("Stored", "HoldsTheLock", "New", "New", "New");
  }

  @Test
  void aQueuedGroupWhoseSessionDiedIsDroppedNotWrittenLater() throws Exception {
    try (Connection holder = AppendLock.hold(database.dataSource())) {
      Future<AppendResult> orphan =
          threads.submit(() -> nodes.get(0).append(List.of(Event.of("Orphan"))));
      AppendLock.awaitWaiters(database.dataSource(), 1);
      AppendLock.terminateWaiters(database.dataSource());
      assertThatThrownBy(orphan::get).hasCauseInstanceOf(En57StorageException.class);
      holder.commit();
    }
    // The next lock holder drains the queue: the orphan's group is dropped.
    assertThat(nodes.get(1).append(List.of(Event.of("Next")))).isInstanceOf(Success.class);
    assertThat(nodes.get(1).read().toList())
        .extracting(Event::type)
        .containsExactly("HoldsTheLock", "Next");
    assertThat(count("SELECT count(*) FROM en57.append_queue")).isZero();
  }

  @Test
  void aQueuedGroupStillQueuedAtTheLockTimeoutIsWithdrawnAndNeverWritten() throws Exception {
    EventStore impatient =
        EventStore.builder().lockTimeout(Duration.ofMillis(500)).forUrl(database.jdbcUrl());
    nodes.add(impatient);
    try (Connection holder = AppendLock.hold(database.dataSource())) {
      assertThatThrownBy(() -> impatient.append(List.of(Event.of("Impatient"))))
          .isInstanceOf(AppendLockTimeoutException.class)
          .hasMessageContaining("nothing was written");
      holder.commit();
    }
    nodes.get(0).append(List.of(Event.of("Next")));
    assertThat(nodes.get(0).read().toList())
        .extracting(Event::type)
        .containsExactly("HoldsTheLock", "Next");
  }

  private static String randomText(int length) {
    var bytes = new byte[length * 3 / 4];
    new Random(57).nextBytes(bytes);
    return Base64.getEncoder().encodeToString(bytes);
  }

  private static String functionDefinition(String signature) throws SQLException {
    try (Connection connection = database.dataSource().getConnection();
        Statement statement = connection.createStatement();
        ResultSet row =
            statement.executeQuery(
                "SELECT pg_get_functiondef('" + signature + "'::regprocedure)")) {
      row.next();
      return row.getString(1);
    }
  }

  /** Waits (up to two seconds) until the count is positive. */
  private static void awaitCount(String sql) throws SQLException, InterruptedException {
    for (int i = 0; i < 200 && count(sql) == 0; i++) {
      Thread.sleep(10);
    }
    assertThat(count(sql)).isPositive();
  }

  private static long count(String sql) throws SQLException {
    try (Connection connection = database.dataSource().getConnection();
        Statement statement = connection.createStatement();
        ResultSet row = statement.executeQuery(sql)) {
      row.next();
      return row.getLong(1);
    }
  }
}
