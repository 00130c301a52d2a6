package io.en57.internal;

import io.en57.Query;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import javax.sql.DataSource;

/**
 * The PostgreSQL engine. Every append runs {@code en57.append}, which takes one transaction-scoped
 * advisory lock, checks the condition under it, inserts and commits, so positions follow commit
 * order. On a pool, concurrent appends are grouped ({@link GroupCommitter}); on the caller's
 * connection each append runs alone inside the caller's transaction. Thread-safe.
 */
public final class PostgresEngine implements Engine {

  private final ConnectionSource connections;
  private final Duration lockTimeout;
  private final GroupCommitter groups;
  private final AutoCloseable onClose;

  private PostgresEngine(
      ConnectionSource connections,
      Duration lockTimeout,
      GroupCommit groupCommit,
      AutoCloseable onClose) {
    this.connections = connections;
    this.lockTimeout = lockTimeout;
    this.groups =
        groupCommit == null
            ? null
            : new GroupCommitter(
                group ->
                    connections.runRaw(
                        connection -> AppendSql.write(connection, group, lockTimeout)),
                groupCommit.maxGroupSize(),
                groupCommit.maxWait(),
                groupCommit.groupsInFlight());
    this.onClose = onClose;
  }

  /**
   * How appends are grouped.
   *
   * @param maxGroupSize the most appends one statement and commit write
   * @param maxWait the longest an append waits for its group to start
   * @param groupsInFlight groups written at the same time, each on its own connection
   */
  public record GroupCommit(int maxGroupSize, Duration maxWait, int groupsInFlight) {}

  /**
   * An engine on a pool, grouping concurrent appends as {@code groupCommit} says. {@code onClose}
   * runs on {@link #close()}: it closes a pool the store owns, and is a no-op for a borrowed one.
   */
  public static PostgresEngine onPool(
      DataSource dataSource, Duration lockTimeout, GroupCommit groupCommit, AutoCloseable onClose) {
    return new PostgresEngine(ConnectionSource.pool(dataSource), lockTimeout, groupCommit, onClose);
  }

  @Override
  public AppendOutcome append(List<EncodedEvent> events, Query condition) {
    var request = new AppendRequest(events, condition);
    if (groups != null) {
      return groups.append(request);
    }
    // On the caller's connection the caller's transaction is the group; no one else may join it.
    return AppendSql.outcomeOf(
        connections.run(
            connection -> AppendSql.write(connection, List.of(request), lockTimeout).get(0)));
  }

  @Override
  public boolean readsAhead() {
    // Only an engine on a pool groups appends; one on the caller's connection must stay on it.
    return groups != null;
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
    return new PostgresEngine(ConnectionSource.caller(connection), lockTimeout, null, () -> {});
  }

  @Override
  public void close() {
    if (groups != null) {
      // Queued appends fail at once; groups being written finish, bounded by the lock timeout.
      groups.close(lockTimeout.plusSeconds(30));
    }
    try {
      onClose.close();
    } catch (Exception e) {
      throw new IllegalStateException("closing the store's connection pool failed", e);
    }
  }
}
