package io.en57.observation;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * How fetching one page of a read ended.
 *
 * @param events how many events the page holds (0 when it failed)
 * @param duration from the request to the page's arrival
 * @param error the exception the fetch failed with, if it did
 */
public record ReadEnded(int events, Duration duration, Optional<Throwable> error) {

  /** Validates. */
  public ReadEnded {
    if (events < 0) {
      throw new IllegalArgumentException("events must not be negative, got " + events);
    }
    Objects.requireNonNull(duration, "duration must not be null");
    Objects.requireNonNull(error, "error must not be null");
  }
}
