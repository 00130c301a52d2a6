package io.en57;

import static io.en57.AppendCondition.failIf;
import static org.assertj.core.api.Assertions.assertThat;

import io.en57.decisions.Decision;
import io.en57.decisions.DecisionModel;
import io.en57.decisions.DecisionProjection;
import io.en57.decisions.Outcome;
import io.en57.decisions.RetryPolicy;
import io.en57.subscriptions.Batch;
import io.en57.subscriptions.Subscription;
import io.en57.testing.TestDatabases;
import io.en57.testing.TestDatabases.TestDatabase;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * A store joining the application's transactions ({@link ApplicationTransactions}), here a
 * transaction the test opens on a connection it binds to its thread, as a framework would.
 */
@Tag("postgres")
class TransactionJoinTest {

  private static TestDatabase database;

  /** The test thread's transaction, and what the store does with it. */
  private static final class ThreadTransactions implements ApplicationTransactions {
    final ThreadLocal<Connection> current = new ThreadLocal<>();
    final List<Runnable> afterCommit = new ArrayList<>();
    final AtomicInteger borrowed = new AtomicInteger();

    @Override
    public Connection connection() {
      Connection connection = current.get();
      if (connection != null) {
        borrowed.incrementAndGet();
      }
      return connection;
    }

    @Override
    public void release(Connection connection) {
      borrowed.decrementAndGet();
    }

    @Override
    public void afterCommit(Runnable action) {
      afterCommit.add(action);
    }

    Connection begin() throws SQLException {
      Connection connection = database.dataSource().getConnection();
      connection.setAutoCommit(false);
      current.set(connection);
      return connection;
    }

    void commit() throws SQLException {
      current.get().commit();
      end();
      afterCommit.forEach(Runnable::run);
      afterCommit.clear();
    }

    void rollback() throws SQLException {
      current.get().rollback();
      end();
      afterCommit.clear();
    }

    private void end() throws SQLException {
      current.get().close();
      current.remove();
    }
  }

  private final ThreadTransactions transactions = new ThreadTransactions();
  private EventStore store;

  @BeforeAll
  static void createDatabase() {
    database = TestDatabases.createMigrated();
    database.execute("CREATE TABLE bookings (seat text PRIMARY KEY)");
  }

  @AfterAll
  static void dropDatabase() {
    database.close();
  }

  @BeforeEach
  void openStore() {
    database.emptyLog("bookings");
    store =
        EventStore.builder()
            .joinTransactions(transactions)
            .readBatchSize(2)
            .pollInterval(Duration.ofMinutes(1)) // only a wake-up can deliver in time
            .forDataSource(database.dataSource());
  }

  @AfterEach
  void closeStore() {
    store.close();
    assertThat(transactions.borrowed).hasValue(0);
  }

  @Test
  void aRolledBackTransactionLeavesNeitherEventNorRow() throws SQLException {
    Connection connection = transactions.begin();
    book(connection, "1A");
    store.append(List.of(Event.of("SeatBooked").withTags("seat:1A")));
    transactions.rollback();
    assertThat(store.read().toList()).isEmpty();
    assertThat(bookings()).isZero();
  }

  @Test
  void insideATransactionReadsSeeItsOwnEventsAndOthersSeeThemAfterTheCommit() throws Exception {
    Connection connection = transactions.begin();
    book(connection, "1A");
    for (int i = 0; i < 5; i++) {
      store.append(List.of(Event.of("SeatBooked").withTags("seat:" + i)));
    }
    // Five events in pages of two, all read on the transaction's connection.
    assertThat(store.read().toList()).hasSize(5);
    assertThat(store.head()).isEqualTo(5);
    try (EventStore outside = EventStore.forDataSource(database.dataSource())) {
      assertThat(outside.read().toList()).isEmpty();
      transactions.commit();
      assertThat(outside.read().toList()).hasSize(5);
    }
    assertThat(bookings()).isOne();
  }

  @Test
  void aConditionInsideATransactionSeesTheTransactionsOwnEvents() throws SQLException {
    transactions.begin();
    store.append(List.of(Event.of("SeatBooked").withTags("seat:1A")));
    AppendResult second =
        store.append(
            List.of(Event.of("SeatBooked").withTags("seat:1A")),
            failIf(store.read().withTag("seat:1A")));
    transactions.commit();
    assertThat(second).isInstanceOf(AppendResult.Failure.class);
    assertThat(store.read().toList()).hasSize(1);
  }

  @Test
  void whileATransactionHoldsTheAppendLockTheServerProbesASilentClientSoonerThanByDefault()
      throws SQLException {
    Connection connection = transactions.begin();
    String before = TestDatabases.keepalives(connection);
    store.append(List.of(Event.of("SeatBooked")));
    String holding = TestDatabases.keepalives(connection);
    connection.commit();
    String after = TestDatabases.keepalives(connection);
    transactions.commit();

    assertThat(holding).isEqualTo("5 5 3 30000");
    assertThat(before).isNotEqualTo(holding);
    assertThat(after).isEqualTo(before);
  }

