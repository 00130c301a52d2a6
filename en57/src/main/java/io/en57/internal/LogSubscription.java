package io.en57.internal;

import io.en57.Query;
import io.en57.subscriptions.Batch;
import io.en57.subscriptions.BatchHandler;
import io.en57.subscriptions.Subscription;
import io.en57.subscriptions.SubscriptionOptions;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A subscription reading the log with keyset pages. Each page first reads the head, then up to a
 * batch of matching events after the position: when the page is not full, every matching event up
 * to the head (and to the page's last event) has been seen, because positions follow commit order,
 * so the position moves there even if nothing matched. While catching up, the next page is fetched
 * ahead on another thread. Thread-safe as {@link Subscription} says.
 */
final class LogSubscription implements Subscription {

  private static final Logger LOG = LoggerFactory.getLogger(Subscription.class);
  private static final long CLOSE_WAIT_SECONDS = 30;
  private static final long LINGER_NANOS = 2_000_000;
  private static final Duration LONGEST_WAIT = Duration.ofNanos(Long.MAX_VALUE);

  /**
   * One read: the events after {@code from}, and how far they reach. Decoded by the thread that
   * delivers them, so that decoding one page overlaps with fetching the next. {@code caughtUp}: it
   * reached the head as far as this store knows it. {@code behind}: read from a replica that has
   * not replayed events known to exist (so not caught up).
   */
  private record Page(
      long from, List<StoredEvent> rows, long position, boolean caughtUp, boolean behind) {
    Page(long from, List<StoredEvent> rows, long position, boolean caughtUp) {
      this(from, rows, position, caughtUp, false);
    }
  }

  /** The first pause before reading a replica again that is behind this store's appends. */
  private static final long REPLICA_PAUSE_NANOS = 1_000_000;

  private final Engine engine;
  private final ReadRoute route;
  private final EventCodec codec;
  private final Query query;
  private final SubscriptionOptions options;
  private final LogWatch watch;
  private final Executor readAhead;
  private final String name;
  private volatile long position;
  private volatile boolean caughtUp;
  private volatile boolean closed;
  private volatile Throwable failure;
  private CompletableFuture<Page> ahead;
  private Thread pusher;

  /** Whether a thread is inside {@link #poll}. Guarded by this. */
  private boolean polling;

  /**
   * Where the head comes from before a page that may reach it: from the database at first, after a
   * wait that no wake-up ended (appends this process was not told of, such as those inside
   * application transactions, show up no later than that), and after a wake-up from another
   * process; otherwise from the store's own appends, which carry the position they committed up to,
   * saving a query per read.
   */
  private boolean headFromDatabase = true;

  private long lastRead;

  LogSubscription(
      Engine engine,
      ReadRoute route,
      EventCodec codec,
      Query query,
      long after,
      SubscriptionOptions options,
      LogWatch watch,
      Executor readAhead,
      String name) {
    this.engine = engine;
    this.route = route;
    this.codec = codec;
    this.query = query;
    this.options = options;
    this.watch = watch;
    this.readAhead = readAhead;
    this.name = name;
    this.position = after;
  }

  @Override
  public Batch poll(Duration timeout) throws InterruptedException {
    Objects.requireNonNull(timeout, "timeout must not be null");
    if (timeout.isNegative()) {
      throw new IllegalArgumentException("timeout must not be negative, got " + timeout);
    }
    synchronized (this) {
      if (pusher != null) {
        throw new IllegalStateException("this subscription pushes to a handler; poll is for pull");
      }
      // Two readers at once would both read from the same position and deliver events twice.
      if (polling) {
        throw new IllegalStateException(
            "another thread is polling this subscription; a pull subscription is for one thread at"
                + " a time");
      }
      polling = true;
    }
    try {
      requireOpen();
      // Durations beyond what nanoseconds hold (ChronoUnit.FOREVER's) wait as long as they can.
      Page page = next(timeout.compareTo(LONGEST_WAIT) < 0 ? timeout.toNanos() : Long.MAX_VALUE);
      readAheadAfter(page);
      Batch batch = batchOf(page);
      advanceTo(page);
      return batch;
    } finally {
      synchronized (this) {
        polling = false;
      }
    }
  }

  @Override
  public synchronized Subscription start(BatchHandler handler) {
    Objects.requireNonNull(handler, "handler must not be null");
    requireOpen();
    if (pusher != null) {
      throw new IllegalStateException("this subscription is already started");
    }
    if (polling) {
      throw new IllegalStateException(
          "this subscription is being polled; a subscription is either pulled or pushed");
    }
    pusher = new Thread(() -> push(handler), name);
    pusher.setDaemon(true);
    pusher.start();
    return this;
  }

  @Override
  public long position() {
    return position;
  }

  @Override
  public boolean caughtUp() {
    return caughtUp;
  }

  @Override
  public Optional<Throwable> failure() {
    return Optional.ofNullable(failure);
  }

  @Override
  public void close() {
    awaitClosed(beginClose(), closeDeadline());
  }

  /** How long closing waits for handlers to finish: a deadline in {@link System#nanoTime()}. */
  static long closeDeadline() {
    return System.nanoTime() + TimeUnit.SECONDS.toNanos(CLOSE_WAIT_SECONDS);
  }

  /**
   * Marks this subscription closed and wakes it; returns the thread running its handler, unless it
   * is the caller's or there is none.
   */
  Thread beginClose() {
    Thread running;
    synchronized (this) {
      if (closed) {
        return null;
      }
      closed = true;
      running = pusher;
    }
    watch.closed(this);
    return running == Thread.currentThread() ? null : running;
  }

  /**
   * Waits for the handler's thread, {@code running}, until {@code deadline} (in {@link
   * System#nanoTime()}), then interrupts it.
   */
  void awaitClosed(Thread running, long deadline) {
    if (running == null) {
      return;
    }
    try {
      long left = deadline - System.nanoTime();
      if (left > 0) {
        TimeUnit.NANOSECONDS.timedJoin(running, left);
      }
      if (running.isAlive()) {
        LOG.warn(
            "{}: the handler did not finish within {} s of close(); interrupting it",
            name,
            CLOSE_WAIT_SECONDS);
        running.interrupt();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  boolean isClosed() {
    return closed;
  }

  private void requireOpen() {
    if (closed) {
      throw new IllegalStateException("the subscription is closed");
    }
  }

  /**
   * The next page with something new (events, a position beyond the current one, or the news that
   * it caught up), or, after {@code timeoutNanos} without anything new or on close, the last page
   * read: empty, at the current position, caught up or not.
   */
  private Page next(long timeoutNanos) throws InterruptedException {
    long deadline = System.nanoTime() + timeoutNanos;
    long pollNanos = watch.pollInterval().toNanos();
    long replicaPause = REPLICA_PAUSE_NANOS;
    while (true) {
      if (caughtUp && ahead == null) {
        lingerAfter(lastRead, deadline);
      }
      long generation = watch.generation();
      long unannounced = watch.unannounced();
      lastRead = System.nanoTime();
      Page page = fetch();
      // A wake-up from another process during the read: its appends may lie beyond the head this
      // read learnt, and the next read must ask the database, not this store's own appends.
      headFromDatabase |= watch.unannounced() != unannounced;
      // Having caught up is news. Falling behind without progress is not: with replicas read in
      // turn, one caught up and one behind, every read would return. The wait's end tells it.
      if (!page.rows().isEmpty() || page.position() > position || (page.caughtUp() && !caughtUp)) {
        return page;
      }
      if (!page.caughtUp() && !page.behind()) {
        continue; // a page read ahead without the head came back empty: read again with it
      }
      long remaining = deadline - System.nanoTime();
      if (remaining <= 0 || closed) {
        return page;
      }
      if (page.behind()) {
        // The replica has not replayed this store's appends, or what another replica showed, yet:
        // it will soon, and no wake-up follows; another replica may serve the next read.
        watch.sleep(Math.min(remaining, replicaPause), () -> closed);
        replicaPause = Math.min(replicaPause * 2, pollNanos);
      } else {
        watch.awaitChange(generation, Math.min(remaining, pollNanos), () -> closed);
        headFromDatabase |= watch.generation() == generation || watch.unannounced() != unannounced;
      }
      if (closed) {
        return page; // no read after close(): the store's pool may be closing
      }
    }
  }

  /**
   * Once caught up, reads at most once per {@link #LINGER_NANOS}: under a steady stream of appends
   * a live subscription would otherwise read again as soon as it delivered, a query per group
   * commit or more, per subscription; waiting a little lets each read take in several groups.
   */
  private void lingerAfter(long previousRead, long deadline) throws InterruptedException {
    // Differences, not instants, are compared: the deadline of a long wait overflows.
    long now = System.nanoTime();
    long left = Math.min(previousRead + LINGER_NANOS - now, deadline - now);
    if (left > 0) {
      watch.sleep(left, () -> closed);
    }
  }

  /** The page after the current position: the one fetched ahead, or a new read. */
  private Page fetch() {
    CompletableFuture<Page> fetched = ahead;
    ahead = null;
    if (fetched != null) {
      try {
        Page page = fetched.join();
        if (page.from() == position) {
          return page;
        }
      } catch (CompletionException e) {
        // Read again below; an error that persists surfaces from that read.
      }
    }
    return read(position, headSource());
  }

  /** Where the head for the next page that may reach it comes from. */
  private HeadSource headSource() {
    HeadSource source = headFromDatabase ? HeadSource.DATABASE : HeadSource.WAKE_UPS;
    headFromDatabase = false;
    return source;
  }

  /** Where a read learns the head it may move the position to. */
  private enum HeadSource {
    /** Nowhere: the page before was full, so this one most likely is too. */
    NONE,
    /** The highest position this store's appends committed. */
    WAKE_UPS,
    /** A query. */
    DATABASE
  }

  /**
   * Reads the page after {@code from}, learning a committed head first: when the page is not full,
   * every matching event committed before the page's read is in it, and everything up to that head
   * was committed before it, so the position moves to the head even without a match. While catching
   * up (the page before was full) no head is learnt: a full page does not need it, and after a page
   * that is not full the next read learns one.
   */
  private Page read(long from, HeadSource source) {
    boolean withHead = source != HeadSource.NONE;
    // On a store with replicas, the head and the page come from one source: a replica's head is
    // what it replayed, and the page read after it on the same replica holds every event up to it.
    // Sources may change between pages, to a replica behind this position even: the page then
    // comes back empty and the position stays (it never moves back), until that replica catches up.
    Engine reader = engine.reader(route);
    long head =
        switch (source) {
          case NONE -> 0;
          case WAKE_UPS -> reader.readsReplica() ? reader.head() : watch.committed();
          case DATABASE -> reader.head();
        };
    List<StoredEvent> rows = reader.read(query, from, false, options.batchSize());
    long last = rows.isEmpty() ? from : rows.get(rows.size() - 1).position();
    boolean full = rows.size() == options.batchSize();
    if (full || !withHead) {
      return new Page(from, rows, last, false);
    }
    long reached = Math.max(last, head);
    // A replica behind what this process knows exists (its own appends, what another replica
    // replayed, this position) is not the head: the page is not caught up.
    boolean behind =
        reader.readsReplica()
            && (head < from || reached < Math.max(watch.committed(), engine.furthestReplayed()));
    return new Page(from, rows, reached, !behind, behind);
  }

  private void advanceTo(Page page) {
    position = page.position();
    caughtUp = page.caughtUp();
  }

  /**
   * While catching up, fetches the page after {@code page} while it is being handled. Not after a
   * page of a replica behind: that replica has nothing after it yet.
   */
  private void readAheadAfter(Page page) {
    if (!page.caughtUp() && !page.behind() && readAhead != null && !closed) {
      long from = page.position();
      // Without the head: a page read ahead is used later, and "caught up" must be news of the
      // poll that returns it, not of a read made before the latest appends (a caller who appended
      // and then polled until caught up stopped short of its own events).
      ahead = CompletableFuture.supplyAsync(() -> read(from, HeadSource.NONE), readAhead);
    }
  }

  private Batch batchOf(Page page) {
    return new Batch(codec.decodeAll(page.rows()), page.position(), page.caughtUp());
  }

  private void push(BatchHandler handler) {
    int readFailures = 0;
    while (!closed) {
      Page page;
      try {
        page = next(watch.pollInterval().toNanos());
        readFailures = 0;
        if (closed) {
          return; // the handler finishes the batch it has, and gets no other after close()
        }
      } catch (InterruptedException e) {
        if (!closed) {
          strayInterrupt();
        }
        continue;
      } catch (RuntimeException e) {
        readFailures++;
        LOG.warn("{}: reading the log failed ({}); trying again", name, e.toString());
        if (!pause(DatabaseBackoff.after(readFailures))) {
          return;
        }
        continue;
      }
      if (page.rows().isEmpty()) {
        advanceTo(page);
        continue;
      }
      readAheadAfter(page);
      Batch batch;
      try {
        batch = batchOf(page);
      } catch (UndecodableEventException e) {
        // It will not decode on a retry either.
        stopWith(e, "cannot decode the events after position " + position);
        return;
      }
      if (!deliver(handler, batch)) {
        return;
      }
      advanceTo(page);
    }
  }

  /** Delivers the batch, retrying as configured; false when the subscription stops. */
  private boolean deliver(BatchHandler handler, Batch batch) {
    for (int attempt = 1; ; attempt++) {
      try {
        try {
          handler.handle(batch);
        } finally {
          if (Thread.interrupted() && !closed) {
            strayInterrupt();
          }
        }
        return true;
      } catch (Error e) {
        stopWith(e, "the handler threw an error on the batch after position " + position);
        throw e;
      } catch (Exception e) {
        if (attempt >= options.retry().attempts()) {
          stopWith(
              e,
              "the handler failed " + attempt + " times on the batch after position " + position);
          return false;
        }
        LOG.warn("{}: the handler failed (attempt {}), retrying", name, attempt, e);
        if (!pause(options.retry().backoffAfter(attempt))) {
          return false;
        }
      }
    }
  }

  /** Stops the subscription for good, leaving {@code error} for {@link #failure()}. */
  private void stopWith(Throwable error, String why) {
    failure = error;
    LOG.error("{}: {}; stopping", name, why, error);
    closed = true;
    watch.closed(this);
  }

  /** Waits, unless closed meanwhile; false if the subscription closed. */
  private boolean pause(Duration duration) {
    try {
      watch.sleep(duration.toNanos(), () -> closed);
    } catch (InterruptedException e) {
      if (!closed) {
        strayInterrupt();
      }
    }
    return !closed;
  }

  /**
   * The pushing thread is this subscription's own: {@link #close()} interrupts a handler that
   * outlives it, and any other interrupt is the handler's own doing and asks nothing of it. Kept,
   * it would end the thread without a word while the subscription looked alive, or fail the next
   * batch's handler. Dropped after each call of the handler, and when a wait ends with it.
   */
  private void strayInterrupt() {
    LOG.warn("{}: ignoring an interrupt of its thread (by the handler?); close() stops it", name);
  }
}
