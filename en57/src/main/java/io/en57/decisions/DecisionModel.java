package io.en57.decisions;

import io.en57.AppendResult;
import io.en57.EventStore;
import io.en57.Query;
import io.en57.SequencedEvent;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Several {@link DecisionProjection}s read together for one decision, and the append condition that
 * protects it. {@link #read} reads the union of the projections' queries once (identical criteria
 * merged), folds each event into the projections it matches, and derives the condition from the
 * same union and the position the read reached; {@link #execute} adds the decision and the append,
 * and after a conflict reads and decides again.
 *
 * <pre>{@code
 * DecisionModel model = DecisionModel.of(capacity, subscriptions);
 * Outcome<String> outcome = model.execute(store, state ->
 *     state.get(subscriptions) < state.get(capacity)
 *         ? Decision.append(subscribed)
 *         : Decision.reject("course full"));
 * }</pre>
 *
 * <p>A projection made with {@link DecisionProjection#lastEventOnly()} is read on its own, newest
 * event first, limit 1. When a model needs more than one read, it first reads the store's head and
 * takes into account only events up to it, so that all reads describe the same log and the
 * condition, {@code after} the head, covers everything they did not see.
 *
 * <p>Immutable and thread-safe if its projections are.
 */
public final class DecisionModel {

  private final List<DecisionProjection<?>> projections;
  private final Query query;
  private final Query foldedQuery;
  private final List<Integer> folded;
  private final List<Integer> lastEventOnly;

  private DecisionModel(List<DecisionProjection<?>> projections) {
    this.projections = projections;
    var folded = new ArrayList<Integer>();
    var lastEventOnly = new ArrayList<Integer>();
    for (int i = 0; i < projections.size(); i++) {
      (projections.get(i).readsLastEventOnly() ? lastEventOnly : folded).add(i);
    }
    this.folded = List.copyOf(folded);
    this.lastEventOnly = List.copyOf(lastEventOnly);
    this.query = union(projections);
    this.foldedQuery =
        folded.isEmpty() ? null : union(folded.stream().map(projections::get).toList());
  }

  /**
   * A model of {@code projections}, each with at least one handler and each given once.
   *
   * @throws IllegalArgumentException for none, or one given twice
   * @throws IllegalStateException for a projection without a handler
   */
  public static DecisionModel of(DecisionProjection<?>... projections) {
    Objects.requireNonNull(projections, "projections must not be null");
    if (projections.length == 0) {
      throw new IllegalArgumentException("a decision model needs at least one projection");
    }
    var list = new ArrayList<DecisionProjection<?>>();
    for (int i = 0; i < projections.length; i++) {
      DecisionProjection<?> projection =
          Objects.requireNonNull(projections[i], "projections[" + i + "] must not be null");
      for (int j = 0; j < i; j++) {
        if (projections[j] == projection) {
          throw new IllegalArgumentException(
              "projections[" + i + "] is projections[" + j + "] again: " + projection);
        }
      }
      projection.query(); // a projection without handlers fails here, not at the first read
      list.add(projection);
    }
    return new DecisionModel(List.copyOf(list));
  }

  /** The union of the projections' queries, identical criteria merged: the condition's query. */
  public Query query() {
    return query;
  }

  /**
   * Reads the projections' states from {@code store}, with the condition that protects them. On a
   * store with replicas these reads go to the primary, with the head they agree on, so the state is
   * as fresh as the append that follows can be.
   */
  public DecisionState read(EventStore store) {
    Objects.requireNonNull(store, "store must not be null");
    Object[] states = new Object[projections.size()];
    for (int i = 0; i < states.length; i++) {
      states[i] = projections.get(i).initialState();
    }
    if (lastEventOnly.isEmpty()) {
      return new DecisionState(this, states, fold(store, states, Long.MAX_VALUE));
    }
    if (folded.isEmpty() && lastEventOnly.size() == 1) {
      int index = lastEventOnly.get(0);
      Optional<SequencedEvent> last =
          store.read(projections.get(index).query()).fromPrimary().last();
      last.ifPresent(event -> states[index] = apply(index, states[index], event));
      return new DecisionState(this, states, last.map(SequencedEvent::position).orElse(0L));
    }
    // Several reads: each sees every event up to the head read first (positions follow commit
    // order), so taking only those into account makes the reads agree.
    long head = store.head();
    if (!folded.isEmpty()) {
      fold(store, states, head);
    }
    for (int index : lastEventOnly) {
      lastUpTo(store, projections.get(index).query(), head)
          .ifPresent(event -> states[index] = apply(index, states[index], event));
    }
    return new DecisionState(this, states, head);
  }

  /**
   * Reads, decides and appends under the {@link DecisionState#condition()} of the read, with {@link
   * RetryPolicy#defaults()}: after a conflict, reads and decides again.
   *
   * @throws RuntimeException whatever the decider, a handler or the store throws; an {@link
   *     io.en57.En57StorageException} from the append leaves its outcome unknown
   */
  public <R> Outcome<R> execute(EventStore store, Decider<R> decider) {
    return execute(store, RetryPolicy.defaults(), decider);
  }

  /**
   * Reads, decides and appends under the {@link DecisionState#condition()} of the read; after a
   * conflict, pauses as {@code retry} says, reads and decides again, at most {@code
   * retry.maxAttempts()} times in all. If the thread is interrupted during a pause, it gives up at
   * once, with the interrupt flag set.
   *
   * @throws RuntimeException whatever the decider, a handler or the store throws; an {@link
   *     io.en57.En57StorageException} from the append leaves its outcome unknown
   */
  public <R> Outcome<R> execute(EventStore store, RetryPolicy retry, Decider<R> decider) {
    Objects.requireNonNull(store, "store must not be null");
    Objects.requireNonNull(retry, "retry must not be null");
    Objects.requireNonNull(decider, "decider must not be null");
    for (int conflicts = 0; ; ) {
      DecisionState state = read(store);
      Decision<R> decision =
          Objects.requireNonNull(
              decider.decide(state),
              "the decider returned null; return Decision.nothing() to append nothing");
      if (decision instanceof Decision.Reject<R> reject) {
        return new Outcome.Rejected<>(reject.reason(), conflicts);
      }
      if (decision instanceof Decision.Nothing<R>) {
        return new Outcome.NothingToAppend<>(conflicts);
      }
      var append = (Decision.Append<R>) decision;
      AppendResult result = store.append(append.events(), state.condition());
      if (result instanceof AppendResult.Success success) {
        return new Outcome.Appended<>(success.position(), conflicts);
      }
      conflicts++;
      if (conflicts >= retry.maxAttempts() || !pause(retry, conflicts)) {
        return new Outcome.GaveUp<>(conflicts, (AppendResult.Failure) result);
      }
    }
  }

  int indexOf(DecisionProjection<?> projection) {
    for (int i = 0; i < projections.size(); i++) {
      if (projections.get(i) == projection) {
        return i;
      }
    }
    throw new IllegalArgumentException(
        projection + " is not part of this decision model; pass it to DecisionModel.of");
  }

  DecisionProjection<?> projection(int index) {
    return projections.get(index);
  }

  /**
   * Folds the events of the folded projections' union, up to {@code head}, into their states;
   * returns the last position seen, 0 for none.
   */
  private long fold(EventStore store, Object[] states, long head) {
    long reached = 0;
    try (Stream<SequencedEvent> events = store.read(foldedQuery).fromPrimary().sequenced()) {
      Iterator<SequencedEvent> iterator = events.iterator();
      while (iterator.hasNext()) {
        SequencedEvent event = iterator.next();
        if (event.position() > head) {
          break;
        }
        for (int index : folded) {
          if (projections.get(index).query().matches(event)) {
            states[index] = apply(index, states[index], event);
          }
        }
        reached = event.position();
      }
    }
    return reached;
  }

  /** The newest event of {@code query} at or before {@code head}: usually one indexed lookup. */
  private static Optional<SequencedEvent> lastUpTo(EventStore store, Query query, long head) {
    Optional<SequencedEvent> last = store.read(query).fromPrimary().last();
    if (last.isEmpty() || last.get().position() <= head) {
      return last;
    }
    // Events were appended since the head was read: look further back.
    try (Stream<SequencedEvent> newestFirst =
        store.read(query).fromPrimary().backwards().sequenced()) {
      return newestFirst.filter(event -> event.position() <= head).findFirst();
    }
  }

  @SuppressWarnings("unchecked") // the state at an index is always of that projection's type
  private Object apply(int index, Object state, SequencedEvent event) {
    return ((DecisionProjection<Object>) projections.get(index)).apply(state, event.event());
  }

  /** Sleeps before a retry; false if interrupted. */
  private static boolean pause(RetryPolicy retry, int conflicts) {
    long nanos = retry.pauseNanos(conflicts, ThreadLocalRandom.current());
    if (nanos > 0) {
      try {
        TimeUnit.NANOSECONDS.sleep(nanos);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }
    return true;
  }

  private static Query union(List<DecisionProjection<?>> projections) {
    var criteria = new LinkedHashSet<Query.Criterion>();
    for (DecisionProjection<?> projection : projections) {
      criteria.addAll(projection.query().criteria());
    }
    return new Query(List.copyOf(criteria));
  }

  @Override
  public String toString() {
    return "DecisionModel" + projections;
  }
}
