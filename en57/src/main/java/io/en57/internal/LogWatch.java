package io.en57.internal;

import io.en57.Query;
import io.en57.subscriptions.ConnectionFactory;
import io.en57.subscriptions.Subscription;
import io.en57.subscriptions.SubscriptionOptions;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import javax.sql.DataSource;

/**
 * Wakes a store's subscriptions when the log grows. Wake-ups are hints, never the mechanism: an
 * append through the store signals its subscriptions at once and asks {@link NotifySender} to tell
 * other processes with one coalesced {@code pg_notify}, sent outside the append transaction; {@link
 * LogListener} hears theirs on a dedicated connection; and every subscription reads again after the
 * poll interval whatever happened, so a lost notification or a broken listener only delays it.
 * Thread-safe.
 */
public final class LogWatch implements AutoCloseable {

  private final LogSignal signal = new LogSignal();
  private final Duration pollInterval;
  private final NotifySender notifier;
  private final ConnectionFactory listenConnection;
  private final String channel;
  private final boolean subscribable;
  private final Set<LogSubscription> open = ConcurrentHashMap.newKeySet();
  private final AtomicInteger subscriptions = new AtomicInteger();
  private LogListener listener;
  private ExecutorService readAhead;
  private boolean closed;

  private LogWatch(
      Duration pollInterval,
      NotifySender notifier,
      ConnectionFactory listenConnection,
      String channel,
      boolean subscribable) {
    this.pollInterval = pollInterval;
    this.channel = channel;
    this.notifier = notifier;
    this.listenConnection = listenConnection;
    this.subscribable = subscribable;
  }

  /** For a store in memory: appends wake this store's subscriptions, reads poll otherwise. */
  public static LogWatch inMemory(Duration pollInterval) {
    return new LogWatch(pollInterval, null, null, null, true);
  }

  /**
   * For a store on a pool: appends wake this store's subscriptions and notify other processes
   * through {@code pool}; {@code listenConnection} (null for none) opens the connection to hear
   * theirs on; {@code channel} is the log's notification channel ({@link LogSchema#channel()}).
   */
  public static LogWatch onPool(
      Duration pollInterval, DataSource pool, ConnectionFactory listenConnection, String channel) {
    return new LogWatch(
        pollInterval, new NotifySender(pool, channel), listenConnection, channel, true);
  }

  /** For a store on the caller's connection, which commits when the caller says: no wake-ups. */
  public static LogWatch none() {
    return new LogWatch(Duration.ofSeconds(1), null, null, null, false);
  }

  /** Called after an append through the store committed up to {@code position}. */
  public void appended(long position) {
    signal.signal(position);
    if (notifier != null) {
      notifier.request(position);
    }
  }

  /**
   * An append in the caller's transaction, which committed; whether its events did is unknown (the
   * caller may have rolled back to a savepoint after it), so subscriptions are woken to read the
   * head from the database instead of trusting {@code position}.
   */
  public void appendedInCallersTransaction(long position) {
    signal.signal();
    if (notifier != null) {
      notifier.request(position);
    }
  }

  /**
   * A subscription to {@code query} after {@code after}, reading through {@code engine} where
   * {@code route} says.
   */
  public Subscription subscribe(
      Engine engine,
      EventCodec codec,
      Query query,
      long after,
      SubscriptionOptions options,
      ReadRoute route) {
    if (!subscribable) {
      throw new UnsupportedOperationException(
          "a store on the caller's connection cannot subscribe: its connection belongs to the"
              + " caller's thread and transaction; subscribe on the store itself");
    }
    synchronized (this) {
      if (closed) {
        throw new IllegalStateException("the store is closed");
      }
      if (listenConnection != null && listener == null) {
        listener = new LogListener(listenConnection, channel, signal, pollInterval);
        listener.start();
      }
      var subscription =
          new LogSubscription(
              engine,
              route,
              codec,
              query,
              after,
              options,
              this,
              engine.readsAhead() ? readAhead() : null,
              "en57-subscription-" + subscriptions.incrementAndGet());
      open.add(subscription);
      return subscription;
    }
  }

  Duration pollInterval() {
    return pollInterval;
  }

  long generation() {
    return signal.generation();
  }

  /** A position up to which the log is known to be committed, from this store's appends. */
  long committed() {
    return signal.committed();
  }

  /** How many wake-ups came without a position: other processes' appends, reconnections. */
  long unannounced() {
    return signal.unannounced();
  }

  void awaitChange(long seen, long timeoutNanos, BooleanSupplier stop) throws InterruptedException {
    signal.awaitChange(seen, timeoutNanos, stop);
  }

  void sleep(long timeoutNanos, BooleanSupplier stop) throws InterruptedException {
    signal.sleep(timeoutNanos, stop);
  }

  /** A subscription closed: forget it and wake it if it waits. */
  void closed(LogSubscription subscription) {
    open.remove(subscription);
    signal.nudge();
  }

  /** Closes the subscriptions, stops notifying and listening. */
  @Override
  public void close() {
    LogListener stopping;
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      stopping = listener;
    }
    // All are told at once and waited for together: stuck handlers cost one wait, not one each.
    List<LogSubscription> closing = List.copyOf(open);
    List<Thread> running = closing.stream().map(LogSubscription::beginClose).toList();
    long deadline = LogSubscription.closeDeadline();
    for (int i = 0; i < closing.size(); i++) {
      closing.get(i).awaitClosed(running.get(i), deadline);
    }
    if (stopping != null) {
      stopping.close();
    }
    if (notifier != null) {
      notifier.close();
    }
    synchronized (this) {
      if (readAhead != null) {
        readAhead.shutdown();
      }
    }
  }

  private synchronized ExecutorService readAhead() {
    if (readAhead == null) {
      var threads = new AtomicInteger();
      readAhead =
          Executors.newCachedThreadPool(
              task -> {
                var thread =
                    new Thread(task, "en57-subscription-read-" + threads.incrementAndGet());
                thread.setDaemon(true);
                return thread;
              });
    }
    return readAhead;
  }
}
