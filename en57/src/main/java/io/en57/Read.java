package io.en57;

import io.en57.internal.ReadRoute;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Spliterator;
import java.util.Spliterators;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;

/**
 * A read scope: a {@link Query} built fluently, plus read options, bound to the store that made it.
 * Immutable: every refinement returns a new scope, so a scope can be kept and reused, for example
 * as the {@link AppendCondition} of the decision it was read for.
 *
 * <p>{@link #withTag} and {@link #ofType} refine the last criterion; {@link #or} appends the other
 * scope's criteria; {@link #after} applies to every criterion.
 *
 * <p>Iterating reads the log lazily in batches of the store's read batch size (1,000 by default),
 * in ascending position order (descending after {@link #backwards()}), using keyset pagination; no
 * connection is held between batches and the whole log is never held in memory. Each iteration
 * reads afresh, so it sees events appended since the scope was made.
 *
 * <p>Scopes are immutable and thread-safe; an iterator or stream belongs to the thread using it.
 */
public final class Read implements Iterable<Event> {

  private static final int NO_LIMIT = -1;

  private final EventStore store;
  private final Query query;
  private final int limit;
  private final boolean backwards;
  private final ReadRoute route;

  Read(EventStore store, Query query, int limit, boolean backwards) {
    this(store, query, limit, backwards, ReadRoute.REPLICA);
  }

  private Read(EventStore store, Query query, int limit, boolean backwards, ReadRoute route) {
    this.store = store;
    this.query = query;
    this.limit = limit;
    this.backwards = backwards;
    this.route = route;
  }

  static Read all(EventStore store) {
    return of(store, Query.all());
  }

  static Read of(EventStore store, Query query) {
    return new Read(store, query, NO_LIMIT, false);
  }

  /** Only events carrying all of {@code tags} (and the tags of earlier calls). */
  public Read withTag(String... tags) {
    return new Read(store, query.refineLast(c -> c.withTags(tags)), limit, backwards, route);
  }

  /** Only events of one of {@code types} (or of the types of earlier calls). */
  public Read ofType(String... types) {
    return new Read(store, query.refineLast(c -> c.ofTypes(types)), limit, backwards, route);
  }

  /** Only events after {@code position}, in every criterion of this scope. */
  public Read after(long position) {
    return new Read(store, query.after(position), limit, backwards, route);
  }

  /**
   * Events matching this scope or {@code other} (a union of their criteria). The union reads where
   * the stricter of the two would: the primary if either scope reads it ({@link #fromPrimary()}),
   * else a replica that has replayed up to the further of their {@link #atLeast} positions.
   *
   * @throws IllegalArgumentException if {@code other} has {@link #limit} or {@link #backwards()}
   */
  public Read or(Read other) {
    Objects.requireNonNull(other, "other scope must not be null");
    if (other.hasReadOptions()) {
      throw new IllegalArgumentException(
          "the scope passed to or() must not have limit() or backwards(); set them on the union");
    }
    // Either scope's events must be read as fresh as that scope asks, and a read has one route.
    return new Read(store, query.or(other.query), limit, backwards, route.stricter(other.route));
  }

  /** At most {@code maxEvents} events. */
  public Read limit(int maxEvents) {
    if (maxEvents < 0) {
      throw new IllegalArgumentException("limit must not be negative, got " + maxEvents);
    }
    return new Read(store, query, maxEvents, backwards, route);
  }

  /** Newest events first. */
  public Read backwards() {
    return new Read(store, query, limit, true, route);
  }

  /**
   * Reads the primary even on a store with replicas ({@link EventStoreBuilder#replica}): for a read
   * that must see every committed event, such as the reads of a decision. A subscription to this
   * scope follows the primary too. On a store without replicas, every read is a primary read.
   */
  public Read fromPrimary() {
    return new Read(store, query, limit, backwards, ReadRoute.PRIMARY);
  }

  /**
   * Read-your-writes: the read runs on a replica only once the replica has replayed up to {@code
   * position} (typically the {@link AppendResult.Success#position() position} of the caller's
   * append), so it sees everything up to there. If no usable replica reaches it within the wait set
   * by {@link EventStoreBuilder#readYourWrites}, the read goes to the primary or fails with {@link
   * ReplicaBehindException}, as configured there. The wait happens when iteration starts. Without
   * replicas, or after {@link #fromPrimary()}, it changes nothing; subscriptions ignore it (they
   * wait for a replica anyway, see {@link EventStore#subscribe(Read, long)}).
   */
  public Read atLeast(long position) {
    if (position < 0) {
      throw new IllegalArgumentException("position must not be negative, got " + position);
    }
    if (route.primary()) {
      return this;
    }
    return new Read(store, query, limit, backwards, route.stricter(new ReadRoute(false, position)));
  }

  /** The query this scope reads. */
  public Query query() {
    return query;
  }

  /** The matching events, read in batches as the iterator advances. */
  @Override
  public Iterator<Event> iterator() {
    var sequenced = sequencedIterator();
    return new Iterator<>() {
      @Override
      public boolean hasNext() {
        return sequenced.hasNext();
      }

      @Override
      public Event next() {
        return sequenced.next().event();
      }
    };
  }

  /** The matching events as a lazy stream. */
  public Stream<Event> stream() {
    return sequenced().map(SequencedEvent::event);
  }

  /**
   * The matching events with their positions, as a lazy stream. Closing the stream stops the
   * batches being fetched ahead, in the database too.
   */
  public Stream<SequencedEvent> sequenced() {
    Batches batches = sequencedIterator();
    return StreamSupport.stream(
            Spliterators.spliteratorUnknownSize(batches, Spliterator.ORDERED | Spliterator.NONNULL),
            false)
        .onClose(batches::close);
  }

  /** All matching events in a list. Mind the memory for large results; prefer streaming. */
  public List<Event> toList() {
    var events = new ArrayList<Event>();
    forEach(events::add);
    return events;
  }

  /** The matching event with the highest position, found with one indexed lookup. */
  public Optional<SequencedEvent> last() {
    return new Read(store, query, 1, true, route).sequenced().findFirst();
  }

  ReadRoute route() {
    return route;
  }

  boolean hasReadOptions() {
    return limit != NO_LIMIT || backwards;
  }

  private Batches sequencedIterator() {
    return store.batches(query, backwards, limit, route);
  }

  @Override
  public String toString() {
    return "Read"
        + query.criteria()
        + (limit == NO_LIMIT ? "" : " limit " + limit)
        + (backwards ? " backwards" : "")
        + (route.primary() ? " from primary" : "")
        + (route.atLeast() > 0 ? " at least " + route.atLeast() : "");
  }
}
