package io.en57.nats;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.en57.Event;
import io.en57.EventStore;
import io.en57.Migrator;
import io.en57.Read;
import io.en57.SequencedEvent;
import io.en57.nats.Streams.Received;
import io.en57.subscriptions.DeadLetter;
import io.en57.subscriptions.ProjectionFailedException;
import io.en57.subscriptions.Projections;
import io.en57.subscriptions.Retry;
import io.en57.testing.TestDatabases;
import io.en57.testing.TestDatabases.TestDatabase;
import io.nats.client.Connection;
import io.nats.client.api.RetentionPolicy;
import io.nats.client.api.StreamConfiguration;
import java.math.BigDecimal;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The relay against a real JetStream server and PostgreSQL: what it publishes, and what it refuses.
 */
@Tag("nats")
@Tag("postgres")
class JetStreamRelayTest {

  private static final Duration PATIENCE = Duration.ofSeconds(30);
  private static final Retry TWO_ATTEMPTS =
      new Retry(2, Duration.ofMillis(10), Duration.ofMillis(10));

  private static NatsServer server;
  private static TestDatabase database;
  private static HikariDataSource pool;
  private static Connection nats;
  private EventStore store;
  private final List<JetStreamRelay> relays = new ArrayList<>();
  private final List<String> streams = new ArrayList<>();

  @BeforeAll
  static void start() throws Exception {
    server = NatsServer.shared();
    nats = Streams.connect(server.url());
    database = TestDatabases.createMigrated();
    var config = new HikariConfig();
    config.setDataSource(database.dataSource());
    config.setMaximumPoolSize(6);
    pool = new HikariDataSource(config);
  }

  @AfterAll
  static void stop() throws InterruptedException {
    pool.close();
    database.close();
    nats.close();
    server.close();
  }

  @BeforeEach
  void openStore() {
    database.emptyLog("en57.projections", "en57.projection_dead_letters");
    store = EventStore.builder().pollInterval(Duration.ofMillis(200)).forDataSource(pool);
  }

  @AfterEach
  void closeStore() throws Exception {
    relays.forEach(JetStreamRelay::close);
    store.close();
    for (String stream : streams) {
      Streams.delete(nats, stream);
    }
  }

  private void create(String stream, String subjects, Duration duplicateWindow) throws Exception {
    Streams.create(nats, stream, subjects, duplicateWindow);
    streams.add(stream);
  }

  private JetStreamRelay started(JetStreamRelay.Builder builder) {
    JetStreamRelay relay = builder.start(store, pool);
    relays.add(relay);
    return relay;
  }

