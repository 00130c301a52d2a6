package io.en57.subscriptions;

import java.util.Objects;

/**
 * How a subscription reads and delivers.
 *
 * @param batchSize the most events in one batch (one keyset read); 1,000 by default
 * @param retry how a push subscription retries a batch its handler failed on before it stops
 */
public record SubscriptionOptions(int batchSize, Retry retry) {

  /** Validates. */
  public SubscriptionOptions {
    if (batchSize < 1) {
      throw new IllegalArgumentException("batchSize must be positive, got " + batchSize);
    }
    Objects.requireNonNull(retry, "retry must not be null");
  }

  /** Batches of 1,000 events, {@link Retry#defaults()}. */
  public static SubscriptionOptions defaults() {
    return new SubscriptionOptions(1_000, Retry.defaults());
  }

  /** These options with another batch size. */
  public SubscriptionOptions withBatchSize(int batchSize) {
    return new SubscriptionOptions(batchSize, retry);
  }

  /** These options with another retry policy. */
  public SubscriptionOptions withRetry(Retry retry) {
    return new SubscriptionOptions(batchSize, retry);
  }
}
