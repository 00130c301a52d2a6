package io.en57.decisions;

import static io.en57.AppendCondition.failIf;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import io.en57.AppendResult;
import io.en57.Event;
import io.en57.EventStore;
import io.en57.EventStoreBuilder;
import io.en57.Query;
import io.en57.SequencedEvent;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/**
 * Reading by query, decision models and execute with retry, the same on every engine. Each engine's
 * test class extends this and supplies stores on an empty log.
 */
abstract class DecisionModelContract {

  /** A store on an empty log, configured by {@code options}. */
  protected abstract EventStore newStore(UnaryOperator<EventStoreBuilder> options);

  /** Empties the log before each test. */
  protected abstract void emptyLog();

  /**
   * The model of {@code projections} the tests read and execute: {@link DecisionModel#of}, or a
   * variant of it that must behave the same on these stores.
   */
  protected DecisionModel modelOf(DecisionProjection<?>... projections) {
    return DecisionModel.of(projections);
  }

  private final List<EventStore> opened = new ArrayList<>();
  private EventStore store;

  record CourseDefined(String courseId, int capacity) {}

  @BeforeEach
  void openStore() {
    emptyLog();
    store = open(options -> options.register("CourseDefined", CourseDefined.class));
  }

  @AfterEach
  void closeStores() {
    opened.forEach(EventStore::close);
  }

  private EventStore open(UnaryOperator<EventStoreBuilder> options) {
    EventStore store = newStore(options);
    opened.add(store);
    return store;
  }

  static Event event(String type, String... tags) {
    return Event.of(type).withTags(tags);
  }

  private long append(Event... events) {
    return store.append(List.of(events)).position();
  }

  static DecisionProjection<Integer> count(String type, String... tags) {
    DecisionProjection<Integer> counting =
        DecisionProjection.startingWith(0).on(type, (count, event) -> count + 1);
    return tags.length == 0 ? counting : counting.withTag(tags);
  }

  @Nested
  class ReadByQuery {

    @Test
    void aQueryValueReadsWhatTheScopeItCameFromReads() {
      append(event("A", "x"), event("B", "x"), event("A", "y"), event("C", "x", "y"));
      Query query = store.read().ofType("A").withTag("x").or(store.read().withTag("y")).query();

      assertThat(store.read(query).sequenced().map(SequencedEvent::position))
          .containsExactly(1L, 3L, 4L);
      assertThat(store.read(query).backwards().limit(2).stream().map(Event::type))
          .containsExactly("C", "A");
    }

    @Test
    void oneQueryServesTheReadAndTheCondition() {
      append(event("A", "x"));
      Query query = new Query(List.of(new Query.Criterion(Set.of("A", "B"), Set.of("x"), 0)));
      long lastSeen = store.read(query).last().orElseThrow().position();

      assertThat(store.append(List.of(event("B", "x")), failIf(query).after(lastSeen)))
          .isInstanceOf(AppendResult.Success.class);
      assertThat(store.append(List.of(event("B", "x")), failIf(query).after(lastSeen)))
          .isInstanceOf(AppendResult.Failure.class);
    }

    @Test
    void aNullQueryIsRejected() {
      assertThatThrownBy(() -> store.read((Query) null))
          .isInstanceOf(NullPointerException.class)
          .hasMessage("query must not be null");
    }
  }

  @Nested
  class Projections {

    @Test
    void aProjectionFoldsTheEventsOfItsTypesThatCarryItsTags() {
      append(
          event("StudentSubscribed", "course:c1", "student:s1"),
          event("StudentSubscribed", "course:c2", "student:s1"),
          event("CourseRenamed", "course:c1"),
          event("StudentSubscribed", "course:c1", "student:s2"));
      DecisionProjection<Integer> subscriptions = count("StudentSubscribed", "course:c1");

      DecisionState state = modelOf(subscriptions).read(store);

      assertThat(state.get(subscriptions)).isEqualTo(2);
      assertThat(subscriptions.query())
          .isEqualTo(
              new Query(
                  List.of(
                      new Query.Criterion(Set.of("StudentSubscribed"), Set.of("course:c1"), 0))));
    }