  @Test
  void outsideATransactionAppendsCommitAtOnce() {
    store.append(List.of(Event.of("SeatBooked")));
    try (EventStore outside = EventStore.forDataSource(database.dataSource())) {
      assertThat(outside.read().toList()).hasSize(1);
    }
    assertThat(transactions.afterCommit).isEmpty();
  }

  @Test
  void subscriptionsAreWokenAfterTheCommitNotBefore() throws Exception {
    try (Subscription subscription = store.subscribe(store.read(), 0)) {
      transactions.begin();
      long position = store.append(List.of(Event.of("SeatBooked"))).position();
      // Woken before the commit, a subscription would take the position as committed and move
      // past an event it cannot see yet.
      assertThat(transactions.afterCommit).hasSize(1);
      Batch beforeCommit = subscription.poll(Duration.ofMillis(200));
      assertThat(beforeCommit.position()).isLessThan(position);
      transactions.commit();
      Batch afterCommit = subscription.poll(Duration.ofSeconds(10));
      assertThat(afterCommit.events()).hasSize(1);
      assertThat(afterCommit.position()).isEqualTo(position);
    }
  }

  @Test
  void anAppendRolledBackToASavepointMovesNoSubscriptionPastItsPosition() throws Exception {
    try (Subscription subscription = store.subscribe(store.read(), 0)) {
      assertThat(subscription.poll(Duration.ofMillis(200)).caughtUp()).isTrue();
      Connection connection = transactions.begin();
      Savepoint beforeAppend = connection.setSavepoint();
      long rolledBack = store.append(List.of(Event.of("SeatBooked"))).position();
      connection.rollback(beforeAppend);
      transactions.commit(); // wakes the subscription for an append that is not there

      Batch woken = subscription.poll(Duration.ofSeconds(1));
      assertThat(woken.position()).isLessThan(rolledBack);
      long stored = store.append(List.of(Event.of("SeatHeld"))).position();
      assertThat(stored).isEqualTo(rolledBack);
      Batch next = subscription.poll(Duration.ofSeconds(10));
      assertThat(next.events()).extracting(e -> e.event().type()).containsExactly("SeatHeld");
    }
  }

  @Test
  void aDecisionRetriedInsideATransactionDoesNotPauseWhileItHoldsTheAppendLock() throws Exception {
    decidesWithoutPausing(store, transactions::begin, transactions::commit);
  }

  @Test
  void aDecisionRetriedOnTheCallersConnectionDoesNotPauseWhileItHoldsTheAppendLock()
      throws Exception {
    try (Connection connection = database.dataSource().getConnection()) {
      connection.setAutoCommit(false);
      decidesWithoutPausing(store.onConnection(connection), () -> {}, connection::commit);
    }
  }

  /** A step of a transaction, run on the deciding thread. */
  private interface Step {
    void run() throws Exception;
  }

  /**
   * A decision through {@code target} between {@code begin} and {@code commit} whose first attempt
   * conflicts: its retry must come at once, where a pause as its policy says would last an hour.
   */
  private static void decidesWithoutPausing(EventStore target, Step begin, Step commit)
      throws Exception {
    DecisionModel model =
        DecisionModel.of(
            DecisionProjection.startingWith(0)
                .on("SeatBooked", (seats, event) -> seats + 1)
                .withTag("flight:f1"));
    RetryPolicy patient =
        RetryPolicy.defaults().withBackoff(Duration.ofHours(1), Duration.ofHours(1));
    var attempts = new AtomicInteger();
    ExecutorService deciding = Executors.newSingleThreadExecutor();
    try (EventStore elsewhere = EventStore.forDataSource(database.dataSource())) {
      Future<Outcome<String>> decided =
          deciding.submit(
              () -> {
                begin.run();
                Outcome<String> outcome =
                    model.execute(
                        target,
                        patient,
                        state -> {
                          if (attempts.incrementAndGet() == 1) {
                            // Another node books meanwhile: the first attempt conflicts.
                            elsewhere.append(List.of(Event.of("SeatBooked").withTags("flight:f1")));
                          }
                          return Decision.append(Event.of("SeatBooked").withTags("flight:f1"));
                        });
                commit.run();
                return outcome;
              });

      assertThat(decided.get(20, TimeUnit.SECONDS))
          .isEqualTo(new Outcome.Appended<String>(2, false, 1));
      assertThat(attempts).hasValue(2);
    } finally {
      // A pause (what this is for) ends at the interrupt: the decision gives up and commits.
      deciding.shutdownNow();
      assertThat(deciding.awaitTermination(30, TimeUnit.SECONDS)).isTrue();
    }
  }

  private static void book(Connection connection, String seat) throws SQLException {
    try (PreparedStatement insert =
        connection.prepareStatement("INSERT INTO bookings (seat) VALUES (?)")) {
      insert.setString(1, seat);
      insert.executeUpdate();
    }
  }

  private static int bookings() throws SQLException {
    try (Connection connection = database.dataSource().getConnection();
        Statement statement = connection.createStatement();
        ResultSet rows = statement.executeQuery("SELECT count(*) FROM bookings")) {
      rows.next();
      return rows.getInt(1);
    }
  }
}
