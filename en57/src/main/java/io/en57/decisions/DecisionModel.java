package io.en57.decisions;

import io.en57.AppendResult;
import io.en57.EventStore;
import io.en57.Query;
import io.en57.Read;
import io.en57.SequencedEvent;
import io.en57.internal.ReadRoute;
import io.en57.internal.StoreAccess;
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
 *         ? Decision.append(Event.of("StudentSubscribed").withTags("course:c1", "student:s1"))
 *         : Decision.reject("course full"));
 * }</pre>
 *
 * <p>A projection made with {@link DecisionProjection#lastEventOnly()} is read on its own, newest
 * event first, limit 1. When a model needs more than one read, it first reads the store's head and
 * takes into account only events up to it, so that all reads describe the same log and the
 * condition, {@code after} the head, covers everything they did not see.
 *
 * <p>On a store with replicas its reads go to the primary, unless {@link #readingFromReplicas()}
 * says otherwise.
 *
 * <p>Immutable and thread-safe if its projections are.
 */
public final class DecisionModel {

  private final List<DecisionProjection<?>> projections;
  private final Query query;
  private final Query foldedQuery;
  private final List<Integer> folded;
  private final List<Integer> lastEventOnly;
  private final boolean onReplicas;

  private DecisionModel(List<DecisionProjection<?>> projections, boolean onReplicas) {
    this.projections = projections;
    this.onReplicas = onReplicas;
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
    return new DecisionModel(List.copyOf(list), false);
  }

  /**
   * This model reading from the store's replicas ({@link io.en57.EventStoreBuilder#replica}) rather
   * than the primary, in {@link #read} and {@link #execute}: its folded read, its last-event-only
   * reads and, in a model of several reads, the head read first. On a store without replicas it
   * reads as this model does.
   *
   * <p>A decision stays safe: the append checks the condition on the primary, so a replica behind
   * the primary can only make the append fail with a conflict, never let it succeed on a state that
   * missed an event. The cost is those conflicts while a replica lags, each a read and a decision
   * again in {@link #execute}. After a conflict, {@code execute} reads a replica that has replayed
   * at least the conflicting events ({@link Read#atLeast}), so it never decides twice on the state
   * that failed: it waits for one as a read-your-writes read does, then reads the primary or throws
   * {@link io.en57.ReplicaBehindException}, as {@link io.en57.EventStoreBuilder#readYourWrites}
   * configured.
   *
   * <p>A model of several reads takes the head of the source its first read goes to (a replica, or
   * the primary when none is usable), and reads the rest where at least that head has been replayed
   * (the primary holds it anyway): every read sees every event up to the head, whichever replica
   * serves it, so the reads agree on one log and the condition, {@code after} that head, covers
   * whatever they did not take into account. The primary's head would not do: a replica behind it
   * lacks events the condition would then ignore.
   */
  public DecisionModel readingFromReplicas() {
    return onReplicas ? this : new DecisionModel(projections, true);
  }

  /** The union of the projections' queries, identical criteria merged: the condition's query. */
  public Query query() {
    return query;
  }

  /**
   * Reads the projections' states from {@code store}, with the condition that protects them. On a
   * store with replicas these reads go to the primary, with the head they agree on, so the state is
   * as fresh as the append that follows can be; after {@link #readingFromReplicas()}, to replicas.
   */
  public DecisionState read(EventStore store) {
    Objects.requireNonNull(store, "store must not be null");
    return read(store, 0);
  }

  /**
   * {@link #read(EventStore)}; reading replicas, only those that have replayed up to {@code
   * atLeast}.
   */
  private DecisionState read(EventStore store, long atLeast) {
    Object[] states = new Object[projections.size()];
    for (int i = 0; i < states.length; i++) {
      states[i] = projections.get(i).initialState();
    }
    if (lastEventOnly.isEmpty()) {
      return new DecisionState(this, states, fold(store, states, atLeast, Long.MAX_VALUE));
    }
    if (folded.isEmpty() && lastEventOnly.size() == 1) {
      int index = lastEventOnly.get(0);
      Optional<SequencedEvent> last = scope(store, projections.get(index).query(), atLeast).last();
      last.ifPresent(event -> states[index] = apply(index, states[index], event));
      return new DecisionState(this, states, last.map(SequencedEvent::position).orElse(0L));
    }
    // Several reads: each sees every event up to the head read first (positions follow commit
    // order, and every read is of a source that has replayed up to that head), so taking only
    // those into account makes the reads agree.
    long head =
        StoreAccess.head(store, onReplicas ? new ReadRoute(false, atLeast) : ReadRoute.PRIMARY);
    if (!folded.isEmpty()) {
      fold(store, states, head, head);
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
   * retry.maxAttempts()} times in all. In a transaction of the application's that the store joins,
   * or on the application's connection ({@code onConnection}) outside autocommit, it does not
   * pause: the failed append holds the append lock until that transaction ends, so nothing can
   * conflict meanwhile and a pause would stall every writer. If the thread is interrupted during a
   * pause, it gives up at once, with the interrupt flag set.
   *
   * @throws RuntimeException whatever the decider, a handler or the store throws; an {@link
   *     io.en57.En57StorageException} from the append leaves its outcome unknown
   */
  public <R> Outcome<R> execute(EventStore store, RetryPolicy retry, Decider<R> decider) {
    Objects.requireNonNull(store, "store must not be null");
    Objects.requireNonNull(retry, "retry must not be null");
    Objects.requireNonNull(decider, "decider must not be null");
    long atLeast = 0;
    for (int conflicts = 0; ; ) {
      DecisionState state = read(store, atLeast);
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
        return new Outcome.Appended<>(success.position(), success.replayed(), conflicts);
      }
      var failure = (AppendResult.Failure) result;
      conflicts++;
      if (conflicts >= retry.maxAttempts()) {
        return new Outcome.GaveUp<>(conflicts, failure);
      }
      // In the application's transaction the failed append holds the append lock until that
      // transaction ends: no one can append meanwhile, so a pause would only stall every writer.
      if (!StoreAccess.appendsInCallersTransaction(store) && !pause(retry, conflicts)) {
        return new Outcome.GaveUp<>(conflicts, failure);
      }
      // Reading replicas, the next read covers at least the events that conflicted, so it cannot
      // decide again on the state that failed, however far the replica lags: a healthy replica has
      // usually replayed them during the pause, and one that cannot within the store's
      // read-your-writes wait is the case that wait is configured for. Retrying on the primary
      // instead would move exactly the contended decisions, a steady load, back onto it.
      atLeast = failure.position();
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
  private long fold(EventStore store, Object[] states, long atLeast, long head) {
    long reached = 0;
    try (Stream<SequencedEvent> events = scope(store, foldedQuery, atLeast).sequenced()) {
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
  private Optional<SequencedEvent> lastUpTo(EventStore store, Query query, long head) {
    Optional<SequencedEvent> last = scope(store, query, head).last();
    if (last.isEmpty() || last.get().position() <= head) {
      return last;
    }
    // Events were appended since the head was read: look further back.
    try (Stream<SequencedEvent> newestFirst = scope(store, query, head).backwards().sequenced()) {
      return newestFirst.filter(event -> event.position() <= head).findFirst();
    }
  }

  /**
   * A read of {@code query} on the primary; reading replicas, on one that has replayed up to {@code
   * atLeast}.
   */
  private Read scope(EventStore store, Query query, long atLeast) {
    return onReplicas ? store.read(query).atLeast(atLeast) : store.read(query).fromPrimary();
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
    return "DecisionModel" + projections + (onReplicas ? " reading from replicas" : "");
  }
}
