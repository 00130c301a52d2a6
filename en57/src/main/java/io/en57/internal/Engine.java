package io.en57.internal;

import io.en57.Query;
import java.sql.Connection;
import java.util.List;

/**
 * A storage engine. Implementations are thread-safe. The contract test suite pins the semantics
 * every engine shares.
 */
public interface Engine extends AutoCloseable {

  /** Conflicting events returned with a Failure: the newest ones, up to this many. */
  int MAX_CONFLICTING_EVENTS = 100;

  /**
   * Appends atomically, failing if an event matches {@code condition}.
   *
   * @param condition null for an unconditional append
   * @throws io.en57.DuplicateEventIdException if an event id is already stored
   * @throws IllegalArgumentException if a criterion's {@code after} is beyond the head
   */
  AppendOutcome append(List<EncodedEvent> events, Query condition);

  /**
   * Up to {@code limit} events matching {@code query}, from {@code cursor} exclusive: ascending
   * positions greater than it, or with {@code backwards} descending positions less than it.
   */
  default List<StoredEvent> read(Query query, long cursor, boolean backwards, int limit) {
    return read(query, cursor, backwards, limit, Cancellation.NONE);
  }

  /** {@link #read(Query, long, boolean, int)}, stopped in the database by {@code cancellation}. */
  List<StoredEvent> read(
      Query query, long cursor, boolean backwards, int limit, Cancellation cancellation);

  /**
   * Whether reads may fetch batches on other threads, ahead of the caller: true on a pool, false on
   * the caller's connection (one connection serves one thread) and in memory (nothing to gain).
   */
  default boolean readsAhead() {
    return false;
  }

  /** The highest stored position, 0 when empty. */
  long head();

  /**
   * The engine one read (every page of it, and the head it may learn first) runs on: this engine,
   * or for a store with replicas, the source {@code route} picks. Its {@code head()} and {@code
   * read(...)} come from that same source.
   */
  default Engine reader(ReadRoute route) {
    return this;
  }

  /**
   * Whether this engine reads a replica, which may lag behind what this process appended: a head
   * learnt from the store's own appends must then not stand in for its own head.
   */
  default boolean readsReplica() {
    return false;
  }

  /**
   * The furthest position a usable replica of this engine is known to have replayed (by its health
   * checks and reads), 0 without replicas: a replica read stopping below it is behind.
   */
  default long furthestReplayed() {
    return 0;
  }

  /**
   * Whether an append, failed or not, holds the append lock until the caller ends its transaction
   * (an engine on the caller's connection, outside autocommit).
   */
  default boolean appendsHoldTheLockUntilTheCallerEnds() {
    return false;
  }

  /** An engine running on the caller's connection, inside the caller's transaction. */
  Engine onConnection(Connection connection);

  @Override
  void close();
}
