package io.en57.subscriptions;

import io.en57.EventStore;
import io.en57.internal.ProjectionRuntime;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import javax.sql.DataSource;

/**
 * Runs projections: for each projection segment, claims it (one runner at a time owns a segment,
 * across all nodes), follows the log from the segment's checkpoint, and applies each batch in a
 * transaction on {@code dataSource} that also moves the checkpoint, with a compare-and-set on the
 * old checkpoint and the owner's epoch, so a crash at any point leaves read model and checkpoint
 * consistent and a former owner can never commit. Batches of one segment never run at the same
 * time, on any node. When the owner dies (its process or its connections), another runner takes
 * over within about 1.25 times the lease ({@link RunnerOptions}).
 *
 * <p>{@code dataSource} must reach the store's database (the checkpoints are in schema {@code
 * en57}). Close the runner before the store. Thread-safe.
 */
public interface ProjectionRunner extends AutoCloseable {

  /** Starts {@code projections} with {@link RunnerOptions#defaults()}. */
  static ProjectionRunner start(
      EventStore store, DataSource dataSource, Projection... projections) {
    return start(store, dataSource, RunnerOptions.defaults(), projections);
  }

  /**
   * Registers {@code projections} (creating their checkpoints at position 0 the first time) and
   * starts a thread per segment that claims it and, once it owns it, applies its events.
   *
   * @throws IllegalArgumentException for duplicate names, or a segment count that differs from the
   *     one the database records for a projection that has made progress
   * @throws io.en57.SchemaNotReadyException if the database is not migrated
   */
  static ProjectionRunner start(
      EventStore store, DataSource dataSource, RunnerOptions options, Projection... projections) {
    Objects.requireNonNull(store, "store must not be null");
    Objects.requireNonNull(dataSource, "dataSource must not be null");
    Objects.requireNonNull(options, "options must not be null");
    Objects.requireNonNull(projections, "projections must not be null");
    return ProjectionRuntime.start(store, dataSource, options, List.of(projections));
  }

  /**
   * Waits until every segment of projection {@code name} has applied the log up to {@code
   * position}, such as the position of an append whose effect the caller wants to read back. A
   * connection that breaks meanwhile is replaced, and a read the database does not answer fails a
   * second after {@code timeout}.
   *
   * @return true when it has, false when {@code timeout} passed first
   * @throws ProjectionFailedException if a segment is FAILED
   * @throws IllegalArgumentException if there is no projection of that name
   * @throws io.en57.En57StorageException if the database failed otherwise, or could not be reached
   *     before {@code timeout} passed
   */
  boolean await(String name, long position, Duration timeout) throws InterruptedException;

  /** This runner's name as owner of the segments it claims. */
  String node();

  /**
   * Stops every segment's thread (a batch being applied finishes first, at most 30 seconds) and
   * gives up the segments this runner owns, so that another runner takes over at once.
   */
  @Override
  void close();
}
