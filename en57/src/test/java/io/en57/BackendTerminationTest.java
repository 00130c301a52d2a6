package io.en57;

import static io.en57.AppendCondition.failIf;
import static org.assertj.core.api.Assertions.assertThat;

import io.en57.AppendResult.Failure;
import io.en57.AppendResult.Success;
import io.en57.testing.TestDatabases;
import io.en57.testing.TestDatabases.TestDatabase;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Writers on two store instances append while their database backends are terminated at random, as
 * a crashing connection or an operator's {@code pg_terminate_backend} would. Afterwards every
 * acknowledged append is in the log, complete and where it was reported; every append reported as
 * not written is absent; every append whose outcome was unknown is there completely or not at all;
 * and the same stores go on appending.
 */
@Tag("postgres")
class BackendTerminationTest {

  private static final Duration WRITING = Duration.ofSeconds(8);
  private static final int WRITERS = 8;

  private TestDatabase database;
  private final List<EventStore> stores = new ArrayList<>();

  @BeforeEach
  void createDatabase() {
    database = TestDatabases.createMigrated();
  }

  @AfterEach
  void dropDatabase() {
    stores.forEach(EventStore::close);
    database.close();
  }

  /** What the caller of one append was told. */
  enum Told {
    STORED,
    CONFLICTED,
    NOT_WRITTEN,
    UNKNOWN
  }

  record Attempt(List<UUID> ids, Told told, long position, RuntimeException error) {}

  @Test
  void nothingAcknowledgedIsLostAndNothingReportedUnwrittenIsPresent() throws Exception {
    for (int i = 0; i < 2; i++) {
      stores.add(
          EventStore.builder()
              .maxPoolSize(4)
              .lockTimeout(Duration.ofSeconds(2))
              .forUrl(database.jdbcUrl()));
    }
    var attempts = new ConcurrentLinkedQueue<Attempt>();
    var writing = new AtomicBoolean(true);
    var terminated = new AtomicInteger();
    ExecutorService threads = Executors.newCachedThreadPool();
    try {
      var writers = new ArrayList<Future<?>>();
      for (int w = 0; w < WRITERS; w++) {
        EventStore store = stores.get(w % stores.size());
        var random = new Random(w);
        writers.add(
            threads.submit(
                () -> {
                  while (writing.get()) {
                    attempts.add(appendOnce(store, random));
                  }
                }));
      }
      Future<?> killer =
          threads.submit(
              () -> {
                var random = new Random(42);
                while (writing.get()) {
                  terminated.addAndGet(terminateOneBackend());
                  TimeUnit.MILLISECONDS.sleep(10 + random.nextInt(40));
                }
                return null;
              });
      TimeUnit.NANOSECONDS.sleep(WRITING.toNanos());
      writing.set(false);
      killer.get();
      for (Future<?> writer : writers) {
        writer.get();
      }
    } finally {
      threads.shutdownNow();
    }

    Map<UUID, Long> stored = new HashMap<>();
    List<SequencedEvent> log = stores.get(0).read().sequenced().toList();
    log.forEach(e -> stored.put(e.event().id(), e.position()));
    assertThat(log.stream().mapToLong(SequencedEvent::position))
        .as("positions are dense")
        .containsExactlyElementsOf(
            java.util.stream.LongStream.rangeClosed(1, log.size()).boxed().toList());
    var counts = new HashMap<Told, Integer>();
    int unknownButStored = 0;
    int attempted = 0;
    for (Attempt attempt : attempts) {
      attempted += attempt.ids().size();
      counts.merge(attempt.told(), 1, Integer::sum);
      long present = attempt.ids().stream().filter(stored::containsKey).count();
      switch (attempt.told()) {
        case STORED -> {
          assertThat(present).as("acknowledged %s", attempt).isEqualTo(attempt.ids().size());
          long first = attempt.position() - attempt.ids().size() + 1;
          for (int i = 0; i < attempt.ids().size(); i++) {
            assertThat(stored.get(attempt.ids().get(i))).isEqualTo(first + i);
          }
        }
        case CONFLICTED, NOT_WRITTEN ->
            assertThat(present).as("reported unwritten: %s", attempt).isZero();
        case UNKNOWN -> {
          assertThat(present)
              .as("all or nothing: %s", attempt)
              .isIn(0L, (long) attempt.ids().size());
          if (present > 0) {
            unknownButStored++;
          }
        }
      }
    }
    assertThat(stored).as("no event from nowhere").hasSizeLessThanOrEqualTo(attempted);
    assertThat(terminated.get()).as("backends terminated").isPositive();
    assertThat(counts.getOrDefault(Told.UNKNOWN, 0) + counts.getOrDefault(Told.NOT_WRITTEN, 0))
        .as("terminations reached appends: %s", counts)
        .isPositive();
    assertThat(counts.getOrDefault(Told.STORED, 0)).as("%s", counts).isPositive();
    System.out.printf(
        "backend termination: %d terminated, outcomes %s, %d unknown outcomes were stored%n",
        terminated.get(), counts, unknownButStored);

    // The same store objects recover by themselves: a pooled connection terminated while idle
    // fails the first append that uses it (outcome unknown, as any broken connection), no more.
    for (EventStore store : stores) {
      assertThat(appendRetryingBrokenConnections(store)).isInstanceOf(Success.class);
    }
  }

