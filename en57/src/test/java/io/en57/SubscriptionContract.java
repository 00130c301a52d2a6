package io.en57;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.en57.subscriptions.Batch;
import io.en57.subscriptions.Retry;
import io.en57.subscriptions.Subscription;
import io.en57.subscriptions.SubscriptionOptions;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What every engine's subscriptions do (DESIGN.md §8, invariant I5 for following the log). Each
 * engine's test class extends this and supplies fresh stores on one log.
 */
abstract class SubscriptionContract {

  /** Long enough for a slow machine; tests wait this long only when something is broken. */
  static final Duration PATIENCE = Duration.ofSeconds(30);

  /** A store on the test's log, configured by {@code options}. Called once or more per test. */
  protected abstract EventStore newStore(UnaryOperator<EventStoreBuilder> options);

  /** Empties the log before each test. */
  protected abstract void emptyLog();

  private final List<AutoCloseable> opened = new ArrayList<>();
  private ExecutorService threads;
  protected EventStore store;

  @BeforeEach
  void openStore() {
    emptyLog();
    threads = Executors.newCachedThreadPool();
    store = open(options -> options);
  }

  @AfterEach
  void closeEverything() throws Exception {
    threads.shutdownNow();
    for (AutoCloseable closeable : opened) {
      closeable.close();
    }
  }

  protected EventStore open(UnaryOperator<EventStoreBuilder> options) {
    return closeLater(newStore(options));
  }

  protected <T extends AutoCloseable> T closeLater(T closeable) {
    opened.add(closeable);
    return closeable;
  }

  private static Event event(String type, String... tags) {
    return Event.of(type, Map.of("type", type)).withTags(tags);
  }

  private static SubscriptionOptions batchesOf(int size) {
    return SubscriptionOptions.defaults().withBatchSize(size);
  }

  /** Appends {@code count} events, alternating types A and B, and returns the positions of As. */
  private List<Long> appendAlternating(EventStore to, int count) {
    var positions = new ArrayList<Long>();
    for (int i = 0; i < count; i++) {
      String type = i % 2 == 0 ? "A" : "B";
      long position = to.append(List.of(event(type, "n:" + i))).position();
      if (type.equals("A")) {
        positions.add(position);
      }
    }
    return positions;
  }

  private static List<Long> positions(Batch batch) {
    return batch.events().stream().map(SequencedEvent::position).toList();
  }

  @Test
  void aSubscriptionCatchesUpInBatchesInPositionOrderAndSaysWhenItReachedTheHead()
      throws Exception {
    List<Long> as = appendAlternating(store, 45);
    try (Subscription subscription = store.subscribe(store.read().ofType("A"), 0, batchesOf(10))) {
      var seen = new ArrayList<Long>();
      var batches = new ArrayList<Batch>();
      Batch batch;
      do {
        batch = subscription.poll(Duration.ZERO);
        batches.add(batch);
        seen.addAll(positions(batch));
      } while (!batch.caughtUp());

      assertThat(seen).isEqualTo(as);
      assertThat(batches).allSatisfy(b -> assertThat(b.events()).hasSizeLessThanOrEqualTo(10));
      assertThat(batches.subList(0, batches.size() - 1))
          .allSatisfy(b -> assertThat(b.caughtUp()).isFalse());
      assertThat(batch.position()).isEqualTo(45);
      assertThat(subscription.position()).isEqualTo(45);
      assertThat(subscription.caughtUp()).isTrue();
      assertThat(batches.get(0).events().get(0).event().type()).isEqualTo("A");
    }
  }

  @Test
  void pollReturnsAsSoonAsItCatchesUpEvenWhenTheLogEndsWithAFullBatch() throws Exception {
    appendAlternating(store, 20);
    try (Subscription subscription = store.subscribe(store.read(), 0, batchesOf(10))) {
      var seen = new ArrayList<Long>();
      // Each poll may wait an hour for something new; catching up is news enough.
      Future<Batch> last =
          threads.submit(
              () -> {
                Batch batch;
                do {
                  batch = subscription.poll(Duration.ofHours(1));
                  seen.addAll(positions(batch));
                } while (!batch.caughtUp());
                return batch;
              });
      assertThat(last.get(PATIENCE.toSeconds(), TimeUnit.SECONDS).position()).isEqualTo(20);
      assertThat(seen).hasSize(20);
    }
  }

