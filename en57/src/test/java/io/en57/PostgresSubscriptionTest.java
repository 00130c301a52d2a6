package io.en57;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.en57.subscriptions.Retry;
import io.en57.subscriptions.Subscription;
import io.en57.subscriptions.SubscriptionOptions;
import io.en57.testing.TestDatabases;
import io.en57.testing.TestDatabases.TestDatabase;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The subscription contract on the PostgreSQL engine: a database for the class, emptied before each
 * test; each store is an application node with a pool of its own. Its assertions are in {@link
 * SubscriptionContract}.
 */
@Tag("postgres")
class PostgresSubscriptionTest extends SubscriptionContract {

  private static TestDatabase database;

  @BeforeAll
  static void createDatabase() {
    database = TestDatabases.createMigrated();
  }

  @AfterAll
  static void dropDatabase() {
    database.close();
  }

  @Override
  protected EventStore newStore(UnaryOperator<EventStoreBuilder> options) {
    return options.apply(EventStore.builder()).maxPoolSize(4).forUrl(database.jdbcUrl());
  }

  @Override
  protected void emptyLog() {
    database.emptyLog();
  }

  @Test
  void aStoreOnTheCallersConnectionCannotSubscribe() throws Exception {
    try (Connection connection = database.dataSource().getConnection()) {
      EventStore onConnection = store.onConnection(connection);
      assertThatThrownBy(() -> onConnection.subscribe(onConnection.read(), 0))
          .isInstanceOf(UnsupportedOperationException.class)
          .hasMessageContaining("subscribe on the store itself");
    }
  }

  /** A payload class the stored data does not fit. */
  record SeatsLeft(int left) {}

  @Test
  void anEventThatCannotBeDecodedStopsAPushSubscriptionAndIsItsFailure() throws Exception {
    long undecodable =
        store.append(List.of(Event.of("SeatsLeft", Map.of("left", "many")))).position();
    EventStore strict = open(options -> options.register("SeatsLeft", SeatsLeft.class));
    var handled = new AtomicInteger();
    Subscription subscription =
        closeLater(strict.subscribe(strict.read(), 0).start(batch -> handled.incrementAndGet()));

    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (subscription.failure().isEmpty() && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    assertThat(subscription.failure())
        .hasValueSatisfying(
            e ->
                assertThat(e)
                    .hasMessageContaining("cannot decode the event at position " + undecodable));
    assertThat(handled).hasValue(0);
    assertThat(subscription.position()).isZero();
  }

  @Test
  void aPushSubscriptionBacksOffBetweenFailedReadsWhateverItsHandlersRetry() throws Exception {
    var borrowed = new AtomicInteger();
    DataSource target = database.dataSource();
    DataSource counting =
        (DataSource)
            Proxy.newProxyInstance(
                DataSource.class.getClassLoader(),
                new Class<?>[] {DataSource.class},
                (proxy, method, arguments) -> {
                  if (method.getName().equals("getConnection")) {
                    borrowed.incrementAndGet(); // one a read
                  }
                  try {
                    return method.invoke(target, arguments);
                  } catch (InvocationTargetException e) {
                    throw e.getCause();
                  }
                });
    EventStore watched =
        closeLater(
            EventStore.builder().pollInterval(Duration.ofMillis(200)).forDataSource(counting));
    var delivered = new AtomicInteger();
    Subscription subscription =
        closeLater(
            watched
                .subscribe(
                    watched.read(), 0, SubscriptionOptions.defaults().withRetry(Retry.none()))
                .start(batch -> delivered.addAndGet(batch.events().size())));
    awaitCaughtUp(subscription);

    int failedReads;
    database.execute("ALTER TABLE en57.events RENAME TO events_away");
    try {
      borrowed.set(0);
      Thread.sleep(1_500);
      failedReads = borrowed.get();
    } finally {
      database.execute("ALTER TABLE en57.events_away RENAME TO events");
    }
    // Without a back-off of its own it read every 2 ms or so: hundreds of times.
    assertThat(failedReads).isBetween(1, 20);
    store.append(List.of(Event.of("Recovered")));
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (delivered.get() == 0 && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    assertThat(delivered).hasValue(1);
  }

  private static void awaitCaughtUp(Subscription subscription) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (!subscription.caughtUp() && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    assertThat(subscription.caughtUp()).isTrue();
  }
}
