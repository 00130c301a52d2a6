package io.en57.spring;

import io.en57.ApplicationTransactions;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Objects;
import javax.sql.DataSource;
import org.springframework.jdbc.datasource.ConnectionHolder;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.jdbc.datasource.DataSourceUtils;
import org.springframework.transaction.support.TransactionSynchronization;
import org.springframework.transaction.support.TransactionSynchronizationManager;

/**
 * Spring-managed transactions for a store that joins them: inside a transaction that holds a
 * connection of {@code dataSource} ({@code @Transactional} or {@code TransactionTemplate} with a
 * {@code DataSourceTransactionManager}, a {@code JpaTransactionManager} or a {@code
 * JdbcTransactionManager} on that DataSource), the store appends and reads on that connection;
 * outside one, or inside a transaction of another resource (even where a {@code JdbcTemplate} bound
 * a connection of {@code dataSource} to it, which no transaction manager commits), it uses its
 * pool. A transaction manager set to {@code SYNCHRONIZATION_NEVER} is joined too; the store's
 * subscriptions then see a joined append within their poll interval rather than at its commit.
 *
 * <pre>{@code
 * EventStore store = EventStore.builder()
 *     .joinTransactions(new SpringTransactions(dataSource))
 *     .forDataSource(dataSource);
 * }</pre>
 *
 * <p>The auto-configuration sets this up. Thread-safe.
 */
public final class SpringTransactions implements ApplicationTransactions {

  private final DataSource dataSource;
  private final DataSourceTransactions dataSourceTransactions;

  /** Transactions on {@code dataSource}, the DataSource the store uses. */
  public SpringTransactions(DataSource dataSource) {
    this.dataSource = Objects.requireNonNull(dataSource, "dataSource must not be null");
    this.dataSourceTransactions = new DataSourceTransactions(dataSource);
  }

  @Override
  public Connection connection() throws SQLException {
    if (!(TransactionSynchronizationManager.getResource(dataSource)
        instanceof ConnectionHolder holder)) {
      return null;
    }
    boolean inTransaction;
    if (holder.isSynchronizedWithTransaction()) {
      // Marked by DataSourceTransactionManager, or by DataSourceUtils wherever synchronization is
      // active: also outside a transaction (SUPPORTS) and inside another resource's one, where no
      // one commits the connection (with the pool's autocommit off, its writes are rolled back when
      // it is released). Only the transaction manager knows which.
      inTransaction = dataSourceTransactions.active();
    } else {
      // JpaTransactionManager exposes its transaction's connection unmarked; a connection in
      // autocommit mode is in no transaction, whoever bound it.
      inTransaction = !holder.getConnection().getAutoCommit();
    }
    return inTransaction ? DataSourceUtils.doGetConnection(dataSource) : null;
  }

  @Override
  public void release(Connection connection) {
    DataSourceUtils.releaseConnection(connection, dataSource);
  }

  @Override
  public void afterCommit(Runnable action) {
    if (!TransactionSynchronizationManager.isSynchronizationActive()) {
      action.run();
      return;
    }
    TransactionSynchronizationManager.registerSynchronization(
        new TransactionSynchronization() {
          @Override
          public void afterCommit() {
            action.run();
          }
        });
  }

  /**
   * Asks what a {@code DataSourceTransactionManager} (or {@code JdbcTransactionManager}) asks
   * before it joins: whether one of them began a transaction on the connection bound to the
   * DataSource, which only they record on it. Never begins one.
   */
  private static final class DataSourceTransactions extends DataSourceTransactionManager {

    DataSourceTransactions(DataSource dataSource) {
      super(dataSource);
    }

    boolean active() {
      return isExistingTransaction(doGetTransaction());
    }
  }
}
