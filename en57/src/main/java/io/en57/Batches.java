package io.en57;

import io.en57.internal.Cancellation;
import io.en57.internal.Engine;
import io.en57.internal.Listening.ReadObservation;
import io.en57.internal.StoredEvent;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;

/**
 * Iterates a read in keyset-paginated batches. With a read-ahead executor, the two batches after
 * the current one are fetched while it is decoded and consumed: the second as soon as the first
 * arrives, so that the database never waits for the caller to ask (streaming the whole log, that
 * wait cost about 8% of the rate). A read of the whole log need not wait for the first: positions
 * are dense, so it fetches the second from where the first will end, side by side with it, and
 * fetches it again in the rare case that the guess was wrong. At most three batches are held: the
 * caller's, and two fetched or being fetched.
 */
final class Batches implements Iterator<SequencedEvent>, AutoCloseable {

  private final EventStore store;
  private final Query query;
  private final boolean backwards;
  private final Executor readAhead;
  private final Engine source;
  private final Cancellation cancellation = new Cancellation();

  /** Whether the read matches every event (after a position), so that its batches are dense. */
  private final boolean wholeLog;

  private long cursor;
  private long remaining;
  private boolean exhausted;

  /** The batch after the caller's, fetched or being fetched; null when none was asked for. */
  private CompletableFuture<Fetched> next;

  /** The batch after {@link #next}, fetched as soon as that one arrives; or null. */
  private CompletableFuture<Fetched> afterNext;

  private Iterator<SequencedEvent> batch = List.<SequencedEvent>of().iterator();

  /**
   * @param limit the most events to read, or a negative number for all
   * @param readAhead where to fetch the next batch early, or null to fetch only when needed
   * @param source the engine to read every batch from, or null for the one each fetch is given
   */
  Batches(
      EventStore store,
      Query query,
      boolean backwards,
      long limit,
      Executor readAhead,
      Engine source) {
    this.store = store;
    this.source = source;
    this.query = query;
    this.backwards = backwards;
    this.readAhead = readAhead;
    this.cursor = backwards ? Long.MAX_VALUE : 0;
    this.remaining = limit < 0 ? Long.MAX_VALUE : limit;
    this.exhausted = remaining == 0;
    this.wholeLog =
        query.criteria().stream().allMatch(c -> c.types().isEmpty() && c.tags().isEmpty());
  }

  @Override
  public boolean hasNext() {
    while (!batch.hasNext() && !exhausted) {
      Fetched fetched = next != null ? join(next) : null;
      next = afterNext;
      afterNext = null;
      Batch taken;
      if (fetched instanceof Batch ready) {
        taken = ready;
      } else {
        if (next != null) {
          join(next); // asked for after the wrong guess, so wrong too; its page has ended now
          next = null;
        }
        taken = fetch(cursor, remaining, store.readStarted());
      }
      cursor = taken.cursor();
      remaining = taken.remaining();
      exhausted = taken.last();
      if (exhausted && next != null) {
        // Asked for ahead of a batch that turned out last: it ends now, fetching nothing, so that
        // every page the read reported has ended when the read has.
        join(next);
        next = null;
      }
      if (!exhausted && readAhead != null) {
        if (next == null) {
          next = fetchAfter(CompletableFuture.completedFuture(taken));
        }
        // Unless the limit ends the read with the next batch.
        if (remaining > store.readBatchSize()) {
          afterNext =
              wholeLog && remaining >= 2L * store.readBatchSize()
                  ? fetchAfterGuessing(next, cursor + (backwards ? -1 : 1) * store.readBatchSize())
                  : fetchAfter(next);
        }
      }
      batch = store.decode(taken.events()).iterator();
    }
    return batch.hasNext();
  }

  @Override
  public SequencedEvent next() {
    if (!hasNext()) {
      throw new NoSuchElementException();
    }
    return batch.next();
  }

  /**
   * Stops the batches being fetched ahead, in the database too: their caller will not read them.
   * The iteration ends.
   */
  @Override
  public void close() {
    exhausted = true;
    batch = List.<SequencedEvent>of().iterator();
    if (next != null) {
      cancellation.cancel();
      next = null;
      afterNext = null;
    }
  }

