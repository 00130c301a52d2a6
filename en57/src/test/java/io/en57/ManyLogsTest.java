package io.en57;

import static io.en57.AppendCondition.failIf;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.en57.internal.Migration;
import io.en57.subscriptions.Projection;
import io.en57.subscriptions.ProjectionRunner;
import io.en57.subscriptions.Projections;
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
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Several logs in one database, each in a schema of its own: migrated and versioned on its own,
 * with positions, conditions, append locks and notifications of its own.
 */
@Tag("postgres")
class ManyLogsTest {

  private static TestDatabase database;
  private static ExecutorService threads;

  @BeforeAll
  static void createDatabase() {
    database = TestDatabases.create();
    threads = Executors.newCachedThreadPool();
  }

  @AfterAll
  static void dropDatabase() {
    threads.shutdownNow();
    database.close();
  }

  private static Migrator migrator(String schema) {
    return Migrator.forDataSource(database.dataSource()).withSchema(schema);
  }

  private static EventStore store(String schema) {
    return EventStore.builder()
        .schema(schema)
        .lockTimeout(Duration.ofSeconds(20))
        .forDataSource(database.dataSource());
  }

  @Test
  void eachLogIsMigratedAndVersionedOnItsOwn() {
    try (TestDatabase fresh = TestDatabases.create()) {
      Migrator billing = Migrator.forDataSource(fresh.dataSource()).withSchema("billing");
      Migrator shipping = Migrator.forDataSource(fresh.dataSource()).withSchema("shipping");
      Migrator standard = Migrator.forDataSource(fresh.dataSource());

      int shipped = Migration.shipped().size();
      assertThat(billing.migrate()).hasSize(shipped);
      assertThat(billing.status().state()).isEqualTo(MigrationState.UP_TO_DATE);
      assertThat(shipping.status().state()).isEqualTo(MigrationState.FRESH);
      assertThat(standard.status().state()).isEqualTo(MigrationState.FRESH);

      assertThat(shipping.migrate()).hasSize(shipped);
      assertThat(billing.migrate()).isEmpty();
      assertThat(shipping.status().state()).isEqualTo(MigrationState.UP_TO_DATE);

      // Each version table records the shipped migrations, with the checksums of the shipped text.
      assertThat(
              queryStrings(
                  fresh,
                  "SELECT b.name || ' ' || b.checksum FROM billing.schema_migrations b"
                      + " ORDER BY b.version"))
          .isEqualTo(
              queryStrings(
                  fresh,
                  "SELECT s.name || ' ' || s.checksum FROM shipping.schema_migrations s"
                      + " ORDER BY s.version"))
          .hasSize(shipped);

      // A log left half-migrated is that log's problem alone.
      fresh.execute(
          "INSERT INTO billing.schema_migrations (version, name, checksum)"
              + " VALUES (99, '0099_future', 'x')");
      assertThat(billing.status().state()).isEqualTo(MigrationState.PARTIAL);
      assertThat(billing.status().warning()).get().asString().contains("schema billing");
      assertThat(shipping.status().state()).isEqualTo(MigrationState.UP_TO_DATE);
      assertThatThrownBy(
              () -> EventStore.builder().schema("billing").forDataSource(fresh.dataSource()))
          .isInstanceOf(SchemaNotReadyException.class)
          .hasMessageContaining("billing");
      EventStore.builder().schema("shipping").forDataSource(fresh.dataSource()).close();

      // The default log was never migrated: a store on it names the schema and the repair.
      assertThatThrownBy(() -> EventStore.forDataSource(fresh.dataSource()))
          .isInstanceOf(SchemaNotReadyException.class)
          .hasMessageContaining("schema en57");
    }
  }

  @Test
  void appendsPositionsAndConditionsAreIndependent() {
    migrator("orders").migrate();
    migrator("stock").migrate();
    try (EventStore orders = store("orders");
        EventStore stock = store("stock")) {
      assertThat(orders.schema()).isEqualTo("orders");
      for (int i = 0; i < 3; i++) {
        orders.append(List.of(Event.of("OrderPlaced").withTags("sku:1")));
      }
      // Positions of different logs are unrelated: each log counts from 1.
      assertThat(stock.append(List.of(Event.of("StockCounted").withTags("sku:1"))))
          .isEqualTo(new AppendResult.Success(1));
      assertThat(orders.head()).isEqualTo(3);
      assertThat(stock.head()).isEqualTo(1);
      assertThat(stock.read().withTag("sku:1").toList())
          .extracting(Event::type)
          .containsExactly("StockCounted");

      // A condition sees only its own log: the other log's matching events are not a conflict.
      AppendResult clean =
          stock.append(
              List.of(Event.of("StockReserved").withTags("sku:1")),
              failIf(stock.read().ofType("OrderPlaced").withTag("sku:1")));
      assertThat(clean).isEqualTo(new AppendResult.Success(2));
      AppendResult conflict =
          orders.append(
              List.of(Event.of("OrderPlaced").withTags("sku:1")),
              failIf(orders.read().withTag("sku:1").after(2)));
      assertThat(conflict).isInstanceOf(AppendResult.Failure.class);
      assertThat(((AppendResult.Failure) conflict).position()).isEqualTo(3);
    }
  }

