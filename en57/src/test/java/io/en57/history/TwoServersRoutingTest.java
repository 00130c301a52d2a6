package io.en57.history;

import static io.en57.AppendCondition.failIf;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.en57.AppendResult;
import io.en57.Event;
import io.en57.EventStore;
import io.en57.Migrator;
import io.en57.routing.EventStoreRouter;
import io.en57.routing.LogLocation;
import io.en57.subscriptions.Projections;
import io.en57.testing.TestDatabases;
import io.en57.testing.TestDatabases.TestDatabase;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * A router over two PostgreSQL servers: the test server (embedded, or the one {@code
 * EN57_TEST_DATABASE_URL} names) and a second embedded server started here. Each key's events land
 * on its own server, and each log, with writers racing on it, passes the history checker on its
 * own.
 */
@Tag("postgres")
class TwoServersRoutingTest {

  private static TestDatabase first;
  private static EmbeddedPostgres second;
  private static String firstUrl;
  private static String secondUrl;

  @BeforeAll
  static void startServers() throws Exception {
    first = TestDatabases.create();
    firstUrl = first.postgresUrl();
    second = EmbeddedPostgres.builder().start();
    secondUrl = "postgres://postgres@localhost:" + second.getPort() + "/postgres";
    Migrator.forUrl(firstUrl).withSchema("tenant_a").migrate();
    Migrator.forUrl(secondUrl).withSchema("tenant_b").migrate();
    Migrator.forUrl(secondUrl).migrate();
  }

  @AfterAll
  static void stopServers() throws Exception {
    first.close();
    second.close();
  }

  @Test
  void aReplicaThatIsNoStandbyOfThePrimaryIsNeverRead() throws Exception {
    Migrator.forUrl(firstUrl).migrate();
    try (EventStore elsewhere = EventStore.forUrl(secondUrl);
        EventStore store = EventStore.builder().replica(secondUrl).forUrl(firstUrl)) {
      elsewhere.append(List.of(Event.of("Elsewhere")));
      store.append(List.of(Event.of("Here")));

      // Read from the other server, the log would hold "Elsewhere" and not "Here".
      assertThat(store.read().toList())
          .extracting(Event::type)
          .contains("Here")
          .doesNotContain("Elsewhere");
    }
  }

  @Test
  void eachKeysEventsLandOnItsOwnServer() throws Exception {
    try (EventStoreRouter router =
        EventStoreRouter.builder()
            .route("a", firstUrl + "#tenant_a")
            .route("b", secondUrl + "#tenant_b")
            .route("also-a", new LogLocation(firstUrl, "tenant_a"))
            .build()) {
      assertThat(router.store("also-a")).isSameAs(router.store("a"));
      assertThat(router.store("a").schema()).isEqualTo("tenant_a");

      router.store("a").append(List.of(Event.of("Routed").withTags("key:a")));
      router.store("b").append(List.of(Event.of("Routed").withTags("key:b")));
      router.store("b").append(List.of(Event.of("Routed").withTags("key:b")));

      assertThat(tags(first.dataSource(), "tenant_a")).containsExactly("{key:a}");
      assertThat(tags(second.getPostgresDatabase(), "tenant_b"))
          .containsExactly("{key:b}", "{key:b}");
      // No log of the other tenant on either server.
      assertThat(schemas(first.dataSource())).doesNotContain("tenant_b");
      assertThat(schemas(second.getPostgresDatabase())).doesNotContain("tenant_a");

      assertThatThrownBy(() -> router.store("c"))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("no route for key \"c\"")
          .hasMessageContaining("[a, also-a, b]");
    }
  }

  @Test
  void theReadmeExamplesRun() throws Exception {
    String databaseUrl = firstUrl;
    Migrator.forUrl(databaseUrl).withSchema("billing").migrate();
    EventStore billing = EventStore.builder().schema("billing").forUrl(databaseUrl);
    Projections.forUrl(databaseUrl).withSchema("billing").list();
    billing.close();

    String serverOne = firstUrl;
    String serverTwo = secondUrl;
    Migrator.forUrl(serverOne).withSchema("acme").migrate();
    Migrator.forUrl(serverTwo).withSchema("globex").migrate();
    Migrator.forUrl(serverOne).migrate();
    for (String tenant : List.of("acme", "globex", "initech")) {
      int number = 1;
      // serverOne: "postgres://app:...@db1:5432/shop", serverTwo: another server
      try (EventStoreRouter logs =
          EventStoreRouter.builder()
              .route("acme", serverOne + "#acme")
              .route("globex", serverTwo + "#globex")
              .defaultRoute(serverOne) // optional: every other key, in schema en57
              .build()) {
        EventStore store = logs.store(tenant);
        // The condition sees this tenant's log only: invoice numbers are unique per tenant.
        store.append(
            List.of(Event.of("InvoiceIssued").withTags("invoice:" + number)),
            failIf(store.read().ofType("InvoiceIssued").withTag("invoice:" + number)));
      }
    }
    assertThat(tags(first.dataSource(), "acme")).containsExactly("{invoice:1}");
    assertThat(tags(second.getPostgresDatabase(), "globex")).containsExactly("{invoice:1}");
    assertThat(tags(first.dataSource(), "en57")).containsExactly("{invoice:1}");
  }

