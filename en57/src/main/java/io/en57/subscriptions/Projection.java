package io.en57.subscriptions;

import io.en57.Read;
import io.en57.internal.StoreAccess;
import java.util.Objects;
import java.util.Optional;

/**
 * A named projection: the events of a scope, applied in position order by a handler, with a
 * checkpoint the database keeps. Immutable; the {@code with...} methods return changed copies.
 *
 * <pre>{@code
 * Projection seatsLeft = Projection.of("seats-left", store.read().ofType("CourseDefined", "StudentSubscribed"),
 *     (batch, connection) -> { ... update the seats_left table with connection ... });
 * }</pre>
 *
 * <p>{@link #of} projections apply each event exactly once: the handler writes with the transaction
 * that moves the checkpoint. {@link #atLeastOnce} projections are for effects outside the database
 * (a message, a search index): the checkpoint moves after the handler returned, so after a crash in
 * between the batch is handled again; such handlers must be idempotent (the event id is the natural
 * key to recognise a repeat).
 */
public final class Projection {

  private final String name;
  private final Read scope;
  private final ProjectionHandler handler;
  private final boolean exactlyOnce;
  private final String tagPrefix;
  private final int segments;
  private final int batchSize;
  private final Retry retry;
  private final boolean deadLetters;
  private final ResetHandler onReset;
  private final CheckpointStore checkpoints;

  private Projection(
      String name,
      Read scope,
      ProjectionHandler handler,
      boolean exactlyOnce,
      String tagPrefix,
      int segments,
      int batchSize,
      Retry retry,
      boolean deadLetters,
      ResetHandler onReset,
      CheckpointStore checkpoints) {
    this.name = name;
    this.scope = scope;
    this.handler = handler;
    this.exactlyOnce = exactlyOnce;
    this.tagPrefix = tagPrefix;
    this.segments = segments;
    this.batchSize = batchSize;
    this.retry = retry;
    this.deadLetters = deadLetters;
    this.onReset = onReset;
    this.checkpoints = checkpoints;
  }

  /**
   * A projection into PostgreSQL applying every event of {@code scope} exactly once: {@code
   * handler} writes the read model with the transaction that moves the checkpoint.
   *
   * @param name unique among the database's projections; the checkpoint is kept under it
   * @param scope the events to apply; without limit or backwards
   * @throws IllegalArgumentException if the name is blank, or {@code scope} has a limit or reads
   *     backwards
   */
  public static Projection of(String name, Read scope, ProjectionHandler handler) {
    Objects.requireNonNull(handler, "handler must not be null");
    Objects.requireNonNull(scope, "scope must not be null");
    if (StoreAccess.shapesReads(scope)) {
      throw new IllegalArgumentException(
          "a projection follows a scope without limit() or backwards(); those only shape reads");
    }
    return new Projection(
        requireName(name),
        scope,
        handler,
        true,
        null,
        1,
        SubscriptionOptions.defaults().batchSize(),
        Retry.defaults(),
        false,
        null,
        null);
  }

  /**
   * A projection whose handler acts outside the database: each batch is handled, then the
   * checkpoint moves. Delivery is at least once: after a crash or a lost connection between the
   * two, the batch is handled again, so the handler must be idempotent. The runner holds its
   * segment meanwhile in a transaction on one pooled connection, idle while the handler runs: a
   * server's {@code idle_in_transaction_session_timeout} must be longer than a batch's handling.
   *
   * @throws IllegalArgumentException as {@link #of}
   */
  public static Projection atLeastOnce(String name, Read scope, BatchHandler handler) {
    Objects.requireNonNull(handler, "handler must not be null");
    Projection projection = of(name, scope, (batch, connection) -> handler.handle(batch));
    return new Projection(
        projection.name,
        projection.scope,
        projection.handler,
        false,
        null,
        1,
        projection.batchSize,
        projection.retry,
        false,
        null,
        null);
  }

  /**
   * This projection split into {@code segments} segments by the value of the event's tag starting
   * with {@code tagPrefix} (such as {@code "course:"}): events with the same value go to the same
   * segment, in order; each segment has its own checkpoint and owner, so different runners can
   * apply them in parallel. An event with several such tags goes by the smallest; one without goes
   * to segment 0. To change the number of segments later, rebuild the projection.
   */
  public Projection partitionedBy(String tagPrefix, int segments) {
    Objects.requireNonNull(tagPrefix, "tagPrefix must not be null");
    if (tagPrefix.isBlank()) {
      throw new IllegalArgumentException("tagPrefix must not be blank");
    }
    if (segments < 1) {
      throw new IllegalArgumentException("segments must be positive, got " + segments);
    }
    return new Projection(
        name,
        scope,
        handler,
        exactlyOnce,
        tagPrefix,
        segments,
        batchSize,
        retry,
        deadLetters,
        onReset,
        checkpoints);
  }