  @Test
  void oneLogsHeldAppendLockDoesNotStopAnotherLogsAppends() throws Exception {
    migrator("busy").migrate();
    migrator("free").migrate();
    assertThat(logKey("busy")).isNotEqualTo(logKey("free"));
    // Migration 0001's append function took (1164850487, 1), shared by every log; nothing does
    // after 0004.
    assertThat(
            queryStrings(
                database,
                "SELECT p.proname::text FROM pg_proc p"
                    + " WHERE p.pronamespace IN ('busy'::regnamespace, 'free'::regnamespace)"
                    + " AND p.prosrc ~ '1164850487, *1\\)'"))
        .isEmpty();
    assertThat(
            queryStrings(
                database,
                "SELECT p.proname::text FROM pg_proc p"
                    + " WHERE p.pronamespace = 'busy'::regnamespace"
                    + " AND p.prosrc LIKE '%1164850487, en57.log_key()%'"))
        .isEmpty();
    try (EventStore busy = store("busy");
        EventStore free = store("free");
        Connection holder = database.dataSource().getConnection()) {
      holder.setAutoCommit(false);
      try (Statement statement = holder.createStatement()) {
        // The busy log's append lock, taken as its append function takes it, with the tenure a
        // lock holder keeps for the sessions waiting.
        statement.execute(
            "SELECT pg_advisory_xact_lock(1164850487, busy.log_key()), busy.begin_tenure()");
      }
      Future<AppendResult> waiting = threads.submit(() -> busy.append(List.of(Event.of("Late"))));
      awaitWaitingSessions(1);

      // The other log appends, from this node and from another one, while the first one waits.
      for (int i = 1; i <= 5; i++) {
        assertThat(free.append(List.of(Event.of("Free")))).isEqualTo(new AppendResult.Success(i));
      }
      try (EventStore otherNode = store("free")) {
        assertThat(
                otherNode.append(
                    List.of(Event.of("Free")), failIf(otherNode.read().ofType("Free").after(5))))
            .isEqualTo(new AppendResult.Success(6));
      }
      assertThat(waiting).isNotDone();

      holder.commit();
      assertThat(waiting.get(20, TimeUnit.SECONDS)).isEqualTo(new AppendResult.Success(1));
    }
  }

  @Test
  void concurrentConditionalAppendsToTwoLogsOfOneDatabaseKeepEachLogsInvariant() throws Exception {
    migrator("left_log").migrate();
    migrator("right_log").migrate();
    var stores = new ArrayList<EventStore>();
    try {
      // Two nodes per log, so that groups queue for each log's lock in the database.
      for (String schema : List.of("left_log", "right_log", "left_log", "right_log")) {
        stores.add(store(schema));
      }
      var bookings = new ArrayList<Future<Boolean>>();
      for (int i = 0; i < 40; i++) {
        EventStore node = stores.get(i % stores.size());
        bookings.add(threads.submit(() -> bookOneOfThreeSeats(node)));
      }
      int booked = 0;
      for (Future<Boolean> booking : bookings) {
        booked += booking.get(60, TimeUnit.SECONDS) ? 1 : 0;
      }
      assertThat(booked).isEqualTo(6);
      assertThat(stores.get(0).read().ofType("SeatBooked").toList()).hasSize(3);
      assertThat(stores.get(1).read().ofType("SeatBooked").toList()).hasSize(3);
    } finally {
      stores.forEach(EventStore::close);
    }
  }

  /** Books a seat of the three of course 1, deciding again after each lost race. */
  private static boolean bookOneOfThreeSeats(EventStore store) {
    while (true) {
      Read course = store.read().ofType("SeatBooked").withTag("course:1");
      List<SequencedEvent> booked = course.sequenced().toList();
      if (booked.size() >= 3) {
        return false;
      }
      long after = booked.isEmpty() ? 0 : booked.get(booked.size() - 1).position();
      AppendResult result =
          store.append(
              List.of(Event.of("SeatBooked").withTags("course:1")), failIf(course.after(after)));
      if (result instanceof AppendResult.Success) {
        return true;
      }
    }
  }

