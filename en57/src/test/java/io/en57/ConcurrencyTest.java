package io.en57;

import static io.en57.AppendCondition.failIf;
import static org.assertj.core.api.Assertions.assertThat;

import io.en57.AppendResult.Failure;
import io.en57.AppendResult.Success;
import io.en57.testing.Concurrently;
import io.en57.testing.TestDatabases;
import io.en57.testing.TestDatabases.TestDatabase;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Races on one PostgreSQL database, each writer on a connection of its own (a store with a pool of
 * one, as separate application nodes would be). Every race runs many rounds so that a lucky
 * interleaving cannot pass it.
 */
@Tag("postgres")
class ConcurrencyTest {

  private static final int WRITERS = 10;
  private static final int ROUNDS = 60;

  private static TestDatabase database;
  private static final List<EventStore> stores = new ArrayList<>();
  private static ExecutorService threads;

  @BeforeAll
  static void openStores() {
    database = TestDatabases.createMigrated();
    for (int i = 0; i < WRITERS; i++) {
      stores.add(EventStore.builder().maxPoolSize(1).forUrl(database.jdbcUrl()));
    }
    threads = Executors.newFixedThreadPool(WRITERS);
  }

  @AfterAll
  static void closeStores() {
    threads.shutdownNow();
    stores.forEach(EventStore::close);
    database.close();
  }

  /** The original's stress test: everyone tries to spend the same credits. */
  @Test
  void exactlyOneOfTheWritersRacingOnOneConditionWins() throws Exception {
    for (int round = 0; round < ROUNDS; round++) {
      String account = "account:" + round;
      stores.get(0).append(List.of(Event.of("CreditsGranted").withTags(account)));
      var barrier = new CyclicBarrier(WRITERS);
      var attempts = new ArrayList<Callable<AppendResult>>();
      for (EventStore store : stores) {
        attempts.add(
            () -> {
              Read scope = store.read().withTag(account);
              long seen = scope.last().orElseThrow().position();
              barrier.await();
              return store.append(
                  List.of(Event.of("CreditsUsed").withTags(account)), failIf(scope).after(seen));
            });
      }
      List<AppendResult> results = Concurrently.run(threads, attempts);

      List<AppendResult> successes = results.stream().filter(r -> r instanceof Success).toList();
      assertThat(successes).as("round %d", round).hasSize(1);
      assertThat(results).filteredOn(r -> r instanceof Failure).hasSize(WRITERS - 1);
      long winner = successes.get(0).position();
      for (AppendResult result : results) {
        if (result instanceof Failure failure) {
          assertThat(failure.position()).isEqualTo(winner);
          assertThat(failure.conflictingEvents())
              .extracting(SequencedEvent::position)
              .containsExactly(winner);
        }
      }
      assertThat(stores.get(0).read().ofType("CreditsUsed").withTag(account).toList()).hasSize(1);
    }
  }

  /**
   * A conditional append racing unconditional appends of matching events. Both may succeed only if
   * every matching unconditional event lands after the conditional append's events; one stored
   * between the condition's {@code after} and the append is write skew (I1).
   */
  @Test
  void aConditionalAppendNeverSucceedsOverAConcurrentMatchingEvent() throws Exception {
    int conditional = WRITERS / 2;
    int conditionalWins = 0;
    int interlopersFirst = 0;
    for (int round = 0; round < ROUNDS; round++) {
      String boundary = "boundary:" + round;
      long seeded = stores.get(0).append(List.of(Event.of("Seeded").withTags(boundary))).position();
      var barrier = new CyclicBarrier(WRITERS);
      var attempts = new ArrayList<Callable<AppendResult>>();
      for (int i = 0; i < WRITERS; i++) {
        EventStore store = stores.get(i);
        boolean isConditional = i < conditional;
        attempts.add(
            () -> {
              Read scope = store.read().withTag(boundary);
              long seen = scope.last().orElseThrow().position();
              barrier.await();
              return isConditional
                  ? store.append(
                      List.of(Event.of("Decided").withTags(boundary)), failIf(scope).after(seen))
                  : store.append(List.of(Event.of("Interloper").withTags(boundary)));
            });
      }
      List<AppendResult> results = Concurrently.run(threads, attempts);

      List<SequencedEvent> log = stores.get(0).read().withTag(boundary).sequenced().toList();
      for (int i = 0; i < conditional; i++) {
        AppendResult result = results.get(i);
        if (result instanceof Success success) {
          conditionalWins++;
          // I1: nothing with the boundary's tag between what the writer saw and its own event.
          assertThat(log)
              .as("round %d: events between %d and %d", round, seeded, success.position())
              .filteredOn(e -> e.position() > seeded && e.position() < success.position())
              .isEmpty();
        } else {
          var failure = (Failure) result;
          assertThat(failure.conflictingEvents())
              .as("round %d", round)
              .isNotEmpty()
              .allSatisfy(
                  e -> {
                    assertThat(e.position()).isGreaterThan(seeded);
                    assertThat(e.event().tags()).contains(boundary);
                  });
        }
      }
      for (int i = conditional; i < WRITERS; i++) {
        assertThat(results.get(i)).isInstanceOf(Success.class);
      }
      if (log.get(1).event().type().equals("Interloper")) {
        interlopersFirst++;
      }
      assertThat(log)
          .filteredOn(e -> e.event().type().equals("Decided"))
          .hasSizeLessThanOrEqualTo(1);
    }
    // Both orders must have happened, or the race did not race.
    assertThat(conditionalWins).as("rounds a conditional writer won").isPositive();
    assertThat(interlopersFirst).as("rounds an interloper went first").isPositive();
  }
}
