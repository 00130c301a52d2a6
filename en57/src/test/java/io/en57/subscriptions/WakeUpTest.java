package io.en57.subscriptions;

import static org.assertj.core.api.Assertions.assertThat;

import io.en57.Event;
import io.en57.EventStore;
import io.en57.SequencedEvent;
import io.en57.testing.TestDatabases;
import io.en57.testing.TestDatabases.TestDatabase;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;

/**
 * Wake-ups across processes: a store on another pool stands for another application node. A
 * subscription that would poll only once an hour must still see the other node's appends (through
 * the coalesced notification and the LISTEN connection), and a subscription whose LISTEN connection
 * is killed or cannot be opened must still progress (through its poll).
 */
@Tag("postgres")
class WakeUpTest {

  private static final Duration PATIENCE = Duration.ofSeconds(30);
  private static final Duration NEVER = Duration.ofHours(1);
  private static final String LISTENERS =
      "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
          + " AND query = 'LISTEN \"en57_appended\"'";

  private TestDatabase database;
  private final List<AutoCloseable> opened = new ArrayList<>();
  private final ExecutorService threads = Executors.newCachedThreadPool();

  @BeforeEach
  void createDatabase() {
    database = TestDatabases.createMigrated();
  }

  @AfterEach
  void dropDatabase() throws Exception {
    threads.shutdownNow();
    for (AutoCloseable closeable : opened) {
      closeable.close();
    }
    database.close();
  }

  private <T extends AutoCloseable> T closeLater(T closeable) {
    opened.add(closeable);
    return closeable;
  }

  private EventStore node(Duration pollInterval) {
    return closeLater(
        EventStore.builder().pollInterval(pollInterval).maxPoolSize(3).forUrl(database.jdbcUrl()));
  }

  /** A subscription that has caught up and now waits in a poll of its own, up to an hour. */
  private Future<Batch> caughtUpAndWaiting(Subscription subscription) throws Exception {
    assertThat(subscription.poll(Duration.ZERO).caughtUp()).isTrue();
    return threads.submit(() -> subscription.poll(NEVER));
  }

  private static List<Long> positions(Future<Batch> batch) throws Exception {
    return batch.get(PATIENCE.toSeconds(), TimeUnit.SECONDS).events().stream()
        .map(SequencedEvent::position)
        .toList();
  }

  private List<Integer> listeners() throws SQLException {
    var pids = new ArrayList<Integer>();
    try (Connection connection = database.dataSource().getConnection();
        Statement statement = connection.createStatement();
        ResultSet rows = statement.executeQuery(LISTENERS)) {
      while (rows.next()) {
        pids.add(rows.getInt(1));
      }
    }
    return pids;
  }

  /** The LISTEN connections of the database once there is one that is not in {@code old}. */
  private List<Integer> awaitListenerOtherThan(List<Integer> old) throws Exception {
    long deadline = System.nanoTime() + PATIENCE.toNanos();
    while (System.nanoTime() < deadline) {
      List<Integer> now = listeners();
      if (now.stream().anyMatch(pid -> !old.contains(pid))) {
        return now;
      }
      Thread.sleep(10);
    }
    throw new AssertionError("no new LISTEN connection within " + PATIENCE);
  }

  @Test
  void aSubscriberHearsAnotherNodesAppendsWithoutPolling() throws Exception {
    EventStore subscriber = node(NEVER);
    EventStore writer = node(NEVER);
    Subscription subscription = closeLater(subscriber.subscribe(subscriber.read(), 0));
    Future<Batch> next = caughtUpAndWaiting(subscription);
    awaitListenerOtherThan(List.of());

    long position = writer.append(List.of(Event.of("Appended"))).position();

    assertThat(positions(next)).containsExactly(position);
  }

  @Test
  void anotherNodesAppendsThatDoNotMatchMoveThePositionOnWithoutPolling() throws Exception {
    EventStore subscriber = node(NEVER);
    EventStore writer = node(NEVER);
    Subscription subscription =
        closeLater(subscriber.subscribe(subscriber.read().ofType("Wanted"), 0));
    Future<Batch> next = caughtUpAndWaiting(subscription);
    awaitListenerOtherThan(List.of());

    long position = writer.append(List.of(Event.of("Unwanted"), Event.of("Unwanted"))).position();

    Batch batch = next.get(PATIENCE.toSeconds(), TimeUnit.SECONDS);
    assertThat(batch.events()).isEmpty();
    assertThat(batch.position()).isEqualTo(position);
  }

