package io.en57;

import java.util.List;
import java.util.Objects;

/**
 * The outcome of an append: {@link Success} or {@link Failure}. A Failure is only ever a real
 * conflict with the append's condition; infrastructure problems are thrown as exceptions.
 *
 * <pre>{@code
 * switch (store.append(events, condition)) {
 *   case AppendResult.Success(var position, var replayed) -> ...;
 *   case AppendResult.Failure(var position, var conflicts) -> ...;
 * }
 * }</pre>
 */
public sealed interface AppendResult {

  /** The position of the last stored event (Success) or of the latest conflicting one (Failure). */
  long position();

  /**
   * All events of the append are stored, contiguous in position.
   *
   * @param position the position of the last event appended
   * @param replayed true when this append repeated one already stored (same event ids, in the same
   *     order, with the same content): nothing new was written, and this is the original outcome.
   *     That is how a caller who lost the answer to an append learns it by retrying it.
   */
  record Success(long position, boolean replayed) implements AppendResult {

    /** A success of an append stored now. */
    public Success(long position) {
      this(position, false);
    }
  }

  /**
   * Nothing was stored because events matching the condition exist after its {@code after}.
   *
   * @param position the position of the latest conflicting event; {@code
   *     condition.after(failure.position())} is the natural retry after re-reading
   * @param conflictingEvents the conflicting events in position order: all of them, or the newest
   *     {@value EventStore#MAX_CONFLICTING_EVENTS} when there are more
   */
  record Failure(long position, List<SequencedEvent> conflictingEvents) implements AppendResult {

    /** Copies the list; it must not be empty. */
    public Failure {
      conflictingEvents =
          List.copyOf(Objects.requireNonNull(conflictingEvents, "conflictingEvents"));
      if (conflictingEvents.isEmpty()) {
        throw new IllegalArgumentException("a Failure carries at least one conflicting event");
      }
    }
  }
}
