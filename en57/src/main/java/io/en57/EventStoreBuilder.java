package io.en57;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jdk8.Jdk8Module;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import io.en57.internal.DatabaseUrl;
import io.en57.internal.Engine;
import io.en57.internal.EventCodec;
import io.en57.internal.InMemoryEngine;
import io.en57.internal.Listening;
import io.en57.internal.LogSchema;
import io.en57.internal.LogWatch;
import io.en57.internal.PostgresEngine;
import io.en57.internal.ReplicatedEngine;
import io.en57.internal.StorePool;
import io.en57.internal.Timeouts;
import io.en57.internal.TransactionJoin;
import io.en57.observation.StoreListener;
import io.en57.subscriptions.ConnectionFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import javax.net.ssl.SSLContext;
import javax.sql.DataSource;
import org.slf4j.LoggerFactory;

/**
 * Configures an {@link EventStore}. Not thread-safe; the stores it builds are.
 *
 * <pre>{@code
 * EventStore store = EventStore.builder()
 *     .register("CourseDefined", CourseDefined.class)
 *     .readBatchSize(500)
 *     .forUrl(url);
 * }</pre>
 */
public final class EventStoreBuilder {

  /** How long a read waits for a connection of a replica's own pool before it reads the primary. */
  private static final Duration REPLICA_CONNECTION_TIMEOUT = Duration.ofSeconds(1);

  private final Map<String, Class<?>> payloadClasses = new LinkedHashMap<>();
  private ObjectMapper objectMapper;
  private int readBatchSize = 1_000;
  private int maxPoolSize = 10;
  private Duration lockTimeout = Duration.ofSeconds(10);
  private Duration queryTimeout = Duration.ofSeconds(30);
  private int maxGroupSize = 64;
  private Duration maxGroupWait = Duration.ofSeconds(30);
  private int groupsInFlight = 1;
  private Duration pollInterval = Duration.ofSeconds(1);
  private ConnectionFactory listenConnection;
  private boolean listen = true;
  private StoreListener listener;
  private ApplicationTransactions transactions;
  private boolean schemaCheck = true;
  private LogSchema schema = LogSchema.DEFAULT;
  private final List<Object> replicas = new ArrayList<>();
  private Duration replicaMaxLag = Duration.ofSeconds(5);
  private Duration readYourWritesWait = Duration.ofSeconds(1);
  private ReplicaFallback readYourWritesFallback = ReplicaFallback.PRIMARY;
  private String forwardHost;
  private int forwardPort;
  private SSLContext forwardingTls;

  EventStoreBuilder() {}

  /**
   * Stores events of {@code type} as JSON of {@code payloadClass} (a record or a Jackson-mappable
   * class) and reads them back as instances of it. Events of unregistered types carry a {@code
   * Map}.
   */
  public EventStoreBuilder register(String type, Class<?> payloadClass) {
    Objects.requireNonNull(type, "type must not be null");
    Objects.requireNonNull(payloadClass, "payloadClass must not be null");
    if (type.isBlank()) {
      throw new IllegalArgumentException("type must not be blank");
    }
    if (Map.class.isAssignableFrom(payloadClass)) {
      throw new IllegalArgumentException(
          "maps are untyped data; register a class for typed payloads");
    }
    Class<?> earlier = payloadClasses.putIfAbsent(type, payloadClass);
    if (earlier != null && earlier != payloadClass) {
      throw new IllegalArgumentException(
          "type '" + type + "' is already registered to " + earlier.getName());
    }
    return this;
  }

  /**
   * The Jackson mapper for typed payloads. By default a mapper with java.time and Optional support
   * that writes dates as ISO strings and ignores unknown properties (so events written by newer
   * code still read). It also writes the values of untyped data and metadata, which read back as
   * plain JSON types whatever its deserialization features.
   */
  public EventStoreBuilder objectMapper(ObjectMapper objectMapper) {
    this.objectMapper = Objects.requireNonNull(objectMapper, "objectMapper must not be null");
    return this;
  }

