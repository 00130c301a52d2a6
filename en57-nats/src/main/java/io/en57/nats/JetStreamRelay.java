package io.en57.nats;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jdk8.Jdk8Module;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import io.en57.EventStore;
import io.en57.Read;
import io.en57.SequencedEvent;
import io.en57.subscriptions.Projection;
import io.en57.subscriptions.ProjectionRunner;
import io.en57.subscriptions.Retry;
import io.en57.subscriptions.RunnerOptions;
import io.nats.client.Connection;
import java.time.Duration;
import java.util.Objects;
import java.util.function.Function;
import javax.sql.DataSource;

/**
 * Publishes every event of a log, or of a query, to a NATS JetStream stream, in position order, and
 * checkpoints only after the broker acknowledged. It runs as an at-least-once projection of a
 * {@link ProjectionRunner}: one node at a time relays (the others stand by and take over when it
 * dies), its checkpoint is kept in schema {@code en57} under the relay's {@link Builder#name name},
 * and {@link io.en57.subscriptions.Projections} shows its lag and resets it.
 *
 * <pre>{@code
 * try (JetStreamRelay relay = JetStreamRelay.builder(nats, "ORDERS")
 *         .scope(store.read().ofType("OrderPlaced", "OrderShipped"))
 *         .subjectPrefix("shop") // subjects shop.OrderPlaced, shop.OrderShipped
 *         .start(store, dataSource)) {
 *   ...
 * }
 * }</pre>
 *
 * <p>Each event becomes one message: the payload is the event's data as JSON; the headers are
 * {@code Nats-Msg-Id} (the event id), {@value #POSITION_HEADER}, {@value #TYPE_HEADER}, {@value
 * #TAGS_HEADER} (one value per tag), {@value #METADATA_HEADER} (the metadata as JSON, when there is
 * any) and {@value #RELAY_HEADER} (the relay's name). Header values are printable ASCII: in the
 * type, the tags and the relay's name, a space, {@code %}, {@code +} and every character outside
 * ASCII are percent-encoded as UTF-8 (so {@code URLDecoder.decode(value, UTF_8)} restores them);
 * the metadata is JSON, whose own escapes replace the characters outside ASCII.
 *
 * <p>Order and duplicates: each batch is published asynchronously, every message conditioned on the
 * stream's last sequence being the one its predecessor got ({@code Nats-Expected-Last-Sequence}),
 * so the stream stores a message only right after the one before it: when a message is lost (a
 * broker restart drops what was in flight, while the client sends on what it had buffered), every
 * later message of the batch is refused too, never stored out of order. Before a batch, the relay
 * reads the stream's last message and skips the events up to its {@value #POSITION_HEADER}, which
 * the stream already holds (acknowledged, but the checkpoint did not move before a crash). So while
 * the relay is its stream's only publisher, the stream holds the relayed events in position order,
 * each once; the event id as message id also lets the broker drop a duplicate within the stream's
 * duplicate window; a message the broker drops so, although the stream does not hold it (purged
 * within the window), fails the batch until the window has passed. A stream whose last message
 * another publisher (or another relay) wrote is refused with an error, and so is one whose last
 * message holds an event that is not this log's at that position (a relay of the same name on
 * another schema or database fed it), and one whose retention is not limits (a work-queue or
 * interest stream deletes its last message once consumed).
 *
 * <p>Failures: when the broker is unreachable or refuses a batch, the relay tries again with
 * back-off (100 ms doubling to 5 s) and never stops on its own, logging each failure; its lag grows
 * meanwhile. {@link Builder#retry} bounds the attempts, after which it stops in state {@code
 * FAILED}, visible to {@code en57 projections}. An event the stream can never take (its message,
 * data and headers, is larger than the server's {@code max_payload} or the stream's {@code
 * max_msg_size}, its subject is not one the stream takes, or it makes no valid message) fails its
 * batch in the same way, unless the relay was built with {@link Builder#deadLetters()}: it is then
 * recorded in the dead-letter table and skipped.
 *
 * <p>The relay neither creates the stream nor closes the NATS connection: create a stream whose
 * subjects cover the relay's (for example {@code shop.>}), and give the relay a connection that
 * reconnects without limit ({@code Options.builder().maxReconnects(-1)}). Thread-safe.
 */
public final class JetStreamRelay implements AutoCloseable {

  /** The header carrying the event's position in the log, in decimal. */
  public static final String POSITION_HEADER = "En57-Position";

  /** The header carrying the event's type (percent-encoded where needed). */
  public static final String TYPE_HEADER = "En57-Type";

  /** The header carrying the event's tags, one header value per tag (percent-encoded). */
  public static final String TAGS_HEADER = "En57-Tags";

  /** The header carrying the event's metadata as JSON, present only when it has metadata. */
  public static final String METADATA_HEADER = "En57-Metadata";

