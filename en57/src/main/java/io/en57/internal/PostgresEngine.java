package io.en57.internal;

import io.en57.Query;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * The PostgreSQL engine. Every append runs {@code en57.append}, which takes one transaction-scoped
 * advisory lock, checks the condition under it, inserts and commits, so positions follow commit
 * order. Thread-safe: each operation borrows its own connection, or runs on the caller's.
 */
public final class PostgresEngine implements Engine {

  private final ConnectionSource connections;
  private final Duration lockTimeout;
  private final AutoCloseable onClose;

  private PostgresEngine(
      ConnectionSource connections, Duration lockTimeout, AutoCloseable onClose) {
    this.connections = connections;
    this.lockTimeout = lockTimeout;
    this.onClose = onClose;
  }

  /**
   * An engine on a pool. {@code onClose} runs on {@link #close()}: it closes a pool the store owns,
   * and is a no-op for a borrowed one.
   */
  public static PostgresEngine onPool(
      javax.sql.DataSource dataSource, Duration lockTimeout, AutoCloseable onClose) {
    return new PostgresEngine(ConnectionSource.pool(dataSource), lockTimeout, onClose);
  }

  @Override
  public AppendOutcome append(List<EncodedEvent> events, Query condition) {
    Object outcome =
        connections.run(
            connection ->
                AppendSql.write(
                        connection, List.of(new AppendRequest(events, condition)), lockTimeout)
                    .get(0));
    if (outcome instanceof RuntimeException e) {
      throw e;
    }
    return (AppendOutcome) outcome;
  }

  @Override
  public List<StoredEvent> read(Query query, long cursor, boolean backwards, int limit) {
    return connections.run(connection -> ReadSql.read(connection, query, cursor, backwards, limit));
  }

  @Override
  public long head() {
    return connections.run(
        connection -> {
          try (Statement statement = connection.createStatement();
              ResultSet row =
                  statement.executeQuery("SELECT coalesce(max(position), 0) FROM en57.events")) {
            row.next();
            return row.getLong(1);
          }
        });
  }

  @Override
  public Engine onConnection(Connection connection) {
    Objects.requireNonNull(connection, "connection must not be null");
    return new PostgresEngine(ConnectionSource.caller(connection), lockTimeout, () -> {});
  }

  @Override
  public void close() {
    try {
      onClose.close();
    } catch (Exception e) {
      throw new IllegalStateException("closing the store's connection pool failed", e);
    }
  }
}