    @Test
    void aTypedHandlerGetsThePayloadOfTheRegisteredClass() {
      append(Event.of("CourseDefined", new CourseDefined("c1", 30)).withTags("course:c1"));
      DecisionProjection<Integer> capacity =
          DecisionProjection.startingWith(0)
              .on("CourseDefined", CourseDefined.class, (seats, defined) -> defined.capacity())
              .withTag("course:c1");

      assertThat(modelOf(capacity).read(store).get(capacity)).isEqualTo(30);
    }

    @Test
    void aTypedHandlerOfAnUnregisteredTypeSaysWhatToRegister() {
      append(Event.of("CourseCapacityChanged", Map.of("capacity", 5)).withTags("course:c1"));
      record CapacityChanged(int capacity) {}
      DecisionProjection<Integer> capacity =
          DecisionProjection.startingWith(0)
              .on(
                  "CourseCapacityChanged",
                  CapacityChanged.class,
                  (seats, changed) -> changed.capacity());

      assertThatThrownBy(() -> modelOf(capacity).read(store))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("expects a ")
          .hasMessageContaining(
              "register the type with EventStoreBuilder.register(\"CourseCapacityChanged\","
                  + " CapacityChanged.class)");
    }

    @Test
    void aLastEventOnlyProjectionFoldsOnlyTheNewestMatchingEvent() {
      for (int price = 1; price <= 50; price++) {
        append(Event.of("PriceChanged", Map.of("price", price)).withTags("product:p1"));
      }
      append(Event.of("PriceChanged", Map.of("price", 999)).withTags("product:p2"));
      var applied = new AtomicInteger();
      DecisionProjection<Integer> price =
          DecisionProjection.startingWith(0)
              .on(
                  "PriceChanged",
                  (current, event) -> {
                    applied.incrementAndGet();
                    return (Integer) ((Map<?, ?>) event.data()).get("price");
                  })
              .withTag("product:p1")
              .lastEventOnly();

      DecisionState state = modelOf(price).read(store);

      assertThat(state.get(price)).isEqualTo(50);
      assertThat(applied).hasValue(1);
      assertThat(state.position()).isEqualTo(50);
    }

    @Test
    void badProjectionsAreRejectedWithTheirReason() {
      assertThatThrownBy(() -> DecisionProjection.startingWith(null))
          .isInstanceOf(NullPointerException.class)
          .hasMessageContaining("initialState must not be null");
      DecisionProjection<Integer> counting = count("A");
      assertThatThrownBy(() -> counting.on("A", (n, e) -> n))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage("this projection already has a handler for A");
      assertThatThrownBy(() -> counting.on(" ", (n, e) -> n))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage("type must not be blank");
      assertThatThrownBy(() -> counting.withTag("t", ""))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage("tag must not be blank");
      assertThatThrownBy(() -> DecisionModel.of(DecisionProjection.startingWith(0).withTag("t")))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("a projection needs at least one handler");
      assertThatThrownBy(() -> DecisionModel.of(counting, counting))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("projections[1] is projections[0] again");
      assertThatThrownBy(DecisionModel::of)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage("a decision model needs at least one projection");
    }

    @Test
    void aHandlerReturningNullIsNamed() {
      append(event("A"));
      DecisionProjection<String> broken =
          DecisionProjection.startingWith("").on("A", (s, e) -> null);

      assertThatThrownBy(() -> modelOf(broken).read(store))
          .isInstanceOf(NullPointerException.class)
          .hasMessageContaining("the handler for A of DecisionProjection[types=[A]");
    }
  }

  @Nested
  class Reading {

