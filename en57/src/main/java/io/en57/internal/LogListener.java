package io.en57.internal;

import io.en57.subscriptions.ConnectionFactory;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * LISTENs for other processes' appends on a dedicated connection and signals the store's
 * subscriptions when one arrives. When the connection breaks it reconnects, after a pause that
 * grows up to the poll interval, and signals once connected, since notifications sent meanwhile are
 * lost; until then subscriptions rely on their poll. Thread-safe.
 */
final class LogListener {

  private static final Logger LOG = LoggerFactory.getLogger(LogListener.class);
  private static final int WAIT_MILLIS = 500;
  private static final long CHECK_NANOS = TimeUnit.SECONDS.toNanos(10);

  /**
   * How long the check may wait for the server. A connection whose peer vanished without a word (a
   * failover, a firewall forgetting it) would otherwise wait for the kernel to give up on it, some
   * fifteen minutes, listening to nothing meanwhile.
   */
  private static final int CHECK_TIMEOUT_MILLIS = 10_000;

  private static final Duration FIRST_PAUSE = Duration.ofMillis(100);

  private final ConnectionFactory connections;
  private final String channel;
  private final LogSignal signal;
  private final Duration maxPause;
  private final Thread thread;
  private volatile boolean closed;

  LogListener(
      ConnectionFactory connections, String channel, LogSignal signal, Duration pollInterval) {
    this.channel = channel;
    this.connections = connections;
    this.signal = signal;
    this.maxPause = pollInterval.compareTo(FIRST_PAUSE) < 0 ? FIRST_PAUSE : pollInterval;
    this.thread = new Thread(this::run, "en57-listen");
    thread.setDaemon(true);
  }

  void start() {
    thread.start();
  }

  void close() {
    closed = true;
    try {
      thread.join(2L * WAIT_MILLIS + 1_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void run() {
    Duration pause = FIRST_PAUSE;
    boolean failing = false;
    while (!closed) {
      try (Connection connection = connections.open()) {
        listen(connection, failing);
        failing = false;
        pause = FIRST_PAUSE;
        receive(connection);
      } catch (SQLException | RuntimeException e) {
        if (closed) {
          return;
        }
        if (!failing) {
          failing = true;
          LOG.warn(
              "En57 lost its LISTEN connection ({}); subscriptions poll every {} until it is back",
              e.toString(),
              maxPause);
        }
        try {
          Thread.sleep(pause.toMillis());
        } catch (InterruptedException interrupted) {
          return;
        }
        pause = pause.multipliedBy(2).compareTo(maxPause) > 0 ? maxPause : pause.multipliedBy(2);
      }
    }
  }

  private void listen(Connection connection, boolean reconnected) throws SQLException {
    connection.setAutoCommit(true);
    ConnectionSource.limitWaits(connection, CHECK_TIMEOUT_MILLIS);
    try (Statement statement = connection.createStatement()) {
      statement.execute("LISTEN \"" + channel + '"');
    }
    if (reconnected) {
      LOG.info("En57 listens for appends again");
    }
    // Whatever was announced while no one listened: read now rather than at the next poll.
    signal.signal();
  }

  private void receive(Connection connection) throws SQLException {
    PGConnection listening = connection.unwrap(PGConnection.class);
    long checked = System.nanoTime();
    while (!closed) {
      PGNotification[] notifications = listening.getNotifications(WAIT_MILLIS);
      if (notifications != null && notifications.length > 0) {
        // Only a wake-up: the payload is another process's word, and a channel is shared by
        // everyone in the database, so the position it names is not trusted.
        signal.signal();
      }
      // A connection whose peer vanished without a word raises nothing while it waits.
      if (System.nanoTime() - checked > CHECK_NANOS) {
        try (Statement statement = connection.createStatement()) {
          statement.execute("SELECT 1");
        }
        checked = System.nanoTime();
      }
    }
  }
}
