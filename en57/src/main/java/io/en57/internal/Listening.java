package io.en57.internal;

import io.en57.observation.AppendEnded;
import io.en57.observation.AppendStarted;
import io.en57.observation.GroupWritten;
import io.en57.observation.Operation;
import io.en57.observation.ProjectionBatch;
import io.en57.observation.ProjectionFailure;
import io.en57.observation.ReadEnded;
import io.en57.observation.StoreListener;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.LongSupplier;
import java.util.function.ToLongFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The store's side of a {@link StoreListener}: times the work, builds the reports, and keeps a
 * listener that throws from failing the store's work (the exception is logged, at WARN the first
 * time and at DEBUG after). {@link #NONE}, for a store without listener, does nothing and allocates
 * nothing. Thread-safe.
 */
public final class Listening {

  /** No listener. */
  public static final Listening NONE = new Listening(null);

  private static final Logger LOG = LoggerFactory.getLogger(StoreListener.class);

  private final StoreListener listener;
  private final AtomicBoolean warned = new AtomicBoolean();

  private Listening(StoreListener listener) {
    this.listener = listener;
  }

  /** {@code listener}'s side, or {@link #NONE} for null. */
  public static Listening of(StoreListener listener) {
    return listener == null ? NONE : new Listening(listener);
  }

  /** Whether anyone listens. */
  public boolean enabled() {
    return listener != null;
  }

  /** An append begins on this thread; end the returned observation once. */
  public AppendObservation appendStarted(int events, boolean conditional) {
    if (listener == null) {
      return AppendObservation.NONE;
    }
    Operation<AppendEnded> operation = null;
    try {
      operation = listener.appendStarted(new AppendStarted(events, conditional));
    } catch (RuntimeException | LinkageError e) {
      failed("appendStarted", e);
    }
    return new AppendObservation(this, operation);
  }

  /** A read's page is requested on this thread; end the returned observation once, anywhere. */
  public ReadObservation readStarted() {
    if (listener == null) {
      return ReadObservation.NONE;
    }
    Operation<ReadEnded> operation = null;
    try {
      operation = listener.readStarted();
    } catch (RuntimeException | LinkageError e) {
      failed("readStarted", e);
    }
    return new ReadObservation(this, operation);
  }

  /**
   * A group commit wrote {@code group}, which started at {@code started} ({@link System#nanoTime}).
   */
  <T> void groupWritten(List<T> group, ToLongFunction<T> queuedAt, long started) {
    if (listener == null) {
      return;
    }
    long ended = System.nanoTime();
    var waits = new ArrayList<Duration>(group.size());
    for (T append : group) {
      waits.add(Duration.ofNanos(Math.max(0, started - queuedAt.applyAsLong(append))));
    }
    try {
      listener.groupWritten(new GroupWritten(waits, Duration.ofNanos(ended - started)));
    } catch (RuntimeException | LinkageError e) {
      failed("groupWritten", e);
    }
  }

  /**
   * A projection batch started at {@code started} committed; {@code head} is asked for the log's
   * head only when someone listens.
   */
  void projectionBatchApplied(
      String projection,
      int segment,
      int events,
      long started,
      long checkpoint,
      LongSupplier head) {
    if (listener == null) {
      return;
    }
    Duration duration = Duration.ofNanos(System.nanoTime() - started);
    try {
      long lag = Math.max(0, head.getAsLong() - checkpoint);
      listener.projectionBatchApplied(
          new ProjectionBatch(projection, segment, events, duration, checkpoint, lag));
    } catch (RuntimeException | LinkageError e) {
      failed("projectionBatchApplied", e);
    }
  }

  /** A projection's handler failed and the runner does {@code action}. */
  void projectionFailed(
      String projection, int segment, ProjectionFailure.Action action, Throwable error) {
    if (listener == null) {
      return;
    }
    try {
      listener.projectionFailed(new ProjectionFailure(projection, segment, action, error));
    } catch (RuntimeException | LinkageError e) {
      failed("projectionFailed", e);
    }
  }

  private void failed(String method, Throwable e) {
    if (warned.compareAndSet(false, true)) {
      LOG.warn("the store listener's {} threw; ignored (further failures log at DEBUG)", method, e);
    } else {
      LOG.debug("the store listener's {} threw; ignored", method, e);
    }
  }

  /** An append being observed. */
  public static final class AppendObservation {

    static final AppendObservation NONE = new AppendObservation(null, null);

    private final Listening listening;
    private final Operation<AppendEnded> operation;
    private final long started;

    private AppendObservation(Listening listening, Operation<AppendEnded> operation) {
      this.listening = listening;
      this.operation = operation;
      this.started = operation == null ? 0 : System.nanoTime();
    }

    /** The append stored its events, or its condition refused it. */
    public void ended(boolean conflicted) {
      end(
          conflicted ? AppendEnded.Outcome.CONFLICT : AppendEnded.Outcome.SUCCESS,
          Optional.empty());
    }

    /** The append threw {@code error}. */
    public void failed(Throwable error) {
      end(AppendEnded.Outcome.ERROR, Optional.of(error));
    }

    private void end(AppendEnded.Outcome outcome, Optional<Throwable> error) {
      if (operation == null) {
        return;
      }
      try {
        operation.ended(
            new AppendEnded(outcome, Duration.ofNanos(System.nanoTime() - started), error));
      } catch (RuntimeException | LinkageError e) {
        listening.failed("an append operation's ended", e);
      }
    }
  }

  /** The fetch of a read's page being observed. */
  public static final class ReadObservation {

    static final ReadObservation NONE = new ReadObservation(null, null);

    private final Listening listening;
    private final Operation<ReadEnded> operation;
    private final long started;

    private ReadObservation(Listening listening, Operation<ReadEnded> operation) {
      this.listening = listening;
      this.operation = operation;
      this.started = operation == null ? 0 : System.nanoTime();
    }

    /** The page arrived with {@code events} events. */
    public void fetched(int events) {
      end(events, Optional.empty());
    }

    /** The fetch threw {@code error}. */
    public void failed(Throwable error) {
      end(0, Optional.of(error));
    }

    private void end(int events, Optional<Throwable> error) {
      if (operation == null) {
        return;
      }
      try {
        operation.ended(
            new ReadEnded(events, Duration.ofNanos(System.nanoTime() - started), error));
      } catch (RuntimeException | LinkageError e) {
        listening.failed("a read operation's ended", e);
      }
    }
  }
}