    @Test
    void eachEventIsFoldedOnlyIntoTheProjectionsItMatches() {
      append(
          event("StudentSubscribed", "course:c1", "student:s1"),
          event("StudentSubscribed", "course:c2", "student:s1"),
          event("StudentSubscribed", "course:c1", "student:s2"),
          event("StudentUnsubscribed", "course:c1", "student:s1"));
      DecisionProjection<Integer> course = count("StudentSubscribed", "course:c1");
      DecisionProjection<Integer> student = count("StudentSubscribed", "student:s1");
      DecisionProjection<Integer> both = count("StudentSubscribed", "course:c1", "student:s1");

      DecisionState state = modelOf(course, student, both).read(store);

      assertThat(state.get(course)).isEqualTo(2);
      assertThat(state.get(student)).isEqualTo(2);
      assertThat(state.get(both)).isEqualTo(1);
      assertThat(state.position()).isEqualTo(3);
    }

    @Test
    void identicalCriteriaAreMergedInTheConditionsQuery() {
      DecisionProjection<Integer> first = count("A", "x");
      DecisionProjection<Boolean> second =
          DecisionProjection.startingWith(false).on("A", (seen, event) -> true).withTag("x");
      DecisionProjection<Integer> other = count("B", "x");

      assertThat(modelOf(first, second, other).query().criteria())
          .containsExactly(
              new Query.Criterion(Set.of("A"), Set.of("x"), 0),
              new Query.Criterion(Set.of("B"), Set.of("x"), 0));
    }

    @Test
    void onAnEmptyStoreTheStatesAreInitialAndTheConditionFailsOnAnyMatchingEvent() {
      DecisionProjection<Integer> subscriptions = count("StudentSubscribed", "course:c1");
      DecisionState state = modelOf(subscriptions).read(store);

      assertThat(state.get(subscriptions)).isZero();
      assertThat(state.position()).isZero();
      assertThat(state.condition()).isEqualTo(failIf(subscriptions.query()).after(0));
    }

    @Test
    void theConditionIsTheUnionAfterTheLastEventTheReadTookIntoAccount() {
      append(event("A", "x"), event("B", "y"), event("Unrelated", "x"));
      DecisionProjection<Integer> a = count("A", "x");
      DecisionProjection<Integer> b = count("B", "y");
      DecisionModel model = modelOf(a, b);

      DecisionState state = model.read(store);

      assertThat(state.position()).isEqualTo(2);
      assertThat(state.condition()).isEqualTo(failIf(model.query()).after(2));
      // Unrelated events do not conflict; an event of either projection does.
      assertThat(store.append(List.of(event("Unrelated", "y")), state.condition()))
          .isInstanceOf(AppendResult.Success.class);
      append(event("B", "y"));
      assertThat(store.append(List.of(event("C")), state.condition()))
          .isInstanceOf(AppendResult.Failure.class);
    }

    @Test
    void theConditionCoversTheWholeQueryOfALastEventOnlyProjection() {
      append(event("PriceChanged", "product:p1"), event("PriceChanged", "product:p1"));
      DecisionProjection<Integer> price = count("PriceChanged", "product:p1").lastEventOnly();
      DecisionProjection<Integer> orders = count("ProductOrdered", "customer:k1");
      DecisionModel model = modelOf(price, orders);

      DecisionState state = model.read(store);
      assertThat(state.get(price)).isEqualTo(1);
      assertThat(state.position()).isEqualTo(2);

      append(event("PriceChanged", "product:p1"));
      AppendResult result = store.append(List.of(event("ProductOrdered")), state.condition());
      assertThat(result).isInstanceOf(AppendResult.Failure.class);
      assertThat(result.position()).isEqualTo(3);
    }

