package io.en57.observation;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * How an append ended.
 *
 * @param outcome stored, refused by its condition, or failed with an exception
 * @param duration from the call to its return, waiting for a group and for the append lock included
 * @param error the exception the append threw, for {@link Outcome#ERROR}
 */
public record AppendEnded(Outcome outcome, Duration duration, Optional<Throwable> error) {

  /** What came of an append. */
  public enum Outcome {
    /** The events were stored. */
    SUCCESS,
    /** The condition matched a stored event; nothing was stored. */
    CONFLICT,
    /** The append threw an exception (see {@link AppendEnded#error()}). */
    ERROR
  }

  /** Validates. */
  public AppendEnded {
    Objects.requireNonNull(outcome, "outcome must not be null");
    Objects.requireNonNull(duration, "duration must not be null");
    Objects.requireNonNull(error, "error must not be null");
    if (error.isPresent() != (outcome == Outcome.ERROR)) {
      throw new IllegalArgumentException("an error comes with outcome ERROR, and only then");
    }
  }
}