  /** What a fetch ahead came to: a batch, or nothing when it started from a wrong guess. */
  private sealed interface Fetched {}

  /** A fetched batch, and where the read stands after it. */
  private record Batch(List<StoredEvent> events, long cursor, long remaining, boolean last)
      implements Fetched {}

  /** Fetched from a guessed cursor that was not where the batch before ended: fetch it again. */
  private record GuessedWrong() implements Fetched {}

  /** The batch after {@code cursor}, of at most {@code remaining} events. */
  private Batch fetch(long cursor, long remaining, ReadObservation observation) {
    int size = (int) Math.min(store.readBatchSize(), remaining);
    return batch(
        store.fetch(source, query, cursor, backwards, size, cancellation, observation),
        cursor,
        remaining,
        size);
  }

  /** A batch of {@code events}, asked for as at most {@code size} after {@code cursor}. */
  private static Batch batch(List<StoredEvent> events, long cursor, long remaining, int size) {
    long left = remaining - events.size();
    long after = events.isEmpty() ? cursor : events.get(events.size() - 1).position();
    return new Batch(events, after, left, events.size() < size || left == 0);
  }

  /**
   * The batch after {@code previous}, fetched on the read-ahead executor as soon as {@code
   * previous} arrives; an empty last batch, fetching nothing, when {@code previous} ended the read.
   */
  private CompletableFuture<Fetched> fetchAfter(CompletableFuture<? extends Fetched> previous) {
    ReadObservation observation = store.readStarted(); // on the caller's thread, for tracing
    return previous.handleAsync(
        (before, error) -> {
          if (error != null) {
            observation.fetched(0); // the batch before failed, and this read with it
            throw error instanceof CompletionException e ? e : new CompletionException(error);
          }
          if (!(before instanceof Batch batch)) {
            observation.fetched(0); // its caller fetches it again, from where it really starts
            return before;
          }
          if (batch.last()) {
            observation.fetched(0); // asked for, but nothing was left to fetch
            return new Batch(List.of(), batch.cursor(), batch.remaining(), true);
          }
          return fetch(batch.cursor(), batch.remaining(), observation);
        },
        this::readAhead);
  }

  /**
   * The batch after {@code previous}, fetched at once from {@code guess}: where {@code previous}
   * ends if its positions follow one another, as they do in the log unless an append left a gap. If
   * {@code previous} ends elsewhere, it comes to {@link GuessedWrong}, for the caller to fetch
   * again.
   */
  private CompletableFuture<Fetched> fetchAfterGuessing(
      CompletableFuture<Fetched> previous, long guess) {
    ReadObservation observation = store.readStarted();
    int size = store.readBatchSize();
    CompletableFuture<List<StoredEvent>> guessed =
        CompletableFuture.supplyAsync(
            () -> store.fetch(source, query, guess, backwards, size, cancellation, observation),
            this::readAhead);
    // Combined only once both have ended, so that the guessed page has ended when the batch has.
    CompletableFuture<List<StoredEvent>> ended = guessed.handle((events, error) -> events);
    return previous.thenCombine(
        ended,
        (before, ignored) -> {
          if (!(before instanceof Batch batch)) {
            return before;
          }
          if (batch.last()) {
            return new Batch(List.of(), batch.cursor(), batch.remaining(), true);
          }
          if (batch.cursor() != guess) {
            return new GuessedWrong();
          }
          return batch(guessed.join(), guess, batch.remaining(), size); // throws if it failed
        });
  }

  /**
   * Runs {@code task} on the read-ahead executor, or at once if the store has just shut it down: a
   * batch asked for must end (then failing, the store being closed), or its caller would wait for
   * it forever.
   */
  private void readAhead(Runnable task) {
    try {
      readAhead.execute(task);
    } catch (RejectedExecutionException closed) {
      task.run();
    }
  }

  private static Fetched join(CompletableFuture<Fetched> batch) {
    try {
      return batch.join();
    } catch (CompletionException e) {
      if (e.getCause() instanceof RuntimeException cause) {
        throw cause;
      }
      throw e;
    }
  }
}
