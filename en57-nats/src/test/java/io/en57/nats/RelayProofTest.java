package io.en57.nats;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.en57.Event;
import io.en57.EventStore;
import io.en57.SequencedEvent;
import io.en57.nats.Streams.Received;
import io.en57.subscriptions.Projections;
import io.en57.subscriptions.RunnerOptions;
import io.en57.testing.TestDatabases;
import io.en57.testing.TestDatabases.TestDatabase;
import io.nats.client.Connection;
import io.nats.client.JetStreamApiException;
import io.nats.client.api.MessageInfo;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.LongStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The relay's guarantees where they are at stake: relays killed mid-stream and started again, and a
 * broker stopped and started again, while writers append. Afterwards a JetStream consumer reading
 * the whole stream must see every relayed event, in position order, none twice, with the event id
 * as message id. The stream's duplicate window is short (200 ms), so the broker's deduplication
 * cannot hide an event sent again after a restart: the relay itself must not send it twice.
 */
@Tag("nats")
@Tag("postgres")
class RelayProofTest {

  static final String RELAY = "proof-relay";
  private static final Duration PATIENCE = Duration.ofSeconds(60);
  private static final Duration LEASE = Duration.ofSeconds(1);
  private static final Duration DUPLICATE_WINDOW = Duration.ofMillis(200);

  private static NatsServer server;
  private static TestDatabase database;
  private static Connection nats;
  private final List<AutoCloseable> opened = new ArrayList<>();
  private final ExecutorService threads = Executors.newCachedThreadPool();
  private HikariDataSource pool;
  private EventStore store;

  /** The relay under proof: the "Counted" events (a query, not the whole log), in small batches. */
  static JetStreamRelay.Builder relay(Connection nats, String stream, EventStore store) {
    return JetStreamRelay.builder(nats, stream)
        .name(RELAY)
        .scope(store.read().ofType("Counted"))
        .subjectPrefix("proof")
        .batchSize(50);
  }

  @BeforeAll
  static void start() throws Exception {
    server = NatsServer.start(); // its own: the tests restart it
    nats = Streams.connect(server.url());
    database = TestDatabases.createMigrated();
  }

  @AfterAll
  static void stop() throws InterruptedException {
    nats.close();
    server.close();
    database.close();
  }

  @BeforeEach
  void openStore() {
    database.emptyLog("en57.projections", "en57.projection_dead_letters");
    var config = new HikariConfig();
    config.setDataSource(database.dataSource());
    config.setMaximumPoolSize(8);
    pool = new HikariDataSource(config);
    store = EventStore.builder().pollInterval(Duration.ofMillis(100)).forDataSource(pool);
  }

  @AfterEach
  void close() throws Exception {
    threads.shutdownNow();
    for (int i = opened.size() - 1; i >= 0; i--) {
      opened.get(i).close();
    }
    store.close();
    pool.close();
  }

