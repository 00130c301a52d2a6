package io.en57.internal;

import java.sql.Connection;
import java.util.HashSet;
import java.util.Set;

/**
 * Lets the caller of a read that runs on other threads stop it in the database, for example when
 * the caller closes a stream whose next batches are being fetched ahead. Thread-safe.
 */
public final class Cancellation {

  /** For work that is never cancelled; it takes no lock. */
  static final Cancellation NONE = new Cancellation();

  /** Where the work runs now: a read of the whole log fetches two batches side by side. */
  private final Set<Connection> running = new HashSet<>();

  private boolean cancelled;

  /** Cancels the work running now, if any; work started afterwards fails at once. */
  public void cancel() {
    if (this != NONE) {
      cancelRunning();
    }
  }

  /** Whether {@link #cancel()} was called: work failing afterwards failed because of it. */
  public synchronized boolean cancelled() {
    return cancelled;
  }

  void started(Connection connection) {
    if (this != NONE) {
      start(connection);
    }
  }

  void ended(Connection connection) {
    if (this != NONE) {
      end(connection);
    }
  }

  private synchronized void cancelRunning() {
    cancelled = true;
    running.forEach(ConnectionSource::cancel);
  }

  private synchronized void start(Connection connection) {
    if (cancelled) {
      throw new IllegalStateException("the read was closed by its caller");
    }
    running.add(connection);
  }

  private synchronized void end(Connection connection) {
    running.remove(connection);
  }
}