  /** The header carrying the name of the relay that published the message (percent-encoded). */
  public static final String RELAY_HEADER = "En57-Relay";

  private final String name;
  private final ProjectionRunner runner;

  private JetStreamRelay(String name, ProjectionRunner runner) {
    this.name = name;
    this.runner = runner;
  }

  /**
   * A builder of a relay publishing to {@code stream} through {@code nats}.
   *
   * @param nats a connection the caller keeps open while the relay runs and closes after it
   * @param stream the name of an existing JetStream stream, which the relay alone publishes to
   */
  public static Builder builder(Connection nats, String stream) {
    Objects.requireNonNull(nats, "nats must not be null");
    Objects.requireNonNull(stream, "stream must not be null");
    if (stream.isBlank()) {
      throw new IllegalArgumentException("stream must not be blank");
    }
    return new Builder(nats, stream);
  }

  /**
   * The subject token the default subjects use for event type {@code type}: every character other
   * than an ASCII letter, digit, {@code -} or {@code _} becomes {@code _} (NATS subjects split on
   * {@code .}, treat {@code *} and {@code >} as wildcards and allow no whitespace). Different types
   * can thus share a token; the {@value #TYPE_HEADER} header carries the exact type.
   */
  public static String subjectToken(String type) {
    return Subjects.token(type);
  }

  /** The name the relay's checkpoint is kept under. */
  public String name() {
    return name;
  }

  /**
   * Waits until the broker acknowledged every relayed event up to {@code position} (and the
   * checkpoint moved past it), such as the position of an append whose messages the caller wants on
   * the stream.
   *
   * @return true when it has, false when {@code timeout} passed first
   * @throws io.en57.subscriptions.ProjectionFailedException if the relay stopped in state FAILED
   */
  public boolean await(long position, Duration timeout) throws InterruptedException {
    Objects.requireNonNull(timeout, "timeout must not be null");
    return runner.await(name, position, timeout);
  }

  /**
   * Stops relaying: a batch being published finishes first (bounded by three acknowledgement
   * timeouts: the stream's state, its last message, the acknowledgements), and another node's relay
   * takes over at once. Closes neither the store nor the NATS connection.
   */
  @Override
  public void close() {
    runner.close();
  }

  /**
   * Configures a {@link JetStreamRelay}. Not thread-safe; the relays it starts are.
   *
   * <p>Defaults: the name {@code jetstream-STREAM}, every event of the store, subjects {@code
   * en57.<type>} ({@link #subjectToken}), batches of 5,000 events, 5 seconds for a batch's
   * acknowledgements, retries without end, no dead letters, {@link RunnerOptions#defaults()}, and a
   * Jackson mapper like the store's default one.
   */
  public static final class Builder {

    private final Connection nats;
    private final String stream;
    private String name;
    private Read scope;
    private Function<SequencedEvent, String> subjects = subjectsWithPrefix("en57");
    private int batchSize = 5_000;
    private Duration ackTimeout = Duration.ofSeconds(5);
    private Retry retry =
        new Retry(Integer.MAX_VALUE, Duration.ofMillis(100), Duration.ofSeconds(5));
    private RunnerOptions runnerOptions;
    private ObjectMapper objectMapper;
    private boolean deadLetters;

    private Builder(Connection nats, String stream) {
      this.nats = nats;
      this.stream = stream;
      this.name = "jetstream-" + stream;
    }

    /**
     * The name the relay's checkpoint is kept under (unique among the database's projections), and
     * the one its messages carry in {@value #RELAY_HEADER}.
     */
    public Builder name(String name) {
      Objects.requireNonNull(name, "name must not be null");
      if (name.isBlank()) {
        throw new IllegalArgumentException("name must not be blank");
      }
      this.name = name;
      return this;
    }

    /** Relays only the events of {@code scope} (without limit or backwards), not the whole log. */
    public Builder scope(Read scope) {
      this.scope = Objects.requireNonNull(scope, "scope must not be null");
      return this;
    }

    /**
     * Publishes each event to subject {@code prefix.<type>}, with the type made a subject token by
     * {@link #subjectToken}.
     *
     * @param prefix one or more subject tokens, such as {@code shop} or {@code acme.orders}
     */
    public Builder subjectPrefix(String prefix) {
      Objects.requireNonNull(prefix, "prefix must not be null");
      Subjects.requireValid(prefix, "prefix");
      this.subjects = subjectsWithPrefix(prefix);
      return this;
    }

    /**
     * Publishes each event to the subject {@code subjects} returns for it, such as one derived from
     * a tag. It must be a valid subject without wildcards; one that is not fails the batch.
     */
    public Builder subjects(Function<SequencedEvent, String> subjects) {
      this.subjects = Objects.requireNonNull(subjects, "subjects must not be null");
      return this;
    }

