package io.en57.internal;

import io.en57.Query;
import io.en57.subscriptions.ConnectionFactory;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import javax.net.ssl.SSLContext;
import javax.sql.DataSource;

/**
 * The PostgreSQL engine on the log in one schema. Every append runs {@code en57.append}, which
 * takes one transaction-scoped advisory lock, checks the condition under it, inserts and commits,
 * so positions follow commit order. On a pool, concurrent appends are grouped ({@link
 * GroupCommitter}); on the caller's connection each append runs alone inside the caller's
 * transaction. Thread-safe.
 */
public final class PostgresEngine implements Engine {

  private static final String HEAD = "SELECT coalesce(max(position), 0) FROM en57.events";

  private final ConnectionSource connections;
  private final LogSchema schema;
  private final Timeouts timeouts;
  private final GroupCommitter groups;
  private final AppendForwarding forwarding;
  private final AutoCloseable onClose;
  private final boolean pooled;
  private volatile boolean closed;

  private PostgresEngine(
      ConnectionSource connections,
      LogSchema schema,
      Timeouts timeouts,
      GroupCommit groupCommit,
      Forwarding forwarding,
      AutoCloseable onClose,
      boolean pooled) {
    this.connections = connections;
    this.schema = schema;
    this.pooled = pooled;
    this.timeouts = timeouts;
    // A group carries other callers' appends: an interrupt of the thread writing it is not theirs.
    ConnectionSource groupConnections = connections.shieldedFromInterrupts();
    this.groups =
        groupCommit == null
            ? null
            : new GroupCommitter(
                group -> AppendSql.write(groupConnections, schema, group, timeouts),
                groupCommit.maxGroupSize(),
                groupCommit.maxWait(),
                groupCommit.groupsInFlight(),
                groupCommit.listening());
    this.forwarding =
        forwarding == null
            ? null
            : AppendForwarding.start(
                forwarding.host(),
                forwarding.port(),
                forwarding.tls(),
                forwarding.connections(),
                schema,
                timeouts,
                groupCommit.maxWait(),
                groups::append,
                groups::submit);
    this.onClose = onClose;
  }

  /**
   * Where this node listens for other nodes' appends when it leads them, and where it takes part in
   * electing the leader (a dedicated connection, held while the store is open).
   *
   * @param port 0 for any free port
   * @param tls the nodes' TLS context, or null for plain TCP
   */
  public record Forwarding(String host, int port, SSLContext tls, ConnectionFactory connections) {}

  /**
   * How appends are grouped.
   *
   * @param maxGroupSize the most appends one statement and commit write
   * @param maxWait the longest an append waits for its group to start
   * @param groupsInFlight groups written at the same time, each on its own connection
   * @param listening told of every group written
   */
  public record GroupCommit(
      int maxGroupSize, Duration maxWait, int groupsInFlight, Listening listening) {}

  /**
   * An engine on a pool, grouping concurrent appends as {@code groupCommit} says, and forwarding
   * them to the leading node as {@code forwarding} says (null: never). {@code onClose} runs on
   * {@link #close()}: it closes a pool the store owns, and is a no-op for a borrowed one.
   */
  public static PostgresEngine onPool(
      DataSource dataSource,
      LogSchema schema,
      Timeouts timeouts,
      GroupCommit groupCommit,
      Forwarding forwarding,
      AutoCloseable onClose) {
    return new PostgresEngine(
        ConnectionSource.pool(dataSource, timeouts.networkMillis()),
        schema,
        timeouts,
        groupCommit,
        forwarding,
        onClose,
        true);
  }

  /**
   * An engine that only reads, on a pool of a streaming replica. {@code onClose} as for {@link
   * #onPool}.
   */
  public static PostgresEngine readOnly(
      DataSource dataSource, LogSchema schema, Timeouts timeouts, AutoCloseable onClose) {
    return new PostgresEngine(
        ConnectionSource.pool(dataSource, timeouts.networkMillis()),
        schema,
        timeouts,
        null,
        null,
        onClose,
        true);
  }

  @Override
  public AppendOutcome append(List<EncodedEvent> events, Query condition) {
    requireOpen();
    var request = new AppendRequest(events, condition);
    if (forwarding != null) {
      return forwarding.append(request);
    }
    if (groups != null) {
      return groups.append(request);
    }
    if (pooled) {
      throw new IllegalStateException("an engine on a replica only reads");
    }
    // On the caller's connection the caller's transaction is the group; no one else may join it.
    return AppendSql.write(connections, schema, List.of(request), timeouts).get(0).outcome();
  }

  @Override
  public boolean readsAhead() {
    // Only an engine on a pool reads ahead; one on the caller's connection must stay on it.
    return pooled;
  }

  @Override
  public List<StoredEvent> read(
      Query query, long cursor, boolean backwards, int limit, Cancellation cancellation) {
    requireOpen();
    return connections.read(
        connection ->
            ReadSql.read(
                connection, schema, query, cursor, backwards, limit, timeouts.querySeconds()),
        cancellation);
  }

  @Override
  public long head() {
    requireOpen();
    return connections.read(
        connection -> {
          try (PreparedStatement statement = connection.prepareStatement(schema.sql(HEAD))) {
            statement.setQueryTimeout(timeouts.querySeconds());
            try (ResultSet row = statement.executeQuery()) {
              row.next();
              return row.getLong(1);
            }
          }
        },
        Cancellation.NONE);
  }

  /** Which database cluster a server belongs to, and whether it is a standby replaying its WAL. */
  record Server(long systemIdentifier, boolean standby) {}

  /** The server this engine reads: its cluster's system identifier, and whether in recovery. */
  Server server() {
    return connections.read(
        connection -> {
          try (PreparedStatement statement =
              connection.prepareStatement(
                  "SELECT system_identifier, pg_is_in_recovery() FROM pg_control_system()")) {
            statement.setQueryTimeout(timeouts.querySeconds());
            try (ResultSet row = statement.executeQuery()) {
              row.next();
              return new Server(row.getLong(1), row.getBoolean(2));
            }
          }
        },
        Cancellation.NONE);
  }

  /** The schema of the log this engine reads and appends to. */
  LogSchema schema() {
    return schema;
  }

  @Override
  public boolean appendsHoldTheLockUntilTheCallerEnds() {
    return connections.holdsLocksUntilTheCallerEnds();
  }

  @Override
  public Engine onConnection(Connection connection) {
    Objects.requireNonNull(connection, "connection must not be null");
    return new PostgresEngine(
        ConnectionSource.caller(connection), schema, timeouts, null, null, () -> {}, false);
  }

  /**
   * Refuses work once closed, as the in-memory engine does, and at once: the pool a {@code forUrl}
   * store owns would otherwise make a caller wait for a connection it never gets, and a borrowed
   * one would let a closed store go on working.
   */
  private void requireOpen() {
    if (closed) {
      throw new IllegalStateException("the store is closed; nothing was done");
    }
  }

  @Override
  public void close() {
    closed = true;
    if (forwarding != null) {
      // Other nodes' appends being written here are answered first; then they append directly.
      forwarding.close();
    }
    if (groups != null) {
      // Queued appends fail at once; groups being written finish, bounded by the network timeout.
      groups.close(Duration.ofMillis(timeouts.networkMillis()));
    }
    // Reads still running (a stream fetching ahead that nobody reads any more) stop now.
    connections.cancelRunning();
    try {
      onClose.close();
    } catch (Exception e) {
      throw new IllegalStateException("closing the store's connection pool failed", e);
    }
  }
}
