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

/**
 * Iterates a read in keyset-paginated batches. With a read-ahead executor, the next batch is
 * fetched while the current one is decoded and consumed, so the database and the caller work at the
 * same time; at most two batches are held.
 */
final class Batches implements Iterator<SequencedEvent>, AutoCloseable {

  private final EventStore store;
  private final Query query;
  private final boolean backwards;
  private final Executor readAhead;
  private final Engine source;
  private final Cancellation cancellation = new Cancellation();
  private long cursor;
  private long remaining;
  private boolean exhausted;
  private CompletableFuture<List<StoredEvent>> next;
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
  }

  @Override
  public boolean hasNext() {
    while (!batch.hasNext() && !exhausted) {
      int size = batchSize();
      List<StoredEvent> rows = next != null ? join(next) : fetch(cursor, size, store.readStarted());
      next = null;
      remaining -= rows.size();
      exhausted = rows.size() < size || remaining == 0;
      if (!rows.isEmpty()) {
        cursor = rows.get(rows.size() - 1).position();
      }
      if (!exhausted && readAhead != null) {
        long from = cursor;
        int nextSize = batchSize();
        ReadObservation observation = store.readStarted(); // on the caller's thread, for tracing
        next = CompletableFuture.supplyAsync(() -> fetch(from, nextSize, observation), readAhead);
      }
      batch = store.decode(rows).iterator();
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
   * Stops the batch being fetched ahead, in the database too: its caller will not read it. The
   * iteration ends.
   */
  @Override
  public void close() {
    exhausted = true;
    batch = List.<SequencedEvent>of().iterator();
    if (next != null) {
      cancellation.cancel();
      next = null;
    }
  }

  private int batchSize() {
    return (int) Math.min(store.readBatchSize(), remaining);
  }

  private List<StoredEvent> fetch(long from, int size, ReadObservation observation) {
    return store.fetch(source, query, from, backwards, size, cancellation, observation);
  }

  private static List<StoredEvent> join(CompletableFuture<List<StoredEvent>> batch) {
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