  @Test
  void aSubscriptionStartsAfterThePositionItIsGiven() throws Exception {
    appendAlternating(store, 10);
    try (Subscription subscription = store.subscribe(store.read(), 6)) {
      Batch batch = subscription.poll(Duration.ZERO);
      assertThat(positions(batch)).containsExactly(7L, 8L, 9L, 10L);
      assertThat(batch.caughtUp()).isTrue();
    }
  }

  @Test
  void aSubscriptionOnAnEmptyLogIsCaughtUpAtPositionZero() throws Exception {
    try (Subscription subscription = store.subscribe(store.read(), 0)) {
      Batch batch = subscription.poll(Duration.ZERO);
      assertThat(batch.events()).isEmpty();
      assertThat(batch.position()).isZero();
      assertThat(batch.caughtUp()).isTrue();
    }
  }

  @Test
  void whenTheLogMovesOnWithoutAMatchThePositionMovesOnWithAnEmptyBatch() throws Exception {
    store.append(List.of(event("A")));
    try (Subscription subscription = store.subscribe(store.read().ofType("A"), 0)) {
      assertThat(positions(subscription.poll(Duration.ZERO))).containsExactly(1L);
      store.append(List.of(event("B"), event("B")));

      Batch batch = subscription.poll(PATIENCE);

      assertThat(batch.events()).isEmpty();
      assertThat(batch.position()).isEqualTo(3);
      assertThat(batch.caughtUp()).isTrue();
    }
  }

  @Test
  void whenNothingIsNewPollReturnsAnEmptyBatchAtTheSamePositionAfterItsTimeout() throws Exception {
    store.append(List.of(event("A")));
    try (Subscription subscription = store.subscribe(store.read(), 0)) {
      subscription.poll(Duration.ZERO);
      Batch batch = subscription.poll(Duration.ofMillis(20));
      assertThat(batch.events()).isEmpty();
      assertThat(batch.position()).isEqualTo(1);
    }
  }

  @Test
  void aSubscriptionThatCaughtUpIsWokenByAnAppendThroughItsStoreWithoutWaitingForAPoll()
      throws Exception {
    EventStore neverPolling = open(options -> options.pollInterval(Duration.ofHours(1)));
    try (Subscription subscription = neverPolling.subscribe(neverPolling.read(), 0)) {
      assertThat(subscription.poll(Duration.ZERO).caughtUp()).isTrue();
      // Without a wake-up this poll would return only after an hour: the get below would time out.
      Future<Batch> next = threads.submit(() -> subscription.poll(Duration.ofHours(1)));

      long position = neverPolling.append(List.of(event("A"))).position();

      assertThat(positions(next.get(PATIENCE.toSeconds(), TimeUnit.SECONDS)))
          .containsExactly(position);
    }
  }

  @Test
  void aPollWithTheLongestTimeoutIsWokenByAnAppendToo() throws Exception {
    try (Subscription subscription = store.subscribe(store.read(), 0)) {
      assertThat(subscription.poll(Duration.ZERO).caughtUp()).isTrue();
      for (Duration longest :
          List.of(Duration.ofNanos(Long.MAX_VALUE), ChronoUnit.FOREVER.getDuration())) {
        Future<Batch> next = threads.submit(() -> subscription.poll(longest));

        long position = store.append(List.of(event("A"))).position();

        assertThat(positions(next.get(PATIENCE.toSeconds(), TimeUnit.SECONDS)))
            .as("poll(%s)", longest)
            .containsExactly(position);
      }
    }
  }

  @Test
  void aSubscriptionSeesAppendsThroughAnotherStoreOnTheSameLog() throws Exception {
    EventStore polling = open(options -> options.pollInterval(Duration.ofMillis(50)));
    try (Subscription subscription = polling.subscribe(polling.read(), 0)) {
      assertThat(subscription.poll(Duration.ZERO).caughtUp()).isTrue();

      long position = store.append(List.of(event("A"))).position();

      assertThat(positions(subscription.poll(PATIENCE))).containsExactly(position);
    }
  }

