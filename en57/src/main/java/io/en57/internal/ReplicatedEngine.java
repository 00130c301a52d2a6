package io.en57.internal;

import io.en57.En57Exception;
import io.en57.Query;
import io.en57.ReplicaBehindException;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A PostgreSQL engine with streaming replicas: appends, the head and the reads routed to the
 * primary run there; other reads run on a usable replica, chosen in turn.
 *
 * <p>Why a replica serves correct reads: positions are assigned under the append lock in commit
 * order, and the next append takes the lock only after the previous one committed, so the WAL holds
 * the commit records in position order. A standby replays the WAL in order and makes a transaction
 * visible when it replays its commit record; at any moment it shows exactly the appends committed
 * up to some point of the primary's history, that is the events at positions 1 to its head and
 * nothing above. A keyset read after a position on it never skips an event: what it lacks comes
 * after everything it shows.
 *
 * <p>A replica is skipped while it is down (its last health check or a read on it failed to
 * connect), lags behind the primary by more than the configured time (or may: behind every head
 * sampled, just after the store started), or is not a standby of the primary's cluster (not in
 * recovery, or another system identifier). Health is checked on a daemon thread every {@link
 * #checkInterval}, never on the read path: one {@code max(position)} on the primary and on each
 * replica. The lag of a replica is how long ago the primary last stood at a head the replica has
 * reached, from the primary's heads sampled at each check (so clocks and idle periods do not
 * matter). A read whose replica fails on the way (connection lost, or a query cancelled by a
 * conflict with recovery) goes on from the primary, which holds every event the replica had.
 * Thread-safe.
 */
public final class ReplicatedEngine implements Engine {

  private static final Logger LOG = LoggerFactory.getLogger(ReplicatedEngine.class);
  private static final long MAX_PAUSE_NANOS = TimeUnit.MILLISECONDS.toNanos(20);

  /** A replica as configured: a name for messages, where to connect, what to close with it. */
  public record Source(String name, DataSource dataSource, AutoCloseable onClose) {}

  /**
   * How replicas are used.
   *
   * @param maxLag a replica lagging more than this is skipped
   * @param maxWait the longest a read waits for a replica to reach the position it asked for
   * @param failWhenBehind after that wait, fail (true) or read the primary (false)
   */
  public record Options(Duration maxLag, Duration maxWait, boolean failWhenBehind) {}

  /** One replica and what the health checks and reads learnt of it. */
  private static final class Replica {
    final String name;
    final PostgresEngine engine;
    volatile boolean up = true;
    volatile boolean lagging;

    /** Why it is not (or not yet known to be) a standby of the primary; null once it is one. */
    volatile String foreign = "not checked yet";

    volatile long head;

    Replica(String name, PostgresEngine engine) {
      this.name = name;
      this.engine = engine;
    }

    boolean usable() {
      return up && !lagging && foreign == null;
    }

    void reached(long position) {
      if (position > head) {
        head = position;
      }
    }

    void down(Throwable cause) {
      if (up) {
        LOG.warn("replica {} is down, reads skip it: {}", name, cause.toString());
      }
      up = false;
    }
  }

  /** The primary's head at a check: first and last seen at these nanoTimes. */
  private static final class Sample {
    final long head;
    final long firstSeen;
    long lastSeen;

    Sample(long head, long now) {
      this.head = head;
      this.firstSeen = now;
      this.lastSeen = now;
    }
  }

  private final PostgresEngine primary;
  private volatile Long primaryCluster;
  private final List<Replica> replicas;
  private final Options options;
  private final Duration checkInterval;
  private final ArrayDeque<Sample> samples = new ArrayDeque<>();
  private final AtomicInteger turn = new AtomicInteger();
  private final ScheduledExecutorService health;

