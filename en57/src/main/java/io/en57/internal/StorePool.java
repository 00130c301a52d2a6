package io.en57.internal;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.pool.HikariPool;
import io.en57.En57StorageException;
import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;
import java.time.Duration;
import java.util.logging.Logger;
import javax.sql.DataSource;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * The HikariCP pool a store made with {@code forUrl} owns. It drives {@link HikariPool} directly
 * rather than through {@code HikariDataSource}, which logs every start and shutdown at INFO: an
 * application that opens stores (or a test suite) would get four lines per store. A first
 * connection, opened and closed before the pool starts, fails a wrong URL or an unreachable server
 * at once; the pool then fills itself in the background. Thread-safe.
 */
public final class StorePool implements DataSource, AutoCloseable {

  private final HikariPool pool;

  private StorePool(HikariPool pool) {
    this.pool = pool;
  }

  /**
   * Checks that {@code url} can be connected to, then starts a pool of at most {@code maxPoolSize}
   * connections.
   *
   * @throws En57StorageException if the database cannot be reached
   */
  public static StorePool start(DatabaseUrl url, int maxPoolSize) {
    PGSimpleDataSource direct = url.unpooled();
    try (Connection probe = direct.getConnection()) {
      probe.getAutoCommit();
    } catch (SQLException e) {
      // The driver's message names host and port, never the password.
      throw new En57StorageException("cannot connect to the database: " + e.getMessage(), e);
    }
    return new StorePool(new HikariPool(config(url, maxPoolSize)));
  }

  /**
   * A pool for a replica, started without checking that it answers (a replica may be down while the
   * store runs: the store skips it), whose callers wait at most {@code connectionTimeout} for a
   * connection.
   */
  public static StorePool startUnchecked(
      DatabaseUrl url, int maxPoolSize, Duration connectionTimeout) {
    HikariConfig config = config(url, maxPoolSize);
    config.setPoolName("en57-replica");
    config.setConnectionTimeout(connectionTimeout.toMillis());
    return new StorePool(new HikariPool(config));
  }

  private static HikariConfig config(DatabaseUrl url, int maxPoolSize) {
    var config = new HikariConfig();
    config.setPoolName("en57");
    config.setJdbcUrl(url.jdbcUrl());
    config.setUsername(url.user());
    config.setPassword(url.password());
    config.setMaximumPoolSize(maxPoolSize);
    config.setAutoCommit(true);
    // Checked above; the pool's own check would log each connection it adds at INFO.
    config.setInitializationFailTimeout(-1);
    return config;
  }

  @Override
  public Connection getConnection() throws SQLException {
    return pool.getConnection();
  }

  @Override
  public Connection getConnection(String username, String password) throws SQLException {
    throw new SQLFeatureNotSupportedException("the store's pool connects as its URL's user");
  }

  @Override
  public void close() {
    try {
      pool.shutdown();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public PrintWriter getLogWriter() {
    return null;
  }

  @Override
  public void setLogWriter(PrintWriter out) {
    // Logging goes through SLF4J.
  }

  @Override
  public void setLoginTimeout(int seconds) throws SQLException {
    throw new SQLFeatureNotSupportedException("configure timeouts on the store's builder");
  }

  @Override
  public int getLoginTimeout() {
    return 0;
  }

  @Override
  public Logger getParentLogger() throws SQLFeatureNotSupportedException {
    throw new SQLFeatureNotSupportedException("logging goes through SLF4J");
  }

  @Override
  public <T> T unwrap(Class<T> type) throws SQLException {
    if (type.isInstance(this)) {
      return type.cast(this);
    }
    throw new SQLException("not a wrapper of " + type.getName());
  }

  @Override
  public boolean isWrapperFor(Class<?> type) {
    return type.isInstance(this);
  }
}