  @Test
  void aSubscriptionDeliversEveryMatchingEventOnceInOrderWhileWritersAppend() throws Exception {
    int writers = 4;
    int appendsEach = 100;
    var start = new CountDownLatch(1);
    var writing = new ArrayList<Future<?>>();
    for (int w = 0; w < writers; w++) {
      String tag = "writer:" + w;
      writing.add(
          threads.submit(
              () -> {
                start.await();
                for (int i = 0; i < appendsEach; i++) {
                  store.append(List.of(event(i % 3 == 0 ? "B" : "A", tag), event("A", tag)));
                }
                return null;
              }));
    }
    var seen = new ArrayList<Long>();
    try (Subscription subscription = store.subscribe(store.read().ofType("A"), 0, batchesOf(7))) {
      start.countDown();
      for (Future<?> writer : writing) {
        while (!writer.isDone()) {
          seen.addAll(positions(subscription.poll(Duration.ofMillis(5))));
        }
        writer.get();
      }
      Batch batch;
      do {
        batch = subscription.poll(Duration.ZERO);
        seen.addAll(positions(batch));
      } while (!batch.caughtUp());
    }
    List<Long> expected =
        store.read().ofType("A").sequenced().map(SequencedEvent::position).toList();
    assertThat(expected).hasSize(writers * appendsEach * 2 - writers * 34);
    assertThat(seen).isEqualTo(expected);
  }

  @Test
  void subscriptionsSideBySideEachDeliverTheirEventsOnceInOrderWhileWritersAppend()
      throws Exception {
    EventStore other = open(options -> options.pollInterval(Duration.ofMillis(20)));
    Map<Read, SubscriptionOptions> scopes =
        Map.of(
            store.read(), batchesOf(1_000),
            store.read().after(3), batchesOf(3),
            store.read().ofType("A"), batchesOf(7),
            store.read().withTag("writer:1"), batchesOf(1_000),
            store.read().ofType("B").withTag("writer:2").or(store.read().withTag("writer:3")),
                batchesOf(2));
    var delivered = new LinkedHashMap<Read, List<Long>>();
    var subscriptions = new ArrayList<Subscription>();
    scopes.forEach(
        (scope, options) -> {
          List<Long> seen = Collections.synchronizedList(new ArrayList<>());
          delivered.put(scope, seen);
          subscriptions.add(
              closeLater(store.subscribe(scope, 0, options))
                  .start(batch -> seen.addAll(positions(batch))));
        });
    var writing = new ArrayList<Future<?>>();
    for (int w = 0; w < 4; w++) {
      EventStore through = w % 2 == 0 ? store : other;
      String tag = "writer:" + w;
      writing.add(
          threads.submit(
              () -> {
                for (int i = 0; i < 100; i++) {
                  through.append(List.of(event(i % 3 == 0 ? "B" : "A", tag), event("A", tag)));
                }
                return null;
              }));
    }
    for (Future<?> writer : writing) {
      writer.get(PATIENCE.toSeconds(), TimeUnit.SECONDS);
    }
    long head = store.head();
    long deadline = System.nanoTime() + PATIENCE.toNanos();
    for (Subscription subscription : subscriptions) {
      while (subscription.position() < head && System.nanoTime() < deadline) {
        Thread.sleep(5);
      }
      subscription.close();
    }

    delivered.forEach(
        (scope, seen) ->
            assertThat(seen)
                .as("delivered to a subscription to %s", scope.query())
                .isEqualTo(scope.sequenced().map(SequencedEvent::position).toList()));
  }