  private ReplicatedEngine(PostgresEngine primary, List<Replica> replicas, Options options) {
    this.primary = primary;
    this.replicas = replicas;
    this.options = options;
    long interval = Math.max(20, Math.min(1_000, options.maxLag().toMillis() / 5));
    this.checkInterval = Duration.ofMillis(interval);
    this.health =
        Executors.newSingleThreadScheduledExecutor(
            task -> {
              var thread = new Thread(task, "en57-replica-health");
              thread.setDaemon(true);
              return thread;
            });
  }

  /** An engine reading {@code sources} besides {@code primary}; starts checking their health. */
  public static ReplicatedEngine start(
      PostgresEngine primary, List<Source> sources, Timeouts timeouts, Options options) {
    var replicas = new ArrayList<Replica>();
    for (Source source : sources) {
      replicas.add(
          new Replica(
              source.name(),
              PostgresEngine.readOnly(
                  source.dataSource(), primary.schema(), timeouts, source.onClose())));
    }
    var engine = new ReplicatedEngine(primary, List.copyOf(replicas), options);
    engine.check();
    engine.health.scheduleWithFixedDelay(
        engine::checkQuietly,
        engine.checkInterval.toMillis(),
        engine.checkInterval.toMillis(),
        TimeUnit.MILLISECONDS);
    return engine;
  }

  @Override
  public AppendOutcome append(List<EncodedEvent> events, Query condition) {
    return primary.append(events, condition);
  }

  @Override
  public List<StoredEvent> read(
      Query query, long cursor, boolean backwards, int limit, Cancellation cancellation) {
    return reader(ReadRoute.REPLICA).read(query, cursor, backwards, limit, cancellation);
  }

  @Override
  public boolean readsAhead() {
    return true;
  }

  /** The primary's head: an append condition's {@code after} is checked against it. */
  @Override
  public long head() {
    return primary.head();
  }

  @Override
  public long furthestReplayed() {
    return replicas.stream().filter(Replica::usable).mapToLong(r -> r.head).max().orElse(0);
  }

  @Override
  public Engine reader(ReadRoute route) {
    if (route.primary()) {
      return primary;
    }
    Replica chosen = choose(route.atLeast());
    if (chosen == null) {
      return primary;
    }
    if (chosen.head >= route.atLeast()) {
      return new ReplicaReader(chosen);
    }
    return awaitPosition(chosen, route.atLeast());
  }

  /** A store on the caller's connection reads and appends there: on the primary. */
  @Override
  public Engine onConnection(Connection connection) {
    return primary.onConnection(connection);
  }

  @Override
  public void close() {
    health.shutdownNow();
    try {
      for (Replica replica : replicas) {
        replica.engine.close();
      }
    } finally {
      primary.close();
    }
  }

  /**
   * A usable replica, in turn; with a position to reach, one known to have reached it if any, else
   * the one furthest ahead. Null when none is usable.
   */
  private Replica choose(long atLeast) {
    int start = Math.floorMod(turn.getAndIncrement(), replicas.size());
    Replica furthest = null;
    for (int i = 0; i < replicas.size(); i++) {
      Replica replica = replicas.get((start + i) % replicas.size());
      if (!replica.usable()) {
        continue;
      }
      if (replica.head >= atLeast) {
        return replica;
      }
      if (furthest == null || replica.head > furthest.head) {
        furthest = replica;
      }
    }
    return furthest;
  }