  /** Events fetched per round trip while iterating a read; 1,000 by default. */
  public EventStoreBuilder readBatchSize(int readBatchSize) {
    if (readBatchSize < 1) {
      throw new IllegalArgumentException("readBatchSize must be positive, got " + readBatchSize);
    }
    this.readBatchSize = readBatchSize;
    return this;
  }

  /**
   * The schema that holds the store's log, {@code en57} by default. One database can hold several
   * independent logs, each in its own schema, migrated with {@link Migrator#withSchema} and
   * versioned on its own. Each keeps every guarantee on its own; a condition sees only the events
   * of its own log, so a decision cannot span two logs, and positions of different logs are
   * unrelated.
   *
   * @throws IllegalArgumentException if {@code schema} is not a plain lower-case SQL identifier
   *     (letters, digits and {@code _}, not starting with a digit or {@code pg_})
   */
  public EventStoreBuilder schema(String schema) {
    this.schema = LogSchema.of(schema);
    return this;
  }

  /** Connections in the pool {@link #forUrl} creates; 10 by default. */
  public EventStoreBuilder maxPoolSize(int maxPoolSize) {
    if (maxPoolSize < 1) {
      throw new IllegalArgumentException("maxPoolSize must be positive, got " + maxPoolSize);
    }
    this.maxPoolSize = maxPoolSize;
    return this;
  }

  /**
   * How long an append waits for the append lock before failing with {@link
   * AppendLockTimeoutException}, nothing written; 10 seconds by default. The lock is held only
   * while an append commits, unless an append runs inside an application transaction ({@link
   * EventStore#onConnection}), which holds it until that transaction ends. PostgreSQL counts it in
   * whole milliseconds: from 1 ms to {@value Integer#MAX_VALUE} ms (about 24.8 days).
   */
  public EventStoreBuilder lockTimeout(Duration lockTimeout) {
    Objects.requireNonNull(lockTimeout, "lockTimeout must not be null");
    if (lockTimeout.compareTo(Duration.ofMillis(1)) < 0
        || lockTimeout.compareTo(Duration.ofMillis(Integer.MAX_VALUE)) > 0) {
      // Below 1 ms the database would read 0, which means no limit at all.
      throw new IllegalArgumentException(
          "lockTimeout must be from 1 ms to " + Integer.MAX_VALUE + " ms, got " + lockTimeout);
    }
    this.lockTimeout = lockTimeout;
    return this;
  }

  /**
   * The longest one database call of the store may run, 30 seconds by default: a page of a read, a
   * head query, an append (whose wait for the append lock, bounded by {@link #lockTimeout}, comes
   * on top). Past it the server cancels the call, which fails with {@link En57StorageException}.
   * The same bound, plus the lock timeout and a few seconds, is the network timeout of the store's
   * connections while it uses them, so a server that stops answering (frozen, or cut off) fails the
   * call too instead of hanging it. On the caller's connection ({@link EventStore#onConnection})
   * only the server-side limit applies; the connection's own network timeout is the caller's.
   */
  public EventStoreBuilder queryTimeout(Duration queryTimeout) {
    Objects.requireNonNull(queryTimeout, "queryTimeout must not be null");
    if (queryTimeout.isNegative() || queryTimeout.isZero()) {
      throw new IllegalArgumentException("queryTimeout must be positive, got " + queryTimeout);
    }
    this.queryTimeout = queryTimeout;
    return this;
  }

  /**
   * Group commit: concurrent appends through one store are written together, up to {@code
   * maxGroupSize} appends in one statement and one commit (64 by default), each still decided on
   * its own and in order. A lone append never waits for company. An append waits at most {@code
   * maxWait} (30 s by default) for its group to start, then fails with {@link
   * AppendLockTimeoutException}, nothing written. {@code maxGroupSize} 1 writes every append on its
   * own.
   */
  public EventStoreBuilder groupCommit(int maxGroupSize, Duration maxWait) {
    if (maxGroupSize < 1) {
      throw new IllegalArgumentException("maxGroupSize must be positive, got " + maxGroupSize);
    }
    Objects.requireNonNull(maxWait, "maxWait must not be null");
    if (maxWait.isNegative() || maxWait.isZero()) {
      throw new IllegalArgumentException("maxWait must be positive, got " + maxWait);
    }
    this.maxGroupSize = maxGroupSize;
    this.maxGroupWait = maxWait;
    return this;
  }

