package io.en57.examples;

import io.en57.EventStore;
import io.en57.EventStoreBuilder;
import io.en57.testing.TestDatabases;
import io.en57.testing.TestDatabases.TestDatabase;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;

/**
 * A migrated PostgreSQL database for one example's test class, emptied before each test, and the
 * races the tests run on it.
 */
final class ExampleStore implements AutoCloseable {

  private final TestDatabase database = TestDatabases.createMigrated();
  private final List<EventStore> opened = new ArrayList<>();

  /** A store on an empty log, with the example's payload classes registered by {@code events}. */
  EventStore emptyStore(UnaryOperator<EventStoreBuilder> events) {
    closeStores();
    database.emptyLog();
    return node(events);
  }

  /** Another store on the same database: another application node, with a pool of its own. */
  EventStore node(UnaryOperator<EventStoreBuilder> events) {
    EventStore store = events.apply(EventStore.builder()).maxPoolSize(8).forUrl(database.jdbcUrl());
    opened.add(store);
    return store;
  }

  /**
   * Runs every task on a thread of its own, all released at once by a barrier; returns their
   * results in task order, or throws the first task's exception.
   */
  static <T> List<T> race(List<Callable<T>> tasks) throws Exception {
    var start = new CyclicBarrier(tasks.size());
    ExecutorService threads = Executors.newFixedThreadPool(tasks.size());
    try {
      var futures = new ArrayList<Future<T>>();
      for (Callable<T> task : tasks) {
        futures.add(
            threads.submit(
                () -> {
                  start.await(30, TimeUnit.SECONDS);
                  return task.call();
                }));
      }
      var results = new ArrayList<T>();
      for (Future<T> future : futures) {
        results.add(future.get(2, TimeUnit.MINUTES));
      }
      return results;
    } finally {
      threads.shutdownNow();
    }
  }

  private void closeStores() {
    opened.forEach(EventStore::close);
    opened.clear();
  }

  @Override
  public void close() {
    closeStores();
    database.close();
  }
}
