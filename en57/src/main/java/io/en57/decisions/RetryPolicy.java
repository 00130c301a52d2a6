package io.en57.decisions;

import java.time.Duration;
import java.util.Objects;
import java.util.random.RandomGenerator;

/**
 * How {@link DecisionModel#execute} retries after a conflict: at most {@code maxAttempts} reads and
 * appends in all, and before each retry a pause drawn uniformly between zero and {@code
 * initialBackoff} doubled per conflict so far, capped at {@code maxBackoff} ("full jitter"), so
 * that deciders that collided do not collide again in step.
 *
 * @param maxAttempts attempts in all, at least 1 (1: no retry)
 * @param initialBackoff the bound of the first pause; zero for no pauses
 * @param maxBackoff the largest bound a pause may reach, at least {@code initialBackoff}, at most a
 *     day
 */
public record RetryPolicy(int maxAttempts, Duration initialBackoff, Duration maxBackoff) {

  /** Pauses are counted in nanoseconds, and a longer one would only be a mistake. */
  private static final Duration LONGEST_BACKOFF = Duration.ofDays(1);

  private static final RetryPolicy DEFAULTS =
      new RetryPolicy(10, Duration.ofMillis(1), Duration.ofMillis(100));

  /** Validates. */
  public RetryPolicy {
    if (maxAttempts < 1) {
      throw new IllegalArgumentException("maxAttempts must be at least 1, got " + maxAttempts);
    }
    Objects.requireNonNull(initialBackoff, "initialBackoff must not be null");
    Objects.requireNonNull(maxBackoff, "maxBackoff must not be null");
    if (initialBackoff.isNegative()) {
      throw new IllegalArgumentException("initialBackoff must not be negative");
    }
    if (maxBackoff.compareTo(initialBackoff) < 0) {
      throw new IllegalArgumentException(
          "maxBackoff (" + maxBackoff + ") must not be less than initialBackoff");
    }
    if (maxBackoff.compareTo(LONGEST_BACKOFF) > 0) {
      throw new IllegalArgumentException(
          "maxBackoff (" + maxBackoff + ") must not be longer than " + LONGEST_BACKOFF);
    }
  }

  /** 10 attempts; pauses bounded by 1 ms, doubling up to 100 ms. */
  public static RetryPolicy defaults() {
    return DEFAULTS;
  }

  /** This policy with {@code maxAttempts} attempts in all. */
  public RetryPolicy withMaxAttempts(int maxAttempts) {
    return new RetryPolicy(maxAttempts, initialBackoff, maxBackoff);
  }

  /**
   * This policy with pauses bounded by {@code initial}, doubling per conflict up to {@code max}.
   */
  public RetryPolicy withBackoff(Duration initial, Duration max) {
    return new RetryPolicy(maxAttempts, initial, max);
  }

  /** The pause before the retry that follows the {@code conflicts}-th conflict, in nanoseconds. */
  long pauseNanos(int conflicts, RandomGenerator random) {
    long bound = boundNanos(conflicts);
    return bound == 0 ? 0 : random.nextLong(bound + 1);
  }

  /** {@code initialBackoff} doubled {@code conflicts - 1} times, capped at {@code maxBackoff}. */
  long boundNanos(int conflicts) {
    long initial = initialBackoff.toNanos();
    long max = maxBackoff.toNanos();
    if (initial == 0) {
      return 0;
    }
    int doublings = Math.max(0, conflicts - 1);
    if (doublings >= Long.numberOfLeadingZeros(initial) - 1) {
      return max;
    }
    return Math.min(max, initial << doublings);
  }
}