  /**
   * Groups written at the same time, each on a connection of its own; 1 by default. With 2, the
   * next group is already on its way to the database, waiting for the append lock there, while one
   * commits; but each group then collects fewer appends, and on this project's benchmark machine (2
   * cores, local PostgreSQL) 1 was faster at every thread count. Worth trying where the database is
   * far away.
   */
  public EventStoreBuilder groupsInFlight(int groupsInFlight) {
    if (groupsInFlight < 1) {
      throw new IllegalArgumentException("groupsInFlight must be positive, got " + groupsInFlight);
    }
    this.groupsInFlight = groupsInFlight;
    return this;
  }

  /**
   * The longest a subscription waits before it reads the log again when no wake-up came; 1 second
   * by default. Wake-ups are hints (an append through the same store wakes its subscriptions at
   * once, another process's within moments through a PostgreSQL notification); this interval is
   * what guarantees progress when one is lost, when the store does not listen, or for appends
   * inside an application transaction ({@link EventStore#onConnection}).
   */
  public EventStoreBuilder pollInterval(Duration pollInterval) {
    Objects.requireNonNull(pollInterval, "pollInterval must not be null");
    if (pollInterval.isNegative() || pollInterval.isZero()) {
      throw new IllegalArgumentException("pollInterval must be positive, got " + pollInterval);
    }
    this.pollInterval = pollInterval;
    return this;
  }

  /**
   * How to open the dedicated connection on which the store LISTENs for appends made by other
   * processes, opened when the first subscription starts and reopened when it breaks. It must not
   * come from a pool, nor go through a pooler in transaction mode, which would lose the
   * notifications. {@link #forUrl} stores open one with their URL by default; {@link
   * #forDataSource} stores listen only when given one, and otherwise see other processes' appends
   * within the {@link #pollInterval}.
   */
  public EventStoreBuilder listenConnection(ConnectionFactory listenConnection) {
    this.listenConnection =
        Objects.requireNonNull(listenConnection, "listenConnection must not be null");
    this.listen = true;
    return this;
  }

  /**
   * Never LISTENs: subscriptions see appends made by other processes within the {@link
   * #pollInterval}. Appends through this store still wake its own subscriptions at once.
   */
  public EventStoreBuilder withoutListen() {
    this.listen = false;
    this.listenConnection = null;
    return this;
  }

  /**
   * Forwards this store's appends to the application node that leads appends, so that the appends
   * of every node share one group commit instead of queuing for the append lock one node after the
   * other. The nodes whose stores forward appends elect one of them in the database; the others
   * send it their appends over TCP, and it writes them with its own. This store listens on {@code
   * host}:{@code port} for other nodes' appends, from the moment it is built until it is closed,
   * and holds one more connection to the database for the election (a dedicated one for {@link
   * #forUrl}, one of the pool for {@link #forDataSource}). No node leads until moments after the
   * first store starts; meanwhile, and whenever the leader does not answer, a store appends
   * directly, as without this option.
   *
   * <p>The database still decides every append under its lock, as without forwarding: which node
   * writes an append changes nothing that the store guarantees. A node presents a token the leader
   * publishes in the database, readable by the roles that may append; the traffic itself is not
   * encrypted, so {@code host} should be on a network only the application's nodes reach, unless
   * {@link #forwardingTls} secures it.
   *
   * @param host the address other nodes reach this one at, which this store also listens on: the
   *     node's own address on the application's network, not a wildcard such as {@code 0.0.0.0}
   * @param port the port to listen on, 0 for any free one
   */
  public EventStoreBuilder forwardAppends(String host, int port) {
    Objects.requireNonNull(host, "host must not be null");
    if (host.isBlank()) {
      throw new IllegalArgumentException("host must not be blank");
    }
    if (host.equals("0.0.0.0") || host.equals("::") || host.equals("[::]")) {
      throw new IllegalArgumentException(
          "host is where other nodes reach this one, so it must not be the wildcard "
              + host
              + "; give the node's own address");
    }
    if (port < 0 || port > 65_535) {
      throw new IllegalArgumentException("port must be within 0 and 65535, got " + port);
    }
    this.forwardHost = host;
    this.forwardPort = port;
    return this;
  }

