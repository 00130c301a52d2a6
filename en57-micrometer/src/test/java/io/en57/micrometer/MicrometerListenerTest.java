package io.en57.micrometer;

import static io.en57.AppendCondition.failIf;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.en57.DuplicateEventIdException;
import io.en57.Event;
import io.en57.EventStore;
import io.en57.Migrator;
import io.en57.observation.ProjectionBatch;
import io.en57.routing.EventStoreRouter;
import io.en57.subscriptions.Projection;
import io.en57.subscriptions.ProjectionRunner;
import io.en57.subscriptions.Retry;
import io.en57.testing.TestDatabases;
import io.en57.testing.TestDatabases.TestDatabase;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.observation.DefaultMeterObservationHandler;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationRegistry;
import io.micrometer.observation.tck.TestObservationRegistry;
import io.micrometer.observation.tck.TestObservationRegistryAssert;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The meters and observations of a store on PostgreSQL, read back from Micrometer's test
 * registries. Also runs the README's Micrometer examples.
 */
@Tag("postgres")
class MicrometerListenerTest {

  private static TestDatabase database;
  private final MeterRegistry meterRegistry = new SimpleMeterRegistry();

  @BeforeAll
  static void createDatabase() {
    database = TestDatabases.createMigrated();
  }

  @AfterAll
  static void dropDatabase() {
    database.close();
  }

  @BeforeEach
  void emptyLog() {
    database.emptyLog("en57.projections");
  }

  @Test
  void appendsAndReadsAreTimedByOutcomeWithTheirEventsCounted() {
    DataSource dataSource = database.dataSource();
    EventStore store =
        EventStore.builder()
            .listener(MicrometerListener.of(meterRegistry)) // meters only, no traces
            .forDataSource(dataSource);
    try (store) {
      Event first = Event.of("Placed").withTags("order:1");
      store.append(List.of(first, Event.of("Placed").withTags("order:2")));
      store.append(List.of(Event.of("Placed").withTags("order:3")));
      store.append(List.of(Event.of("Placed")), failIf(store.read().withTag("order:1")));
      assertThatThrownBy(() -> store.append(List.of(Event.of("Other").withId(first.id()))))
          .isInstanceOf(DuplicateEventIdException.class);
      assertThat(store.read().toList()).hasSize(3);
    }
    assertThat(appendTimer("false", "success", "none").count()).isEqualTo(2);
    assertThat(appendTimer("true", "conflict", "none").count()).isEqualTo(1);
    assertThat(appendTimer("false", "error", "DuplicateEventIdException").count()).isEqualTo(1);
    assertThat(
            meterRegistry
                .get("en57.append.events")
                .tag("conditional", "false")
                .summary()
                .totalAmount())
        .isEqualTo(4); // 2 + 1 + the duplicate's 1
    assertThat(
            meterRegistry.get("en57.read").tag("outcome", "success").tag("error", "none").timer())
        .extracting(Timer::count)
        .isEqualTo(1L);
    assertThat(meterRegistry.get("en57.read.events").summary().totalAmount()).isEqualTo(3);
    assertThat(meterRegistry.get("en57.group.size").summary().count()).isEqualTo(4);
    assertThat(meterRegistry.get("en57.group.wait").timer().count()).isEqualTo(4);
    assertThat(meterRegistry.get("en57.group.write").timer().count()).isEqualTo(4);
  }

  @Test
  void listenersTaggedWithTheirLogKeepTheLogsMetersApartInOneRegistry() {
    Migrator.forUrl(database.postgresUrl()).withSchema("acme").migrate();
    Migrator.forUrl(database.postgresUrl()).withSchema("globex").migrate();
    var properties = new Properties();
    properties.setProperty("logs.acme", database.postgresUrl() + "#acme");
    properties.setProperty("logs.globex", database.postgresUrl() + "#globex");

    // README: Metrics and tracing
    MicrometerListener meters = MicrometerListener.of(meterRegistry);
    EventStoreRouter logs =
        EventStoreRouter.builder()
            .routes(properties, "logs.")
            .opener(
                location ->
                    EventStore.builder()
                        .schema(location.schema())
                        .listener(meters.withTags(Tags.of("log", location.schema())))
                        .forUrl(location.url()))
            .build();

    try (logs) {
      logs.store("acme").append(List.of(Event.of("Placed")));
      logs.store("globex").append(List.of(Event.of("Placed"), Event.of("Placed")));
      logs.store("globex").append(List.of(Event.of("Placed")));
    }
    assertThat(appendedEvents("acme")).isEqualTo(1);
    assertThat(appendedEvents("globex")).isEqualTo(3);
    assertThat(meterRegistry.get("en57.append").tag("log", "acme").timer().count()).isEqualTo(1);
    assertThat(meterRegistry.get("en57.append").tag("log", "globex").timer().count()).isEqualTo(2);
    assertThat(meterRegistry.get("en57.group.size").tag("log", "globex").summary().count())
        .isEqualTo(2);
  }

  private double appendedEvents(String log) {
    return meterRegistry
        .get("en57.append.events")
        .tag("log", log)
        .tag("conditional", "false")
        .summary()
        .totalAmount();
  }