  @Test
  void publishesEachEventInPositionOrderWithItsSubjectHeadersAndData() throws Exception {
    create("RELAY_BASICS", "en57.>", Duration.ofMinutes(2));
    Event placed =
        Event.of("OrderPlaced", Map.of("orderId", "o1", "total", new BigDecimal("12.50")))
            .withTags("order:o1", "customer:Zoë Ünal 100%+")
            .withMetadata(Map.of("by", "café\u007f", "line", "a\nb"));
    Event shipped = Event.of("OrderShipped", Map.of("orderId", "o1")).withTags("order:o1");
    Event cancelled = Event.of("Order cancelled.v2*", Map.of());
    store.append(List.of(placed, shipped));
    long head = store.append(List.of(cancelled)).position();

    JetStreamRelay relay = started(JetStreamRelay.builder(nats, "RELAY_BASICS"));

    assertThat(relay.await(head, PATIENCE)).isTrue();
    List<Received> received = Streams.readAll(nats, "RELAY_BASICS");
    assertThat(received)
        .extracting(Received::subject)
        .containsExactly("en57.OrderPlaced", "en57.OrderShipped", "en57.Order_cancelled_v2_");
    assertThat(received).extracting(Received::position).containsExactly(1L, 2L, 3L);
    assertThat(received)
        .extracting(Received::messageId)
        .containsExactly(
            placed.id().toString(), shipped.id().toString(), cancelled.id().toString());
    var first = received.get(0).message();
    assertThat(decoded(first.getHeaders().get(JetStreamRelay.TAGS_HEADER)))
        .containsExactly("order:o1", "customer:Zoë Ünal 100%+");
    assertThat(decoded(List.of(first.getHeaders().getFirst(JetStreamRelay.TYPE_HEADER))))
        .containsExactly("OrderPlaced");
    assertThat(decoded(received.get(2).message().getHeaders().get(JetStreamRelay.TYPE_HEADER)))
        .containsExactly("Order cancelled.v2*");
    assertThat(decoded(first.getHeaders().get(JetStreamRelay.RELAY_HEADER)))
        .containsExactly("jetstream-RELAY_BASICS");
    var json = new ObjectMapper();
    assertThat(json.readTree(first.getData()))
        .isEqualTo(json.readTree("{\"orderId\": \"o1\", \"total\": 12.50}"));
    assertThat(json.readTree(first.getHeaders().getFirst(JetStreamRelay.METADATA_HEADER)))
        .isEqualTo(json.readTree("{\"by\": \"café\u007f\", \"line\": \"a\\nb\"}"));
    assertThat(received.get(1).message().getHeaders().get(JetStreamRelay.METADATA_HEADER)).isNull();
    assertThat(received.get(2).message().getHeaders().get(JetStreamRelay.TAGS_HEADER)).isNull();
  }

  @Test
  void relaysTheEventsOfItsScopeToTheSubjectsItIsGiven() throws Exception {
    create("RELAY_SCOPE", "orders.>", Duration.ofMinutes(2));
    for (int i = 0; i < 10; i++) {
      store.append(
          List.of(
              Event.of("OrderPlaced", Map.of("n", i))
                  .withTags("region:" + (i % 2 == 0 ? "eu" : "us")),
              Event.of("Noise")));
    }

    JetStreamRelay relay =
        started(
            JetStreamRelay.builder(nats, "RELAY_SCOPE")
                .name("orders-by-region")
                .scope(store.read().ofType("OrderPlaced"))
                .subjects(
                    event ->
                        "orders."
                            + event.event().tags().iterator().next().substring("region:".length()))
                .batchSize(3));

    assertThat(relay.await(store.head(), PATIENCE)).isTrue();
    List<Received> received = Streams.readAll(nats, "RELAY_SCOPE");
    assertThat(received)
        .extracting(Received::position)
        .containsExactlyElementsOf(positions(store.read().ofType("OrderPlaced")));
    assertThat(received)
        .extracting(Received::subject)
        .containsExactly(
            "orders.eu",
            "orders.us",
            "orders.eu",
            "orders.us",
            "orders.eu",
            "orders.us",
            "orders.eu",
            "orders.us",
            "orders.eu",
            "orders.us");
  }

  @Test
  void resentFromTheStartItAddsNothingTheStreamHoldsEvenPastTheDuplicateWindow() throws Exception {
    create("RELAY_RESET", "en57.>", Duration.ofMillis(100));
    for (int i = 0; i < 25; i++) {
      store.append(List.of(Event.of("Counted", Map.of("n", i))));
    }
    JetStreamRelay relay = started(JetStreamRelay.builder(nats, "RELAY_RESET").batchSize(10));
    assertThat(relay.await(store.head(), PATIENCE)).isTrue();
    Thread.sleep(300); // the broker forgets the message ids

    Projections.forDataSource(pool).reset(relay.name(), 0);
    store.append(List.of(Event.of("Counted", Map.of("n", 25))));

    assertThat(relay.await(store.head(), PATIENCE)).isTrue();
    assertThat(Streams.readAll(nats, "RELAY_RESET"))
        .extracting(Received::position)
        .containsExactlyElementsOf(positions(store.read()));
  }