  /**
   * Forwards appends over TLS, both ways authenticated with {@code tls}: a node forwards only to a
   * leader whose certificate {@code tls} trusts, and a leader takes appends only from nodes that
   * present such a certificate, so a session of the application's database role alone can neither
   * take the lead and swallow appends nor send appends as a node (see {@link #forwardAppends}).
   * Give every node the same: one whose leader cannot complete the handshake appends directly.
   *
   * @param tls a context with this node's key and certificate, trusting the nodes' certificates (no
   *     host name is checked: the certificates say who is a node, not where)
   */
  public EventStoreBuilder forwardingTls(SSLContext tls) {
    this.forwardingTls = Objects.requireNonNull(tls, "tls must not be null");
    return this;
  }

  /**
   * Tells {@code listener} of every append, read page, group commit and projection batch, for
   * metrics and tracing (the module {@code en57-micrometer} has one for Micrometer). Without one,
   * the store does no such bookkeeping at all. See {@link StoreListener}.
   */
  public EventStoreBuilder listener(StoreListener listener) {
    this.listener = Objects.requireNonNull(listener, "listener must not be null");
    return this;
  }

  /**
   * Joins the application's transactions: a call made inside one runs on its connection (appends
   * then commit or roll back with the application's writes, and hold the append lock until it
   * ends), a call made outside one runs on the store's pool with group commit. See {@link
   * ApplicationTransactions}; {@code en57-spring-boot} configures this for Spring's transactions.
   * For PostgreSQL stores; the connections must reach the store's database.
   */
  public EventStoreBuilder joinTransactions(ApplicationTransactions transactions) {
    this.transactions = Objects.requireNonNull(transactions, "transactions must not be null");
    return this;
  }

  /**
   * Builds the store without checking that the database is migrated (by default {@code forUrl} and
   * {@code forDataSource} throw {@link SchemaNotReadyException} when it is not). For applications
   * that must start while the database is unreachable or being migrated by someone else; until it
   * is migrated, calls fail with {@link SchemaNotReadyException}.
   */
  public EventStoreBuilder withoutSchemaCheck() {
    this.schemaCheck = false;
    return this;
  }

  /**
   * Adds a streaming replica of the store's database (a hot standby replaying the primary's WAL),
   * reached at {@code url}, through a pool of its own of {@link #maxPoolSize} connections. Reads,
   * subscriptions and projections then read a usable replica, in turn when there are several;
   * appends, {@link EventStore#head()}, the reads of {@link io.en57.decisions.DecisionModel}
   * (unless made {@link io.en57.decisions.DecisionModel#readingFromReplicas()
   * readingFromReplicas()}), reads marked {@link Read#fromPrimary()} and everything inside a joined
   * application transaction ({@link #joinTransactions}) stay on the primary. A replica always shows
   * a prefix of the log (the events at positions 1 to its head, as on the primary), so a replica
   * read is a complete read of the log as it stood a moment ago, and subscriptions never skip or
   * repeat a position when they move between replicas and the primary. A replica that does not
   * answer, or lags by more than {@link #replicaMaxLag}, is skipped until it recovers; one down
   * when the store starts does not stop it. A read waits at most 1 second for a connection of a
   * replica's pool before it reads the primary. For PostgreSQL stores.
   */
  public EventStoreBuilder replica(String url) {
    replicas.add(DatabaseUrl.parse(url));
    return this;
  }

