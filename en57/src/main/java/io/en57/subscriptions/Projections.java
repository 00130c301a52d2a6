package io.en57.subscriptions;

import io.en57.internal.DatabaseUrl;
import io.en57.internal.LogSchema;
import io.en57.internal.ProjectionSql;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import javax.sql.DataSource;

/**
 * Inspects and resets the projections of a database, wherever their runners run: status with the
 * lag behind the head, resets and rebuilds, dead letters, and waiting for a position. The CLI's
 * {@code en57 projections} uses it. Thread-safe; each call uses a connection of its own.
 */
public final class Projections {

  private final DataSource dataSource;
  private final LogSchema schema;

  private Projections(DataSource dataSource, LogSchema schema) {
    this.dataSource = dataSource;
    this.schema = schema;
  }

  /** Projections of the database {@code dataSource} reaches. */
  public static Projections forDataSource(DataSource dataSource) {
    return new Projections(
        Objects.requireNonNull(dataSource, "dataSource must not be null"), LogSchema.DEFAULT);
  }

  /**
   * Projections of the database at {@code url} ({@code postgres://} or {@code jdbc:postgresql://}).
   */
  public static Projections forUrl(String url) {
    return new Projections(DatabaseUrl.parse(url).unpooled(), LogSchema.DEFAULT);
  }

  /**
   * These projections' counterparts in the log in schema {@code schema} instead of {@code en57}:
   * each log keeps the checkpoints of the projections that read it.
   *
   * @throws IllegalArgumentException if {@code schema} is not a plain lower-case SQL identifier
   */
  public Projections withSchema(String schema) {
    return new Projections(dataSource, LogSchema.of(schema));
  }

  /** Every segment of every projection, by name and segment. */
  public List<ProjectionStatus> list() {
    return ProjectionSql.status(schema, dataSource, null);
  }

  /**
   * The segments of projection {@code name}.
   *
   * @throws IllegalArgumentException if there is none
   */
  public List<ProjectionStatus> status(String name) {
    List<ProjectionStatus> segments = ProjectionSql.status(schema, dataSource, requireName(name));
    if (segments.isEmpty()) {
      throw new IllegalArgumentException("there is no projection named " + name);
    }
    return segments;
  }

  /**
   * Moves every segment of projection {@code name} to {@code position} and clears a FAILED state;
   * the runner that owns it next runs the projection's {@link ResetHandler} once, then applies the
   * events after {@code position}. Owners are fenced at once; a batch being applied finishes first.
   * To retry a FAILED projection where it stopped, reset it to its checkpoint; for a partitioned
   * one, to the lowest checkpoint of its segments, since a segment behind {@code position} skips
   * the events in between.
   *
   * @throws IllegalArgumentException if there is no such projection, or the position is negative or
   *     beyond the head
   */
  public void reset(String name, long position) {
    ProjectionSql.reset(schema, dataSource, requireName(name), position);
  }

  /** Resets projection {@code name} to position 0: it applies the whole log again. */
  public void rebuild(String name) {
    reset(name, 0);
  }

  /** The events projection {@code name} skipped, in position order. */
  public List<DeadLetter> deadLetters(String name) {
    return ProjectionSql.deadLetters(schema, dataSource, requireName(name));
  }

  /**
   * Waits until every segment of projection {@code name} has applied the log up to {@code
   * position}, polling the checkpoints. See {@link ProjectionRunner#await}.
   *
   * @return true when it has, false when {@code timeout} passed first
   * @throws ProjectionFailedException if a segment is FAILED
   * @throws IllegalArgumentException if there is no projection of that name
   * @throws io.en57.En57StorageException if the database failed otherwise, or could not be reached
   *     before {@code timeout} passed
   */
  public boolean await(String name, long position, Duration timeout) throws InterruptedException {
    return ProjectionSql.await(schema, dataSource, requireName(name), position, timeout);
  }

  private static String requireName(String name) {
    Objects.requireNonNull(name, "name must not be null");
    if (name.isBlank()) {
      throw new IllegalArgumentException("name must not be blank");
    }
    return name;
  }
}
