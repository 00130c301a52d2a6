package io.en57;

import static io.en57.AppendCondition.failIf;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.en57.AppendResult.Failure;
import io.en57.AppendResult.Success;
import io.en57.testing.AppendLock;
import io.en57.testing.Concurrently;
import io.en57.testing.TestDatabases;
import io.en57.testing.TestDatabases.TestDatabase;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Group commit: many threads appending through one store. To make groups form deterministically,
 * several tests first park the store's leader in the database behind the append lock, held by an
 * append inside an open transaction, so that the other appends queue up behind it.
 */
@Tag("postgres")
class GroupCommitTest {

  private static final int THREADS = 32;

  private static TestDatabase database;
  private static ExecutorService threads;
  private final List<EventStore> stores = new ArrayList<>();

  @BeforeAll
  static void createDatabase() {
    database = TestDatabases.createMigrated();
    threads = Executors.newCachedThreadPool();
  }

  @AfterAll
  static void dropDatabase() {
    threads.shutdownNow();
    database.close();
  }

  @BeforeEach
  void emptyLog() {
    database.emptyLog();
  }

  @AfterEach
  void closeStores() {
    stores.forEach(EventStore::close);
  }

  private EventStore store(int groupsInFlight) {
    EventStore store =
        EventStore.builder()
            .maxPoolSize(groupsInFlight + 2)
            .groupsInFlight(groupsInFlight)
            .forUrl(database.jdbcUrl());
    stores.add(store);
    return store;
  }

  @Test
  void threadsRacingThroughOneStoreOnOneConditionHaveExactlyOneWinnerPerRound() throws Exception {
    EventStore store = store(2);
    for (int round = 0; round < 30; round++) {
      String boundary = "seat:" + round;
      var barrier = new CyclicBarrier(THREADS);
      var attempts = new ArrayList<Callable<AppendResult>>();
      for (int i = 0; i < THREADS; i++) {
        attempts.add(
            () -> {
              Read scope = store.read().withTag(boundary);
              long seen = store.head();
              barrier.await();
              return store.append(
                  List.of(Event.of("SeatTaken").withTags(boundary)), failIf(scope).after(seen));
            });
      }
      List<AppendResult> results = Concurrently.run(threads, attempts);
      assertThat(results).as("round %d", round).filteredOn(r -> r instanceof Success).hasSize(1);
      long winner =
          results.stream().filter(r -> r instanceof Success).findFirst().orElseThrow().position();
      assertThat(results)
          .filteredOn(r -> r instanceof Failure)
          .allSatisfy(
              r ->
                  assertThat(((Failure) r).conflictingEvents())
                      .extracting(SequencedEvent::position)
                      .containsExactly(winner));
      assertThat(store.read().withTag(boundary).toList()).hasSize(1);
    }
    // Every group handed its slot back: closing does not wait for one that never returns.
    stores.remove(store);
    threads.submit(store::close).get(5, TimeUnit.SECONDS);
  }

  @Test
  void writersOnDisjointBoundariesNeverFailUnderLoad() throws Exception {
    List<EventStore> nodes = List.of(store(2), store(2));
    var barrier = new CyclicBarrier(THREADS);
    var writers = new ArrayList<Callable<List<AppendResult>>>();
    for (int i = 0; i < THREADS; i++) {
      EventStore node = nodes.get(i % 2);
      String own = "writer:" + i;
      writers.add(
          () -> {
            barrier.await();
            var results = new ArrayList<AppendResult>();
            for (int n = 0; n < 40; n++) {
              Read scope = node.read().withTag(own);
              long seen = scope.last().map(SequencedEvent::position).orElse(0L);
              results.add(
                  node.append(
                      List.of(Event.of("Step").withTags(own, "shared")),
                      failIf(scope).after(seen)));
            }
            return results;
          });
    }
    List<List<AppendResult>> results = Concurrently.run(threads, writers);
    assertThat(results)
        .allSatisfy(r -> assertThat(r).hasSize(40).allMatch(a -> a instanceof Success));
    assertThat(nodes.get(0).head()).isEqualTo(THREADS * 40L);
  }

