package io.en57.decisions;

import io.en57.EventStore;
import io.en57.EventStoreBuilder;
import io.en57.testing.TestDatabases;
import io.en57.testing.TestDatabases.TestDatabase;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;

/** The decision contract on PostgreSQL; its assertions are in the contract. */
@Tag("postgres")
class PostgresDecisionModelTest extends DecisionModelContract {

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
}
