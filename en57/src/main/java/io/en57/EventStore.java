package io.en57;

import io.en57.internal.AppendOutcome;
import io.en57.internal.Cancellation;
import io.en57.internal.EncodedEvent;
import io.en57.internal.Engine;
import io.en57.internal.EventCodec;
import io.en57.internal.Listening;
import io.en57.internal.Listening.AppendObservation;
import io.en57.internal.Listening.ReadObservation;
import io.en57.internal.LogSchema;
import io.en57.internal.LogWatch;
import io.en57.internal.ReadRoute;
import io.en57.internal.StorableText;
import io.en57.internal.StoreAccess;
import io.en57.internal.StoredEvent;
import io.en57.internal.TransactionJoin;
import io.en57.subscriptions.Subscription;
import io.en57.subscriptions.SubscriptionOptions;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;

/**
 * A DCB event store: append events, optionally under a condition, and read them back by type and
 * tags in position order.
 *
 * <pre>{@code
 * try (EventStore store = EventStore.forUrl(System.getenv("DATABASE_URL"))) {
 *   store.append(List.of(Event.of("CourseDefined", Map.of("capacity", 10)).withTags("course:c1")));
 *   List<Event> course = store.read().withTag("course:c1").toList();
 * }
 * }</pre>
 *
 * <p>Three ways to connect: {@link #forUrl} owns a connection pool and closes it with the store;
 * {@link #forDataSource} borrows the application's pool and never closes it; {@link #onConnection}
 * runs on one connection inside the caller's transaction. {@link #inMemory()} keeps the log in
 * memory, for tests and demos. Configure any of them with {@link #builder()}.
 *
 * <p>Thread-safe: share one store across the application.
 */
public final class EventStore implements AutoCloseable {

  /** The most conflicting events a {@link AppendResult.Failure} carries (the newest ones). */
  public static final int MAX_CONFLICTING_EVENTS = Engine.MAX_CONFLICTING_EVENTS;

  private final Engine engine;
  private final EventCodec codec;
  private final int readBatchSize;
  private final LogWatch watch;
  private final Listening listening;
  private final TransactionJoin join;
  private final LogSchema schema;
  private ExecutorService readAhead;

  static {
    StoreAccess.install(
        store -> store.listening,
        (store, route) -> store.head(route),
        store -> store.join.active() || store.engine.appendsHoldTheLockUntilTheCallerEnds(),
        Read::hasReadOptions);
  }

  EventStore(
      Engine engine,
      EventCodec codec,
      int readBatchSize,
      LogWatch watch,
      Listening listening,
      TransactionJoin join,
      LogSchema schema) {
    this.engine = engine;
    this.codec = codec;
    this.readBatchSize = readBatchSize;
    this.watch = watch;
    this.listening = listening;
    this.join = join;
    this.schema = schema;
  }

  /**
   * A store on PostgreSQL that owns a HikariCP pool; {@link #close()} closes it. Accepts {@code
   * postgres://user:password@host:port/database} and {@code jdbc:postgresql://...} URLs.
   *
   * @throws SchemaNotReadyException if the database has not been migrated
   */
  public static EventStore forUrl(String url) {
    return builder().forUrl(url);
  }

  /**
   * A store on PostgreSQL borrowing connections from the application's pool, which it never closes.
   *
   * @throws SchemaNotReadyException if the database has not been migrated
   */
  public static EventStore forDataSource(DataSource dataSource) {
    return builder().forDataSource(dataSource);
  }

  /** A store keeping its log in memory, with the same semantics as the PostgreSQL store. */
  public static EventStore inMemory() {
    return builder().inMemory();
  }

  /** Options: payload classes, Jackson mapper, read batch size, pool size, lock timeout. */
  public static EventStoreBuilder builder() {
    return new EventStoreBuilder();
  }

  /**
   * Appends {@code events} atomically and unconditionally. Throws as {@link #append(List,
   * AppendCondition)} does, except for conflicts.
   */
  public AppendResult append(List<Event> events) {
    return appendEncoded(encode(events, null), null);
  }

  /**
   * Appends {@code events} atomically unless an event matching {@code condition} is stored, in
   * which case nothing is stored and a {@link AppendResult.Failure} lists the conflicting events.
   *
   * @throws IllegalArgumentException for an empty list, a null event, duplicate ids in the list,
   *     data that cannot be stored, an append beyond the limits {@link Event} lists, or a condition
   *     {@code after} beyond the head; nothing is stored
   * @throws DuplicateEventIdException if an event id is already stored; nothing is stored
   * @throws AppendLockTimeoutException if the append lock was not granted in time
   * @throws En57Exception if the calling thread is interrupted, before or while its append waits
   *     for a group; nothing is stored, and the interrupt flag stays set
   * @throws En57StorageException if the database failed
   */
  public AppendResult append(List<Event> events, AppendCondition condition) {
    Objects.requireNonNull(
        condition, "condition must not be null; call append(events) to append unconditionally");
    return appendEncoded(encode(events, condition.query()), condition);
  }

