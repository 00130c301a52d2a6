package io.en57.internal;

import io.en57.AppendLockTimeoutException;
import io.en57.En57StorageException;
import io.en57.SchemaNotReadyException;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.postgresql.PGConnection;
import org.slf4j.LoggerFactory;

/**
 * Where the PostgreSQL engine gets its connection for one unit of work: borrowed from a pool and
 * committed (unless the pool hands out auto-commit connections, which commit by themselves), or the
 * caller's own connection, used inside the caller's transaction and never committed, rolled back or
 * reconfigured beyond that transaction (see {@link #PROBE_SILENT_CLIENT}).
 */
abstract class ConnectionSource {

  /** Work on a connection. */
  interface Work<T> {
    T run(Connection connection) throws SQLException;
  }

  /**
   * {@code setNetworkTimeout} wants an executor for closing a timed-out connection; none needed.
   */
  private static final Executor DIRECTLY = Runnable::run;

  /**
   * Limits how long a dedicated connection (LISTEN, the append election) waits for the server: one
   * whose peer vanished without a word would otherwise wait for the kernel to give up on it, some
   * fifteen minutes. A driver without network timeouts leaves it as it is.
   */
  static void limitWaits(Connection connection, int millis) throws SQLException {
    try {
      connection.setNetworkTimeout(DIRECTLY, millis);
    } catch (SQLFeatureNotSupportedException e) {
      LoggerFactory.getLogger(ConnectionSource.class)
          .debug("A dedicated connection takes no network timeout ({})", e.toString());
    }
  }

  /**
   * Select-list items for the first statement of a transaction that holds locks others wait for
   * across round trips (a projection's batch or reset, an append in the caller's transaction): the
   * server probes a silent client after 5 s, every 5 s, and ends its session after three probes go
   * unanswered, or once what it sent stays unacknowledged for 30 s, which releases the locks. A
   * client that vanished mid-transaction (its host lost power, its network path died) would
   * otherwise hold them until the server's TCP defaults noticed: two hours or more when idle, some
   * fifteen minutes with an answer unacknowledged. A live client's kernel answers the probes and
   * acknowledges however long the application takes between statements. Local to the transaction;
   * ignored on a Unix socket.
   */
  static final String PROBE_SILENT_CLIENT =
      ", set_config('tcp_keepalives_idle', '5', true),"
          + " set_config('tcp_keepalives_interval', '5', true),"
          + " set_config('tcp_keepalives_count', '3', true),"
          + " set_config('tcp_user_timeout', '30000', true)";

  /** The SQLSTATE of a lock wait that ran past the session's {@code lock_timeout}. */
  static final String LOCK_NOT_AVAILABLE = "55P03";

  /** How often a read runs on a fresh connection when the one it got was broken. */
  private static final int READ_ATTEMPTS = 3;

  /** Runs the work, with database errors as they come. */
  final <T> T runRaw(Work<T> work) throws SQLException {
    return runRaw(work, Cancellation.NONE);
  }

  /** Runs the work, which {@code cancellation} may cancel in the database while it runs. */
  abstract <T> T runRaw(Work<T> work, Cancellation cancellation) throws SQLException;

  /** Runs the work, with database errors as the library exceptions that say what to do. */
  final <T> T run(Work<T> work) {
    return run(work, Cancellation.NONE);
  }

  /** Runs cancellable work, with database errors as the library exceptions. */
  final <T> T run(Work<T> work, Cancellation cancellation) {
    try {
      return runRaw(work, cancellation);
    } catch (SQLException e) {
      throw translate(e);
    }
  }

  /**
   * Runs read-only work, with database errors as the library exceptions. On a pool, a connection
   * found broken (terminated while idle in the pool, say) is replaced and the work run again, at
   * most {@value #READ_ATTEMPTS} times in all: reading twice changes nothing.
   */
  final <T> T read(Work<T> work, Cancellation cancellation) {
    for (int attempt = 1; ; attempt++) {
      try {
        return runRaw(work, cancellation);
      } catch (SQLException e) {
        if (attempt == READ_ATTEMPTS || isCallersTransaction() || !isConnectionLost(e)) {
          throw translate(e);
        }
      }
    }
  }

  /** The connection broke (class 08), or the server ended the session (57P01 to 57P03). */
  static boolean isConnectionLost(SQLException e) {
    String state = String.valueOf(e.getSQLState());
    return state.startsWith("08") || state.matches("57P0[123]");
  }

  /** Whether the work runs inside the caller's transaction, which the store never commits. */
  boolean isCallersTransaction() {
    return false;
  }

  /**
   * Whether a transaction lock the work takes stays held after it, until the caller ends its
   * transaction: on the caller's connection, unless that connection is in autocommit.
   */
  boolean holdsLocksUntilTheCallerEnds() {
    return false;
  }

  /** Cancels, in the database, the work running on the source's connections. */
  void cancelRunning() {}

  /** Connections borrowed from {@code dataSource}, with their network timeout as they come. */
  static ConnectionSource pool(DataSource dataSource) {
    return pool(dataSource, 0);
  }

