package io.en57.subscriptions;

import io.en57.SequencedEvent;
import java.util.List;
import java.util.Objects;

/**
 * What a subscription delivers at a time: the next matching events, in position order, and how far
 * the subscription has read.
 *
 * @param events the matching events after the previous batch's position, ascending; empty when the
 *     log moved on without a matching event, or when nothing new arrived in time
 * @param position every matching event up to this position has been delivered, in this batch or an
 *     earlier one; it is at least the last event's position and may be beyond it when the log holds
 *     newer events that do not match. This is the checkpoint to resume from
 * @param caughtUp whether this batch reached the head of the log as it was when it was read
 */
public record Batch(List<SequencedEvent> events, long position, boolean caughtUp) {

  /** Validates and copies. */
  public Batch {
    events = List.copyOf(Objects.requireNonNull(events, "events must not be null"));
    if (position < 0) {
      throw new IllegalArgumentException("position must not be negative, got " + position);
    }
    if (!events.isEmpty() && events.get(events.size() - 1).position() > position) {
      throw new IllegalArgumentException(
          "position " + position + " is before the batch's last event");
    }
  }

  /** Whether the batch holds no event. */
  public boolean isEmpty() {
    return events.isEmpty();
  }
}