  @Test
  void aReadWhosePooledConnectionWasTerminatedRunsAgainOnAnotherOne() throws Exception {
    EventStore store = EventStore.builder().maxPoolSize(2).forUrl(database.jdbcUrl());
    stores.add(store);
    store.append(List.of(Event.of("Stored")));
    assertThat(store.read().toList()).hasSize(1);
    // Every backend of the store's pool at once, within the half second in which the pool hands
    // out a connection it has just had back without checking it.
    assertThat(terminateEveryBackend()).isPositive();
    assertThat(store.read().toList()).extracting(Event::type).containsExactly("Stored");
    assertThat(store.head()).isEqualTo(1);
  }

  private static AppendResult appendRetryingBrokenConnections(EventStore store) {
    En57StorageException last = null;
    for (int attempt = 0; attempt < 5; attempt++) {
      try {
        return store.append(List.of(Event.of("Recovered")));
      } catch (En57StorageException e) {
        last = e;
      }
    }
    throw last;
  }

  private static Attempt appendOnce(EventStore store, Random random) {
    var events = new ArrayList<Event>();
    String tag = "key:" + random.nextInt(20);
    for (int i = 0, n = 1 + random.nextInt(3); i < n; i++) {
      events.add(Event.of("Written", Map.of("i", i)).withTags(tag, "writer-shared"));
    }
    List<UUID> ids = events.stream().map(Event::id).toList();
    try {
      AppendResult result =
          random.nextBoolean()
              ? store.append(events)
              : store.append(events, failIf(store.read().withTag(tag)).after(store.head()));
      return result instanceof Failure
          ? new Attempt(ids, Told.CONFLICTED, result.position(), null)
          : new Attempt(ids, Told.STORED, result.position(), null);
    } catch (En57StorageException e) {
      return new Attempt(ids, Told.UNKNOWN, 0, e);
    } catch (AppendLockTimeoutException | DuplicateEventIdException | IllegalArgumentException e) {
      return new Attempt(ids, Told.NOT_WRITTEN, 0, e);
    }
  }

  /** Terminates every other client backend of the test database, waiting for them to exit. */
  private int terminateEveryBackend() throws SQLException {
    try (Connection connection = database.dataSource().getConnection();
        Statement statement = connection.createStatement()) {
      var row =
          statement.executeQuery(
              "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity"
                  + " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                  + " AND backend_type = 'client backend'");
      row.next();
      return row.getInt(1);
    }
  }

  /** Terminates one client backend of the test database, other than the caller's own. */
  private int terminateOneBackend() throws SQLException {
    try (Connection connection = database.dataSource().getConnection();
        Statement statement = connection.createStatement()) {
      var row =
          statement.executeQuery(
              "SELECT count(pg_terminate_backend(pid)) FROM (SELECT pid FROM pg_stat_activity"
                  + " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                  + " AND backend_type = 'client backend' ORDER BY random() LIMIT 1) victim");
      row.next();
      return row.getInt(1);
    }
  }
}