  /**
   * Connections borrowed from {@code dataSource}. Each unit of work sets the connection's network
   * timeout to {@code networkMillis}, so that a server that stopped answering fails the work
   * instead of hanging it, and puts the previous timeout back.
   */
  static ConnectionSource pool(DataSource dataSource, int networkMillis) {
    return new Pooled(dataSource, networkMillis, ConcurrentHashMap.newKeySet(), false);
  }

  /**
   * The same connections, for work done on behalf of other threads too (a group of appends): an
   * interrupt of the working thread does not fail the borrowing of a connection (a pool gives up
   * waiting for one when the waiting thread is interrupted), which is tried again for as long as
   * the network timeout; the interrupt flag is set again afterwards. The caller's connection is
   * borrowed from no one, so it is itself here.
   */
  ConnectionSource shieldedFromInterrupts() {
    return this;
  }

  private static final class Pooled extends ConnectionSource {
    private final DataSource dataSource;
    private final int networkMillis;
    private final Set<Connection> inUse;
    private final boolean shielded;

    Pooled(DataSource dataSource, int networkMillis, Set<Connection> inUse, boolean shielded) {
      this.dataSource = dataSource;
      this.networkMillis = networkMillis;
      this.inUse = inUse;
      this.shielded = shielded;
    }

    @Override
    ConnectionSource shieldedFromInterrupts() {
      return new Pooled(dataSource, networkMillis, inUse, true);
    }

    @Override
    <T> T runRaw(Work<T> work, Cancellation cancellation) throws SQLException {
      try (Connection connection =
          shielded ? borrowDespiteInterrupts() : dataSource.getConnection()) {
        int previousTimeout = connection.getNetworkTimeout();
        if (networkMillis > 0) {
          connection.setNetworkTimeout(DIRECTLY, networkMillis);
        }
        inUse.add(connection);
        try {
          cancellation.started(connection);
          return runAndCommit(connection, work);
        } finally {
          cancellation.ended(connection);
          inUse.remove(connection);
          if (networkMillis > 0 && !connection.isClosed()) {
            connection.setNetworkTimeout(DIRECTLY, previousTimeout);
          }
        }
      }
    }

    private Connection borrowDespiteInterrupts() throws SQLException {
      long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(networkMillis);
      boolean interrupted = Thread.interrupted();
      try {
        while (true) {
          try {
            return dataSource.getConnection();
          } catch (SQLException e) {
            boolean interruptedNow =
                Thread.interrupted() || e.getCause() instanceof InterruptedException;
            interrupted |= interruptedNow;
            if (!interruptedNow || System.nanoTime() - deadline > 0) {
              throw e;
            }
          }
        }
      } finally {
        if (interrupted) {
          Thread.currentThread().interrupt();
        }
      }
    }

    @Override
    void cancelRunning() {
      inUse.forEach(ConnectionSource::cancel);
    }
  }

  static ConnectionSource caller(Connection connection) {
    return new ConnectionSource() {
      @Override
      boolean isCallersTransaction() {
        return true;
      }

      @Override
      boolean holdsLocksUntilTheCallerEnds() {
        try {
          return !connection.getAutoCommit();
        } catch (SQLException e) {
          return false; // a closed connection holds nothing
        }
      }

      @Override
      <T> T runRaw(Work<T> work, Cancellation cancellation) throws SQLException {
        try {
          cancellation.started(connection);
          return work.run(connection);
        } finally {
          cancellation.ended(connection);
        }
      }
    };
  }

  private static <T> T runAndCommit(Connection connection, Work<T> work) throws SQLException {
    if (connection.getAutoCommit()) {
      return work.run(connection);
    }
    try {
      T result = work.run(connection);
      connection.commit();
      return result;
    } catch (SQLException | RuntimeException e) {
      try {
        connection.rollback();
      } catch (SQLException rollbackFailure) {
        // The error that ended the work says what went wrong; a broken connection fails both.
        e.addSuppressed(rollbackFailure);
      }
      throw e;
    }
  }

  /** Asks the server to cancel what the connection runs; best effort. */
  static void cancel(Connection connection) {
    try {
      connection.unwrap(PGConnection.class).cancelQuery();
    } catch (SQLException e) {
      // Nothing to cancel any more, or the server is gone: either way the work ends.
    }
  }

  /**
   * A database error met by an append's statements, where a lock timeout can only be the wait for
   * the append lock, as the library exception that says what to do about it.
   */
  static RuntimeException translateAppend(SQLException e) {
    if (LOCK_NOT_AVAILABLE.equals(e.getSQLState())) {
      return new AppendLockTimeoutException(
          "timed out waiting for the append lock; nothing was written. Another append holds it,"
              + " most likely one inside a long application transaction",
          e);
    }
    return translate(e);
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
      case LOCK_NOT_AVAILABLE:
        return new En57StorageException(
            "timed out waiting for a lock another transaction holds (" + e.getMessage() + ")", e);
      case "57014":
        return new En57StorageException(
            "the database call was cancelled: it ran longer than the store's queryTimeout, or the"
                + " store (or the stream it served) was closed ("
                + e.getMessage()
                + ")",
            e);
      case "0A000":
        return new IllegalStateException(e.getMessage(), e);
      default:
        return new En57StorageException("database operation failed: " + e.getMessage(), e);
    }
  }
}