  @Test
  void purgedAndResetWhileItRunsItPublishesTheLogAgain() throws Exception {
    create("RELAY_PURGED", "en57.>", Duration.ofMillis(100));
    for (int i = 0; i < 5; i++) {
      store.append(List.of(Event.of("Counted", Map.of("n", i))));
    }
    JetStreamRelay relay = started(JetStreamRelay.builder(nats, "RELAY_PURGED"));
    assertThat(relay.await(store.head(), PATIENCE)).isTrue();
    Thread.sleep(300); // the broker forgets the message ids, or it would drop them as duplicates

    nats.jetStreamManagement().purgeStream("RELAY_PURGED");
    Projections.forDataSource(pool).reset(relay.name(), 0);
    store.append(List.of(Event.of("Counted", Map.of("n", 5))));

    assertThat(relay.await(store.head(), PATIENCE)).isTrue();
    assertThat(Streams.readAll(nats, "RELAY_PURGED"))
        .extracting(Received::position)
        .containsExactlyElementsOf(positions(store.read()));
  }

  @Test
  void purgedAndResetWithinTheDuplicateWindowItPublishesTheLogAgainOnceTheWindowPassed()
      throws Exception {
    create("RELAY_PURGED_EARLY", "en57.>", Duration.ofSeconds(10));
    // One event: of several, the second would be refused for the sequence it expects anyway.
    store.append(List.of(Event.of("Counted", Map.of("n", 0))));
    JetStreamRelay relay = started(JetStreamRelay.builder(nats, "RELAY_PURGED_EARLY"));
    assertThat(relay.await(store.head(), PATIENCE)).isTrue();

    nats.jetStreamManagement().purgeStream("RELAY_PURGED_EARLY");
    Projections.forDataSource(pool).reset(relay.name(), 0);

    assertThat(relay.await(store.head(), PATIENCE)).isTrue();
    assertThat(Streams.readAll(nats, "RELAY_PURGED_EARLY"))
        .extracting(Received::position)
        .containsExactlyElementsOf(positions(store.read()));
  }

  @Test
  void refusesAStreamWhoseLastMessageItDidNotPublish() throws Exception {
    create("RELAY_FOREIGN", "en57.>", Duration.ofMinutes(2));
    nats.jetStream().publish("en57.Foreign", "not an event".getBytes(StandardCharsets.UTF_8));
    long head = store.append(List.of(Event.of("Counted"))).position();

    JetStreamRelay relay =
        started(JetStreamRelay.builder(nats, "RELAY_FOREIGN").retry(TWO_ATTEMPTS));

    assertThatThrownBy(() -> relay.await(head, PATIENCE))
        .isInstanceOf(ProjectionFailedException.class);
    assertThat(Projections.forDataSource(pool).status(relay.name()).get(0).error().orElseThrow())
        .contains("was not published by a relay");
    assertThat(Streams.readAll(nats, "RELAY_FOREIGN")).hasSize(1);
  }

  @Test
  void refusesAStreamWhoseConsumersDeleteItsMessages() throws Exception {
    streams.add("RELAY_WORK_QUEUE");
    nats.jetStreamManagement()
        .addStream(
            StreamConfiguration.builder()
                .name("RELAY_WORK_QUEUE")
                .subjects("en57.>")
                .retentionPolicy(RetentionPolicy.WorkQueue)
                .build());
    long head = store.append(List.of(Event.of("Counted"))).position();

    JetStreamRelay relay =
        started(JetStreamRelay.builder(nats, "RELAY_WORK_QUEUE").retry(TWO_ATTEMPTS));

    assertThatThrownBy(() -> relay.await(head, PATIENCE))
        .isInstanceOf(ProjectionFailedException.class);
    assertThat(Projections.forDataSource(pool).status(relay.name()).get(0).error().orElseThrow())
        .contains("has WorkQueue retention")
        .contains("needs limits retention");
    assertThat(
            nats.jetStreamManagement()
                .getStreamInfo("RELAY_WORK_QUEUE")
                .getStreamState()
                .getLastSequence())
        .isZero();
  }

