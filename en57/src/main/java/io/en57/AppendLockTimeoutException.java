package io.en57;

/**
 * An append waited longer than the store's lock timeout for the append lock, and nothing was
 * written. The lock is held by another append, usually one running inside a long application
 * transaction ({@link EventStore#onConnection}). On the caller's own connection PostgreSQL has also
 * aborted the caller's transaction, which must be rolled back.
 */
public final class AppendLockTimeoutException extends En57Exception {

  /** An exception wrapping the database's lock timeout error. */
  public AppendLockTimeoutException(String message, Throwable cause) {
    super(message, cause);
  }
}