  @Test
  void routesComeFromConfigurationWithADefault() {
    var properties = new Properties();
    properties.setProperty("logs.a", firstUrl + "#tenant_a");
    properties.setProperty("logs.*", secondUrl);
    properties.setProperty("unrelated", "ignored");
    EventStore a;
    try (EventStoreRouter router = EventStoreRouter.builder().routes(properties, "logs.").build()) {
      a = router.store("a");
      assertThat(router.keys()).containsExactly("a");
      assertThat(router.store("anyone else").schema()).isEqualTo("en57");
      assertThat(router.store("anyone else").append(List.of(Event.of("Defaulted"))))
          .isInstanceOf(AppendResult.Success.class);
    }
    // Closing the router closed its stores.
    assertThatThrownBy(() -> a.append(List.of(Event.of("TooLate"))))
        .isInstanceOf(RuntimeException.class);

    try (EventStoreRouter router = EventStoreRouter.of(Map.of("b", secondUrl + "#tenant_b"))) {
      assertThat(router.store("b").schema()).isEqualTo("tenant_b");
    }
    assertThatThrownBy(() -> EventStoreRouter.of(Map.of("x", secondUrl + "#Not-A-Schema")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("schema");
    assertThatThrownBy(() -> EventStoreRouter.of(Map.of("x", firstUrl + "#never_migrated")))
        .isInstanceOf(io.en57.SchemaNotReadyException.class)
        .hasMessageContaining("never_migrated");
  }

  @Test
  void aStoreTheOpenerOpensOnAnotherSchemaIsRefusedAndClosed() {
    var opened = new ArrayList<EventStore>();
    assertThatThrownBy(
            () ->
                EventStoreRouter.builder()
                    .route("b", secondUrl + "#tenant_b")
                    // Forgets .schema(location.schema()): every tenant would append to en57.
                    .opener(
                        location -> {
                          EventStore store = EventStore.forUrl(location.url());
                          opened.add(store);
                          return store;
                        })
                    .build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("route \"b\" names schema tenant_b")
        .hasMessageContaining("the opener returned a store on schema en57");
    assertThat(opened).hasSize(1);
    assertThatThrownBy(() -> opened.get(0).head())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("closed");
  }

  @Test
  void eachLogKeepsEveryInvariantWhileBothServersTakeWriters() throws Exception {
    Duration duration = Duration.ofSeconds(Long.getLong("en57.history.seconds", 6));
    // Two nodes (stores with pools of their own) per log.
    try (EventStoreRouter nodeOne =
            EventStoreRouter.of(Map.of("a", firstUrl + "#tenant_a", "b", secondUrl + "#tenant_b"));
        EventStoreRouter nodeTwo =
            EventStoreRouter.of(
                Map.of("a", firstUrl + "#tenant_a", "b", secondUrl + "#tenant_b"))) {
      long headA = nodeOne.store("a").head();
      long headB = nodeOne.store("b").head();
      CompletableFuture<History> a =
          CompletableFuture.supplyAsync(
              () -> run(List.of(nodeOne.store("a"), nodeTwo.store("a")), 57, duration));
      CompletableFuture<History> b =
          CompletableFuture.supplyAsync(
              () -> run(List.of(nodeOne.store("b"), nodeTwo.store("b")), 58, duration));
      for (History history : List.of(a.get(), b.get())) {
        assertThat(HistoryChecker.check(history)).isEmpty();
        assertThat(
                history.appends().stream().filter(x -> x.result() instanceof AppendResult.Success))
            .hasSizeGreaterThan(20);
      }
      // Each server's log holds exactly the events its own history wrote.
      assertThat(count(first.dataSource(), "tenant_a")).isEqualTo(a.get().log().size());
      assertThat(count(second.getPostgresDatabase(), "tenant_b")).isEqualTo(b.get().log().size());
      assertThat(a.get().log().size()).isGreaterThan((int) headA);
      assertThat(b.get().log().size()).isGreaterThan((int) headB);
    }
  }

  private static History run(List<EventStore> nodes, long seed, Duration duration) {
    try {
      return new HistoryRun(nodes, seed, 4, 1, 1, 1, 2).run(duration);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private static List<String> tags(DataSource dataSource, String schema) throws SQLException {
    return strings(dataSource, "SELECT tags::text FROM " + schema + ".events ORDER BY position");
  }

  private static List<String> schemas(DataSource dataSource) throws SQLException {
    return strings(dataSource, "SELECT nspname::text FROM pg_namespace");
  }

  private static int count(DataSource dataSource, String schema) throws SQLException {
    return Integer.parseInt(
        strings(dataSource, "SELECT count(*)::text FROM " + schema + ".events").get(0));
  }

  private static List<String> strings(DataSource dataSource, String sql) throws SQLException {
    try (Connection connection = dataSource.getConnection();
        Statement statement = connection.createStatement();
        ResultSet rows = statement.executeQuery(sql)) {
      var values = new java.util.ArrayList<String>();
      while (rows.next()) {
        values.add(rows.getString(1));
      }
      return values;
    }
  }
}