  /**
   * Polls the replica's head until it reaches {@code position}, for at most the configured wait.
   */
  private Engine awaitPosition(Replica replica, long position) {
    long deadline = System.nanoTime() + options.maxWait().toNanos();
    long pause = TimeUnit.MILLISECONDS.toNanos(1);
    while (true) {
      try {
        replica.reached(replica.engine.head());
      } catch (RuntimeException e) {
        if (!switchesToPrimary(replica, e)) {
          throw e;
        }
        return primary;
      }
      if (replica.head >= position) {
        return new ReplicaReader(replica);
      }
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        break;
      }
      LockSupport.parkNanos(Math.min(pause, left));
      if (Thread.interrupted()) {
        Thread.currentThread().interrupt();
        throw new En57Exception("interrupted while waiting for replica " + replica.name);
      }
      pause = Math.min(pause * 2, MAX_PAUSE_NANOS);
    }
    if (!options.failWhenBehind()) {
      return primary;
    }
    throw new ReplicaBehindException(
        "replica "
            + replica.name
            + " had replayed up to position "
            + replica.head
            + " after waiting "
            + options.maxWait()
            + " for position "
            + position
            + "; read with fromPrimary() or try again later",
        position,
        replica.head);
  }

  /**
   * Whether a read that failed on {@code replica} with {@code failure} may go on from the primary:
   * the replica is out of reach (it is then skipped until a health check reaches it), the pool had
   * no connection for it in time, or recovery cancelled the query (a conflict with replay).
   */
  private static boolean switchesToPrimary(Replica replica, RuntimeException failure) {
    SQLException cause = sqlCause(failure);
    if (cause == null) {
      return false;
    }
    if (ConnectionSource.isConnectionLost(cause)) {
      replica.down(failure);
      return true;
    }
    return "40001".equals(cause.getSQLState()) || cause instanceof SQLTransientConnectionException;
  }

  private static SQLException sqlCause(Throwable failure) {
    for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
      if (cause instanceof SQLException sql) {
        return sql;
      }
    }
    return null;
  }

  private void checkQuietly() {
    try {
      check();
    } catch (RuntimeException e) {
      LOG.warn("checking the replicas failed: {}", e.toString());
    }
  }

  /** Samples the primary's head, then each replica's: up or down, lagging or not. */
  private void check() {
    Long primaryHead = null;
    try {
      primaryHead = primary.head();
    } catch (RuntimeException e) {
      // The primary is out of reach: replicas keep their lag status until it answers again.
    }
    long now = System.nanoTime();
    if (primaryHead != null) {
      sample(primaryHead, now);
    }
    for (Replica replica : replicas) {
      long head;
      try {
        head = replica.engine.head();
      } catch (RuntimeException e) {
        replica.down(e);
        continue;
      }
      // What it shows now, even below what it showed before: a standby restarted after a crash
      // may open for reads before it replayed up to where it stood, and a name may come to point
      // at another standby. A read on it raises this again.
      replica.head = head;
      if (!replica.up) {
        LOG.info("replica {} answers again at position {}", replica.name, head);
        replica.up = true;
      }
      checkIsAStandbyOfThePrimary(replica);
      if (primaryHead != null) {
        OptionalLong lag = lagNanos(head, System.nanoTime());
        boolean lagging = lag.isEmpty() || lag.getAsLong() > options.maxLag().toNanos();
        if (lagging != replica.lagging) {
          if (lag.isEmpty()) {
            LOG.info(
                "replica {} is behind every recent head of the primary (at position {}, the"
                    + " primary at {}): how far behind is not known yet; reads skip it until it"
                    + " reaches one",
                replica.name,
                head,
                primaryHead);
          } else if (lagging) {
            LOG.warn(
                "replica {} lags behind the primary by more than {} ms (at position {}, the"
                    + " primary at {}); reads skip it",
                replica.name,
                TimeUnit.NANOSECONDS.toMillis(lag.getAsLong()),
                head,
                primaryHead);
          } else {
            LOG.info(
                "replica {} caught up (at position {}); reads use it again", replica.name, head);
          }
          replica.lagging = lagging;
        }
      }
    }
  }

  /**
   * Marks {@code replica} unusable unless it is a standby (in recovery) of the primary's cluster: a
   * URL naming the wrong server, a restored copy or a promoted former standby holds another
   * history, whose positions mean other events.
   */
  private void checkIsAStandbyOfThePrimary(Replica replica) {
    if (primaryCluster == null) {
      try {
        primaryCluster = primary.server().systemIdentifier();
      } catch (RuntimeException e) {
        return; // the primary is out of reach: the replica stays as it was, until it answers
      }
    }
    String foreign;
    try {
      PostgresEngine.Server server = replica.engine.server();
      foreign =
          !server.standby()
              ? "it is not a standby (not in recovery): a primary of its own, or promoted"
              : server.systemIdentifier() != primaryCluster
                  ? "it is a standby of another cluster (system identifier "
                      + Long.toUnsignedString(server.systemIdentifier())
                      + ", the primary's "
                      + Long.toUnsignedString(primaryCluster)
                      + ")"
                  : null;
    } catch (RuntimeException e) {
      // It answered a head query just now: most likely pg_control_system() is not allowed.
      foreign = "cannot tell whether it is a standby of the primary (" + e.getMessage() + ")";
    }
    if (foreign != null && !foreign.equals(replica.foreign)) {
      LOG.error("replica {} is not read: {}", replica.name, foreign);
    }
    replica.foreign = foreign;
  }

  private synchronized void sample(long head, long now) {
    Sample newest = samples.peekLast();
    if (newest != null && newest.head == head) {
      newest.lastSeen = now;
    } else {
      samples.addLast(new Sample(head, now));
    }
    long horizon = now - 2 * options.maxLag().toNanos();
    while (samples.size() > 1 && samples.peekFirst().lastSeen < horizon) {
      samples.removeFirst();
    }
  }

  /**
   * How long ago the primary last stood at a head the replica has reached; empty when the samples
   * kept cannot tell whether that is within the lag allowed.
   *
   * <p>A replica behind every sample has a lag longer than the oldest sample's age, by an unknown
   * amount. When that age exceeds the lag allowed, it is the lag returned. When it does not, as
   * just after the store started, the replica may be hours behind or a moment: it is skipped
   * (empty) until it reaches a sample. A healthy replica a few positions behind the primary's first
   * sample while appends go on reaches it by the next check or so; the primary serves reads
   * meanwhile.
   */
  private synchronized OptionalLong lagNanos(long replicaHead, long now) {
    Iterator<Sample> newestFirst = samples.descendingIterator();
    while (newestFirst.hasNext()) {
      Sample sample = newestFirst.next();
      if (sample.head <= replicaHead) {
        return OptionalLong.of(Math.max(0, now - sample.lastSeen));
      }
    }
    long oldestAge = now - samples.getFirst().firstSeen;
    return oldestAge > options.maxLag().toNanos()
        ? OptionalLong.of(oldestAge)
        : OptionalLong.empty();
  }

  /**
   * One read's engine on a replica. Should the replica fail on the way, the read goes on from the
   * primary and stays there: the primary holds every event the replica showed, so nothing is read
   * twice or skipped, while another replica might be behind the position reached.
   */
  private final class ReplicaReader implements Engine {

    private final Replica replica;
    private volatile boolean onPrimary;

    ReplicaReader(Replica replica) {
      this.replica = replica;
    }

    @Override
    public List<StoredEvent> read(
        Query query, long cursor, boolean backwards, int limit, Cancellation cancellation) {
      if (!onPrimary) {
        try {
          return replica.engine.read(query, cursor, backwards, limit, cancellation);
        } catch (RuntimeException e) {
          if (cancellation.cancelled() || !switchesToPrimary(replica, e)) {
            throw e;
          }
          onPrimary = true;
        }
      }
      return primary.read(query, cursor, backwards, limit, cancellation);
    }

    @Override
    public long head() {
      if (!onPrimary) {
        try {
          long head = replica.engine.head();
          replica.reached(head);
          return head;
        } catch (RuntimeException e) {
          if (!switchesToPrimary(replica, e)) {
            throw e;
          }
          onPrimary = true;
        }
      }
      return primary.head();
    }

    @Override
    public boolean readsReplica() {
      return !onPrimary;
    }

    @Override
    public boolean readsAhead() {
      return true;
    }

    @Override
    public AppendOutcome append(List<EncodedEvent> events, Query condition) {
      return primary.append(events, condition);
    }

    @Override
    public Engine onConnection(Connection connection) {
      return primary.onConnection(connection);
    }

    @Override
    public void close() {
      // The replica's pool belongs to the replicated engine.
    }
  }
}
