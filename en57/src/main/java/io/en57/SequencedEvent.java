package io.en57;

import java.util.Objects;

/**
 * An event together with its position in the store's log. Positions are positive and dense: the log
 * holds every position from 1 to its head, in commit order (each append takes the positions after
 * the head under the append lock, so an aborted append leaves no gap).
 *
 * @param position the event's position in the log
 * @param event the event
 */
public record SequencedEvent(long position, Event event) {

  /** Validates the position and the event. */
  public SequencedEvent {
    if (position <= 0) {
      throw new IllegalArgumentException("position must be positive, got " + position);
    }
    Objects.requireNonNull(event, "event must not be null");
  }
}