    /**
     * Publishes at most {@code batchSize} events at a time (5,000 by default: a batch ends with a
     * wait for its last acknowledgement and a commit, which larger batches share among more
     * events). A batch is held in memory whole, its events and their messages, so with large events
     * choose a smaller one.
     */
    public Builder batchSize(int batchSize) {
      if (batchSize < 1) {
        throw new IllegalArgumentException("batchSize must be positive, got " + batchSize);
      }
      this.batchSize = batchSize;
      return this;
    }

    /**
     * How long a batch waits for the broker's acknowledgements before it fails and is sent again (5
     * seconds by default); also the timeout of the relay's other JetStream requests.
     */
    public Builder ackTimeout(Duration ackTimeout) {
      Objects.requireNonNull(ackTimeout, "ackTimeout must not be null");
      if (ackTimeout.isNegative() || ackTimeout.isZero()) {
        throw new IllegalArgumentException("ackTimeout must be positive, got " + ackTimeout);
      }
      this.ackTimeout = ackTimeout;
      return this;
    }

    /**
     * How a failed batch is tried again. By default without end, waiting 100 ms doubling to 5 s.
     * With a bounded policy, after a batch's last attempt the relay tries its events one at a time,
     * each as the policy says (as every projection does, to find the event it fails on), and stops
     * in state FAILED at the first that fails every attempt: with the broker down, after twice the
     * attempts.
     */
    public Builder retry(Retry retry) {
      this.retry = Objects.requireNonNull(retry, "retry must not be null");
      return this;
    }

    /**
     * Skips an event the stream can never take, recording it in the dead-letter table ({@link
     * io.en57.subscriptions.Projections#deadLetters}) at once, and relays the events after it: its
     * message (data and headers) is larger than the NATS server's {@code max_payload} or than the
     * stream's {@code max_msg_size}, its subject is not one the stream takes (for these two, the
     * stream's configuration is read again first), or it makes no valid message (a subject from
     * {@link #subjects} that is not one, data Jackson cannot write). Without this, such an event
     * fails its batch like the broker being down does, retried as {@link #retry} says: by default
     * without end, the relay stuck on it. Needs the default retry, without end: {@link #start}
     * refuses a bounded one, since it would dead-letter events sent while the broker is down.
     */
    public Builder deadLetters() {
      this.deadLetters = true;
      return this;
    }

    /** The lease and node name of the relay's runner ({@link RunnerOptions#defaults()}). */
    public Builder runnerOptions(RunnerOptions runnerOptions) {
      this.runnerOptions = Objects.requireNonNull(runnerOptions, "runnerOptions must not be null");
      return this;
    }

    /**
     * The Jackson mapper that writes the data and metadata as JSON; give the store's when it has
     * one of its own.
     */
    public Builder objectMapper(ObjectMapper objectMapper) {
      this.objectMapper = Objects.requireNonNull(objectMapper, "objectMapper must not be null");
      return this;
    }

    /**
     * Starts relaying the events of {@code store} with a {@link ProjectionRunner} on {@code
     * dataSource}, which must reach the store's database. Neither the broker nor the stream needs
     * to be there yet: until they are, the relay retries.
     *
     * @throws io.en57.SchemaNotReadyException if the database is not migrated
     */
    public JetStreamRelay start(EventStore store, DataSource dataSource) {
      if (deadLetters && retry.attempts() != Integer.MAX_VALUE) {
        // The runner dead-letters whatever fails every attempt, a batch sent while the broker is
        // down too: only retries without end keep that to the events the stream can never take.
        throw new IllegalStateException(
            "deadLetters() needs retries without end (the default retry): with "
                + retry.attempts()
                + " attempts, events sent while the broker is down would go to the dead letters");
      }
      Objects.requireNonNull(store, "store must not be null");
      Objects.requireNonNull(dataSource, "dataSource must not be null");
      var messages =
          new EventMessages(
              name, subjects, objectMapper != null ? objectMapper : defaultObjectMapper());
      var handler = new RelayHandler(nats, stream, name, store, messages, ackTimeout);
      Projection projection =
          Projection.atLeastOnce(name, scope != null ? scope : store.read(), handler)
              .withBatchSize(batchSize)
              .withRetry(retry);
      if (deadLetters) {
        projection = projection.withDeadLetters();
      }
      ProjectionRunner runner =
          ProjectionRunner.start(
              store,
              dataSource,
              runnerOptions != null ? runnerOptions : RunnerOptions.defaults(),
              projection);
      return new JetStreamRelay(name, runner);
    }

    private static Function<SequencedEvent, String> subjectsWithPrefix(String prefix) {
      return event -> prefix + "." + Subjects.token(event.event().type());
    }

    private static ObjectMapper defaultObjectMapper() {
      return new ObjectMapper()
          .registerModule(new JavaTimeModule())
          .registerModule(new Jdk8Module())
          .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS);
    }
  }
}
