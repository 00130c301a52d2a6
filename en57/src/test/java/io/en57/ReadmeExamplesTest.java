package io.en57;

import static io.en57.AppendCondition.failIf;
import static org.assertj.core.api.Assertions.assertThat;

import io.en57.internal.Migration;
import io.en57.testing.TestDatabases;
import io.en57.testing.TestDatabases.TestDatabase;
import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Every Java example of the README, compiled and run against PostgreSQL. {@link
 * ReadmeExamplesAreTestedTest} checks that each README code block appears here verbatim.
 */
@Tag("postgres")
class ReadmeExamplesTest {

  private static TestDatabase database;
  private static String databaseUrl;
  private static DataSource dataSource;
  private EventStore store;

  @BeforeAll
  static void createDatabase() {
    database = TestDatabases.create();
    databaseUrl = database.postgresUrl();
    dataSource = database.dataSource();
    database.execute("CREATE TABLE orders (id text PRIMARY KEY)");
  }

  @AfterAll
  static void dropDatabase() {
    database.close();
  }

  @BeforeEach
  void openStore() {
    if (Migrator.forUrl(databaseUrl).status().state() == MigrationState.FRESH) {
      schemaSetUp();
    }
    database.emptyLog("orders");
    store = EventStore.forUrl(databaseUrl);
  }

  @AfterEach
  void closeStore() {
    store.close();
  }

  void schemaSetUp() {
    List<String> applied = Migrator.forUrl(databaseUrl).migrate();
    MigrationStatus status = Migrator.forUrl(databaseUrl).status();

    assertThat(applied).isEqualTo(Migration.shipped().stream().map(Migration::name).toList());
    assertThat(status.state()).isEqualTo(MigrationState.UP_TO_DATE);
  }

  @Test
  void twoRoles() {
    try (var application = database.createApplicationRole()) {
      String ownerUrl = databaseUrl;
      String applicationRole = application.name();
      String applicationUrl = databaseUrl.replaceFirst("//[^@]*@", "//" + applicationRole + "@");

      Migrator.forUrl(ownerUrl).withApplicationRole(applicationRole).migrate();
      EventStore store =
          EventStore.forUrl(applicationUrl); // reads, and appends through en57.append

      assertThat(store.append(List.of(Event.of("ShopOpened"))).position()).isEqualTo(1);
      store.close();
    }
  }

  @Test
  void timeouts() {
    EventStore store =
        EventStore.builder()
            .lockTimeout(Duration.ofSeconds(5))
            .queryTimeout(Duration.ofSeconds(10))
            .forUrl(databaseUrl);

    assertThat(store.head()).isZero();
    store.close();
  }

  @Test
  void retryAnAppendWhoseAnswerWasLost() {
    List<Event> order =
        List.of(Event.of("OrderPlaced", Map.of("amount", 100)).withTags("order_id:7"));
    AppendResult first = store.append(order);
    // the connection dropped before the answer arrived: append the same events again
    AppendResult retry = store.append(order);

    retry.toString(); // => "Success[position=1, replayed=true]"
    assertThat(retry).isEqualTo(new AppendResult.Success(first.position(), true));
    assertThat(retry.toString()).isEqualTo("Success[position=1, replayed=true]");
  }

  @Test
  void connectWithAUrl() {
    try (EventStore store = EventStore.forUrl(databaseUrl)) {
      store.append(List.of(Event.of("Connected")));
    }

    assertThat(store.head()).isEqualTo(1);
  }

  @Test
  void connectWithTheApplicationsPool() {
    EventStore store = EventStore.forDataSource(dataSource); // your pool; the store never closes it

    store.append(List.of(Event.of("Connected")));
    assertThat(this.store.head()).isEqualTo(1);
  }

  @Test
  void appendInsideTheApplicationsTransaction() throws SQLException {
    String orderId = "123";

    try (Connection connection = dataSource.getConnection()) {
      connection.setAutoCommit(false);
      insertOrder(connection, orderId); // the application's own write
      store
          .onConnection(connection)
          .append(List.of(Event.of("OrderPlaced").withTags("order_id:" + orderId)));
      connection.commit(); // both or neither
    }

    assertThat(store.read().withTag("order_id:123").toList()).hasSize(1);
  }

  @Test
  void inMemory() {
    EventStore store = EventStore.inMemory();

    assertThat(store.append(List.of(Event.of("Tested"))).position()).isEqualTo(1);
  }

