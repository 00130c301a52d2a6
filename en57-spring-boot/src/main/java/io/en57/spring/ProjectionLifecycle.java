package io.en57.spring;

import io.en57.EventStore;
import io.en57.subscriptions.Projection;
import io.en57.subscriptions.ProjectionRunner;
import io.en57.subscriptions.RunnerOptions;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import javax.sql.DataSource;
import org.springframework.context.SmartLifecycle;

/**
 * Runs the projections declared as beans while the application context runs: a {@link
 * ProjectionRunner} starts with the context and is closed when it stops (a batch being applied
 * finishes first; the segments are given up so that another node takes over at once), before the
 * store and the DataSource close. Thread-safe.
 */
public final class ProjectionLifecycle implements SmartLifecycle {

  private final EventStore store;
  private final DataSource dataSource;
  private final RunnerOptions options;
  private final List<Projection> projections;
  private volatile ProjectionRunner runner;

  ProjectionLifecycle(
      EventStore store,
      DataSource dataSource,
      RunnerOptions options,
      List<Projection> projections) {
    this.store = store;
    this.dataSource = dataSource;
    this.options = options;
    this.projections = List.copyOf(projections);
  }

  @Override
  public synchronized void start() {
    if (runner == null) {
      runner =
          ProjectionRunner.start(
              store, dataSource, options, projections.toArray(Projection[]::new));
    }
  }

  @Override
  public synchronized void stop() {
    if (runner != null) {
      runner.close();
      runner = null;
    }
  }

  @Override
  public boolean isRunning() {
    return runner != null;
  }

  /**
   * Waits until projection {@code name} has applied the log up to {@code position}: read your own
   * writes. See {@link ProjectionRunner#await}.
   *
   * @throws IllegalStateException if the projections are not running
   */
  public boolean await(String name, long position, Duration timeout) throws InterruptedException {
    ProjectionRunner running =
        Optional.ofNullable(runner)
            .orElseThrow(() -> new IllegalStateException("the projections are not running"));
    return running.await(name, position, timeout);
  }

  /** The projections this lifecycle runs. */
  public List<Projection> projections() {
    return projections;
  }
}
