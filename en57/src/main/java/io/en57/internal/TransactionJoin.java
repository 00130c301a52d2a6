package io.en57.internal;

import io.en57.ApplicationTransactions;
import java.sql.Connection;
import java.sql.SQLException;

/**
 * Runs a store's calls inside the application's current transaction when there is one ({@link
 * ApplicationTransactions}), on the engine bound to that transaction's connection. {@link #NONE},
 * for a store that does not join, always uses the store's own engine. Thread-safe.
 */
public final class TransactionJoin {

  /** Never joins. */
  public static final TransactionJoin NONE = new TransactionJoin(null);

  /** A call of the store, on the engine it should use. */
  @FunctionalInterface
  public interface Work<T> {
    /**
     * @param joined whether {@code engine} runs inside the application's transaction
     */
    T run(Engine engine, boolean joined);
  }

  private final ApplicationTransactions transactions;

  private TransactionJoin(ApplicationTransactions transactions) {
    this.transactions = transactions;
  }

  /** Joins {@code transactions}, or never for null. */
  public static TransactionJoin of(ApplicationTransactions transactions) {
    return transactions == null ? NONE : new TransactionJoin(transactions);
  }

  /** Runs {@code work} on the caller's transaction if there is one, else on {@code engine}. */
  public <T> T run(Engine engine, Work<T> work) {
    if (transactions == null) {
      return work.run(engine, false);
    }
    Connection connection = connection();
    if (connection == null) {
      return work.run(engine, false);
    }
    try {
      return work.run(engine.onConnection(connection), true);
    } finally {
      transactions.release(connection);
    }
  }

  /** Whether the calling thread runs inside a transaction the store would join. */
  public boolean active() {
    if (transactions == null) {
      return false;
    }
    Connection connection = connection();
    if (connection == null) {
      return false;
    }
    transactions.release(connection);
    return true;
  }

  /** Runs {@code action} after the caller's transaction commits. */
  public void afterCommit(Runnable action) {
    transactions.afterCommit(action);
  }

  private Connection connection() {
    try {
      return transactions.connection();
    } catch (SQLException e) {
      throw ConnectionSource.translate(e);
    }
  }
}
