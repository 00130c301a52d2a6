package io.en57.internal;

import java.time.Duration;

/**
 * How long the PostgreSQL engine waits.
 *
 * @param lock the longest an append waits for the append lock in the database
 * @param query the longest one database call may run, on top of any wait for the append lock; past
 *     it the server cancels the call
 */
public record Timeouts(Duration lock, Duration query) {

  /** Extra time for the network on top of the longest call, before a silent server is given up. */
  private static final Duration NETWORK_GRACE = Duration.ofSeconds(5);

  /** The server-side limit of an append call, in whole seconds (JDBC's unit). */
  int appendSeconds() {
    return seconds(lock.plus(query));
  }

  /** The server-side limit of any other call, in whole seconds. */
  int querySeconds() {
    return seconds(query);
  }

  /**
   * How long a connection waits for the server to answer before it is closed as broken: longer than
   * any call may legitimately run, so only a server that stopped answering (frozen, or cut off by
   * the network) reaches it.
   */
  int networkMillis() {
    return (int) Math.min(Integer.MAX_VALUE, lock.plus(query).plus(NETWORK_GRACE).toMillis());
  }

  private static int seconds(Duration duration) {
    long seconds = duration.toSeconds() + (duration.toNanosPart() > 0 ? 1 : 0);
    return (int) Math.min(Integer.MAX_VALUE, Math.max(1, seconds));
  }
}