  @Test
  void aStoreOnADataSourceListensOnTheConnectionItIsGiven() throws Exception {
    EventStore subscriber =
        closeLater(
            EventStore.builder()
                .pollInterval(NEVER)
                .listenConnection(database.dataSource()::getConnection)
                .forDataSource(database.dataSource()));
    EventStore writer = node(NEVER);
    Subscription subscription = closeLater(subscriber.subscribe(subscriber.read(), 0));
    Future<Batch> next = caughtUpAndWaiting(subscription);
    awaitListenerOtherThan(List.of());

    long position = writer.append(List.of(Event.of("Appended"))).position();

    assertThat(positions(next)).containsExactly(position);
  }

  @Test
  void theListenerReconnectsAfterItsConnectionIsKilled() throws Exception {
    EventStore subscriber = node(NEVER);
    EventStore writer = node(NEVER);
    Subscription subscription = closeLater(subscriber.subscribe(subscriber.read(), 0));
    List<Integer> first = awaitListenerOtherThan(List.of());
    database.execute("SELECT pg_terminate_backend(pid) FROM (" + LISTENERS + ") l");
    awaitListenerOtherThan(first);
    Future<Batch> next = caughtUpAndWaiting(subscription);

    long position = writer.append(List.of(Event.of("Appended"))).position();

    assertThat(positions(next)).containsExactly(position);
  }

  @Test
  void aSubscriberWhoseListenConnectionIsKilledStillProgressesByPolling() throws Exception {
    EventStore subscriber = node(Duration.ofMillis(100));
    EventStore writer = node(NEVER);
    Subscription subscription = closeLater(subscriber.subscribe(subscriber.read(), 0));
    awaitListenerOtherThan(List.of());
    Future<Batch> next = caughtUpAndWaiting(subscription);
    for (int kill = 0; kill < 3; kill++) {
      database.execute("SELECT pg_terminate_backend(pid) FROM (" + LISTENERS + ") l");
      writer.append(List.of(Event.of("AppendedWhileNobodyListened")));
    }

    List<Long> seen = new ArrayList<>(positions(next));
    while (seen.size() < 3) {
      seen.addAll(
          subscription.poll(PATIENCE).events().stream().map(SequencedEvent::position).toList());
    }
    assertThat(seen).containsExactly(1L, 2L, 3L);
  }

  @Test
  void aSubscriberThatCannotListenStillProgressesByPolling() throws Exception {
    EventStore subscriber =
        closeLater(
            EventStore.builder()
                .pollInterval(Duration.ofMillis(100))
                .listenConnection(
                    () -> {
                      throw new SQLException("this network drops LISTEN connections");
                    })
                .forUrl(database.jdbcUrl()));
    EventStore writer = node(NEVER);
    Subscription subscription = closeLater(subscriber.subscribe(subscriber.read(), 0));
    Future<Batch> next = caughtUpAndWaiting(subscription);

    long position = writer.append(List.of(Event.of("Appended"))).position();

    assertThat(positions(next)).containsExactly(position);
  }

  @Test
  void appendsAreAnnouncedByAtMostOneNotificationPerInterval() throws Exception {
    EventStore writer = node(NEVER);
    int appends = 400;
    long started;
    long finished;
    var received = new ArrayList<PGNotification>();
    try (Connection listening = database.dataSource().getConnection()) {
      try (Statement statement = listening.createStatement()) {
        statement.execute("LISTEN en57_appended");
      }
      started = System.nanoTime();
      var writers = new ArrayList<Future<?>>();
      for (int t = 0; t < 8; t++) {
        writers.add(
            threads.submit(
                () -> {
                  for (int i = 0; i < appends / 8; i++) {
                    writer.append(List.of(Event.of("Appended")));
                  }
                  return null;
                }));
      }
      for (Future<?> w : writers) {
        w.get();
      }
      finished = System.nanoTime();
      PGConnection pg = listening.unwrap(PGConnection.class);
      // The last notification follows the last append within one interval.
      long head = writer.head();
      while (received.isEmpty()
          || Long.parseLong(received.get(received.size() - 1).getParameter()) < head) {
        PGNotification[] batch = pg.getNotifications((int) PATIENCE.toMillis());
        assertThat(batch).as("a notification of the last append").isNotEmpty();
        received.addAll(List.of(batch));
      }
    }
    long intervals = TimeUnit.NANOSECONDS.toMillis(finished - started) / 10 + 2;
    System.out.printf(
        "%d appends in %d ms announced by %d notifications%n",
        appends, TimeUnit.NANOSECONDS.toMillis(finished - started), received.size());
    assertThat(received).hasSizeLessThanOrEqualTo((int) intervals);
    assertThat(received.stream().map(n -> Long.parseLong(n.getParameter())))
        .isSorted()
        .last()
        .isEqualTo((long) appends);
  }
}