    @Test
    void eventsAppendedWhileAModelIsReadCannotSlipUnderItsCondition() {
      append(event("A", "x"), event("B", "y"));
      var appendedDuringTheRead = new AtomicBoolean();
      // The folded projection's handler appends, between the read of the folded projections and
      // that of the last-event-only one, an event of each: the state must not take in the one
      // that the condition would then ignore.
      DecisionProjection<Integer> folded =
          DecisionProjection.startingWith(0)
              .on(
                  "A",
                  (count, event) -> {
                    if (appendedDuringTheRead.compareAndSet(false, true)) {
                      append(event("A", "x"), event("B", "y"));
                    }
                    return count + 1;
                  })
              .withTag("x");
      DecisionProjection<Integer> lastOnly = count("B", "y").lastEventOnly();

      DecisionState state = modelOf(folded, lastOnly).read(store);

      assertThat(state.get(folded)).isEqualTo(1);
      assertThat(state.get(lastOnly)).isEqualTo(1);
      assertThat(state.position()).isEqualTo(2);
      AppendResult result = store.append(List.of(event("C")), state.condition());
      assertThat(result).isInstanceOf(AppendResult.Failure.class);
      assertThat(((AppendResult.Failure) result).conflictingEvents())
          .extracting(SequencedEvent::position)
          .containsExactly(3L, 4L);
    }

    @Test
    void aLastEventOnlyProjectionIgnoresEventsAfterTheHeadTheOtherReadsStoppedAt() {
      append(
          Event.of("PriceChanged", Map.of("price", 1)).withTags("product:p1"),
          event("Ordered", "product:p1"));
      var appendedDuringTheRead = new AtomicBoolean();
      DecisionProjection<Integer> orders =
          DecisionProjection.startingWith(0)
              .on(
                  "Ordered",
                  (count, event) -> {
                    if (appendedDuringTheRead.compareAndSet(false, true)) {
                      append(Event.of("PriceChanged", Map.of("price", 2)).withTags("product:p1"));
                    }
                    return count + 1;
                  })
              .withTag("product:p1");
      DecisionProjection<Integer> price =
          DecisionProjection.startingWith(0)
              .on(
                  "PriceChanged",
                  (current, event) -> (Integer) ((Map<?, ?>) event.data()).get("price"))
              .withTag("product:p1")
              .lastEventOnly();

      DecisionState state = modelOf(orders, price).read(store);

      assertThat(state.get(price)).isEqualTo(1);
      assertThat(state.position()).isEqualTo(2);
      assertThat(store.append(List.of(event("Ordered", "product:p1")), state.condition()))
          .isInstanceOf(AppendResult.Failure.class);
    }

    @Test
    void askingForAProjectionOfAnotherModelIsAnError() {
      DecisionProjection<Integer> inModel = count("A");
      DecisionProjection<Integer> elsewhere = count("A");
      DecisionState state = modelOf(inModel).read(store);

      assertThatThrownBy(() -> state.get(elsewhere))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("is not part of this decision model");
    }
  }

  @Nested
  class Executing {

    private final DecisionProjection<Integer> capacity =
        DecisionProjection.startingWith(0)
            .on("CourseDefined", CourseDefined.class, (seats, defined) -> defined.capacity())
            .withTag("course:c1");
    private final DecisionProjection<Integer> subscriptions =
        count("StudentSubscribed", "course:c1");
    private final DecisionModel model = modelOf(capacity, subscriptions);

    private Decision<String> subscribe(DecisionState state, String student) {
      if (state.get(subscriptions) >= state.get(capacity)) {
        return Decision.reject("course full");
      }
      return Decision.append(event("StudentSubscribed", "course:c1", "student:" + student));
    }

    @BeforeEach
    void defineCourse() {
      append(Event.of("CourseDefined", new CourseDefined("c1", 2)).withTags("course:c1"));
    }

    @Test
    void appendsWhatTheDeciderDecides() {
      Outcome<String> outcome = model.execute(store, state -> subscribe(state, "s1"));

      assertThat(outcome).isEqualTo(new Outcome.Appended<String>(2, false, 0));
      assertThat(store.read().withTag("student:s1").toList()).hasSize(1);
    }

