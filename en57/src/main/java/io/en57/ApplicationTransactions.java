package io.en57;

import java.sql.Connection;
import java.sql.SQLException;

/**
 * The application's transactions, for a store that joins them ({@link
 * EventStoreBuilder#joinTransactions}): when the calling thread runs inside a transaction on the
 * store's database, appends and reads run on that transaction's connection, exactly as through
 * {@link EventStore#onConnection}, so events commit or roll back with the application's own writes
 * and reads see the transaction's own uncommitted events; outside one, the store works on its pool
 * with group commit. A framework implements it; {@code en57-spring-boot} does for Spring's
 * transactions.
 *
 * <p>Implementations are thread-safe; each method concerns the calling thread's transaction.
 */
public interface ApplicationTransactions {

  /**
   * The connection of the calling thread's current transaction on the store's database, or null
   * when the thread runs outside one. The store runs one call on it, never commits, rolls back or
   * closes it, and then hands it to {@link #release}.
   *
   * @throws SQLException if the transaction's connection cannot be had
   */
  Connection connection() throws SQLException;

  /** Takes back a connection {@link #connection()} returned, once the store's call is done. */
  void release(Connection connection);

  /**
   * Runs {@code action} once the calling thread's current transaction has committed, and never if
   * it rolls back. The store uses it to wake its subscriptions for the events the transaction
   * appended: before the commit they may not be seen.
   */
  void afterCommit(Runnable action);
}
