package io.en57.spring;

import io.en57.ApplicationTransactions;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Objects;
import javax.sql.DataSource;
import org.springframework.jdbc.CannotGetJdbcConnectionException;
import org.springframework.jdbc.datasource.ConnectionHolder;
import org.springframework.jdbc.datasource.DataSourceUtils;
import org.springframework.transaction.support.TransactionSynchronization;
import org.springframework.transaction.support.TransactionSynchronizationManager;

/**
 * Spring-managed transactions for a store that joins them: inside a transaction that holds a
 * connection of {@code dataSource} ({@code @Transactional} or {@code TransactionTemplate} with a
 * {@code DataSourceTransactionManager}, a {@code JpaTransactionManager} or a {@code
 * JdbcTransactionManager} on that DataSource), the store appends and reads on that connection;
 * outside one, or inside a transaction of another resource, it uses its pool. A transaction manager
 * set to {@code SYNCHRONIZATION_NEVER} is joined too; the store's subscriptions then see a joined
 * append within their poll interval rather than at its commit.
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

  /** Transactions on {@code dataSource}, the DataSource the store uses. */
  public SpringTransactions(DataSource dataSource) {
    this.dataSource = Objects.requireNonNull(dataSource, "dataSource must not be null");
  }

  @Override
  public Connection connection() {
    if (!(TransactionSynchronizationManager.getResource(dataSource)
        instanceof ConnectionHolder holder)) {
      return null;
    }
    boolean inTransaction;
    if (TransactionSynchronizationManager.isSynchronizationActive()) {
      // Synchronization also binds a connection outside a transaction (SUPPORTS): not one to join.
      inTransaction = TransactionSynchronizationManager.isActualTransactionActive();
    } else {
      // A transaction manager set to SYNCHRONIZATION_NEVER binds only its transaction's connection
      // and marks nothing else: that connection is in a transaction when autocommit is off.
      try {
        inTransaction = !holder.getConnection().getAutoCommit();
      } catch (SQLException e) {
        throw new CannotGetJdbcConnectionException(
            "Could not inspect the transaction's connection", e);
      }
    }
    return inTransaction ? DataSourceUtils.getConnection(dataSource) : null;
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
}
