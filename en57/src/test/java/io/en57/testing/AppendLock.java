package io.en57.testing;

import static org.assertj.core.api.Assertions.assertThat;

import io.en57.Event;
import io.en57.EventStore;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import javax.sql.DataSource;

/**
 * Makes appends wait in the database deterministically: holds the store's append lock with an
 * append inside an open transaction, and watches who waits for it.
 */
public final class AppendLock {

  private static final String WAITERS =
      "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted";

  private AppendLock() {}

  /**
   * Holds the append lock with an append (of an event of type {@code HoldsTheLock}) inside an open
   * transaction; commit or roll back the returned connection to free it.
   */
  public static Connection hold(DataSource dataSource) throws SQLException {
    Connection holder = dataSource.getConnection();
    holder.setAutoCommit(false);
    try (EventStore viaHolder = EventStore.forDataSource(dataSource)) {
      viaHolder.onConnection(holder).append(List.of(Event.of("HoldsTheLock")));
    }
    return holder;
  }

  /** Waits (up to two seconds) until at least {@code waiters} sessions wait for the lock. */
  public static void awaitWaiters(DataSource dataSource, int waiters)
      throws SQLException, InterruptedException {
    for (int i = 0; i < 200 && waiters(dataSource) < waiters; i++) {
      Thread.sleep(10);
    }
    assertThat(waiters(dataSource)).isGreaterThanOrEqualTo(waiters);
  }

  /** Sessions waiting for the lock now. */
  public static int waiters(DataSource dataSource) throws SQLException {
    return queryInt(dataSource, WAITERS);
  }

  /** Terminates the backends waiting for the lock, as a crash of their connections would. */
  public static void terminateWaiters(DataSource dataSource) throws SQLException {
    queryInt(
        dataSource,
        "SELECT count(pg_terminate_backend(pid)) FROM pg_locks"
            + " WHERE locktype = 'advisory' AND NOT granted");
  }

  private static int queryInt(DataSource dataSource, String sql) throws SQLException {
    try (Connection connection = dataSource.getConnection();
        Statement statement = connection.createStatement();
        ResultSet row = statement.executeQuery(sql)) {
      row.next();
      return row.getInt(1);
    }
  }
}
