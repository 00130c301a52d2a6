package io.en57.subscriptions;

import io.en57.SequencedEvent;
import java.util.Objects;

/**
 * Thrown by a handler for an event it can never handle, however often it is tried (it breaks a rule
 * of the read model, or of a broker it is sent to). A projection built {@link
 * Projection#withDeadLetters() withDeadLetters} then applies the batch's events before it, records
 * it in the dead-letter table at once, without the retries of its {@link Retry}, and goes on with
 * the events after it. Anywhere else it is a failure like any other: retried as the projection or
 * subscription says.
 */
public class UnprocessableEventException extends RuntimeException {

  private static final long serialVersionUID = 1L;

  private final long position;

  /** {@code event} cannot be handled, for the reason {@code message} gives. */
  public UnprocessableEventException(SequencedEvent event, String message) {
    this(event, message, null);
  }

  /**
   * {@code event} cannot be handled, for the reason {@code message} gives, caused by {@code cause}.
   */
  public UnprocessableEventException(SequencedEvent event, String message, Throwable cause) {
    super(message, cause);
    this.position = Objects.requireNonNull(event, "event must not be null").position();
  }

  /** The position of the event that cannot be handled. */
  public long position() {
    return position;
  }
}
