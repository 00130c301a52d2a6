package io.en57.internal;

import java.sql.Connection;

/**
 * Lets the caller of a read that runs on another thread stop it in the database, for example when
 * the caller closes a stream whose next batch is being fetched ahead. Thread-safe.
 */
public final class Cancellation {

  /** For work that is never cancelled; it takes no lock. */
  static final Cancellation NONE = new Cancellation();

  private Connection running;
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

  void ended() {
    if (this != NONE) {
      end();
    }
  }

  private synchronized void cancelRunning() {
    cancelled = true;
    if (running != null) {
      ConnectionSource.cancel(running);
    }
  }

  private synchronized void start(Connection connection) {
    if (cancelled) {
      throw new IllegalStateException("the read was closed by its caller");
    }
    running = connection;
  }

  private synchronized void end() {
    running = null;
  }
}