  @Test
  void appendsQueuedBehindTheLockAreDecidedInOrderEachOnItsOwn() throws Exception {
    EventStore store = store(1);
    store.append(List.of(Event.of("Existing")));
    UUID storedId = store.read().toList().get(0).id();
    try (Connection holder = AppendLock.hold(database.dataSource())) {
      // The leader: written first, in a group of its own, once the lock is free.
      Future<AppendResult> leader =
          threads.submit(() -> store.append(List.of(Event.of("Leader").withTags("x"))));
      AppendLock.awaitWaiters(database.dataSource(), 1);
      // These queue and form the next group, in this order.
      Future<AppendResult> first =
          submitInOrder(
              () ->
                  store.append(List.of(Event.of("A").withTags("a"), Event.of("A").withTags("a"))));
      Future<AppendResult> dependsOnFirst =
          submitInOrder(
              () -> store.append(List.of(Event.of("B")), failIf(store.read().withTag("a"))));
      Future<AppendResult> duplicate =
          submitInOrder(() -> store.append(List.of(Event.of("C").withId(storedId))));
      Future<AppendResult> beyondHead =
          submitInOrder(
              () ->
                  store.append(
                      List.of(Event.of("D")), failIf(store.read().withTag("z")).after(1_000)));
      Future<AppendResult> independent =
          submitInOrder(
              () ->
                  store.append(
                      List.of(Event.of("E").withTags("e")), failIf(store.read().withTag("e"))));
      Future<AppendResult> seesLeader =
          submitInOrder(
              () ->
                  store.append(List.of(Event.of("F")), failIf(store.read().withTag("x")).after(1)));
      holder.commit();

      assertThat(leader.get()).isEqualTo(new Success(3));
      assertThat(first.get()).isEqualTo(new Success(5));
      var failure = (Failure) dependsOnFirst.get();
      assertThat(failure.conflictingEvents())
          .extracting(SequencedEvent::position)
          .containsExactly(4L, 5L);
      assertThat(failure.position()).isEqualTo(5);
      assertThatThrownBy(duplicate::get).hasCauseInstanceOf(DuplicateEventIdException.class);
      assertThatThrownBy(beyondHead::get)
          .hasCauseInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("beyond the store's head");
      assertThat(independent.get()).isEqualTo(new Success(6));
      assertThat(((Failure) seesLeader.get()).conflictingEvents())
          .extracting(SequencedEvent::position)
          .containsExactly(3L);
    }
    assertThat(store.read().sequenced().map(e -> e.event().type()))
        .containsExactly("Existing", "HoldsTheLock", "Leader", "A", "A", "E");
  }

  @Test
  void aRetryReplayedInAGroupAddsNothingToTheConflictsOfTheAppendsAfterIt() throws Exception {
    EventStore store = store(1);
    List<Event> booking = List.of(Event.of("Booked").withTags("seat:1"));
    AppendCondition seatFree = failIf(store.read().withTag("seat:1"));
    assertThat(store.append(booking, seatFree)).isEqualTo(new Success(1));
    try (Connection holder = AppendLock.hold(database.dataSource())) {
      Future<AppendResult> leader = threads.submit(() -> store.append(List.of(Event.of("Leader"))));
      AppendLock.awaitWaiters(database.dataSource(), 1);
      // The booking again (its answer was lost), then another booking of the seat: one group.
      Future<AppendResult> retry = submitInOrder(() -> store.append(booking, seatFree));
      Future<AppendResult> late =
          submitInOrder(
              () -> store.append(List.of(Event.of("Booked").withTags("seat:1")), seatFree));
      holder.commit();

      assertThat(leader.get()).isEqualTo(new Success(3));
      assertThat(retry.get()).isEqualTo(new Success(1, true));
      var failure = (Failure) late.get();
      assertThat(failure.conflictingEvents())
          .extracting(SequencedEvent::position)
          .containsExactly(1L);
      assertThat(failure.position()).isEqualTo(1);
    }
  }

  @Test
  void appendsSharingAnEventIdGoInSeparateGroupsSoTheSecondReplaysTheFirst() throws Exception {
    EventStore store = store(1);
    Event event = Event.of("Once");
    try (Connection holder = AppendLock.hold(database.dataSource())) {
      Future<AppendResult> leader = threads.submit(() -> store.append(List.of(Event.of("Leader"))));
      AppendLock.awaitWaiters(database.dataSource(), 1);
      Future<AppendResult> first = submitInOrder(() -> store.append(List.of(event)));
      Future<AppendResult> second = submitInOrder(() -> store.append(List.of(event)));
      holder.commit();
      assertThat(leader.get()).isInstanceOf(Success.class);
      assertThat(first.get()).isEqualTo(new Success(3));
      assertThat(second.get()).isEqualTo(new Success(3, true));
    }
    assertThat(store.read().toList()).filteredOn(e -> e.id().equals(event.id())).hasSize(1);
  }