  /** A read scope matching every event; refine it with {@code withTag}, {@code ofType}... */
  public Read read() {
    return Read.all(this);
  }

  /**
   * A read scope of {@code query}: the query an {@link AppendCondition} takes, so one query value
   * serves both the read of a decision and the condition of its append.
   */
  public Read read(Query query) {
    return Read.of(this, Objects.requireNonNull(query, "query must not be null"));
  }

  /**
   * Follows the events matching {@code scope} after position {@code after}: catches up with the
   * stored log, then delivers new events as they are appended. See {@link Subscription}.
   *
   * @throws IllegalArgumentException if the scope has a limit or reads backwards, or {@code after}
   *     is negative or beyond the head
   * @throws UnsupportedOperationException on a store bound to the caller's connection
   */
  public Subscription subscribe(Read scope, long after) {
    return subscribe(scope, after, SubscriptionOptions.defaults());
  }

  /** As {@link #subscribe(Read, long)}, with a batch size and retry policy of your choice. */
  public Subscription subscribe(Read scope, long after, SubscriptionOptions options) {
    Objects.requireNonNull(scope, "scope must not be null");
    Objects.requireNonNull(options, "options must not be null");
    if (scope.hasReadOptions()) {
      throw new IllegalArgumentException(
          "a subscription follows a scope without limit() or backwards(); those only shape reads");
    }
    if (after < 0) {
      throw new IllegalArgumentException("after must not be negative, got " + after);
    }
    long head = head();
    if (after > head) {
      // A position never read is a bug, and following from it would skip the events up to it.
      throw new IllegalArgumentException("after " + after + " is beyond the head " + head);
    }
    ReadRoute route = scope.route().primary() ? ReadRoute.PRIMARY : ReadRoute.REPLICA;
    return watch.subscribe(engine, codec, scope.query(), after, options, route);
  }

  /**
   * The schema that holds this store's log: {@code en57} unless {@link EventStoreBuilder#schema}
   * named another. Each schema is a log of its own: positions of different logs are unrelated, and
   * a condition only ever sees the events of its own store's log.
   */
  public String schema() {
    return schema.name();
  }

  /**
   * The position of the newest stored event, 0 for an empty store. On a store with replicas, the
   * primary's head: a condition {@code after(head())} must then go with a read {@code
   * atLeast(head)} or {@code fromPrimary()}, since a replica's read may stop short of it.
   */
  public long head() {
    return join.run(engine, (target, joined) -> target.head());
  }

  /**
   * This store running on {@code connection}, inside the caller's transaction: events appended
   * through it commit or roll back with the application's own writes. It never commits, rolls back,
   * closes or changes the auto-commit of the connection; the transaction must use READ COMMITTED
   * isolation (PostgreSQL's default). An append holds the store's append lock until the caller's
   * transaction ends, so every other append waits that long: keep such transactions short. Closing
   * the returned store does nothing.
   *
   * @throws UnsupportedOperationException for the in-memory store
   */
  public EventStore onConnection(Connection connection) {
    return new EventStore(
        engine.onConnection(connection),
        codec,
        readBatchSize,
        LogWatch.none(),
        listening,
        TransactionJoin.NONE,
        schema);
  }

  /**
   * Closes the store's subscriptions, waiting at most 30 seconds in all for push handlers to finish
   * their batches (then interrupting them), and the connection pool the store owns, if any.
   */
  @Override
  public void close() {
    watch.close();
    synchronized (this) {
      if (readAhead != null) {
        readAhead.shutdown();
      }
    }
    engine.close();
  }

  int readBatchSize() {
    return readBatchSize;
  }

  /**
   * The head of the source a read on {@code route} would use, on the caller's transaction if any.
   */
  private long head(ReadRoute route) {
    return join.run(engine, (target, joined) -> target.reader(route).head());
  }

  /** The events of a read, batch by batch; on a pool, the next two batches are fetched ahead. */
  Batches batches(Query query, boolean backwards, long limit, ReadRoute route) {
    // Inside the application's transaction every page is read on its connection, by the caller.
    boolean joined = join.active();
    boolean ahead = engine.readsAhead() && !joined;
    // Every page of one read comes from one source (a replica, or the primary), chosen now.
    Engine source = joined ? null : engine.reader(route);
    return new Batches(this, query, backwards, limit, ahead ? readAhead() : null, source);
  }

  /** The fetch of a page is about to be requested, on the reading thread. */
  ReadObservation readStarted() {
    return listening.readStarted();
  }

