package io.en57.observation;

import static io.en57.AppendCondition.failIf;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.en57.AppendResult;
import io.en57.DuplicateEventIdException;
import io.en57.Event;
import io.en57.EventStore;
import io.en57.observation.AppendEnded.Outcome;
import io.en57.subscriptions.Projection;
import io.en57.subscriptions.ProjectionRunner;
import io.en57.subscriptions.Retry;
import io.en57.testing.AppendLock;
import io.en57.testing.TestDatabases;
import io.en57.testing.TestDatabases.TestDatabase;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** What a store tells its listener, and that a listener cannot break it. */
@Tag("postgres")
class StoreListenerTest {

  private static TestDatabase database;
  private final RecordingListener listener = new RecordingListener();

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
  void appendsReportEventsConditionAndOutcomeOnTheAppendingThread() {
    try (EventStore store =
        EventStore.builder().listener(listener).forDataSource(database.dataSource())) {
      Event first = Event.of("Placed").withTags("order:1");
      store.append(List.of(first, Event.of("Placed").withTags("order:2")));
      AppendResult conflict =
          store.append(List.of(Event.of("Placed")), failIf(store.read().withTag("order:1")));
      assertThat(conflict).isInstanceOf(AppendResult.Failure.class);
      assertThatThrownBy(() -> store.append(List.of(Event.of("Other").withId(first.id()))))
          .isInstanceOf(DuplicateEventIdException.class);
    }
    assertThat(listener.appends)
        .extracting(a -> a.started().events(), a -> a.started().conditional(), a -> outcome(a))
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple(2, false, Outcome.SUCCESS),
            org.assertj.core.groups.Tuple.tuple(1, true, Outcome.CONFLICT),
            org.assertj.core.groups.Tuple.tuple(1, false, Outcome.ERROR));
    assertThat(listener.appends.get(2).ended().error())
        .containsInstanceOf(DuplicateEventIdException.class);
    String me = Thread.currentThread().getName();
    assertThat(listener.appends).allMatch(a -> a.startThread().equals(me));
    assertThat(listener.appends).allMatch(a -> a.endThread().equals(me));
    assertThat(listener.appends).allMatch(a -> !a.ended().duration().isNegative());
  }

  @Test
  void readsReportEachPageStartedOnTheReadingThread() {
    try (EventStore store =
        EventStore.builder()
            .listener(listener)
            .readBatchSize(2)
            .forDataSource(database.dataSource())) {
      for (int i = 0; i < 5; i++) {
        store.append(List.of(Event.of("Counted")));
      }
      assertThat(store.read().toList()).hasSize(5);
    }
    // The third page was fetched beside the second, from where the second was to end; so was the
    // fourth beside the third, which came back short: it found nothing.
    assertThat(listener.reads)
        .extracting(r -> r.ended().events())
        .containsExactlyInAnyOrder(2, 2, 1, 0);
    String me = Thread.currentThread().getName();
    assertThat(listener.reads).allMatch(r -> r.startThread().equals(me));
    assertThat(listener.reads).allMatch(r -> r.ended().error().isEmpty());
  }

  @Test
  void aReadClosedEarlyIsNotAFailure() {
    try (EventStore store =
        EventStore.builder()
            .listener(listener)
            .readBatchSize(2)
            .forDataSource(database.dataSource())) {
      for (int i = 0; i < 5; i++) {
        store.append(List.of(Event.of("Counted")));
      }
      try (var events = store.read().sequenced()) {
        assertThat(events.findFirst()).isPresent();
      }
    }
    assertThat(listener.reads).isNotEmpty().allMatch(r -> r.ended().error().isEmpty());
  }

  @Test
  void groupCommitsReportTheirSizeAndEachAppendsWait() throws Exception {
    try (EventStore store =
        EventStore.builder().listener(listener).forDataSource(database.dataSource())) {
      Connection holder = AppendLock.hold(database.dataSource());
      var threads = new ArrayList<Thread>();
      try {
        threads.add(appendInThread(store, "leader"));
        AppendLock.awaitWaiters(database.dataSource(), 1);
        for (int i = 0; i < 3; i++) {
          threads.add(appendInThread(store, "queued-" + i));
        }
        awaitParked(threads.subList(1, 4));
      } finally {
        holder.commit();
        holder.close();
      }
      for (Thread thread : threads) {
        thread.join();
      }
    }
    assertThat(listener.groups).extracting(GroupWritten::appends).containsExactly(1, 3);
    // The queued appends waited for the whole first group, which waited for the lock.
    Duration leaderWait = listener.groups.get(0).waits().get(0);
    assertThat(listener.groups.get(1).waits())
        .allMatch(wait -> wait.compareTo(leaderWait) > 0)
        .allMatch(wait -> wait.compareTo(listener.groups.get(0).duration()) < 0);
  }

  @Test
  void projectionsReportBatchesLagAndFailures() throws Exception {
    var attempts = new AtomicInteger();
    try (EventStore store =
        EventStore.builder()
            .listener(listener)
            .pollInterval(Duration.ofMillis(100))
            .forDataSource(database.dataSource())) {
      long position = 0;
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
    assertThat(listener.failures)
        .singleElement()
        .satisfies(
            failure -> {
              assertThat(failure.projection()).isEqualTo("counting");
              assertThat(failure.action()).isEqualTo(ProjectionFailure.Action.RETRY);
              assertThat(failure.error()).hasMessage("first attempt fails");
            });
    assertThat(listener.batches).extracting(ProjectionBatch::events).containsExactly(3);
    assertThat(listener.batches.get(0).checkpoint()).isEqualTo(3);
    assertThat(listener.batches.get(0).lag()).isZero();
  }

  @Test
  void aListenerThatThrowsNeverBreaksTheStore() {
    StoreListener throwing =
        new StoreListener() {
          @Override
          public Operation<AppendEnded> appendStarted(AppendStarted append) {
            return ended -> {
              // As a listener built against another version of a library it calls would.
              throw new NoSuchMethodError("listener broken at the end");
            };
          }

          @Override
          public Operation<ReadEnded> readStarted() {
            throw new IllegalStateException("listener broken at the start");
          }

          @Override
          public void groupWritten(GroupWritten group) {
            throw new IllegalStateException("listener broken");
          }
        };
    try (EventStore store =
        EventStore.builder().listener(throwing).forDataSource(database.dataSource())) {
      assertThat(store.append(List.of(Event.of("Stored"))).position()).isEqualTo(1);
      assertThat(store.read().toList()).extracting(Event::type).containsExactly("Stored");
    }
  }

  @Test
  void theInMemoryStoreReportsAppendsAndReadsToo() {
    try (EventStore store = EventStore.builder().listener(listener).inMemory()) {
      store.append(List.of(Event.of("Kept")));
      store.read().toList();
    }
    assertThat(listener.appends).extracting(this::outcome).containsExactly(Outcome.SUCCESS);
    assertThat(listener.reads).extracting(r -> r.ended().events()).containsExactly(1);
  }

  private Outcome outcome(RecordingListener.Append append) {
    return append.ended().outcome();
  }

  private static Thread appendInThread(EventStore store, String name) {
    Thread thread = new Thread(() -> store.append(List.of(Event.of("Grouped"))), name);
    thread.start();
    return thread;
  }

  /** Waits until the threads park, queued behind the group that waits for the lock. */
  private static void awaitParked(List<Thread> threads) throws InterruptedException {
    for (int i = 0; i < 500; i++) {
      if (threads.stream().allMatch(t -> t.getState() == Thread.State.TIMED_WAITING)) {
        return;
      }
      Thread.sleep(10);
    }
    throw new AssertionError("the appends did not queue: " + threads);
  }
}