  /**
   * As {@link #replica(String)}, borrowing the application's pool for the replica, which the store
   * never closes. Give that pool a short connection timeout: a read waits that long for a
   * connection of a replica that just went down before it reads the primary.
   */
  public EventStoreBuilder replica(DataSource dataSource) {
    replicas.add(Objects.requireNonNull(dataSource, "dataSource must not be null"));
    return this;
  }

  /**
   * A replica lagging behind the primary by more than {@code maxLag} is skipped until it catches
   * up; 5 seconds by default. The lag is how long ago the primary stood at the position the replica
   * has replayed, checked in the background about every {@code maxLag / 5} (between 20 ms and 1 s).
   */
  public EventStoreBuilder replicaMaxLag(Duration maxLag) {
    Objects.requireNonNull(maxLag, "maxLag must not be null");
    if (maxLag.isNegative() || maxLag.isZero()) {
      throw new IllegalArgumentException("maxLag must be positive, got " + maxLag);
    }
    this.replicaMaxLag = maxLag;
    return this;
  }

  /**
   * How a read that asked to see a position ({@link Read#atLeast}) waits for a replica to replay up
   * to it: at most {@code maxWait} (1 second by default), then it reads the primary ({@link
   * ReplicaFallback#PRIMARY}, the default) or fails with {@link ReplicaBehindException} ({@link
   * ReplicaFallback#FAIL}).
   */
  public EventStoreBuilder readYourWrites(Duration maxWait, ReplicaFallback fallback) {
    Objects.requireNonNull(maxWait, "maxWait must not be null");
    if (maxWait.isNegative()) {
      throw new IllegalArgumentException("maxWait must not be negative, got " + maxWait);
    }
    this.readYourWritesWait = maxWait;
    this.readYourWritesFallback = Objects.requireNonNull(fallback, "fallback must not be null");
    return this;
  }

  /** A PostgreSQL store owning a HikariCP pool for {@code url}. See {@link EventStore#forUrl}. */
  public EventStore forUrl(String url) {
    DatabaseUrl parsed = DatabaseUrl.parse(url);
    StorePool pool = StorePool.start(parsed, maxPoolSize);
    ConnectionFactory listenOn = listenConnection;
    if (listen && listenOn == null) {
      listenOn = parsed.unpooled()::getConnection;
    }
    try {
      return postgres(pool, pool, listenOn, parsed.unpooled()::getConnection);
    } catch (RuntimeException e) {
      pool.close();
      throw e;
    }
  }

  /** A PostgreSQL store borrowing {@code dataSource}. See {@link EventStore#forDataSource}. */
  public EventStore forDataSource(DataSource dataSource) {
    Objects.requireNonNull(dataSource, "dataSource must not be null");
    return postgres(
        dataSource,
        () -> {},
        listen ? listenConnection : null,
        listenConnection != null ? listenConnection : dataSource::getConnection);
  }

  /** An in-memory store. See {@link EventStore#inMemory}. */
  public EventStore inMemory() {
    if (!replicas.isEmpty()) {
      throw new IllegalStateException("replicas are for PostgreSQL stores, not in-memory ones");
    }
    if (forwardHost != null || forwardingTls != null) {
      throw new IllegalStateException(
          "forwarding appends is for PostgreSQL stores, not in-memory ones");
    }
    return build(new InMemoryEngine());
  }

