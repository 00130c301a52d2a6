package io.en57.decisions;

import io.en57.Event;
import io.en57.Query;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.BiFunction;

/**
 * A typed projection for a decision: an initial state and, per event type, a function from the
 * state and an event of that type to the next state; optionally tags every event must carry. Its
 * {@link #query() query} follows from them: the handled types, with all the tags. A projection
 * cannot read events it has no handler for, nor miss events of a type it handles.
 *
 * <pre>{@code
 * DecisionProjection<Integer> subscriptions =
 *     DecisionProjection.startingWith(0)
 *         .on("StudentSubscribed", (count, event) -> count + 1)
 *         .withTag("course:c1");
 * }</pre>
 *
 * <p>Combine projections with {@link DecisionModel#of}. States should be immutable values: the
 * initial state is the start of every read, so a handler must return a new state rather than change
 * the one it gets. Handlers run again on every read, so they should have no side effects.
 *
 * <p>Immutable: every method returns a new projection. Thread-safe if its handlers are.
 *
 * @param <S> the state's type
 */
public final class DecisionProjection<S> {

  private final S initialState;
  private final Map<String, BiFunction<S, Event, S>> handlers;
  private final Set<String> tags;
  private final boolean lastEventOnly;
  private final Query query;

  private DecisionProjection(
      S initialState,
      Map<String, BiFunction<S, Event, S>> handlers,
      Set<String> tags,
      boolean lastEventOnly) {
    this.initialState = initialState;
    this.handlers = handlers;
    this.tags = tags;
    this.lastEventOnly = lastEventOnly;
    this.query =
        handlers.isEmpty()
            ? null
            : new Query(List.of(new Query.Criterion(handlers.keySet(), tags, 0)));
  }

  /**
   * A projection with no handlers yet, whose state starts as {@code initialState} (not null: use
   * {@code Optional.empty()} or a record for "nothing yet").
   */
  public static <S> DecisionProjection<S> startingWith(S initialState) {
    Objects.requireNonNull(
        initialState,
        "initialState must not be null; use Optional.empty() or a record for 'nothing yet'");
    return new DecisionProjection<>(initialState, Map.of(), Set.of(), false);
  }

  /**
   * This projection also reading events of {@code type}, each turned into the next state by {@code
   * apply(state, event)}, which must not return null.
   *
   * @throws IllegalArgumentException if the type is blank or already has a handler
   */
  public DecisionProjection<S> on(String type, BiFunction<S, Event, S> apply) {
    Objects.requireNonNull(type, "type must not be null");
    Objects.requireNonNull(apply, "apply must not be null");
    if (type.isBlank()) {
      throw new IllegalArgumentException("type must not be blank");
    }
    if (handlers.containsKey(type)) {
      throw new IllegalArgumentException("this projection already has a handler for " + type);
    }
    var more = new LinkedHashMap<>(handlers);
    more.put(type, apply);
    return new DecisionProjection<>(
        initialState, Collections.unmodifiableMap(more), tags, lastEventOnly);
  }

  /**
   * This projection also reading events of {@code type}, whose data is an instance of {@code
   * payloadClass} (the class registered for the type with {@code EventStoreBuilder.register}), each
   * turned into the next state by {@code apply(state, payload)}.
   *
   * @throws IllegalArgumentException if the type is blank or already has a handler
   */
  public <P> DecisionProjection<S> on(
      String type, Class<P> payloadClass, BiFunction<S, P, S> apply) {
    Objects.requireNonNull(payloadClass, "payloadClass must not be null");
    Objects.requireNonNull(apply, "apply must not be null");
    return on(type, (state, event) -> apply.apply(state, payload(event, payloadClass)));
  }

  /** This projection reading only events that carry all of {@code tags} (and earlier ones). */
  public DecisionProjection<S> withTag(String... tags) {
    Objects.requireNonNull(tags, "tags must not be null");
    if (tags.length == 0) {
      throw new IllegalArgumentException("at least one tag is required");
    }
    var more = new LinkedHashSet<>(this.tags);
    for (String tag : Arrays.asList(tags)) {
      Objects.requireNonNull(tag, "tag must not be null");
      if (tag.isBlank()) {
        throw new IllegalArgumentException("tag must not be blank");
      }
      more.add(tag);
    }
    return new DecisionProjection<>(
        initialState, handlers, Collections.unmodifiableSet(more), lastEventOnly);
  }

  /**
   * This projection folding only the newest matching event into the initial state, read as one
   * indexed lookup (newest first, limit 1) however many events match. The append condition still
   * covers the whole {@link #query()}: an event of it stored after the read makes the append fail.
   */
  public DecisionProjection<S> lastEventOnly() {
    return new DecisionProjection<>(initialState, handlers, tags, true);
  }

  /**
   * The events this projection reads: one criterion of the handled types and all the tags.
   *
   * @throws IllegalStateException if no handler was added
   */
  public Query query() {
    if (query == null) {
      throw new IllegalStateException(
          "a projection needs at least one handler: add on(type, ...) to " + this);
    }
    return query;
  }

  S initialState() {
    return initialState;
  }

  boolean readsLastEventOnly() {
    return lastEventOnly;
  }

  /** The next state after {@code event}, which matches this projection's query. */
  S apply(S state, Event event) {
    BiFunction<S, Event, S> handler = handlers.get(event.type());
    S next = handler.apply(state, event);
    if (next == null) {
      throw new NullPointerException(
          "the handler for " + event.type() + " of " + this + " returned null");
    }
    return next;
  }

  private static <P> P payload(Event event, Class<P> payloadClass) {
    if (!payloadClass.isInstance(event.data())) {
      throw new IllegalStateException(
          "a handler of "
              + event.type()
              + " expects a "
              + payloadClass.getName()
              + " payload but got a "
              + event.data().getClass().getName()
              + ": register the type with EventStoreBuilder.register(\""
              + event.type()
              + "\", "
              + payloadClass.getSimpleName()
              + ".class)");
    }
    return payloadClass.cast(event.data());
  }

  @Override
  public String toString() {
    return "DecisionProjection[types="
        + handlers.keySet()
        + ", tags="
        + tags
        + (lastEventOnly ? ", last event only" : "")
        + "]";
  }
}
