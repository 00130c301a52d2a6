package io.en57.subscriptions;

import java.time.Duration;
import java.util.Objects;

/**
 * How often a failing handler is tried with the same events, and how long to wait in between: the
 * first wait is {@code firstBackoff}, each next one twice the previous, at most {@code maxBackoff}.
 *
 * @param attempts tries in all, the first included; 1 means no retry
 * @param firstBackoff the wait after the first failure
 * @param maxBackoff the longest wait
 */
public record Retry(int attempts, Duration firstBackoff, Duration maxBackoff) {

  /** Validates. */
  public Retry {
    if (attempts < 1) {
      throw new IllegalArgumentException("attempts must be at least 1, got " + attempts);
    }
    Objects.requireNonNull(firstBackoff, "firstBackoff must not be null");
    Objects.requireNonNull(maxBackoff, "maxBackoff must not be null");
    if (firstBackoff.isNegative() || maxBackoff.compareTo(firstBackoff) < 0) {
      throw new IllegalArgumentException(
          "backoffs must satisfy 0 <= firstBackoff <= maxBackoff, got "
              + firstBackoff
              + " and "
              + maxBackoff);
    }
  }

  /** Five attempts, waiting 100 ms, 200 ms, 400 ms and 800 ms in between (at most 10 s). */
  public static Retry defaults() {
    return new Retry(5, Duration.ofMillis(100), Duration.ofSeconds(10));
  }

  /** One attempt: the first failure is final. */
  public static Retry none() {
    return new Retry(1, Duration.ZERO, Duration.ZERO);
  }

  /** The wait after {@code failures} consecutive failures (1 for the first). */
  public Duration backoffAfter(int failures) {
    if (failures < 1) {
      throw new IllegalArgumentException("failures must be at least 1, got " + failures);
    }
    Duration wait = firstBackoff;
    for (int i = 1; i < failures && wait.compareTo(maxBackoff) < 0; i++) {
      wait = wait.multipliedBy(2);
    }
    return wait.compareTo(maxBackoff) > 0 ? maxBackoff : wait;
  }
}