  @Test
  void aPushSubscriptionHandsEveryBatchToItsHandlerInOrderUntilClosed() throws Exception {
    List<Long> as = appendAlternating(store, 30);
    var seen = Collections.synchronizedList(new ArrayList<Long>());
    var calls = new AtomicInteger();
    var allSeen = new CountDownLatch(1);
    EventStore polling = open(options -> options.pollInterval(Duration.ofMillis(20)));
    Subscription subscription =
        polling
            .subscribe(polling.read().ofType("A"), 0, batchesOf(4))
            .start(
                batch -> {
                  calls.incrementAndGet();
                  assertThat(batch.events()).isNotEmpty().hasSizeLessThanOrEqualTo(4);
                  seen.addAll(positions(batch));
                  if (seen.size() == 30) {
                    allSeen.countDown();
                  }
                });
    var more = new ArrayList<>(as);
    more.addAll(appendAlternating(polling, 30));
    assertThat(allSeen.await(PATIENCE.toSeconds(), TimeUnit.SECONDS)).isTrue();

    subscription.close();
    int callsAtClose = calls.get();
    polling.append(List.of(event("A")));
    Thread.sleep(200); // ten poll intervals: a running subscription would have delivered it

    assertThat(seen).isEqualTo(more);
    assertThat(calls.get()).isEqualTo(callsAtClose);
    // At least the last A handled; the B after it is passed only if a read saw it in time.
    assertThat(subscription.position()).isBetween(59L, 60L);
    assertThat(subscription.failure()).isEmpty();
  }

  @Test
  void aPushSubscriptionDeliversTheSameBatchAgainWhenItsHandlerFails() throws Exception {
    appendAlternating(store, 6);
    var deliveries = Collections.synchronizedList(new ArrayList<List<Long>>());
    var failuresLeft = new AtomicInteger(2);
    var done = new CountDownLatch(1);
    Subscription subscription =
        closeLater(
            store.subscribe(
                store.read(),
                0,
                batchesOf(4).withRetry(new Retry(3, Duration.ofMillis(1), Duration.ofMillis(5)))));
    subscription.start(
        batch -> {
          deliveries.add(positions(batch));
          if (failuresLeft.getAndDecrement() > 0) {
            throw new IllegalStateException("not yet");
          }
          if (batch.position() == 6) {
            done.countDown();
          }
        });

    assertThat(done.await(PATIENCE.toSeconds(), TimeUnit.SECONDS)).isTrue();
    assertThat(deliveries)
        .containsExactly(
            List.of(1L, 2L, 3L, 4L),
            List.of(1L, 2L, 3L, 4L),
            List.of(1L, 2L, 3L, 4L),
            List.of(5L, 6L));
    assertThat(subscription.failure()).isEmpty();
  }

  @Test
  void aPushSubscriptionWhoseHandlerKeepsFailingStopsAndShowsTheFailure() throws Exception {
    appendAlternating(store, 3);
    var attempts = new AtomicInteger();
    var failure = new IllegalStateException("broken handler");
    Subscription subscription =
        closeLater(
            store.subscribe(
                store.read(),
                0,
                batchesOf(2).withRetry(new Retry(3, Duration.ofMillis(1), Duration.ofMillis(1)))));
    subscription.start(
        batch -> {
          attempts.incrementAndGet();
          throw failure;
        });

    long deadline = System.nanoTime() + PATIENCE.toNanos();
    while (subscription.failure().isEmpty() && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
    assertThat(subscription.failure()).contains(failure);
    assertThat(attempts.get()).isEqualTo(3);
    assertThat(subscription.position()).isZero();
    assertThatThrownBy(() -> subscription.poll(Duration.ZERO))
        .isInstanceOf(IllegalStateException.class);
  }

  @Test
  void aPushSubscriptionWhoseHandlerInterruptsItsThreadGoesOn() throws Exception {
    appendAlternating(store, 3);
    var seen = Collections.synchronizedList(new ArrayList<Long>());
    var interruptedOnEntry = new AtomicInteger();
    var caughtUp = new CountDownLatch(1);
    var allSeen = new CountDownLatch(1);
    // One event a batch: the second and third come at once, without a wait in between.
    Subscription subscription = closeLater(store.subscribe(store.read(), 0, batchesOf(1)));
    subscription.start(
        batch -> {
          if (Thread.currentThread().isInterrupted()) {
            interruptedOnEntry.incrementAndGet();
          }
          if (seen.isEmpty()) {
            Thread.currentThread().interrupt();
          }
          seen.addAll(positions(batch));
          if (seen.size() == 3) {
            caughtUp.countDown();
          } else if (seen.size() == 5) {
            allSeen.countDown();
          }
        });
    assertThat(caughtUp.await(PATIENCE.toSeconds(), TimeUnit.SECONDS)).isTrue();

    appendAlternating(store, 2);

    assertThat(allSeen.await(PATIENCE.toSeconds(), TimeUnit.SECONDS)).isTrue();
    assertThat(seen).containsExactly(1L, 2L, 3L, 4L, 5L);
    assertThat(interruptedOnEntry).hasValue(0);
    assertThat(subscription.failure()).isEmpty();
  }

  @Test
  void closingTheStoreClosesItsSubscriptions() throws Exception {
    EventStore closing = newStore(options -> options);
    Subscription subscription = closing.subscribe(closing.read(), 0);
    closing.close();
    assertThatThrownBy(() -> subscription.poll(Duration.ZERO))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("closed");
  }

  @Test
  void aClosedSubscriptionRefusesToPollOrStart() {
    Subscription subscription = store.subscribe(store.read(), 0);
    subscription.close();
    subscription.close();
    assertThatThrownBy(() -> subscription.poll(Duration.ZERO))
        .isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> subscription.start(batch -> {}))
        .isInstanceOf(IllegalStateException.class);
  }

