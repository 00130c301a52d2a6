package io.en57.internal;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tells other processes that the log grew: one {@code pg_notify} at a time, from a thread of its
 * own, on a pool connection, in a transaction of its own and never inside an append's (a NOTIFY
 * serialises the commits of the transactions that send one). Requests arriving while one is sent or
 * within {@link #MIN_INTERVAL_MILLIS} after it are coalesced into the next, so a busy store sends
 * at most one notification per interval, and the first append after a quiet spell is announced at
 * once. The notification's commit does not wait for the disk: it is a hint, worth nothing after a
 * crash. Thread-safe.
 */
final class NotifySender {

  private static final Logger LOG = LoggerFactory.getLogger(NotifySender.class);
  static final long MIN_INTERVAL_MILLIS = 10;
  private static final String NOTIFY =
      "SELECT set_config('synchronous_commit', 'off', true), pg_notify(?, ?)";

  private final DataSource pool;
  private final String channel;
  private boolean requested;
  private long position;
  private boolean closed;
  private boolean failing;
  private Thread thread;

  NotifySender(DataSource pool, String channel) {
    this.pool = pool;
    this.channel = channel;
  }

  /** Asks for a notification that the log reached {@code appended}. */
  synchronized void request(long appended) {
    if (closed) {
      return;
    }
    position = Math.max(position, appended);
    requested = true;
    if (thread == null) {
      thread = new Thread(this::run, "en57-notify");
      thread.setDaemon(true);
      thread.start();
    }
    notifyAll();
  }

  /** Stops the thread; waits for a notification being sent. */
  void close() {
    Thread running;
    synchronized (this) {
      closed = true;
      running = thread;
      notifyAll();
    }
    if (running != null) {
      try {
        running.join(TimeUnit.SECONDS.toMillis(5));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private void run() {
    try {
      while (true) {
        long head;
        synchronized (this) {
          while (!requested && !closed) {
            wait();
          }
          if (closed) {
            return;
          }
          requested = false;
          head = position;
        }
        send(head);
        Thread.sleep(MIN_INTERVAL_MILLIS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void send(long head) {
    try (Connection connection = pool.getConnection();
        PreparedStatement notify = connection.prepareStatement(NOTIFY)) {
      notify.setString(1, channel);
      notify.setString(2, Long.toString(head));
      notify.execute();
      if (!connection.getAutoCommit()) {
        connection.commit();
      }
      if (failing) {
        failing = false;
        LOG.info("En57 notifies other processes of appends again");
      }
    } catch (SQLException | RuntimeException e) {
      // A hint lost: other processes' subscriptions see the append at their next poll.
      if (!failing) {
        failing = true;
        LOG.warn(
            "En57 could not notify other processes of appends ({}); they will poll", e.toString());
      }
    }
  }
}