  @Test
  void refusesAStreamAnotherRelayFeeds() throws Exception {
    create("RELAY_TWICE", "en57.>", Duration.ofMinutes(2));
    long head = store.append(List.of(Event.of("Counted"))).position();
    JetStreamRelay first = started(JetStreamRelay.builder(nats, "RELAY_TWICE"));
    assertThat(first.await(head, PATIENCE)).isTrue();
    first.close();
    head = store.append(List.of(Event.of("Counted"))).position();

    JetStreamRelay second =
        started(JetStreamRelay.builder(nats, "RELAY_TWICE").name("another").retry(TWO_ATTEMPTS));

    long last = head;
    assertThatThrownBy(() -> second.await(last, PATIENCE))
        .isInstanceOf(ProjectionFailedException.class);
    assertThat(Projections.forDataSource(pool).status("another").get(0).error().orElseThrow())
        .contains("is fed by relay 'jetstream-RELAY_TWICE'");
    assertThat(Streams.readAll(nats, "RELAY_TWICE")).hasSize(1);
  }

  @Test
  void waitsForAStreamThatDoesNotExistYet() throws Exception {
    create("RELAY_LATE", "late.>", Duration.ofMinutes(2));
    nats.jetStreamManagement().deleteStream("RELAY_LATE");
    long head = store.append(List.of(Event.of("Counted"))).position();
    JetStreamRelay relay =
        started(JetStreamRelay.builder(nats, "RELAY_LATE").subjectPrefix("late"));

    assertThat(relay.await(head, Duration.ofMillis(500))).isFalse();
    create("RELAY_LATE", "late.>", Duration.ofMinutes(2));

    assertThat(relay.await(head, PATIENCE)).isTrue();
    assertThat(Streams.readAll(nats, "RELAY_LATE"))
        .extracting(Received::subject)
        .containsExactly("late.Counted");
  }

  @Test
  void withDeadLettersItSkipsTheEventsTheStreamCanNeverTakeAndRelaysTheRest() throws Exception {
    create("RELAY_POISON", "en57.>", Duration.ofMinutes(2));
    store.append(List.of(Event.of("Fine")));
    // Larger than the server's max_payload (1 MB by default), and a subject the stream does not
    // take.
    long large =
        store.append(List.of(Event.of("Large", Map.of("blob", "x".repeat(1_100_000))))).position();
    store.append(List.of(Event.of("Fine")));
    long stray = store.append(List.of(Event.of("Stray"))).position();
    long head = store.append(List.of(Event.of("Fine"))).position();

    JetStreamRelay relay =
        started(
            JetStreamRelay.builder(nats, "RELAY_POISON")
                .subjects(
                    event ->
                        (event.event().type().equals("Stray") ? "elsewhere." : "en57.")
                            + event.event().type())
                .deadLetters());

    assertThat(relay.await(head, PATIENCE)).isTrue();
    assertThat(Streams.readAll(nats, "RELAY_POISON"))
        .extracting(Received::position)
        .containsExactly(1L, 3L, 5L);
    var letters = Projections.forDataSource(pool).deadLetters(relay.name());
    assertThat(letters).extracting(DeadLetter::position).containsExactly(large, stray);
    assertThat(letters.get(0).error()).contains("max_payload");
    assertThat(letters.get(1).error())
        .contains("elsewhere.Stray", "is not one stream RELAY_POISON takes");
  }

  @Test
  void withoutDeadLettersAnEventTheStreamCanNeverTakeStopsTheRelayBeforeIt() throws Exception {
    create("RELAY_STUCK", "en57.>", Duration.ofMinutes(2));
    store.append(List.of(Event.of("Fine")));
    long large =
        store.append(List.of(Event.of("Large", Map.of("blob", "x".repeat(1_100_000))))).position();
    long head = store.append(List.of(Event.of("Fine"))).position();

    JetStreamRelay relay = started(JetStreamRelay.builder(nats, "RELAY_STUCK").retry(TWO_ATTEMPTS));

    assertThatThrownBy(() -> relay.await(head, PATIENCE))
        .isInstanceOf(ProjectionFailedException.class);
    var status = Projections.forDataSource(pool).status(relay.name()).get(0);
    assertThat(status.checkpoint()).isEqualTo(large - 1);
    assertThat(status.error().orElseThrow()).contains("max_payload");
    assertThat(Streams.readAll(nats, "RELAY_STUCK"))
        .extracting(Received::position)
        .containsExactly(1L);
    assertThat(Projections.forDataSource(pool).deadLetters(relay.name())).isEmpty();
  }