  /** A page of a read, from {@code source}, or null for the engine the transaction join picks. */
  List<StoredEvent> fetch(
      Engine source,
      Query query,
      long cursor,
      boolean backwards,
      int limit,
      Cancellation cancellation,
      ReadObservation observation) {
    List<StoredEvent> page;
    try {
      page =
          source != null
              ? source.read(query, cursor, backwards, limit, cancellation)
              : join.run(
                  engine,
                  (target, joined) -> target.read(query, cursor, backwards, limit, cancellation));
    } catch (RuntimeException | Error e) {
      if (cancellation.cancelled()) {
        observation.fetched(0); // the caller closed the read: not a failure
      } else {
        observation.failed(e);
      }
      throw e;
    }
    observation.fetched(page.size());
    return page;
  }

  private AppendResult appendEncoded(List<EncodedEvent> events, AppendCondition condition) {
    // Refused on every engine alike, whether or not this append would have had to wait.
    if (Thread.currentThread().isInterrupted()) {
      throw new En57Exception(
          "the appending thread is interrupted; nothing was written", new InterruptedException());
    }
    AppendObservation observation = listening.appendStarted(events.size(), condition != null);
    AppendResult result;
    try {
      result = store(events, condition);
    } catch (RuntimeException | Error e) {
      observation.failed(e);
      throw e;
    }
    observation.ended(result instanceof AppendResult.Failure);
    return result;
  }

  private AppendResult store(List<EncodedEvent> events, AppendCondition condition) {
    Query query = condition == null ? null : condition.query();
    return join.run(
        engine,
        (target, joined) -> {
          AppendOutcome outcome = target.append(events, query);
          if (outcome instanceof AppendOutcome.Conflicted conflicted) {
            return new AppendResult.Failure(conflicted.position(), decode(conflicted.events()));
          }
          var stored = (AppendOutcome.Stored) outcome;
          if (stored.replayed()) {
            // Nothing new was written: nobody to wake.
          } else if (joined) {
            // Woken before the commit, subscriptions would read past events they cannot see yet.
            join.afterCommit(() -> watch.appendedInCallersTransaction(stored.position()));
          } else {
            watch.appended(stored.position());
          }
          return new AppendResult.Success(stored.position(), stored.replayed());
        });
  }

  /**
   * The events as engines store them, after the checks of what one append may carry, events and
   * condition together.
   */
  private List<EncodedEvent> encode(List<Event> events, Query condition) {
    Objects.requireNonNull(events, "events must not be null");
    if (events.isEmpty()) {
      throw new IllegalArgumentException(
          "events must not be empty: an append stores at least one event");
    }
    var encoded = new ArrayList<EncodedEvent>(events.size());
    var indexById = new HashMap<UUID, Integer>();
    long jsonLength = 0;
    long indexedLength = 0;
    for (int i = 0; i < events.size(); i++) {
      Event event = Objects.requireNonNull(events.get(i), "events[" + i + "] must not be null");
      Integer earlier = indexById.putIfAbsent(event.id(), i);
      if (earlier != null) {
        throw new IllegalArgumentException(
            "events[" + i + "].id repeats the id of events[" + earlier + "]: " + event.id());
      }
      EncodedEvent one = codec.encode(event, "events[" + i + "]");
      jsonLength += one.data().length() + (one.meta() == null ? 0 : one.meta().length());
      if (jsonLength > Event.MAX_APPEND_JSON_LENGTH) {
        throw new IllegalArgumentException(
            "events: the data and metadata of events[0.."
                + i
                + "] take "
                + jsonLength
                + " characters written as JSON; at most "
                + Event.MAX_APPEND_JSON_LENGTH
                + " are allowed in one append: split it into several appends");
      }
      indexedLength += one.indexedLength();
      if (indexedLength > Event.MAX_APPEND_INDEXED_LENGTH) {
        throw new IllegalArgumentException(
            "events: the types and tags of events[0.."
                + i
                + "] take "
                + indexedLength
                + " characters; at most "
                + Event.MAX_APPEND_INDEXED_LENGTH
                + " are allowed in one append, with those of its condition: split it into several"
                + " appends");
      }
      encoded.add(one);
    }
    long conditionLength = condition == null ? 0 : StorableText.indexedLength(condition);
    if (indexedLength + conditionLength > Event.MAX_APPEND_INDEXED_LENGTH) {
      throw new IllegalArgumentException(
          "condition: its types and tags take "
              + conditionLength
              + " characters, and the events' "
              + indexedLength
              + "; at most "
              + Event.MAX_APPEND_INDEXED_LENGTH
              + " are allowed in one append, events and condition together");
    }
    return encoded;
  }

  /** Daemon threads fetching read batches ahead, made when the first read needs one. */
  private synchronized Executor readAhead() {
    if (readAhead == null) {
      var threads = new AtomicInteger();
      readAhead =
          Executors.newCachedThreadPool(
              task -> {
                var thread = new Thread(task, "en57-read-ahead-" + threads.incrementAndGet());
                thread.setDaemon(true);
                return thread;
              });
    }
    return readAhead;
  }

  List<SequencedEvent> decode(List<StoredEvent> stored) {
    return codec.decodeAll(stored);
  }
}