  @Test
  void aProjectionKeepsItsCheckpointsInTheLogItReads() throws Exception {
    migrator("projected").migrate();
    try (EventStore store = store("projected")) {
      store.append(List.of(Event.of("Counted"), Event.of("Counted")));
      var seen = new ArrayList<Long>();
      try (ProjectionRunner runner =
          ProjectionRunner.start(
              store,
              database.dataSource(),
              Projection.of(
                  "counter",
                  store.read(),
                  (batch, connection) -> {
                    synchronized (seen) {
                      batch.events().forEach(event -> seen.add(event.position()));
                    }
                  }))) {
        assertThat(runner.await("counter", 2, Duration.ofSeconds(20))).isTrue();
      }
      assertThat(seen).containsExactly(1L, 2L);
      assertThat(
              Projections.forDataSource(database.dataSource())
                  .withSchema("projected")
                  .status("counter"))
          .singleElement()
          .satisfies(status -> assertThat(status.checkpoint()).isEqualTo(2));
    }
  }

  @Test
  void theApplicationRoleGetsWhatAStoreNeedsInTheLogItIsGrantedAndNothingElsewhere() {
    migrator("granted").migrate();
    migrator("not_granted").migrate();
    try (TestDatabases.ApplicationRole role = database.createApplicationRole()) {
      Migrator granting = migrator("granted").withApplicationRole(role.name());
      granting.migrate();
      assertThat(granting.status().applicationRole())
          .get()
          .satisfies(status -> assertThat(status.missing()).isEmpty())
          .satisfies(status -> assertThat(status.excess()).isEmpty());
      assertThat(
              migrator("not_granted").withApplicationRole(role.name()).status().applicationRole())
          .get()
          .satisfies(
              status -> assertThat(status.missing()).contains("USAGE on schema not_granted"));
      try (EventStore asApplication =
          EventStore.builder().schema("granted").forDataSource(role.dataSource())) {
        assertThat(asApplication.append(List.of(Event.of("AppendedByTheApplication"))))
            .isEqualTo(new AppendResult.Success(1));
      }
      assertThatThrownBy(
              () -> EventStore.builder().schema("not_granted").forDataSource(role.dataSource()))
          .isInstanceOf(RuntimeException.class);
      assertThatThrownBy(
              () ->
                  TestDatabases.execute(
                      role.dataSource(), "DELETE FROM granted.events WHERE position = 1"))
          .hasMessageContaining("permission denied");
    }
  }

  @Test
  void aSchemaMustBeAPlainLowerCaseIdentifier() {
    for (String bad : List.of("", "Billing", "1st", "bill-ing", "bill ing", "en57.x", "pg_log")) {
      assertThatThrownBy(() -> EventStore.builder().schema(bad))
          .as(bad)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("schema");
      assertThatThrownBy(() -> Migrator.forDataSource(database.dataSource()).withSchema(bad))
          .as(bad)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("schema");
    }
    assertThatThrownBy(() -> EventStore.builder().schema(null))
        .isInstanceOf(NullPointerException.class);
    assertThatThrownBy(() -> EventStore.builder().schema("x".repeat(64)))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void aSchemaNamedLikeAKeywordWorks() {
    migrator("select").migrate();
    try (EventStore store = store("select")) {
      store.append(List.of(Event.of("Selected")));
      assertThat(store.read().toList()).extracting(Event::type).containsExactly("Selected");
    }
    assertThat(migrator("select").status().state()).isEqualTo(MigrationState.UP_TO_DATE);
  }

  private static int logKey(String schema) throws SQLException {
    return queryStrings(database, "SELECT " + schema + ".log_key()::text").stream()
        .map(Integer::parseInt)
        .findFirst()
        .orElseThrow();
  }

  private static void awaitWaitingSessions(int sessions) throws Exception {
    for (int i = 0; i < 500; i++) {
      List<String> waiting =
          queryStrings(
              database,
              "SELECT pid::text FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                  + " AND datname = current_database()");
      if (waiting.size() >= sessions) {
        return;
      }
      Thread.sleep(10);
    }
    throw new AssertionError("no session waits for a lock");
  }

  private static List<String> queryStrings(TestDatabase database, String sql) {
    try (Connection connection = database.dataSource().getConnection();
        Statement statement = connection.createStatement();
        ResultSet rows = statement.executeQuery(sql)) {
      var values = new ArrayList<String>();
      while (rows.next()) {
        values.add(rows.getString(1));
      }
      return values;
    } catch (SQLException e) {
      throw new IllegalStateException(sql + ": " + e.getMessage(), e);
    }
  }
}
