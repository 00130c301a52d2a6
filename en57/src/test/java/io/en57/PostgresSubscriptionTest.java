package io.en57;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.en57.testing.TestDatabases;
import io.en57.testing.TestDatabases.TestDatabase;
import java.sql.Connection;
import java.util.function.UnaryOperator;
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
}