    @Test
    void aDecisionWhoseEventsAreAlreadyStoredIsAReplayAndAppendsNothing() {
      Event subscribed =
          event("StudentSubscribed", "course:c1", "student:s1")
              .withId(UUID.fromString("0190d3a4-1b2c-7d3e-8f40-123456789abc"));

      Outcome<String> first = model.execute(store, state -> Decision.append(subscribed));
      Outcome<String> again = model.execute(store, state -> Decision.append(subscribed));

      assertThat(first).isEqualTo(new Outcome.Appended<String>(2, false, 0));
      assertThat(again).isEqualTo(new Outcome.Appended<String>(2, true, 0));
      assertThat(store.head()).isEqualTo(2);
    }

    @Test
    void aRejectionAppendsNothingAndCarriesTheReason() {
      model.execute(store, state -> subscribe(state, "s1"));
      model.execute(store, state -> subscribe(state, "s2"));

      Outcome<String> outcome = model.execute(store, state -> subscribe(state, "s3"));

      assertThat(outcome).isEqualTo(new Outcome.Rejected<>("course full", 0));
      assertThat(store.head()).isEqualTo(3);
    }

    @Test
    void decidingNothingAppendsNothing() {
      Outcome<String> outcome = model.execute(store, state -> Decision.nothing());

      assertThat(outcome).isEqualTo(new Outcome.NothingToAppend<String>(0));
      assertThat(store.head()).isEqualTo(1);
    }

    @Test
    void afterAConflictItReadsAndDecidesAgainOnTheNewState() {
      var seen = new ArrayList<Integer>();
      Outcome<String> outcome =
          model.execute(
              store,
              state -> {
                seen.add(state.get(subscriptions));
                if (seen.size() == 1) {
                  append(event("StudentSubscribed", "course:c1", "student:rival"));
                }
                return subscribe(state, "s1");
              });

      assertThat(seen).containsExactly(0, 1);
      assertThat(outcome).isEqualTo(new Outcome.Appended<String>(3, false, 1));
    }

    @Test
    void aConflictCanTurnTheDecisionIntoARejection() {
      append(event("StudentSubscribed", "course:c1", "student:s0"));
      var calls = new AtomicInteger();
      Outcome<String> outcome =
          model.execute(
              store,
              state -> {
                if (calls.incrementAndGet() == 1) {
                  append(event("StudentSubscribed", "course:c1", "student:rival"));
                }
                return subscribe(state, "s1");
              });

      assertThat(outcome).isEqualTo(new Outcome.Rejected<>("course full", 1));
      assertThat(store.read().withTag("student:s1").toList()).isEmpty();
    }

    @Test
    void itGivesUpAfterTheConfiguredAttemptsWithTheLastFailure() {
      var retry =
          RetryPolicy.defaults().withMaxAttempts(3).withBackoff(Duration.ZERO, Duration.ZERO);
      var calls = new AtomicInteger();
      Outcome<String> outcome =
          model.execute(
              store,
              retry,
              state -> {
                calls.incrementAndGet();
                append(event("StudentSubscribed", "course:c1", "student:rival" + calls.get()));
                return Decision.append(event("StudentSubscribed", "course:c1", "student:s1"));
              });

      assertThat(calls).hasValue(3);
      assertThat(outcome).isInstanceOf(Outcome.GaveUp.class);
      var gaveUp = (Outcome.GaveUp<String>) outcome;
      assertThat(gaveUp.conflicts()).isEqualTo(3);
      assertThat(gaveUp.lastFailure().position()).isEqualTo(4);
      assertThat(gaveUp.lastFailure().conflictingEvents())
          .extracting(e -> e.event().tags())
          .containsExactly(Set.of("course:c1", "student:rival3"));
      assertThat(store.read().withTag("student:s1").toList()).isEmpty();
    }

