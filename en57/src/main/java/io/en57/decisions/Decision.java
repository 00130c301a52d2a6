package io.en57.decisions;

import io.en57.Event;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * What a {@link Decider} decided: {@link Append append} events, do {@link Nothing nothing}, or
 * {@link Reject reject} the command for a reason of the caller's type. Made with the static
 * factories.
 *
 * @param <R> the type of a rejection's reason
 */
public sealed interface Decision<R> {

  /** Append {@code events} (at least one), on the condition the decision model derived. */
  static <R> Decision<R> append(Event... events) {
    Objects.requireNonNull(events, "events must not be null");
    return append(Arrays.asList(events));
  }

  /** Append {@code events} (at least one), on the condition the decision model derived. */
  static <R> Decision<R> append(List<Event> events) {
    return new Append<>(events);
  }

  /** Append nothing: the command is already done, or there is nothing to do. */
  static <R> Decision<R> nothing() {
    return new Nothing<>();
  }

  /** Append nothing and report {@code reason} to the caller. */
  static <R> Decision<R> reject(R reason) {
    return new Reject<>(reason);
  }

  /**
   * Append these events.
   *
   * @param events at least one event, none null
   */
  record Append<R>(List<Event> events) implements Decision<R> {

    /** Copies the list; it must not be empty. */
    public Append {
      Objects.requireNonNull(events, "events must not be null");
      for (int i = 0; i < events.size(); i++) {
        Objects.requireNonNull(events.get(i), "events[" + i + "] must not be null");
      }
      events = List.copyOf(events);
      if (events.isEmpty()) {
        throw new IllegalArgumentException(
            "a decision to append needs at least one event; decide Decision.nothing() instead");
      }
    }
  }

  /** Append nothing. */
  record Nothing<R>() implements Decision<R> {}

  /**
   * Append nothing, for this reason.
   *
   * @param reason the caller's reason, not null
   */
  record Reject<R>(R reason) implements Decision<R> {

    /** Validates the reason. */
    public Reject {
      Objects.requireNonNull(reason, "reason must not be null");
    }
  }
}