  /** This projection reading at most {@code batchSize} events per batch (1,000 by default). */
  public Projection withBatchSize(int batchSize) {
    if (batchSize < 1) {
      throw new IllegalArgumentException("batchSize must be positive, got " + batchSize);
    }
    return new Projection(
        name,
        scope,
        handler,
        exactlyOnce,
        tagPrefix,
        segments,
        batchSize,
        retry,
        deadLetters,
        onReset,
        checkpoints);
  }

  /**
   * This projection trying a failing batch as {@code retry} says ({@link Retry#defaults()} by
   * default). When the last attempt fails, the batch's events are tried one by one to find the one
   * that fails, and the projection stops at it in state {@link ProjectionState#FAILED}, unless
   * {@link #withDeadLetters()}.
   */
  public Projection withRetry(Retry retry) {
    return new Projection(
        name,
        scope,
        handler,
        exactlyOnce,
        tagPrefix,
        segments,
        batchSize,
        Objects.requireNonNull(retry, "retry must not be null"),
        deadLetters,
        onReset,
        checkpoints);
  }

  /**
   * This projection skipping an event its handler keeps failing on, recording it in the dead-letter
   * table ({@link Projections#deadLetters}), instead of stopping in state FAILED; an event the
   * handler calls {@link UnprocessableEventException unprocessable} is recorded at once, without
   * retries. An event that cannot be decoded stops it in state FAILED all the same: there is no
   * event to hand over.
   */
  public Projection withDeadLetters() {
    return new Projection(
        name,
        scope,
        handler,
        exactlyOnce,
        tagPrefix,
        segments,
        batchSize,
        retry,
        true,
        onReset,
        checkpoints);
  }

  /** This projection undoing its read model with {@code onReset} when it is reset. */
  public Projection onReset(ResetHandler onReset) {
    return new Projection(
        name,
        scope,
        handler,
        exactlyOnce,
        tagPrefix,
        segments,
        batchSize,
        retry,
        deadLetters,
        Objects.requireNonNull(onReset, "onReset must not be null"),
        checkpoints);
  }

  /**
   * This at-least-once projection also keeping its checkpoint in {@code checkpoints}, next to its
   * read model outside PostgreSQL. See {@link CheckpointStore}.
   *
   * @throws IllegalStateException for a projection made with {@link #of}, whose read model commits
   *     with the checkpoint already
   */
  public Projection withCheckpointStore(CheckpointStore checkpoints) {
    Objects.requireNonNull(checkpoints, "checkpoints must not be null");
    if (exactlyOnce) {
      throw new IllegalStateException(
          "a checkpoint store is for atLeastOnce projections; this one commits its read model with"
              + " its checkpoint");
    }
    return new Projection(
        name,
        scope,
        handler,
        exactlyOnce,
        tagPrefix,
        segments,
        batchSize,
        retry,
        deadLetters,
        onReset,
        checkpoints);
  }

  /** The name its checkpoint is kept under. */
  public String name() {
    return name;
  }

  /** The events it applies. */
  public Read scope() {
    return scope;
  }

  /** What applies a batch (for {@link #atLeastOnce} projections, the handler wrapped). */
  public ProjectionHandler handler() {
    return handler;
  }

  /** Whether the handler's writes commit with the checkpoint ({@link #of}). */
  public boolean exactlyOnce() {
    return exactlyOnce;
  }

  /** The tag prefix whose values pick the segment, if partitioned. */
  public Optional<String> tagPrefix() {
    return Optional.ofNullable(tagPrefix);
  }

  /** The number of segments; 1 when not partitioned. */
  public int segments() {
    return segments;
  }

  /** The most events per batch. */
  public int batchSize() {
    return batchSize;
  }

  /** How a failing batch is tried again. */
  public Retry retry() {
    return retry;
  }

  /** Whether events the handler keeps failing on are skipped into the dead-letter table. */
  public boolean deadLetters() {
    return deadLetters;
  }

  /** Where the read model keeps its own checkpoint, if anywhere. */
  public Optional<CheckpointStore> checkpointStore() {
    return Optional.ofNullable(checkpoints);
  }

  /** What undoes the read model on a reset, if anything. */
  public Optional<ResetHandler> resetHandler() {
    return Optional.ofNullable(onReset);
  }

  @Override
  public String toString() {
    return "Projection["
        + name
        + ", "
        + scope
        + (segments > 1 ? ", " + segments + " segments" : "")
        + "]";
  }

  private static String requireName(String name) {
    Objects.requireNonNull(name, "name must not be null");
    if (name.isBlank()) {
      throw new IllegalArgumentException("name must not be blank");
    }
    return name;
  }
}
