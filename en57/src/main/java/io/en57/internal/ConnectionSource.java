package io.en57.internal;

import io.en57.AppendLockTimeoutException;
import io.en57.En57StorageException;
import io.en57.SchemaNotReadyException;
import java.sql.Connection;
import java.sql.SQLException;
import javax.sql.DataSource;

/**
 * Where the PostgreSQL engine gets its connection for one unit of work: borrowed from a pool and
 * committed (unless the pool hands out auto-commit connections, which commit by themselves), or the
 * caller's own connection, used inside the caller's transaction and never committed, rolled back or
 * reconfigured.
 */
abstract class ConnectionSource {

  /** Work on a connection. */
  interface Work<T> {
    T run(Connection connection) throws SQLException;
  }

  /** Runs the work, with database errors as they come. */
  abstract <T> T runRaw(Work<T> work) throws SQLException;

  /** Runs the work, with database errors as the library exceptions that say what to do. */
  final <T> T run(Work<T> work) {
    try {
      return runRaw(work);
    } catch (SQLException e) {
      throw translate(e);
    }
  }

  static ConnectionSource pool(DataSource dataSource) {
    return new ConnectionSource() {
      @Override
      <T> T runRaw(Work<T> work) throws SQLException {
        try (Connection connection = dataSource.getConnection()) {
          if (connection.getAutoCommit()) {
            return work.run(connection);
          }
          try {
            T result = work.run(connection);
            connection.commit();
            return result;
          } catch (SQLException | RuntimeException e) {
            connection.rollback();
            throw e;
          }
        }
      }
    };
  }

  static ConnectionSource caller(Connection connection) {
    return new ConnectionSource() {
      @Override
      <T> T runRaw(Work<T> work) throws SQLException {
        return work.run(connection);
      }
    };
  }

  /** A database error as the library exception that says what to do about it. */
  static RuntimeException translate(SQLException e) {
    String state = e.getSQLState() == null ? "" : e.getSQLState();
    switch (state) {
      case "3F000", "42P01", "42883":
        return new SchemaNotReadyException(
            "the En57 schema is missing or out of date in this database ("
                + e.getMessage()
                + "); run the migrator before first use: `en57 migrate` with DATABASE_URL set,"
                + " or Migrator.forDataSource(dataSource).migrate()",
            e);
      case "55P03":
        return new AppendLockTimeoutException(
            "timed out waiting for the append lock; nothing was written. Another append holds it,"
                + " most likely one inside a long application transaction",
            e);
      case "0A000":
        return new IllegalStateException(e.getMessage(), e);
      default:
        return new En57StorageException("database operation failed: " + e.getMessage(), e);
    }
  }
}
