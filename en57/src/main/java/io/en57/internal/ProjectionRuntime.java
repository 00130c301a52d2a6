package io.en57.internal;

import io.en57.EventStore;
import io.en57.subscriptions.Projection;
import io.en57.subscriptions.ProjectionRunner;
import io.en57.subscriptions.RunnerOptions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;

/**
 * A {@link ProjectionRunner}: one {@link SegmentWorker} thread per projection segment, and a signal
 * that wakes {@link #await} callers when one of them commits. Thread-safe.
 */
public final class ProjectionRuntime implements ProjectionRunner {

  private final String node;
  private final List<SegmentWorker> workers = new ArrayList<>();
  private final DataSource dataSource;
  private final LogSchema schema;
  private final LogSignal progress = new LogSignal();

  private ProjectionRuntime(DataSource dataSource, LogSchema schema, RunnerOptions options) {
    this.dataSource = dataSource;
    this.schema = schema;
    this.node = options.nodeName() + "#" + UUID.randomUUID().toString().substring(0, 8);
  }

  /** Registers the projections, then starts a worker per segment. */
  public static ProjectionRuntime start(
      EventStore store,
      DataSource dataSource,
      RunnerOptions options,
      List<Projection> projections) {
    var names = new HashSet<String>();
    for (int i = 0; i < projections.size(); i++) {
      Projection projection =
          Objects.requireNonNull(projections.get(i), "projections[" + i + "] must not be null");
      if (!names.add(projection.name())) {
        throw new IllegalArgumentException(
            "projections[" + i + "] repeats the name " + projection.name());
      }
    }
    // The checkpoints live next to the log the projection reads.
    LogSchema schema = LogSchema.of(store.schema());
    for (Projection projection : projections) {
      ProjectionSql.register(schema, dataSource, projection.name(), projection.segments());
    }
    var runtime = new ProjectionRuntime(dataSource, schema, options);
    for (Projection projection : projections) {
      for (int segment = 0; segment < projection.segments(); segment++) {
        runtime.workers.add(
            new SegmentWorker(
                store,
                dataSource,
                projection,
                segment,
                runtime.node,
                options.lease(),
                runtime.progress));
      }
    }
    runtime.workers.forEach(SegmentWorker::start);
    return runtime;
  }

  @Override
  public boolean await(String name, long position, Duration timeout) throws InterruptedException {
    Objects.requireNonNull(name, "name must not be null");
    return ProjectionSql.await(schema, dataSource, name, position, timeout, progress);
  }

  @Override
  public String node() {
    return node;
  }

  @Override
  public void close() {
    workers.forEach(SegmentWorker::stop);
    // One deadline for all: the workers stop together, so close() waits 30 s at most, not 30 each.
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(SegmentWorker.JOIN_SECONDS);
    workers.forEach(worker -> worker.join(deadline));
  }
}