  @Test
  void anAppendWaitingLongerThanMaxWaitForItsGroupFailsWithNothingWritten() throws Exception {
    EventStore store =
        EventStore.builder()
            .groupsInFlight(1)
            .groupCommit(64, Duration.ofMillis(300))
            .forUrl(database.jdbcUrl());
    stores.add(store);
    try (Connection holder = AppendLock.hold(database.dataSource())) {
      Future<AppendResult> leader = threads.submit(() -> store.append(List.of(Event.of("Leader"))));
      AppendLock.awaitWaiters(database.dataSource(), 1);
      assertThatThrownBy(() -> store.append(List.of(Event.of("Queued"))))
          .isInstanceOf(AppendLockTimeoutException.class)
          .hasMessageContaining("nothing was written");
      holder.commit();
      assertThat(leader.get()).isInstanceOf(Success.class);
    }
    assertThat(store.read().toList())
        .extracting(Event::type)
        .containsExactly("HoldsTheLock", "Leader");
  }

  @Test
  void closingTheStoreEndsEveryPendingAppendAndNoneHangs() throws Exception {
    EventStore store =
        EventStore.builder()
            .groupsInFlight(1)
            .lockTimeout(Duration.ofSeconds(2))
            .forUrl(database.jdbcUrl());
    var results = new ArrayList<Future<AppendResult>>();
    try (Connection holder = AppendLock.hold(database.dataSource())) {
      results.add(threads.submit(() -> store.append(List.of(Event.of("Leader")))));
      AppendLock.awaitWaiters(database.dataSource(), 1);
      for (int i = 0; i < 10; i++) {
        results.add(submitInOrder(() -> store.append(List.of(Event.of("Queued")))));
      }
      store.close();
      for (Future<AppendResult> result : results.subList(1, results.size())) {
        assertThatThrownBy(() -> result.get(5, TimeUnit.SECONDS))
            .hasCauseInstanceOf(IllegalStateException.class)
            .hasMessageContaining("closed");
      }
      // The group already in the database ends by the lock timeout: not a hang, not a Success.
      assertThatThrownBy(() -> results.get(0).get(10, TimeUnit.SECONDS))
          .hasCauseInstanceOf(AppendLockTimeoutException.class);
      holder.rollback();
    }
    assertThatThrownBy(() -> store.append(List.of(Event.of("Late"))))
        .isInstanceOf(IllegalStateException.class);
  }

  @Test
  void aLostConnectionReachesEveryAppendOfTheGroupAsAnExceptionNeverAsSuccess() throws Exception {
    EventStore store = store(1);
    var results = new ArrayList<Future<AppendResult>>();
    try (Connection holder = AppendLock.hold(database.dataSource())) {
      results.add(threads.submit(() -> store.append(List.of(Event.of("Leader")))));
      AppendLock.awaitWaiters(database.dataSource(), 1);
      for (int i = 0; i < 5; i++) {
        results.add(submitInOrder(() -> store.append(List.of(Event.of("Grouped")))));
      }
      // The leader's group has been written and waits for the lock; kill its connection.
      AppendLock.terminateWaiters(database.dataSource());
      holder.rollback();
    }
    assertThatThrownBy(() -> results.get(0).get(10, TimeUnit.SECONDS))
        .hasCauseInstanceOf(En57StorageException.class);
    var stored = store.read().toList();
    for (Future<AppendResult> result : results.subList(1, results.size())) {
      try {
        assertThat(result.get(10, TimeUnit.SECONDS)).isInstanceOf(Success.class);
      } catch (ExecutionException e) {
        assertThat(e.getCause()).isInstanceOf(En57StorageException.class);
      }
    }
    long successes =
        results.stream()
            .filter(
                f -> {
                  try {
                    return f.get() instanceof Success;
                  } catch (Exception e) {
                    return false;
                  }
                })
            .count();
    assertThat(store.read().toList())
        .hasSize((int) successes)
        .hasSizeGreaterThanOrEqualTo(stored.size());
    assertThat(store.read().toList()).extracting(Event::type).doesNotContain("Leader");
  }