  @Test
  void appendsAndReadsAreObservationsChildOfTheCallersObservation() {
    TestObservationRegistry observationRegistry = TestObservationRegistry.create();
    Observation request = Observation.start("request", observationRegistry);
    Observation.Scope scope = request.openScope(); // the caller's current observation
    try (EventStore store =
        EventStore.builder()
            .listener(MicrometerListener.of(meterRegistry, observationRegistry))
            .readBatchSize(1)
            .forDataSource(database.dataSource())) {
      store.append(List.of(Event.of("Traced"), Event.of("Traced")));
      assertThat(store.read().toList()).hasSize(2);
    } finally {
      scope.close();
      request.stop();
    }
    TestObservationRegistryAssert.assertThat(observationRegistry)
        .hasNumberOfObservationsWithNameEqualTo("en57.append", 1)
        // 1 + 1 + the empty last page + the page fetched beside it, which finds nothing too
        .hasNumberOfObservationsWithNameEqualTo("en57.read", 4)
        .forAllObservationsWithNameEqualTo(
            "en57.append",
            append ->
                append
                    .hasContextualNameEqualTo("en57 append")
                    .hasLowCardinalityKeyValue("outcome", "success")
                    .hasLowCardinalityKeyValue("conditional", "false")
                    .hasHighCardinalityKeyValue("en57.events", "2")
                    .hasParentObservationEqualTo(request))
        .forAllObservationsWithNameEqualTo(
            "en57.read",
            read ->
                read.hasLowCardinalityKeyValue("outcome", "success")
                    .hasParentObservationEqualTo(request))
        .hasObservationWithNameEqualTo("en57.append")
        .that()
        .hasBeenStarted()
        .hasBeenStopped();
  }

  @Test
  void projectionsReportBatchTimeEventsLagAndErrors() throws Exception {
    var attempts = new AtomicInteger();
    long position = 0;
    try (EventStore store =
        EventStore.builder()
            .listener(MicrometerListener.of(meterRegistry))
            .pollInterval(Duration.ofMillis(100))
            .forDataSource(database.dataSource())) {
      for (int i = 0; i < 3; i++) {
        position = store.append(List.of(Event.of("Counted"))).position();
      }
      Projection counting =
          Projection.atLeastOnce(
                  "counting",
                  store.read().ofType("Counted"),
                  batch -> {
                    if (attempts.incrementAndGet() == 1) {
                      throw new IllegalStateException("first attempt fails");
                    }
                  })
              .withRetry(new Retry(3, Duration.ofMillis(10), Duration.ofMillis(10)));
      try (ProjectionRunner runner =
          ProjectionRunner.start(store, database.dataSource(), counting)) {
        assertThat(runner.await("counting", position, Duration.ofSeconds(30))).isTrue();
      }
    }
    var tags = new String[] {"projection", "counting", "segment", "0"};
    assertThat(meterRegistry.get("en57.projection.batch").tags(tags).timer().count()).isEqualTo(1);
    assertThat(meterRegistry.get("en57.projection.events").tags(tags).counter().count())
        .isEqualTo(3);
    assertThat(meterRegistry.get("en57.projection.lag").tags(tags).gauge().value()).isZero();
    assertThat(
            meterRegistry
                .get("en57.projection.errors")
                .tags(tags)
                .tag("action", "retry")
                .counter()
                .count())
        .isEqualTo(1);
  }

  @Test
  void aNewListenerOnTheSameRegistrySetsTheLagGaugeThatIsRegistered() {
    var tags = new String[] {"projection", "p", "segment", "0"};
    MicrometerListener before = MicrometerListener.of(meterRegistry);
    before.projectionBatchApplied(new ProjectionBatch("p", 0, 1, Duration.ZERO, 5, 5));

    // A store opened again (or a router rebuilt) on the same registry, with a listener of its own.
    MicrometerListener after = MicrometerListener.of(meterRegistry);
    after.projectionBatchApplied(new ProjectionBatch("p", 0, 5, Duration.ZERO, 10, 0));

    assertThat(meterRegistry.get("en57.projection.lag").tags(tags).gauge().value()).isZero();
    after
        .withTags(Tags.empty())
        .projectionBatchApplied(new ProjectionBatch("p", 0, 1, Duration.ZERO, 11, 2));
    assertThat(meterRegistry.get("en57.projection.lag").tags(tags).gauge().value()).isEqualTo(2);
  }

  @Test
  void readmeExampleWithSpringStyleRegistries() {
    DataSource dataSource = database.dataSource();
    ObservationRegistry observationRegistry = ObservationRegistry.create();
    observationRegistry
        .observationConfig()
        .observationHandler(new DefaultMeterObservationHandler(meterRegistry));
    // README: Metrics and tracing
    EventStore store =
        EventStore.builder()
            .listener(MicrometerListener.of(meterRegistry, observationRegistry))
            .forDataSource(dataSource);
    try (store) {
      store.append(List.of(Event.of("Measured")));
    }
    assertThat(appendTimer("false", "success", "none").count()).isEqualTo(1);
  }

  private Timer appendTimer(String conditional, String outcome, String error) {
    return meterRegistry
        .get("en57.append")
        .tag("conditional", conditional)
        .tag("outcome", outcome)
        .tag("error", error)
        .timer();
  }
}
