package io.en57.subscriptions;

import java.time.Instant;
import java.util.Objects;
import java.util.UUID;

/**
 * An event a projection skipped because its handler kept failing on it (only projections built
 * {@link Projection#withDeadLetters() withDeadLetters} skip events).
 *
 * @param projection the projection's name
 * @param segment the segment that skipped it
 * @param position the event's position
 * @param eventId the event's id
 * @param error the handler's last exception, as text
 * @param recordedAt when it was skipped
 */
public record DeadLetter(
    String projection, int segment, long position, UUID eventId, String error, Instant recordedAt) {

  /** Validates. */
  public DeadLetter {
    Objects.requireNonNull(projection, "projection must not be null");
    Objects.requireNonNull(eventId, "eventId must not be null");
    Objects.requireNonNull(error, "error must not be null");
    Objects.requireNonNull(recordedAt, "recordedAt must not be null");
  }
}
