package io.en57.internal;

import io.en57.subscriptions.ConnectionFactory;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Takes part in electing the append leader, on a dedicated connection, and knows who leads. Once a
 * second it runs {@code en57.lead_appends}, which makes this node the leader if none is, and
 * returns the leader. A node leads while that connection's session lives: when it breaks, or the
 * store closes it, PostgreSQL releases the lead and another node takes it at its next call.
 * Thread-safe.
 */
final class AppendLeadership {

  private static final Logger LOG = LoggerFactory.getLogger(AppendLeadership.class);

  /** How often the leader is learnt, and so how long a new one may stay unknown. */
  private static final Duration INTERVAL = Duration.ofSeconds(1);

  /** How long the leader's database may take to answer before the connection is given up. */
  private static final int NETWORK_TIMEOUT_MILLIS = 10_000;

  /** How long the election session may stay silent before the server ends it, and the lead. */
  private static final int SILENCE_TIMEOUT_MILLIS = 10_000;

  /** Where a node listens, and the token a follower presents to it. */
  record Leader(String address, String token) {}

  private final ConnectionFactory connections;
  private final LogSchema schema;
  private final Leader self;
  private final Thread thread;
  private final CountDownLatch firstRound = new CountDownLatch(1);
  private volatile Leader leader;
  private volatile boolean closed;

  /** Consecutive failed connections; only the election thread touches it. */
  private int failures;

  AppendLeadership(ConnectionFactory connections, LogSchema schema, Leader self) {
    this.connections = connections;
    this.schema = schema;
    this.self = self;
    this.thread = new Thread(this::run, "en57-append-leadership");
    thread.setDaemon(true);
  }

  /**
   * Starts, and waits up to {@code patience} for the first election, so that a store forwards from
   * its first append on when a leader is there.
   */
  void start(Duration patience) {
    thread.start();
    try {
      firstRound.await(patience.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** The leader as last learnt, null when unknown (no leader, or no database). */
  Leader leader() {
    return leader;
  }

  /** Whether this node leads, as last learnt. */
  boolean leads() {
    return self.equals(leader);
  }

  /** Learn the leader now rather than at the next interval: the one known did not answer. */
  void recheck() {
    LockSupport.unpark(thread);
  }

  /** Gives up the lead, if held, and stops. */
  void close() {
    closed = true;
    LockSupport.unpark(thread);
    try {
      thread.join(NETWORK_TIMEOUT_MILLIS + 1_000L);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    leader = null;
  }

  private void run() {
    while (!closed) {
      try (Connection connection = connections.open()) {
        try {
          elect(connection);
        } finally {
          resign(connection);
        }
      } catch (SQLException | RuntimeException e) {
        leader = null;
        firstRound.countDown();
        if (closed) {
          return;
        }
        failures++;
        if (failures == 1) {
          LOG.warn(
              "En57 lost its append leadership connection ({}); this node appends directly until"
                  + " it is back",
              e.toString());
        }
        LockSupport.parkNanos(this, DatabaseBackoff.after(failures).toNanos());
      }
    }
  }

  private void elect(Connection connection) throws SQLException {
    connection.setAutoCommit(true);
    ConnectionSource.limitWaits(connection, NETWORK_TIMEOUT_MILLIS);
    try (Statement statement = connection.createStatement()) {
      // A leader whose host died leaves its session open until TCP notices, hours by default,
      // and the lead with it; the server ends a session that falls silent instead.
      statement.execute("SET idle_session_timeout = '" + SILENCE_TIMEOUT_MILLIS + "ms'");
    }
    try (PreparedStatement lead =
        connection.prepareStatement(
            schema.sql("SELECT address, token FROM en57.lead_appends(?, ?)"))) {
      lead.setString(1, self.address());
      lead.setString(2, self.token());
      while (!closed) {
        learn(lead);
        firstRound.countDown();
        failures = 0;
        LockSupport.parkNanos(this, INTERVAL.toNanos());
      }
    }
  }

  /**
   * Gives up the lead on a connection that may go back to a pool, where the session, and the lead
   * with it, would live on. On a connection that broke it is gone already.
   */
  private void resign(Connection connection) {
    try (Statement statement = connection.createStatement()) {
      statement.execute(schema.sql("SELECT en57.resign_appends()"));
      statement.execute("RESET idle_session_timeout");
    } catch (SQLException e) {
      LOG.debug("En57 could not resign the append lead ({})", e.toString());
    }
  }

  private void learn(PreparedStatement lead) throws SQLException {
    Leader learnt = null;
    try (ResultSet row = lead.executeQuery()) {
      if (row.next()) {
        learnt = new Leader(row.getString(1), row.getString(2));
      }
    }
    if (closed) {
      return;
    }
    Leader before = leader;
    leader = learnt;
    if (self.equals(learnt) && !self.equals(before)) {
      LOG.info("En57 leads appends at {}: other nodes forward theirs here", self.address());
    } else if (before != null && !before.equals(learnt) && before.equals(self)) {
      LOG.info("En57 no longer leads appends");
    }
  }
}