    @Test
    void anInterruptDuringTheBackOffGivesUpAtOnceAndKeepsTheFlag() throws Exception {
      // The pause is drawn at random ("full jitter") up to five seconds; one short enough to end
      // before the interrupt comes misses the case under test, so the scenario runs again then.
      for (int attempt = 0; attempt < 5; attempt++) {
        if (interruptDuringTheBackOff()) {
          return;
        }
      }
      fail("five pauses in a row ended before the interrupt came");
    }

    /**
     * Interrupts a decider pausing after its first conflict and checks that it gave up at once;
     * false, checking nothing, when it had already retried before the interrupt came.
     */
    private boolean interruptDuringTheBackOff() throws Exception {
      var retry = RetryPolicy.defaults().withBackoff(Duration.ofSeconds(5), Duration.ofSeconds(5));
      var calls = new AtomicInteger();
      var decided = new CountDownLatch(1);
      var interruptedAfterwards = new AtomicBoolean();
      var deciding =
          new FutureTask<Outcome<String>>(
              () -> {
                try {
                  return model.execute(
                      store,
                      retry,
                      state -> {
                        calls.incrementAndGet();
                        append(event("StudentSubscribed", "course:c1", "student:rival"));
                        decided.countDown();
                        return Decision.append(
                            event("StudentSubscribed", "course:c1", "student:s1"));
                      });
                } finally {
                  interruptedAfterwards.set(Thread.interrupted());
                }
              });
      var thread = new Thread(deciding, "decider");
      thread.start();
      assertThat(decided.await(10, TimeUnit.SECONDS)).isTrue();
      // The append conflicts, then the decider pauses before retrying: interrupt it there, not in
      // another timed wait before it (a pool's, while the conflict's events are read).
      for (int i = 0; i < 500 && !pausing(thread); i++) {
        Thread.sleep(10);
      }
      int callsBeforeTheInterrupt = calls.get();
      thread.interrupt();
      Outcome<String> outcome = deciding.get(10, TimeUnit.SECONDS);
      if (callsBeforeTheInterrupt > 1) {
        return false;
      }
      assertThat(interruptedAfterwards).isTrue();
      assertThat(calls).hasValue(1);
      assertThat(outcome).isInstanceOf(Outcome.GaveUp.class);
      assertThat(outcome.conflicts()).isEqualTo(1);
      return true;
    }

    private static boolean pausing(Thread thread) {
      return thread.getState() == Thread.State.TIMED_WAITING
          && Arrays.stream(thread.getStackTrace())
              .anyMatch(
                  frame ->
                      frame.getClassName().equals(DecisionModel.class.getName())
                          && frame.getMethodName().equals("pause"));
    }

    @Test
    void whatTheDeciderThrowsEndsTheCallWithNothingAppended() {
      assertThatThrownBy(
              () ->
                  model.execute(
                      store,
                      state -> {
                        throw new IllegalStateException("no decision today");
                      }))
          .isInstanceOf(IllegalStateException.class)
          .hasMessage("no decision today");
      assertThatThrownBy(() -> model.execute(store, state -> null))
          .isInstanceOf(NullPointerException.class)
          .hasMessageContaining("return Decision.nothing() to append nothing");
      assertThat(store.head()).isEqualTo(1);
    }

    @Test
    void aDecisionToAppendNeedsEvents() {
      assertThatThrownBy(() -> Decision.append(List.of()))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("decide Decision.nothing() instead");
      assertThatThrownBy(() -> Decision.append((Event) null))
          .isInstanceOf(NullPointerException.class)
          .hasMessage("events[0] must not be null");
      assertThatThrownBy(() -> Decision.append(event("StudentSubscribed"), null))
          .isInstanceOf(NullPointerException.class)
          .hasMessage("events[1] must not be null");
      assertThatThrownBy(() -> Decision.reject(null))
          .isInstanceOf(NullPointerException.class)
          .hasMessage("reason must not be null");
    }
  }
}
