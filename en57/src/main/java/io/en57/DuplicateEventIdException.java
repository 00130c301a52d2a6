package io.en57;

import java.util.UUID;

/**
 * An append was refused because an event with one of its ids is already stored, and the append is
 * not a retry of the append that stored it. Nothing of it was written. (A retry, repeating the
 * stored events exactly, in order, gets the original {@link AppendResult.Success} instead, with
 * {@code replayed} set.) The message names the first event that differs and how.
 */
public final class DuplicateEventIdException extends En57Exception {

  private final UUID eventId;

  /** The id that is already stored. */
  public DuplicateEventIdException(UUID eventId) {
    this(eventId, "an event with id " + eventId + " is already stored; nothing was appended");
  }

  /** The id that is already stored, and what makes the append differ from the stored one. */
  public DuplicateEventIdException(UUID eventId, String message) {
    super(message);
    this.eventId = eventId;
  }

  /** The first id of the append that is stored but does not repeat the stored append. */
  public UUID eventId() {
    return eventId;
  }
}
