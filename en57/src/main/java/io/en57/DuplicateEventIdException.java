package io.en57;

import java.util.UUID;

/**
 * An append was refused because an event with the same id is already stored. Nothing of that append
 * was written. Appending the same event twice is how a retried request shows up, so this usually
 * means "already done".
 */
public final class DuplicateEventIdException extends En57Exception {

  private final UUID eventId;

  /** The id that is already stored. */
  public DuplicateEventIdException(UUID eventId) {
    super("an event with id " + eventId + " is already stored; nothing was appended");
    this.eventId = eventId;
  }

  /** The id that is already stored. */
  public UUID eventId() {
    return eventId;
  }
}