  @Test
  void appendUnconditionally() {
    AppendResult result =
        store.append(
            List.of(
                Event.of("OrderPlaced", Map.of("amount", 100))
                    .withTags("order_id:123", "customer:42")));

    result.position(); // => 1

    assertThat(result).isEqualTo(new AppendResult.Success(1));
    String said = "";
    said = handleResult(result);
    assertThat(said).isEqualTo("appended up to 1");
  }

  private String handleResult(AppendResult result) {
    if (result instanceof AppendResult.Success success) {
      return "appended up to " + success.position();
    } else if (result instanceof AppendResult.Failure failure) {
      return "blocked by "
          + failure.conflictingEvents().size()
          + " event(s) up to position "
          + failure.position();
    }
    throw new AssertionError();
  }

  @Test
  void readAll() {
    appendOrders();

    List<Event> events = store.read().toList();

    assertThat(events).hasSize(4);
  }

  @Test
  void readWithPositions() {
    appendOrders();

    SequencedEvent first = store.read().sequenced().findFirst().orElseThrow();
    long position = first.position();
    Event event = first.event();

    assertThat(position).isEqualTo(1);
    assertThat(event.type()).isEqualTo("OrderPlaced");
  }

  @Test
  void readByTags() {
    appendOrders();

    List<Event> events = store.read().withTag("order_id:123", "customer:42").toList();

    assertThat(events).extracting(Event::type).containsExactly("OrderPlaced", "OrderShipped");
  }

  @Test
  void readAfterAPosition() {
    appendOrders();
    appendOrders(); // positions 1 to 8

    List<Event> events = store.read().after(6).toList();

    assertThat(events).hasSize(2);
  }

  @Test
  void readByType() {
    appendOrders();

    List<Event> events = store.read().ofType("OrderPlaced", "OrderShipped").toList();

    assertThat(events)
        .extracting(Event::type)
        .containsExactly("OrderPlaced", "OrderPlaced", "OrderShipped");
  }

  @Test
  void readMergedScopes() {
    appendOrders();

    Read orders = store.read().ofType("OrderPlaced").withTag("order_id:123");
    Read priceChanges = store.read().ofType("PriceChanged");
    List<Event> events = orders.or(priceChanges).toList();

    assertThat(events).extracting(Event::type).containsExactly("OrderPlaced", "PriceChanged");
  }

  @Test
  void streamTheLog() {
    appendOrders();
    var projected = new ArrayList<Long>();

    try (Stream<SequencedEvent> log = store.read().sequenced()) {
      log.forEach(e -> projected.add(e.position()));
    }
    EventStore store = EventStore.builder().readBatchSize(5_000).forUrl(databaseUrl);

    assertThat(projected).containsExactly(1L, 2L, 3L, 4L);
    store.close();
  }

  @Test
  void newestFirstAndTheHead() {
    appendOrders();
    store.append(List.of(Event.of("InvoiceIssued", Map.of("number", 7)).withTags("customer:42")));

    Optional<SequencedEvent> lastInvoice = store.read().ofType("InvoiceIssued").last();
    List<Event> newestTen = store.read().withTag("customer:42").backwards().limit(10).toList();
    long head = store.head();

    assertThat(lastInvoice).map(SequencedEvent::position).contains(5L);
    assertThat(newestTen)
        .extracting(Event::type)
        .containsExactly("InvoiceIssued", "OrderShipped", "OrderPlaced");
    assertThat(head).isEqualTo(5);
  }

  @Test
  void consumeCreditsOnce() {
    store.append(List.of(Event.of("CreditsUsed", Map.of("amount", 100)).withTags("account:x")));

    Read accountScope = store.read().withTag("account:x");

    AppendResult result =
        store.append(
            List.of(Event.of("CreditsUsed", Map.of("amount", 100)).withTags("account:x")),
            failIf(accountScope.ofType("CreditsUsed")));

    if (result instanceof AppendResult.Failure failure) {
      // lost the race; failure.conflictingEvents() shows what got there first
    }

    assertThat(result).isInstanceOf(AppendResult.Failure.class);
    assertThat(((AppendResult.Failure) result).conflictingEvents()).hasSize(1);
  }

