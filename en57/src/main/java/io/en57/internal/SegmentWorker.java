package io.en57.internal;

import io.en57.EventStore;
import io.en57.SequencedEvent;
import io.en57.observation.ProjectionFailure;
import io.en57.subscriptions.Batch;
import io.en57.subscriptions.Projection;
import io.en57.subscriptions.ResetHandler;
import io.en57.subscriptions.Subscription;
import io.en57.subscriptions.SubscriptionOptions;
import io.en57.subscriptions.UnprocessableEventException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one segment of a projection on a thread of its own. It claims the segment (standing by while
 * another runner's lease is valid), then follows the log from the segment's checkpoint and applies
 * each batch in one transaction: {@code projection_begin} locks the segment's row and checks the
 * epoch, the handler writes, {@code projection_advance} moves the checkpoint with a
 * compare-and-set, commit. Whenever the outcome of a transaction is unknown or ownership may have
 * changed (a broken connection, a fenced epoch, a reset), it goes back to claiming, which reads the
 * checkpoint afresh: the database, never this worker's memory, says where to resume.
 */
final class SegmentWorker {

  private static final Logger LOG = LoggerFactory.getLogger(SegmentWorker.class);
  static final long JOIN_SECONDS = 30;

  /** What the runner's own calls may take beyond the lease before their connection is given up. */
  private static final Duration NETWORK_GRACE = Duration.ofSeconds(5);

  /** What applying a batch came to. */
  private enum Outcome {
    /** Committed: the checkpoint moved. */
    DONE,
    /** Claim again and resume from the checkpoint the database holds. */
    RESYNC,
    /** The worker is stopping. */
    STOP
  }

  /** The handler threw: count it against the projection's retry policy. */
  private static final class HandlerFailed extends Exception {
    HandlerFailed(Throwable cause) {
      super(cause);
    }
  }

  /** The database failed (connection lost, serialization): try again without counting. */
  private static final class Transient extends Exception {
    Transient(Throwable cause) {
      super(cause);
    }
  }

  private final EventStore store;
  private final DataSource dataSource;
  private final LogSchema schema;
  private final Projection projection;
  private final int segment;
  private final String node;
  private final long leaseMillis;
  private final Duration renewInterval;
  private final Duration claimInterval;
  private final LogSignal progress;
  private final Listening listening;
  private final String label;
  private final Thread thread;

  /**
   * How long the runner's own calls (claim, release, fail, and every statement of a batch or a
   * reset but the handlers') wait for the server before their connection is given up as broken: one
   * whose server vanished without a word would otherwise wait for the kernel to give up on it, a
   * quarter of an hour or more, while the segment's lease has long run out. The handlers'
   * statements take as long as they take. The first statement of a batch or a reset may wait for
   * locks that a handler holds, but the server ends that wait after about a lease (migration 0010).
   */
  private final int networkMillis;

  /** Connections for the runner's own calls, with {@link #networkMillis} as their timeout. */
  private final ConnectionSource ownCalls;

  private final Object sleeper = new Object();
  private volatile boolean stopping;
  private volatile Subscription following;
  private long epoch = -1;
  private boolean owner;

  /** Batches in a row that the database failed; its back-off is not the handler's retry. */
  private int databaseFailures;

  SegmentWorker(
      EventStore store,
      DataSource dataSource,
      Projection projection,
      int segment,
      String node,
      Duration lease,
      LogSignal progress) {
    this.store = store;
    this.dataSource = dataSource;
    this.projection = projection;
    this.segment = segment;
    this.node = node;
    this.leaseMillis = lease.toMillis();
    this.renewInterval = lease.dividedBy(3);
    this.claimInterval = lease.dividedBy(4);
    this.networkMillis = (int) Math.min(Integer.MAX_VALUE, lease.plus(NETWORK_GRACE).toMillis());
    this.ownCalls = ConnectionSource.pool(dataSource, networkMillis);
    this.progress = progress;
    this.listening = StoreAccess.listening(store);
    this.schema = LogSchema.of(store.schema());
    this.label =
        "projection "
            + projection.name()
            + (projection.segments() > 1 ? " segment " + segment : "");
    this.thread = new Thread(this::run, "en57-projection-" + projection.name() + "-" + segment);
    thread.setDaemon(true);
  }

  void start() {
    thread.start();
  }

  void stop() {
    stopping = true;
    synchronized (sleeper) {
      sleeper.notifyAll();
    }
    Subscription waiting = following;
    if (waiting != null) {
      waiting.close(); // ends a poll waiting for new events
    }
  }

  /** Waits for the thread to end until {@code deadline} (of {@link System#nanoTime()}). */
  void join(long deadline) {
    try {
      long remaining = deadline - System.nanoTime();
      if (remaining > 0) {
        TimeUnit.NANOSECONDS.timedJoin(thread, remaining);
      }
      if (thread.isAlive()) {
        LOG.warn("{}: still applying a batch {} s after close; leaving it", label, JOIN_SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void run() {
    int failures = 0;
    try {
      while (!stopping) {
        dropStrayInterrupt();
        try {
          step();
          failures = 0;
        } catch (IllegalStateException e) {
          if (e.getMessage() != null && e.getMessage().contains("store is closed")) {
            LOG.error("{}: the event store was closed before the runner; stopping", label);
            return;
          }
          failures++;
          LOG.warn("{}: {}; trying again", label, e.toString());
          pause(DatabaseBackoff.after(failures));
        } catch (RuntimeException e) {
          failures++;
          LOG.warn("{}: {}; trying again", label, e.toString());
          pause(DatabaseBackoff.after(failures));
        }
      }
    } catch (Throwable e) {
      LOG.error("{}: stopped by an unexpected error", label, e);
      failVisibly(e);
    } finally {
      release();
    }
  }

  /** Claims the segment and, while it owns it, applies batches; returns to claim again. */
  private void step() {
    ProjectionSql.Claim claim = claim();
    if (claim.status().equals("mismatch")) {
      LOG.error(
          "{}: the projection was re-partitioned by another runner; stopping this one", label);
      stopping = true;
      return;
    }
    if (!claim.owned()) {
      if (owner) {
        LOG.info("{}: another runner took over", label);
      }
      owner = false;
      pause(claimInterval);
      return;
    }
    if (!owner || claim.epoch() != epoch) {
      LOG.info("{}: owned by {} from position {}", label, node, claim.position());
    }
    owner = true;
    epoch = claim.epoch();
    if (claim.state().equals("FAILED")) {
      pause(renewInterval);
    } else if (claim.resetPending()) {
      applyReset();
    } else {
      follow(claim.position());
    }
  }

  /** Claims or renews this node's lease on the segment. */
  private ProjectionSql.Claim claim() {
    return ProjectionSql.claim(
        schema, ownCalls, projection.name(), segment, projection.segments(), node, leaseMillis);
  }

  /** Follows the log from {@code checkpoint}, applying batches, until it must claim again. */
  private void follow(long checkpoint) {
    if (projection.checkpointStore().isPresent()) {
      long external = loadExternalCheckpoint();
      if (external > checkpoint) {
        // The read model applied these and saved its checkpoint; ours did not move before a crash.
        Outcome caughtUp = apply(List.of(), checkpoint, external, false);
        if (caughtUp != Outcome.DONE) {
          return;
        }
        checkpoint = external;
      }
    }
    var options = SubscriptionOptions.defaults().withBatchSize(projection.batchSize());
    try (Subscription subscription = store.subscribe(projection.scope(), checkpoint, options)) {
      following = subscription;
      long renewed = System.nanoTime();
      while (!stopping) {
        Batch batch;
        try {
          batch = subscription.poll(renewInterval);
        } catch (InterruptedException e) {
          strayInterrupt();
          continue;
        } catch (IllegalStateException e) {
          if (stopping) {
            return; // stop() closed the subscription
          }
          throw e;
        } catch (UndecodableEventException e) {
          // No retry decodes it and there is no event to skip into the dead letters: stop here.
          if (stopFailed(e.getMessage())) {
            listening.projectionFailed(
                projection.name(), segment, ProjectionFailure.Action.FAILED, e);
            LOG.error("{}: stopped in state FAILED after {}", label, checkpoint, e);
          }
          return;
        }
        if (System.nanoTime() - renewed >= renewInterval.toNanos()) {
          renewed = System.nanoTime();
          if (!renewLease(false)) {
            return;
          }
        }
        if (batch.position() == checkpoint) {
          continue;
        }
        Outcome outcome =
            apply(ofThisSegment(batch), checkpoint, batch.position(), batch.caughtUp());
        if (outcome != Outcome.DONE) {
          return;
        }
        checkpoint = batch.position();
        progress.signal();
      }
    }
  }

  private List<SequencedEvent> ofThisSegment(Batch batch) {
    if (projection.segments() == 1) {
      return batch.events();
    }
    String prefix = projection.tagPrefix().orElseThrow();
    var mine = new ArrayList<SequencedEvent>();
    for (SequencedEvent event : batch.events()) {
      if (Segments.of(event.event(), prefix, projection.segments()) == segment) {
        mine.add(event);
      }
    }
    return mine;
  }

  /** Applies events in (from, to], retrying the handler as the projection says. */
  private Outcome apply(List<SequencedEvent> events, long from, long to, boolean caughtUp) {
    int failures = 0;
    while (!stopping) {
      try {
        Outcome outcome = transact(events, from, to, caughtUp, null);
        databaseFailures = 0;
        return outcome;
      } catch (HandlerFailed failed) {
        if (projection.deadLetters()
            && failed.getCause() instanceof UnprocessableEventException unprocessable) {
          int at = indexOf(events, unprocessable.position());
          if (at >= 0) {
            return skipAtOnce(events, at, from, to, caughtUp, unprocessable);
          }
        }
        failures++;
        if (failures < projection.retry().attempts()) {
          listening.projectionFailed(
              projection.name(), segment, ProjectionFailure.Action.RETRY, failed.getCause());
          LOG.warn(
              "{}: the handler failed on the events after {} (attempt {}); retrying",
              label,
              from,
              failures,
              failed.getCause());
          if (!pauseOwning(projection.retry().backoffAfter(failures), false)) {
            return Outcome.RESYNC;
          }
          continue;
        }
        if (events.size() > 1) {
          // Find the event it fails on: apply the batch one event at a time.
          return applyOneByOne(events, from, to, caughtUp);
        }
        return giveUp(events.get(0), from, to, caughtUp, failed.getCause());
      } catch (Transient e) {
        LOG.warn(
            "{}: the database failed ({}); resuming from the checkpoint",
            label,
            e.getCause().toString());
        databaseFailures++;
        pause(DatabaseBackoff.after(databaseFailures));
        return Outcome.RESYNC;
      }
    }
    return Outcome.STOP;
  }

  /**
   * The handler says the event at {@code at} can never be handled: applies the events before it,
   * dead-letters it without retrying, and applies the events after it.
   */
  private Outcome skipAtOnce(
      List<SequencedEvent> events,
      int at,
      long from,
      long to,
      boolean caughtUp,
      UnprocessableEventException error) {
    SequencedEvent event = events.get(at);
    long before = from;
    if (at > 0) {
      before = event.position() - 1;
      Outcome outcome = apply(events.subList(0, at), from, before, false);
      if (outcome != Outcome.DONE) {
        return outcome;
      }
    }
    Outcome outcome = giveUp(event, before, event.position(), false, error);
    if (outcome != Outcome.DONE || event.position() == to) {
      return outcome;
    }
    return apply(events.subList(at + 1, events.size()), event.position(), to, caughtUp);
  }

  private static int indexOf(List<SequencedEvent> events, long position) {
    for (int i = 0; i < events.size(); i++) {
      if (events.get(i).position() == position) {
        return i;
      }
    }
    return -1;
  }

  private Outcome applyOneByOne(List<SequencedEvent> events, long from, long to, boolean caughtUp) {
    long at = from;
    for (int i = 0; i < events.size(); i++) {
      long upTo = i == events.size() - 1 ? to : events.get(i).position();
      Outcome outcome = apply(List.of(events.get(i)), at, upTo, caughtUp);
      if (outcome != Outcome.DONE) {
        return outcome;
      }
      at = upTo;
    }
    return Outcome.DONE;
  }

  /** The handler failed on {@code event} for good: dead-letter it, or stop in state FAILED. */
  private Outcome giveUp(
      SequencedEvent event, long from, long to, boolean caughtUp, Throwable error) {
    String description = describe(event, error);
    if (projection.deadLetters()) {
      Outcome outcome;
      try {
        outcome = transact(List.of(), from, to, caughtUp, new DeadLetterEntry(event, description));
      } catch (HandlerFailed | Transient e) {
        LOG.warn(
            "{}: recording the dead letter failed ({}); resuming", label, e.getCause().toString());
        return Outcome.RESYNC;
      }
      if (outcome == Outcome.DONE) {
        listening.projectionFailed(
            projection.name(), segment, ProjectionFailure.Action.DEAD_LETTER, error);
        LOG.error(
            "{}: skipped the event at {} into the dead letters", label, event.position(), error);
      }
      return outcome;
    }
    if (stopFailed(description)) {
      listening.projectionFailed(
          projection.name(), segment, ProjectionFailure.Action.FAILED, error);
      LOG.error("{}: stopped in state FAILED at the event at {}", label, event.position(), error);
    }
    return Outcome.RESYNC;
  }

  /** An event to record in the dead-letter table instead of applying it. */
  private record DeadLetterEntry(SequencedEvent event, String error) {}

  /**
   * One transaction: begin (lock, epoch check), the handler or the dead letter, advance, commit.
   */
  private Outcome transact(
      List<SequencedEvent> events, long from, long to, boolean caughtUp, DeadLetterEntry dead)
      throws HandlerFailed, Transient {
    long started = System.nanoTime();
    Outcome outcome = commitBatch(events, from, to, caughtUp, dead);
    if (outcome == Outcome.DONE) {
      // After the batch's connection went back: the lag may take another connection of the same
      // pool, and workers holding all of them while each waits for one more would stall it.
      listening.projectionBatchApplied(
          projection.name(),
          segment,
          events.size(),
          started,
          to,
          () -> caughtUp ? to : store.head());
    }
    return outcome;
  }

  private Outcome commitBatch(
      List<SequencedEvent> events, long from, long to, boolean caughtUp, DeadLetterEntry dead)
      throws HandlerFailed, Transient {
    try (Connection connection = dataSource.getConnection()) {
      int handlersTimeout = connection.getNetworkTimeout();
      boolean autoCommit = connection.getAutoCommit();
      if (autoCommit) {
        connection.setAutoCommit(false);
      }
      boolean handled = false;
      boolean committed = false;
      try {
        // Begin may wait for a reset holding every segment's row; the server ends that wait after
        // a lease, so its answer is waited for no longer than that of the runner's other calls.
        ConnectionSource.limitWaits(connection, networkMillis);
        ProjectionSql.Begin begin =
            ProjectionSql.begin(schema, connection, projection.name(), segment, epoch, leaseMillis);
        if (!begin.status().equals("ok") || begin.position() != from) {
          return Outcome.RESYNC;
        }
        if (dead != null) {
          ProjectionSql.deadLetter(
              schema,
              connection,
              projection.name(),
              segment,
              epoch,
              dead.event().position(),
              dead.event().event().id(),
              dead.error());
        } else if (!events.isEmpty()) {
          ConnectionSource.limitWaits(connection, handlersTimeout);
          handle(connection, new Batch(events, to, caughtUp));
          handled = true;
          saveExternalCheckpoint(projection.name(), segment, to);
          ConnectionSource.limitWaits(connection, networkMillis);
        }
        ProjectionSql.advance(
            schema, connection, projection.name(), segment, epoch, from, to, leaseMillis);
        connection.commit();
        committed = true;
        return Outcome.DONE;
      } catch (SQLException e) {
        if (ProjectionSql.FENCED.equals(e.getSQLState())) {
          return Outcome.RESYNC;
        }
        if (!handled && ConnectionSource.LOCK_NOT_AVAILABLE.equals(e.getSQLState())) {
          LOG.debug("{}: a reset holds the segment; waiting for it again", label);
          return Outcome.RESYNC;
        }
        if (handled && !isTransient(e)) {
          // What the handler left fails the checkpoint or the commit (a statement it caught that
          // aborted the transaction, a deferred constraint): that batch fails, not the database.
          throw new HandlerFailed(e);
        }
        throw new Transient(e);
      } finally {
        endUncommitted(connection, committed, autoCommit);
        giveBackTimeout(connection, handlersTimeout);
      }
    } catch (SQLException e) {
      throw new Transient(e);
    }
  }

  private void handle(Connection connection, Batch batch) throws HandlerFailed, Transient {
    try {
      projection.handler().apply(batch, HandlerConnection.guard(connection));
    } catch (VirtualMachineError e) {
      throw e;
    } catch (Throwable e) {
      if (isTransient(e)) {
        throw new Transient(e);
      }
      throw new HandlerFailed(e);
    } finally {
      dropStrayInterrupt();
    }
  }

  private long loadExternalCheckpoint() {
    try {
      return projection.checkpointStore().orElseThrow().load(projection.name(), segment);
    } catch (Exception e) {
      throw new IllegalStateException("the checkpoint store failed to load: " + e, e);
    } finally {
      dropStrayInterrupt();
    }
  }

  /** Saves the read model's own checkpoint, if it keeps one; a failure fails the batch. */
  private void saveExternalCheckpoint(String name, int segmentSaved, long position)
      throws HandlerFailed {
    if (projection.checkpointStore().isEmpty()) {
      return;
    }
    try {
      projection.checkpointStore().get().save(name, segmentSaved, position);
    } catch (Exception e) {
      throw new HandlerFailed(e);
    } finally {
      dropStrayInterrupt();
    }
  }

  /** Applies a pending reset: locks every segment, runs the reset handler, in one transaction. */
  private void applyReset() {
    Optional<ResetHandler> handler = projection.resetHandler();
    int failures = 0;
    while (!stopping) {
      Throwable failed;
      try (Connection connection = dataSource.getConnection()) {
        int handlersTimeout = connection.getNetworkTimeout();
        boolean autoCommit = connection.getAutoCommit();
        connection.setAutoCommit(false);
        boolean committed = false;
        try {
          // Waits for the segments' rows, which batches (or another reset) may hold; the server
          // ends that wait after about a lease, and the next step waits again.
          ConnectionSource.limitWaits(connection, networkMillis);
          Long position;
          try {
            position =
                ProjectionSql.applyReset(schema, connection, projection.name(), segment, epoch);
          } catch (SQLException e) {
            if (ConnectionSource.LOCK_NOT_AVAILABLE.equals(e.getSQLState())) {
              LOG.debug("{}: the segments are busy; waiting for them again", label);
              return;
            }
            throw e;
          }
          if (position != null && handler.isPresent()) {
            ConnectionSource.limitWaits(connection, handlersTimeout);
            try {
              handler.get().reset(HandlerConnection.guard(connection), position);
            } finally {
              dropStrayInterrupt();
            }
            ConnectionSource.limitWaits(connection, networkMillis);
            // A statement of the handler's that failed, caught there, aborted the transaction,
            // and the commit would roll it back without a word: the reset would run again at once.
            ProjectionSql.requireUsable(connection);
          }
          if (position != null) {
            for (int each = 0; each < projection.segments(); each++) {
              saveExternalCheckpoint(projection.name(), each, position);
            }
          }
          connection.commit();
          committed = true;
          if (position != null) {
            LOG.info("{}: reset to position {} applied", label, position);
          }
          return;
        } catch (VirtualMachineError e) {
          throw e;
        } catch (Throwable e) {
          failed = e;
        } finally {
          endUncommitted(connection, committed, autoCommit);
          giveBackTimeout(connection, handlersTimeout);
        }
      } catch (SQLException e) {
        throw ConnectionSource.translate(e);
      }
      // Rolled back by now: the transaction held every segment's row, which recording the
      // failure updates.
      if (failed instanceof SQLException sql
          && (ProjectionSql.FENCED.equals(sql.getSQLState()) || isTransient(sql))) {
        throw ConnectionSource.translate(sql);
      }
      failures++;
      if (failures >= projection.retry().attempts()) {
        if (stopFailed("reset handler: " + failed)) {
          listening.projectionFailed(
              projection.name(), segment, ProjectionFailure.Action.FAILED, failed);
          LOG.error("{}: the reset handler failed; stopped in state FAILED", label, failed);
        }
        return;
      }
      listening.projectionFailed(
          projection.name(), segment, ProjectionFailure.Action.RETRY, failed);
      LOG.warn("{}: the reset handler failed (attempt {}); retrying", label, failures, failed);
      if (!pauseOwning(projection.retry().backoffAfter(failures), true)) {
        return;
      }
    }
  }

  /**
   * Leaves the segment in state FAILED after an error that ended this worker (a handler's {@link
   * StackOverflowError}, say), as a handler that kept failing does: without it the segment would
   * look healthy while nothing follows it here.
   */
  private void failVisibly(Throwable error) {
    if (!owner) {
      return;
    }
    try {
      stopFailed("stopped by " + error);
    } catch (Throwable e) {
      LOG.warn("{}: could not record the failure ({})", label, e.toString());
    }
  }

  /**
   * Stops the segment in state FAILED with {@code error}; false when another runner took it over,
   * or a reset fenced it, since this one owned it: it runs on there, and nothing failed. While a
   * reset's handler holds the segment, tries again until this runner closes, which leaves the
   * failure for the segment's next owner to meet again.
   */
  private boolean stopFailed(String error) {
    while (true) {
      switch (ProjectionSql.fail(schema, ownCalls, projection.name(), segment, epoch, error)) {
        case STOPPED -> {
          return true;
        }
        case FENCED -> {
          LOG.info(
              "{}: taken over or reset before it could stop in state FAILED; it runs on", label);
          return false;
        }
        case BUSY -> {
          if (stopping) {
            LOG.warn(
                "{}: closed while a reset held the segment; the failure is not recorded", label);
            return false;
          }
          LOG.debug("{}: a reset holds the segment; recording the failure after it", label);
        }
      }
    }
  }

  /** Gives the segment up on the way out, so that another runner takes over at once. */
  private void release() {
    if (!owner) {
      return;
    }
    try {
      ProjectionSql.release(schema, ownCalls, projection.name(), segment, node, epoch);
    } catch (RuntimeException e) {
      LOG.warn(
          "{}: could not give the segment up ({}); its lease will expire", label, e.toString());
    }
    owner = false;
  }

  /** A lost connection, a server shutting down, a serialization failure or a deadlock. */
  private static boolean isTransient(Throwable error) {
    for (Throwable e = error; e != null; e = e.getCause()) {
      if (e instanceof SQLException sql && sql.getSQLState() != null) {
        String state = sql.getSQLState();
        if (state.startsWith("08")
            || state.startsWith("57P")
            || state.equals("40001")
            || state.equals("40P01")) {
          return true;
        }
      }
    }
    return false;
  }

  private static String describe(SequencedEvent event, Throwable error) {
    var trace = new StringWriter();
    error.printStackTrace(new PrintWriter(trace));
    return "event at position "
        + event.position()
        + " ("
        + event.event().type()
        + ", id "
        + event.event().id()
        + "): "
        + trace;
  }

  /**
   * Renews this node's lease on the segment; false when it no longer owns it (taken over, FAILED,
   * or reset unless {@code resetting}, when the pending reset is the one being applied). "busy":
   * the segment's row is locked by this node's own batch meanwhile.
   */
  private boolean renewLease(boolean resetting) {
    ProjectionSql.Claim renewal = claim();
    return renewal.status().equals("busy")
        || (renewal.owned()
            && renewal.epoch() == epoch
            && renewal.resetPending() == resetting
            && renewal.state().equals("RUNNING"));
  }

  /**
   * Pauses between attempts of a batch, or of a reset when {@code resetting}, renewing the lease
   * now and then: a failed attempt's transaction, which renewed it, rolled back, and attempts that
   * outlast the lease would let another node take the segment and start counting attempts again, so
   * that it never reached FAILED. False when the segment is no longer this node's.
   */
  private boolean pauseOwning(Duration duration, boolean resetting) {
    long end = System.nanoTime() + duration.toNanos();
    while (!stopping) {
      if (!renewLease(resetting)) {
        return false;
      }
      long left = end - System.nanoTime();
      if (left <= 0) {
        return true;
      }
      pause(Duration.ofNanos(Math.min(left, renewInterval.toNanos())));
    }
    return true;
  }

  private void pause(Duration duration) {
    long end = System.nanoTime() + duration.toNanos();
    synchronized (sleeper) {
      while (!stopping) {
        long remaining = end - System.nanoTime();
        if (remaining <= 0) {
          return;
        }
        try {
          TimeUnit.NANOSECONDS.timedWait(sleeper, remaining);
        } catch (InterruptedException e) {
          strayInterrupt();
        }
      }
    }
  }

  /**
   * Only this worker's own callbacks (a handler, say) can interrupt its thread, which no one else
   * sees, and {@link #stop()} is how a worker is stopped: an interrupt asks nothing of it. Kept,
   * the flag would fail every wait that follows at once, in a busy loop, and the next callback's
   * own waits (a sleep, an append) too. Dropped after each callback, and when a wait ends with it.
   */
  private void strayInterrupt() {
    LOG.warn(
        "{}: ignoring an interrupt of its thread (by a handler?); close the runner to stop", label);
  }

  private void dropStrayInterrupt() {
    if (Thread.interrupted()) {
      strayInterrupt();
    }
  }

  /** Gives the connection the network timeout it came with, before it goes back to the pool. */
  private static void giveBackTimeout(Connection connection, int millis) {
    try {
      if (!connection.isClosed()) {
        ConnectionSource.limitWaits(connection, millis);
      }
    } catch (SQLException e) {
      // A broken connection: the pool discards it.
    }
  }

  /**
   * Rolls back what was not committed, whatever ended it (an {@link Error} too), before giving the
   * connection its autocommit back: switching autocommit on commits an open transaction.
   */
  private static void endUncommitted(Connection connection, boolean committed, boolean autoCommit) {
    try {
      if (!committed) {
        connection.rollback();
      }
      if (autoCommit) {
        connection.setAutoCommit(true);
      }
    } catch (SQLException e) {
      // A broken connection: its transaction is gone with it, and the pool discards it.
    }
  }
}
