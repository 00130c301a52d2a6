package io.en57;

import java.util.Objects;

/**
 * An event together with its position in the store's log. Positions are positive, strictly
 * increasing in commit order, and may have gaps (an aborted append leaves one).
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
