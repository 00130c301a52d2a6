package io.en57;

import static org.assertj.core.api.Assertions.assertThat;

import io.en57.testing.AppendsWritten;
import io.en57.testing.TestDatabases;
import io.en57.testing.TestDatabases.TestDatabase;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;

/**
 * The contract on PostgreSQL stores that forward their appends: each store under test is a
 * follower, whose appends a leading store (another node, started first) writes.
 */
@Tag("postgres")
class ForwardedEventStoreTest extends EventStoreContract {

  private static TestDatabase database;
  private static EventStore leader;
  private static final AppendsWritten LEADER_WROTE = new AppendsWritten();

  @BeforeAll
  static void createDatabaseAndLeader() {
    database = TestDatabases.createMigrated();
    leader =
        EventStore.builder()
            .maxPoolSize(2)
            .listener(LEADER_WROTE)
            .forwardAppends("127.0.0.1", 0)
            .forUrl(database.jdbcUrl());
  }

  @AfterAll
  static void dropDatabase() {
    leader.close();
    database.close();
    // The leader appends nothing of its own: what it wrote came from the stores under test.
    assertThat(LEADER_WROTE.count()).isGreaterThan(100);
  }

  @Override
  protected EventStore newStore(UnaryOperator<EventStoreBuilder> options) {
    return options
        .apply(EventStore.builder())
        .maxPoolSize(2)
        .forwardAppends("127.0.0.1", 0)
        .forUrl(database.jdbcUrl());
  }

  @Override
  protected void emptyLog() {
    database.emptyLog();
  }
}
