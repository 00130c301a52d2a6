package io.en57.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.en57.AppendLockTimeoutException;
import io.en57.Event;
import io.en57.observation.GroupWritten;
import io.en57.observation.StoreListener;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** How the group commit forms groups, with a writer that records them instead of a database. */
class GroupCommitterTest {

  /** What makes an append as large as one may be. */
  enum Largest {
    DATA,
    TYPES_AND_TAGS
  }

  // One string shared by every event: the test holds the length, not the memory.
  private static final String LARGEST_DATA =
      "\"" + "x".repeat(Event.MAX_APPEND_JSON_LENGTH - 2) + "\"";

  private static final String LARGEST_TAG =
      "x".repeat(Event.MAX_APPEND_INDEXED_LENGTH - "Large".length());

  @ParameterizedTest
  @EnumSource(Largest.class)
  void largeAppendsQueuedTogetherAreSplitIntoGroupsOfBoundedLength(Largest largest)
      throws Exception {
    var groups = Collections.synchronizedList(new ArrayList<List<AppendRequest>>());
    var firstGroupStarted = new CountDownLatch(1);
    var releaseFirstGroup = new CountDownLatch(1);
    GroupCommitter.GroupWriter writer =
        group -> {
          groups.add(group);
          if (groups.size() == 1) {
            firstGroupStarted.countDown();
            await(releaseFirstGroup);
          }
          return group.stream()
              .map(r -> (Completion) new Completion.Decided(new AppendOutcome.Stored(1, false)))
              .toList();
        };
    var committer = new GroupCommitter(writer, 64, Duration.ofMinutes(1), 1, Listening.NONE);
    ExecutorService callers = Executors.newCachedThreadPool();
    try {
      var outcomes = new ArrayList<Future<AppendOutcome>>();
      outcomes.add(callers.submit(() -> committer.append(request(largest))));
      assertThat(firstGroupStarted.await(10, TimeUnit.SECONDS)).isTrue();
      var queued = new ArrayList<Thread>();
      for (int i = 0; i < 5; i++) {
        outcomes.add(
            callers.submit(
                () -> {
                  synchronized (queued) {
                    queued.add(Thread.currentThread());
                  }
                  return committer.append(request(largest));
                }));
      }
      awaitParked(queued, 5);
      releaseFirstGroup.countDown();
      for (Future<AppendOutcome> outcome : outcomes) {
        assertThat(outcome.get(10, TimeUnit.SECONDS)).isInstanceOf(AppendOutcome.Stored.class);
      }
    } finally {
      callers.shutdownNow();
    }
    assertThat(groups).extracting(List::size).containsExactly(1, 2, 2, 1);
    assertThat(groups)
        .allSatisfy(
            group -> {
              assertThat(group.stream().mapToLong(AppendRequest::jsonLength).sum())
                  .isLessThanOrEqualTo(GroupCommitter.MAX_GROUP_JSON_LENGTH);
              assertThat(group.stream().mapToLong(AppendRequest::indexedLength).sum())
                  .isLessThanOrEqualTo(GroupCommitter.MAX_GROUP_INDEXED_LENGTH);
            });
  }

  @Test
  void aSubmittedAppendIsWrittenOnTheSubmittingThreadWhenNoGroupIsBeingWritten() {
    var writers = new ArrayList<Thread>();
    var committer =
        new GroupCommitter(
            group -> {
              writers.add(Thread.currentThread());
              return stored(group);
            },
            64,
            Duration.ofMinutes(1),
            1,
            Listening.NONE);
    var completions = new ArrayList<Completion>();

    committer.submit(request(), completions::add);

    assertThat(writers).containsExactly(Thread.currentThread());
    assertThat(completions).singleElement().isInstanceOf(Completion.Decided.class);
  }

  @Test
  void appendsSubmittedWhileAGroupIsWrittenAreWrittenTogetherByTheCommittersOwnThread()
      throws Exception {
    try (var held = new HeldFirstGroup(Duration.ofMinutes(1), 64, null)) {
      var answered = new CountDownLatch(5);
      var answeredOn = Collections.synchronizedList(new ArrayList<String>());
      for (int i = 0; i < 5; i++) {
        held.committer.submit(
            request(),
            completion -> {
              assertThat(completion).isInstanceOf(Completion.Decided.class);
              answeredOn.add(Thread.currentThread().getName());
              answered.countDown();
            });
      }
      held.release.countDown();

      assertThat(answered.await(10, TimeUnit.SECONDS)).isTrue();
      assertThat(held.groups).extracting(List::size).containsExactly(1, 5);
      assertThat(held.writers.get(1)).isEqualTo("en57-group-commit");
      assertThat(answeredOn).containsOnly("en57-group-commit");
    }
  }

  @Test
  void anErrorEndingTheCommittersOwnThreadLeavesTheNextGroupsToAnother() throws Exception {
    try (var held = new HeldFirstGroup(Duration.ofMinutes(1), 1, new StackOverflowError())) {
      var second = new CompletableFuture<Completion>();
      var third = new CompletableFuture<Completion>();
      held.committer.submit(request(), second::complete);
      held.committer.submit(request(), third::complete);
      held.release.countDown();

      assertThat(second.get(10, TimeUnit.SECONDS)).isInstanceOf(Completion.Failed.class);
      assertThat(third.get(10, TimeUnit.SECONDS)).isInstanceOf(Completion.Decided.class);
      assertThat(held.writers.subList(1, 3)).containsOnly("en57-group-commit");
    }
  }