  @Test
  void withDeadLettersItSkipsAnEventLargerThanTheStreamsMaximumMessageSize() throws Exception {
    createWithMaximumMessageSize("RELAY_MAX_MSG", 1024);
    store.append(List.of(Event.of("Fine")));
    long large =
        store.append(List.of(Event.of("Large", Map.of("blob", "x".repeat(2048))))).position();
    // Within 1024 bytes but for the headers, which the broker counts too.
    long close =
        store.append(List.of(Event.of("Close", Map.of("blob", "x".repeat(1000))))).position();
    long head = store.append(List.of(Event.of("Fine"))).position();

    JetStreamRelay relay = started(JetStreamRelay.builder(nats, "RELAY_MAX_MSG").deadLetters());

    assertThat(relay.await(head, PATIENCE)).isTrue();
    assertThat(Streams.readAll(nats, "RELAY_MAX_MSG"))
        .extracting(Received::position)
        .containsExactly(1L, head);
    var letters = Projections.forDataSource(pool).deadLetters(relay.name());
    assertThat(letters).extracting(DeadLetter::position).containsExactly(large, close);
    assertThat(letters)
        .extracting(DeadLetter::error)
        .allSatisfy(
            error ->
                assertThat(error)
                    .contains("more than the max_msg_size of stream RELAY_MAX_MSG, 1024 bytes"));
  }

  @Test
  void withoutDeadLettersAnEventLargerThanTheStreamsMaximumMessageSizeStopsTheRelayBeforeIt()
      throws Exception {
    createWithMaximumMessageSize("RELAY_MAX_MSG_STUCK", 1024);
    store.append(List.of(Event.of("Fine")));
    long large =
        store.append(List.of(Event.of("Large", Map.of("blob", "x".repeat(2048))))).position();
    long head = store.append(List.of(Event.of("Fine"))).position();

    JetStreamRelay relay =
        started(JetStreamRelay.builder(nats, "RELAY_MAX_MSG_STUCK").retry(TWO_ATTEMPTS));

    assertThatThrownBy(() -> relay.await(head, PATIENCE))
        .isInstanceOf(ProjectionFailedException.class);
    var status = Projections.forDataSource(pool).status(relay.name()).get(0);
    assertThat(status.checkpoint()).isEqualTo(large - 1);
    assertThat(status.error().orElseThrow())
        .contains("the event at position " + large, "max_msg_size", "1024 bytes");
    assertThat(Streams.readAll(nats, "RELAY_MAX_MSG_STUCK"))
        .extracting(Received::position)
        .containsExactly(1L);
  }

  @Test
  void withDeadLettersItSkipsAnEventTheBrokerRefusesForAMaximumMessageSizeLoweredMeanwhile()
      throws Exception {
    create("RELAY_MAX_MSG_LOWERED", "en57.>", Duration.ofMinutes(2));
    long first = store.append(List.of(Event.of("Fine"))).position();
    JetStreamRelay relay =
        started(JetStreamRelay.builder(nats, "RELAY_MAX_MSG_LOWERED").deadLetters());
    assertThat(relay.await(first, PATIENCE)).isTrue();
    // The relay read the stream's configuration before: the broker is the one to refuse.
    var management = nats.jetStreamManagement();
    management.updateStream(
        StreamConfiguration.builder(
                management.getStreamInfo("RELAY_MAX_MSG_LOWERED").getConfiguration())
            .maximumMessageSize(1024)
            .build());
    long large =
        store.append(List.of(Event.of("Large", Map.of("blob", "x".repeat(2048))))).position();
    long head = store.append(List.of(Event.of("Fine"))).position();

    assertThat(relay.await(head, PATIENCE)).isTrue();
    assertThat(Streams.readAll(nats, "RELAY_MAX_MSG_LOWERED"))
        .extracting(Received::position)
        .containsExactly(first, head);
    var letters = Projections.forDataSource(pool).deadLetters(relay.name());
    assertThat(letters).extracting(DeadLetter::position).containsExactly(large);
    assertThat(letters.get(0).error())
        .contains("stream RELAY_MAX_MSG_LOWERED refused the message", "max_msg_size");
  }