  @Test
  void relaysKilledMidStreamAndStartedAgainPublishEveryEventOnceInOrder() throws Exception {
    String stream = "PROOF_KILL";
    createStream(stream);
    var writing = new AtomicBoolean(true);
    List<Future<Integer>> writers = write(writing, 12);
    int kills = 0;
    int killsWithAcknowledgedEventsPastTheCheckpoint = 0;
    // Kill at least three relays; go on (up to ten) until a kill lands between a batch's
    // acknowledgements and its checkpoint, the case where a relay that resumed from its checkpoint
    // alone would publish events again.
    while (kills < 3 || (killsWithAcknowledgedEventsPastTheCheckpoint == 0 && kills < 10)) {
      String node = "node-" + kills;
      Process relay = startNode(stream, node);
      try {
        awaitOwner(node);
        long from = lastSequence(stream);
        while (lastSequence(stream) < from + 200) {
          Thread.sleep(5);
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (tailPosition(stream) <= checkpoint() && System.nanoTime() < deadline) {
          Thread.onSpinWait();
        }
      } finally {
        relay.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
      }
      kills++;
      if (tailPosition(stream) > checkpoint()) {
        killsWithAcknowledgedEventsPastTheCheckpoint++;
      }
    }
    JetStreamRelay restarted =
        closeLater(
            relay(nats, stream, store)
                .runnerOptions(RunnerOptions.defaults().withLease(LEASE).withNodeName("last"))
                .start(store, pool));
    awaitOwner("last");
    Thread.sleep(500);
    stop(writing, writers);

    assertThat(restarted.await(store.head(), PATIENCE)).isTrue();
    System.out.printf(
        "%d relays killed mid-stream, %d of them with acknowledged events past the checkpoint;"
            + " %d events relayed%n",
        kills, killsWithAcknowledgedEventsPastTheCheckpoint, lastSequence(stream));
    assertThat(killsWithAcknowledgedEventsPastTheCheckpoint).isPositive();
    assertStreamHoldsEveryCountedEventOnceInOrder(stream);
  }

  @Test
  void aBrokerRestartedWhileEventsFlowLosesReordersAndRepeatsNothing() throws Exception {
    String stream = "PROOF_RESTART";
    createStream(stream);
    var writing = new AtomicBoolean(true);
    List<Future<Integer>> writers = write(writing, 13);
    JetStreamRelay relay =
        closeLater(
            relay(nats, stream, store)
                .runnerOptions(RunnerOptions.defaults().withLease(LEASE))
                .start(store, pool));
    for (int restart = 0; restart < 3; restart++) {
      long from = lastSequence(stream);
      while (lastSequence(stream) < from + 300) {
        Thread.sleep(5);
      }
      server.stop();
      Thread.sleep(2_000); // longer than a projection's default retries last: the relay must wait
      server.resume();
    }
    Thread.sleep(500);
    stop(writing, writers);

    assertThat(relay.await(store.head(), PATIENCE)).isTrue();
    System.out.printf("3 broker restarts; %d events relayed%n", lastSequence(stream));
    assertStreamHoldsEveryCountedEventOnceInOrder(stream);
  }

  /** Every "Counted" event of the log, and nothing else, once each, in position order. */
  private void assertStreamHoldsEveryCountedEventOnceInOrder(String stream) throws Exception {
    List<SequencedEvent> expected;
    try (Stream<SequencedEvent> events = store.read().ofType("Counted").sequenced()) {
      expected = events.toList();
    }
    List<Received> received = Streams.readAll(nats, stream);
    assertThat(difference(received, expected)).as("the stream next to the log").isEmpty();
    assertThat(received)
        .extracting(Received::sequence)
        .containsExactlyElementsOf(LongStream.rangeClosed(1, expected.size()).boxed().toList());
  }

  /**
   * Where the stream first differs from the events: position and message id of each message, side
   * by side around there; empty if they are the same.
   */
  private static String difference(List<Received> received, List<SequencedEvent> expected) {
    int common = Math.min(received.size(), expected.size());
    int first = 0;
    while (first < common
        && received.get(first).position() == expected.get(first).position()
        && received.get(first).messageId().equals(expected.get(first).event().id().toString())) {
      first++;
    }
    if (first == received.size() && first == expected.size()) {
      return "";
    }
    var text =
        new StringBuilder(
            String.format(
                "%d messages for %d events; first difference at index %d (stream | log):%n",
                received.size(), expected.size(), first));
    for (int i = Math.max(0, first - 2);
        i < Math.max(received.size(), expected.size()) && i < first + 8;
        i++) {
      text.append(
          String.format(
              "  %s | %s%n",
              i < received.size()
                  ? received.get(i).position() + " " + received.get(i).messageId()
                  : "-",
              i < expected.size()
                  ? expected.get(i).position() + " " + expected.get(i).event().id()
                  : "-"));
    }
    return text.toString();
  }

  private void createStream(String stream) throws Exception {
    Streams.create(nats, stream, "proof.>", DUPLICATE_WINDOW);
    opened.add(() -> Streams.delete(nats, stream));
  }

  private long lastSequence(String stream) throws Exception {
    return nats.jetStreamManagement().getStreamInfo(stream).getStreamState().getLastSequence();
  }

  /** The position in the stream's last message, 0 if it is empty. */
  private long tailPosition(String stream) throws Exception {
    try {
      MessageInfo last = nats.jetStreamManagement().getLastMessage(stream, ">");
      return Long.parseLong(last.getHeaders().getFirst(JetStreamRelay.POSITION_HEADER));
    } catch (JetStreamApiException e) {
      if (e.getApiErrorCode() == 10037) {
        return 0;
      }
      throw e;
    }
  }

  private long checkpoint() {
    return Projections.forDataSource(pool).status(RELAY).get(0).checkpoint();
  }

  private void awaitOwner(String node) throws InterruptedException {
    long deadline = System.nanoTime() + PATIENCE.toNanos();
    Projections projections = Projections.forDataSource(pool);
    while (true) {
      var segments = projections.list();
      if (!segments.isEmpty() && segments.get(0).owner().orElse("").startsWith(node)) {
        return;
      }
      assertThat(System.nanoTime()).as("%s owns the relay in time", node).isLessThan(deadline);
      Thread.sleep(5);
    }
  }

  /** Four writers appending one to three events at a time, a quarter of them not relayed. */
  private List<Future<Integer>> write(AtomicBoolean writing, long seed) {
    var writers = new ArrayList<Future<Integer>>();
    for (int w = 0; w < 4; w++) {
      var random = new Random(seed * 10 + w);
      writers.add(
          threads.submit(
              () -> {
                int appends = 0;
                long deadline = System.nanoTime() + PATIENCE.toNanos();
                while (writing.get() && System.nanoTime() < deadline) {
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

  private <T extends AutoCloseable> T closeLater(T closeable) {
    opened.add(closeable);
    return closeable;
  }

  /** Starts {@link RelayNode} in a JVM of its own. */
  private Process startNode(String stream, String node) throws Exception {
    Process process =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp",
                System.getProperty("java.class.path"),
                RelayNode.class.getName(),
                database.jdbcUrl(),
                server.url(),
                stream,
                Long.toString(LEASE.toMillis()),
                node)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .start();
    opened.add(process::destroyForcibly);
    return process;
  }
}