  @Test
  void aSubmittedAppendNotTakenWithinTheWaitFailsWithNothingWritten() throws Exception {
    try (var held = new HeldFirstGroup(Duration.ofMillis(100), 64, null)) {
      var late = request();
      var completion = new CompletableFuture<Completion>();
      held.committer.submit(late, completion::complete);
      Thread.sleep(300);
      held.release.countDown();

      assertThat(completion.get(10, TimeUnit.SECONDS))
          .isInstanceOfSatisfying(
              Completion.Failed.class,
              failed -> assertThat(failed.error()).isInstanceOf(AppendLockTimeoutException.class));
      assertThat(held.groups).noneMatch(group -> group.contains(late));
    }
  }

  @Test
  void closingFailsQueuedSubmissionsAndRefusesNewOnes() throws Exception {
    try (var held = new HeldFirstGroup(Duration.ofMinutes(1), 64, null)) {
      var queued = new CompletableFuture<Completion>();
      held.committer.submit(request(), queued::complete);
      var closing = Executors.newSingleThreadExecutor();
      Future<?> closed = closing.submit(() -> held.committer.close(Duration.ofSeconds(10)));
      closing.shutdown();

      assertThat(queued.get(10, TimeUnit.SECONDS))
          .isInstanceOfSatisfying(
              Completion.Failed.class,
              failed -> assertThat(failed.error()).hasMessageContaining("nothing was written"));
      held.release.countDown();
      closed.get(10, TimeUnit.SECONDS);
      assertThat(held.firstOutcome.get(10, TimeUnit.SECONDS))
          .isInstanceOf(AppendOutcome.Stored.class);
      var afterClose = new CompletableFuture<Completion>();
      held.committer.submit(request(), afterClose::complete);
      assertThat(afterClose.getNow(null)).isInstanceOf(Completion.Failed.class);
    }
  }

  @Test
  void listenersHearOfAGroupBeforeItsAppendsReturn() {
    var heard = new AtomicInteger();
    var committer =
        new GroupCommitter(
            GroupCommitterTest::stored,
            64,
            Duration.ofMinutes(1),
            1,
            Listening.of(
                new StoreListener() {
                  @Override
                  public void groupWritten(GroupWritten group) {
                    heard.addAndGet(group.appends());
                  }
                }));
    var heardWhenAnswered = new AtomicInteger(-1);

    committer.append(request());
    int heardWhenReturned = heard.get();
    committer.submit(request(), completion -> heardWhenAnswered.set(heard.get()));

    assertThat(heardWhenReturned).isEqualTo(1);
    assertThat(heardWhenAnswered).hasValue(2);
  }

  /**
   * A committer whose first group, one caller's append, is being written and held until {@code
   * release}, and whose second group fails with {@code secondGroupFails} unless null; records every
   * group and the name of the thread that wrote it.
   */
  private static final class HeldFirstGroup implements AutoCloseable {
    final List<List<AppendRequest>> groups = Collections.synchronizedList(new ArrayList<>());
    final List<String> writers = Collections.synchronizedList(new ArrayList<>());
    final CountDownLatch release = new CountDownLatch(1);
    final GroupCommitter committer;
    final Future<AppendOutcome> firstOutcome;
    private final ExecutorService first = Executors.newSingleThreadExecutor();

    HeldFirstGroup(Duration maxWait, int maxGroupSize, Error secondGroupFails)
        throws InterruptedException {
      var started = new CountDownLatch(1);
      committer =
          new GroupCommitter(
              group -> {
                groups.add(group);
                writers.add(Thread.currentThread().getName());
                if (groups.size() == 1) {
                  started.countDown();
                  GroupCommitterTest.await(release);
                } else if (groups.size() == 2 && secondGroupFails != null) {
                  throw secondGroupFails;
                }
                return stored(group);
              },
              maxGroupSize,
              maxWait,
              1,
              Listening.NONE);
      firstOutcome = first.submit(() -> committer.append(request()));
      assertThat(started.await(10, TimeUnit.SECONDS)).isTrue();
    }

    @Override
    public void close() {
      release.countDown();
      first.shutdownNow();
    }
  }

  private static List<Completion> stored(List<AppendRequest> group) {
    return group.stream()
        .map(r -> (Completion) new Completion.Decided(new AppendOutcome.Stored(1, false)))
        .toList();
  }

  private static AppendRequest request() {
    return new AppendRequest(
        List.of(new EncodedEvent(UUID.randomUUID(), "Small", "{}", null, Set.of())), null);
  }

  private static AppendRequest request(Largest largest) {
    boolean data = largest == Largest.DATA;
    return new AppendRequest(
        List.of(
            new EncodedEvent(
                UUID.randomUUID(),
                "Large",
                data ? LARGEST_DATA : "{}",
                null,
                data ? Set.of() : Set.of(LARGEST_TAG))),
        null);
  }

  /** Waits until {@code count} callers are parked in the queue, waiting for their group. */
  private static void awaitParked(List<Thread> callers, int count) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (System.nanoTime() < deadline) {
      synchronized (callers) {
        if (callers.size() == count
            && callers.stream().allMatch(t -> t.getState() == Thread.State.TIMED_WAITING)) {
          return;
        }
      }
      Thread.sleep(10);
    }
    throw new AssertionError("the callers did not queue within 10 s");
  }

  private static void await(CountDownLatch latch) {
    try {
      latch.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