  @Test
  void ignoreEventsUpToAKnownPosition() {
    store.append(
        IntStream.range(0, 42)
            .mapToObj(i -> Event.of("CreditsUsed").withTags("account:x"))
            .toList());

    long lastReadEventPosition = 42;

    store.append(
        List.of(Event.of("CreditsUsed").withTags("account:x")),
        failIf(store.read().ofType("CreditsUsed")).after(lastReadEventPosition));

    assertThat(store.head()).isEqualTo(43);
  }

  @Test
  void emailUniqueness() {
    for (int attempt = 1; attempt <= 2; attempt++) {
      String emailTag = "email:alice@example.com";

      AppendResult result =
          store.append(
              List.of(Event.of("UserRegistered", Map.of("name", "Alice")).withTags(emailTag)),
              failIf(store.read().withTag(emailTag)));

      if (result instanceof AppendResult.Failure failure) {
        // email already used; failure.conflictingEvents() lists the prior registration(s)
      }

      assertThat(result)
          .isInstanceOf(attempt == 1 ? AppendResult.Success.class : AppendResult.Failure.class);
    }
  }

  @Test
  void typedPayloads() {
    record CourseDefined(String courseId, int capacity) {}

    EventStore store =
        EventStore.builder().register("CourseDefined", CourseDefined.class).forUrl(databaseUrl);
    store.append(
        List.of(Event.of("CourseDefined", new CourseDefined("c1", 30)).withTags("course:c1")));
    CourseDefined course =
        (CourseDefined) store.read().ofType("CourseDefined").toList().get(0).data();

    assertThat(course).isEqualTo(new CourseDefined("c1", 30));
    store.close();
  }

  @Test
  @SuppressWarnings("unchecked")
  void mapsKeepTheirValuesTypes() {
    store.append(
        List.of(
            Event.of(
                "PaymentReceived",
                Map.of(
                    "amount", new BigDecimal("19.90"),
                    "at", Instant.parse("2026-11-26T10:15:30.123456789Z"),
                    "invoice", UUID.fromString("0192f3a4-1b2c-7d3e-8f40-123456789abc")))));
    Map<String, Object> data =
        (Map<String, Object>) store.read().last().orElseThrow().event().data();
    BigDecimal amount = (BigDecimal) data.get("amount"); // still a BigDecimal, scale kept

    assertThat(amount).isEqualTo(new BigDecimal("19.90"));
    assertThat(data.get("at")).isEqualTo(Instant.parse("2026-11-26T10:15:30.123456789Z"));
  }

  @Test
  void groupCommitOptions() {
    EventStore store =
        EventStore.builder()
            .groupCommit(
                64, Duration.ofSeconds(30)) // at most 64 appends a group; at most 30 s queued
            .groupsInFlight(1)
            .lockTimeout(
                Duration.ofSeconds(10)) // at most 10 s waiting for the lock in the database
            .forUrl(databaseUrl);

    assertThat(store.append(List.of(Event.of("Grouped"))).position()).isEqualTo(1);
    store.close();
  }

  @Test
  void forwardAppendsToOneNode() {
    String nodeAddress = "127.0.0.1";
    // The node started first leads; this store, started second, forwards its appends to it.
    try (EventStore leader =
        EventStore.builder().forwardAppends("127.0.0.1", 0).forUrl(databaseUrl)) {
      // On every node: the address other nodes reach this one at, and the port for their appends
      // (0: any free port; a fixed one where a firewall must let it through).
      EventStore store = EventStore.builder().forwardAppends(nodeAddress, 0).forUrl(databaseUrl);

      assertThat(store.append(List.of(Event.of("Forwarded"))).position()).isEqualTo(1);
      assertThat(leader.read().toList()).extracting(Event::type).containsExactly("Forwarded");
      store.close();
    }
  }

  private void appendOrders() {
    store.append(
        List.of(
            Event.of("OrderPlaced", Map.of("amount", 100)).withTags("order_id:123", "customer:42"),
            Event.of("OrderPlaced", Map.of("amount", 50)).withTags("order_id:124", "customer:7"),
            Event.of("PriceChanged", Map.of("product", "p1")).withTags("product:p1"),
            Event.of("OrderShipped").withTags("order_id:123", "customer:42")));
  }

  private static void insertOrder(Connection connection, String orderId) throws SQLException {
    try (var insert = connection.prepareStatement("INSERT INTO orders VALUES (?)")) {
      insert.setString(1, orderId);
      insert.executeUpdate();
    }
  }
}