  @Test
  void refusesAStreamARelayOfTheSameNameFeedsFromAnotherLog() throws Exception {
    streams.add("RELAY_TWO_LOGS");
    nats.jetStreamManagement()
        .addStream(
            StreamConfiguration.builder()
                .name("RELAY_TWO_LOGS")
                .subjects("acme.>", "globex.>")
                .build());
    Migrator.forDataSource(database.dataSource()).withSchema("acme").migrate();
    Migrator.forDataSource(database.dataSource()).withSchema("globex").migrate();
    try (EventStore acme = EventStore.builder().schema("acme").forDataSource(pool);
        EventStore globex = EventStore.builder().schema("globex").forDataSource(pool)) {
      List<Event> acmeEvents =
          List.of(Event.of("Counted"), Event.of("Counted"), Event.of("Counted"));
      long acmeHead = acme.append(acmeEvents).position();
      // Both relays are named jetstream-RELAY_TWO_LOGS, each with its checkpoint in its schema.
      try (JetStreamRelay acmeRelay =
          JetStreamRelay.builder(nats, "RELAY_TWO_LOGS").subjectPrefix("acme").start(acme, pool)) {
        assertThat(acmeRelay.await(acmeHead, PATIENCE)).isTrue();
      }
      // More events than the other log: the first three would pass for relayed.
      List<Event> globexEvents = new ArrayList<>();
      for (int i = 0; i < 5; i++) {
        globexEvents.add(Event.of("Counted"));
      }
      long globexHead = globex.append(globexEvents).position();

      try (JetStreamRelay globexRelay =
          JetStreamRelay.builder(nats, "RELAY_TWO_LOGS")
              .subjectPrefix("globex")
              .retry(TWO_ATTEMPTS)
              .start(globex, pool)) {
        assertThatThrownBy(() -> globexRelay.await(globexHead, PATIENCE))
            .isInstanceOf(ProjectionFailedException.class);
        assertThat(
                Projections.forDataSource(pool)
                    .withSchema("globex")
                    .status(globexRelay.name())
                    .get(0)
                    .error()
                    .orElseThrow())
            .contains(
                "holds event " + acmeEvents.get(2).id() + " at position 3",
                "position 3 of this relay's log (schema globex) is event "
                    + globexEvents.get(2).id(),
                "a relay named 'jetstream-RELAY_TWO_LOGS' on another log");
      }
    }
    assertThat(Streams.readAll(nats, "RELAY_TWO_LOGS"))
        .extracting(Received::subject)
        .containsExactly("acme.Counted", "acme.Counted", "acme.Counted");
  }

  private void createWithMaximumMessageSize(String stream, int maximumMessageSize)
      throws Exception {
    streams.add(stream);
    nats.jetStreamManagement()
        .addStream(
            StreamConfiguration.builder()
                .name(stream)
                .subjects("en57.>")
                .maximumMessageSize(maximumMessageSize)
                .build());
  }

  private static List<Long> positions(Read scope) {
    try (Stream<SequencedEvent> events = scope.sequenced()) {
      return events.map(SequencedEvent::position).toList();
    }
  }

  private static List<String> decoded(List<String> values) {
    return values.stream().map(value -> URLDecoder.decode(value, StandardCharsets.UTF_8)).toList();
  }
}
