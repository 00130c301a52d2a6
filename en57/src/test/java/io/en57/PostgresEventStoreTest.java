package io.en57;

import io.en57.testing.TestDatabases;
import io.en57.testing.TestDatabases.TestDatabase;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;

/**
 * The contract on the PostgreSQL engine: a database for the class, emptied before each test. Its
 * assertions are in {@link EventStoreContract}.
 */
@Tag("postgres")
class PostgresEventStoreTest extends EventStoreContract {

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
    return options.apply(EventStore.builder()).maxPoolSize(2).forUrl(database.jdbcUrl());
  }

  @Override
  protected void emptyLog() {
    database.emptyLog();
  }
}