  /**
   * A PostgreSQL store; {@code dedicated} opens the connection on which it takes part in electing
   * the append leader, when it forwards appends.
   */
  private EventStore postgres(
      DataSource dataSource,
      AutoCloseable onClose,
      ConnectionFactory listenOn,
      ConnectionFactory dedicated) {
    if (forwardingTls != null && forwardHost == null) {
      throw new IllegalStateException("forwardingTls is for a store that forwardAppends");
    }
    if (schemaCheck) {
      requireMigrated(Migrator.forDataSource(dataSource).withSchema(schema.name()).status());
    }
    var groupCommit =
        new PostgresEngine.GroupCommit(
            maxGroupSize, maxGroupWait, groupsInFlight, Listening.of(listener));
    var timeouts = new Timeouts(lockTimeout, queryTimeout);
    var forwarding =
        forwardHost == null
            ? null
            : new PostgresEngine.Forwarding(forwardHost, forwardPort, forwardingTls, dedicated);
    Engine engine =
        PostgresEngine.onPool(dataSource, schema, timeouts, groupCommit, forwarding, onClose);
    if (!replicas.isEmpty()) {
      engine = withReplicas((PostgresEngine) engine, timeouts);
    }
    return build(
        engine,
        LogWatch.onPool(pollInterval, dataSource, listenOn, schema.channel()),
        TransactionJoin.of(transactions));
  }

  private Engine withReplicas(PostgresEngine primary, Timeouts timeouts) {
    var sources = new ArrayList<ReplicatedEngine.Source>();
    try {
      for (Object replica : replicas) {
        int number = sources.size() + 1;
        if (replica instanceof DatabaseUrl url) {
          StorePool pool = StorePool.startUnchecked(url, maxPoolSize, REPLICA_CONNECTION_TIMEOUT);
          String where =
              url.jdbcUrl().replaceFirst("^jdbc:postgresql://", "").replaceAll("\\?.*", "");
          sources.add(new ReplicatedEngine.Source("#" + number + " " + where, pool, pool));
        } else {
          sources.add(new ReplicatedEngine.Source("#" + number, (DataSource) replica, () -> {}));
        }
      }
      var options =
          new ReplicatedEngine.Options(
              replicaMaxLag, readYourWritesWait, readYourWritesFallback == ReplicaFallback.FAIL);
      return ReplicatedEngine.start(primary, sources, timeouts, options);
    } catch (RuntimeException e) {
      for (ReplicatedEngine.Source source : sources) {
        try {
          source.onClose().close();
        } catch (Exception closing) {
          e.addSuppressed(closing);
        }
      }
      primary.close();
      throw e;
    }
  }

  private void requireMigrated(MigrationStatus status) {
    switch (status.state()) {
      case UP_TO_DATE -> {}
      case AHEAD ->
          LoggerFactory.getLogger(EventStore.class)
              .warn("En57 schema is newer than this library: {}", status.warning().orElse(""));
      case FRESH ->
          throw new SchemaNotReadyException(
              "this database has no En57 schema "
                  + schema.name()
                  + "; run the migrator before first use: `en57 migrate`"
                  + (schema.isDefault() ? "" : " --schema " + schema.name())
                  + " with DATABASE_URL set, or Migrator.forDataSource(dataSource)"
                  + (schema.isDefault() ? "" : ".withSchema(\"" + schema.name() + "\")")
                  + ".migrate()");
      default ->
          throw new SchemaNotReadyException(
              "the En57 schema "
                  + schema.name()
                  + " is "
                  + status.state()
                  + " (version "
                  + status.currentVersion()
                  + ", this library needs "
                  + status.targetVersion()
                  + "); "
                  + status.warning().orElse("run `en57 migrate` or Migrator.migrate()"));
    }
  }

  EventStore build(Engine engine) {
    return build(engine, LogWatch.inMemory(pollInterval), TransactionJoin.NONE);
  }

  private EventStore build(Engine engine, LogWatch watch, TransactionJoin join) {
    return new EventStore(
        engine,
        new EventCodec(mapper(), payloadClasses),
        readBatchSize,
        watch,
        Listening.of(listener),
        join,
        schema);
  }

  private ObjectMapper mapper() {
    if (objectMapper != null) {
      return objectMapper;
    }
    return new ObjectMapper()
        .registerModule(new JavaTimeModule())
        .registerModule(new Jdk8Module())
        .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
        .disable(DeserializationFeature.ADJUST_DATES_TO_CONTEXT_TIME_ZONE)
        .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
  }
}
