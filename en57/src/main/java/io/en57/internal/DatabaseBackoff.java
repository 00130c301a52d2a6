package io.en57.internal;

import io.en57.subscriptions.Retry;
import java.time.Duration;

/**
 * How followers of the log (push subscriptions, projection segments) wait after the database failed
 * them: 100 ms, doubling up to 5 s, for as long as it fails. The follower's own {@link Retry} is
 * for its handler, and one of no attempts would make an outage a busy loop.
 */
final class DatabaseBackoff {

  private static final Retry SCHEDULE =
      new Retry(Integer.MAX_VALUE, Duration.ofMillis(100), Duration.ofSeconds(5));

  private DatabaseBackoff() {}

  /** The wait after {@code failures} consecutive failures (1 for the first). */
  static Duration after(int failures) {
    return SCHEDULE.backoffAfter(failures);
  }
}