  @Test
  void aPushSubscriptionCannotBePolledOrStartedTwice() {
    Subscription subscription = closeLater(store.subscribe(store.read(), 0)).start(batch -> {});
    assertThatThrownBy(() -> subscription.poll(Duration.ZERO))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("pushes");
    assertThatThrownBy(() -> subscription.start(batch -> {}))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("already started");
  }

  /**
   * A pull subscription is for one thread at a time: a second thread polling, or starting a
   * handler, while one polls would read from the same position and deliver events twice.
   */
  @Test
  void whileOneThreadPollsAnotherCanNeitherPollNorStartAHandler() throws Exception {
    Subscription subscription = closeLater(store.subscribe(store.read(), 0));
    assertThat(subscription.poll(Duration.ZERO).caughtUp()).isTrue();
    var polling = new CompletableFuture<Thread>();
    Future<Batch> waiting =
        threads.submit(
            () -> {
              polling.complete(Thread.currentThread());
              return subscription.poll(PATIENCE);
            });
    Thread poller = polling.get(PATIENCE.toSeconds(), TimeUnit.SECONDS);
    // Waiting inside poll; a poll that ended early fails the assertions below instead of hanging.
    while (poller.getState() != Thread.State.TIMED_WAITING && !waiting.isDone()) {
      Thread.sleep(1);
    }

    assertThatThrownBy(() -> subscription.poll(Duration.ZERO))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("another thread is polling");
    assertThatThrownBy(() -> subscription.start(batch -> {}))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("being polled");

    long position = store.append(List.of(event("A"))).position();
    assertThat(positions(waiting.get(PATIENCE.toSeconds(), TimeUnit.SECONDS)))
        .containsExactly(position);
    assertThat(subscription.poll(Duration.ZERO).caughtUp()).isTrue();
  }

  @Test
  void badArgumentsAreRejectedWithTheirName() {
    store.append(List.of(event("A")));
    assertThatThrownBy(() -> store.subscribe(null, 0))
        .isInstanceOf(NullPointerException.class)
        .hasMessageContaining("scope");
    assertThatThrownBy(() -> store.subscribe(store.read(), 0, null))
        .isInstanceOf(NullPointerException.class)
        .hasMessageContaining("options");
    assertThatThrownBy(() -> store.subscribe(store.read().limit(3), 0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("limit()");
    assertThatThrownBy(() -> store.subscribe(store.read().backwards(), 0))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> store.subscribe(store.read(), -1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("after");
    assertThatThrownBy(() -> store.subscribe(store.read(), 2))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("beyond the head 1");
    assertThatThrownBy(() -> SubscriptionOptions.defaults().withBatchSize(0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("batchSize");
    try (Subscription subscription = store.subscribe(store.read(), 0)) {
      assertThatThrownBy(() -> subscription.poll(Duration.ofMillis(-1)))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("timeout");
      assertThatThrownBy(() -> subscription.start(null))
          .isInstanceOf(NullPointerException.class)
          .hasMessageContaining("handler");
    }
  }
}
