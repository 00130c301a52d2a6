package io.en57;

/**
 * What a read asked to see a position ({@link Read#atLeast}) does when no replica reaches it within
 * the wait set by {@link EventStoreBuilder#readYourWrites}.
 */
public enum ReplicaFallback {
  /** Reads the primary, which holds every committed event. */
  PRIMARY,
  /** Fails with {@link ReplicaBehindException}, leaving the primary alone. */
  FAIL
}