  @Test
  void dataOnlyTheDatabaseRejectsFailsOnlyItsOwnAppend() throws Exception {
    EventStore store = EventStore.builder().groupsInFlight(1).forUrl(database.jdbcUrl());
    stores.add(store);
    // The store refuses whatever PostgreSQL could not store before sending it, so a trigger stands
    // in for data only the database rejects, with the error a numeric overflow would raise.
    database.execute(
        "CREATE FUNCTION public.reject() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            + " IF NEW.type = 'Rejected' THEN RAISE EXCEPTION 'numeric field overflow'"
            + " USING ERRCODE = 'numeric_value_out_of_range'; END IF; RETURN NEW; END $$;"
            + " CREATE TRIGGER reject BEFORE INSERT ON en57.events"
            + " FOR EACH ROW EXECUTE FUNCTION public.reject()");
    try (Connection holder = AppendLock.hold(database.dataSource())) {
      Future<AppendResult> leader = threads.submit(() -> store.append(List.of(Event.of("Leader"))));
      AppendLock.awaitWaiters(database.dataSource(), 1);
      Future<AppendResult> good =
          submitInOrder(() -> store.append(List.of(Event.of("Good", Map.of("n", 1)))));
      Future<AppendResult> bad = submitInOrder(() -> store.append(List.of(Event.of("Rejected"))));
      Future<AppendResult> alsoGood =
          submitInOrder(() -> store.append(List.of(Event.of("AlsoGood"))));
      holder.commit();
      assertThat(leader.get()).isInstanceOf(Success.class);
      assertThat(good.get()).isInstanceOf(Success.class);
      assertThat(alsoGood.get()).isInstanceOf(Success.class);
      assertThatThrownBy(bad::get)
          .hasCauseInstanceOf(En57StorageException.class)
          .hasMessageContaining("numeric");
    } finally {
      database.execute("DROP TRIGGER reject ON en57.events; DROP FUNCTION public.reject()");
    }
    assertThat(store.read().toList())
        .extracting(Event::type)
        .containsExactly("HoldsTheLock", "Leader", "Good", "AlsoGood");
  }

  @Test
  void aStoredAppendIsToldSoWhenReadingTheConflictOfAnotherAppendOfItsGroupFails()
      throws Exception {
    store(1).append(List.of(Event.of("Taken").withTags("seat:1")));
    try (var application = database.createApplicationRole()) {
      // The application's role may call the append function but not read the tag rows: the
      // condition check inside the function still works, reading the conflict afterwards fails.
      database.execute(
          "GRANT USAGE ON SCHEMA en57 TO "
              + application.name()
              + "; GRANT SELECT ON ALL TABLES IN SCHEMA en57 TO "
              + application.name()
              + "; GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA en57 TO "
              + application.name()
              + "; REVOKE SELECT ON en57.event_tags FROM "
              + application.name());
      EventStore store =
          EventStore.builder().groupsInFlight(1).forDataSource(application.dataSource());
      stores.add(store);
      try (Connection holder = AppendLock.hold(database.dataSource())) {
        Future<AppendResult> leader =
            threads.submit(() -> store.append(List.of(Event.of("Leader"))));
        AppendLock.awaitWaiters(database.dataSource(), 1);
        Future<AppendResult> stored =
            submitInOrder(() -> store.append(List.of(Event.of("Stored").withTags("x"))));
        Future<AppendResult> conflicted =
            submitInOrder(
                () ->
                    store.append(
                        List.of(Event.of("Late").withTags("seat:1")),
                        failIf(store.read().withTag("seat:1"))));
        holder.commit();
        assertThat(leader.get()).isInstanceOf(Success.class);
        assertThat(stored.get()).isEqualTo(new Success(4));
        assertThatThrownBy(conflicted::get)
            .hasCauseInstanceOf(En57StorageException.class)
            .hasMessageContaining("condition matched")
            .hasMessageContaining("nothing was written");
      }
    }
    assertThat(store(1).read().toList())
        .extracting(Event::type)
        .containsExactly("Taken", "HoldsTheLock", "Leader", "Stored");
  }

  private Future<AppendResult> submitInOrder(Callable<AppendResult> append)
      throws InterruptedException {
    Future<AppendResult> future = threads.submit(append);
    // Appends queue in arrival order; give each a moment to arrive before the next.
    Thread.sleep(50);
    return future;
  }
}
