package io.en57;

import static io.en57.AppendCondition.failIf;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.en57.testing.TestDatabases;
import io.en57.testing.TestDatabases.TestDatabase;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The three ways to connect a PostgreSQL store, and what each does to the connections. */
@Tag("postgres")
class ConnectionModesTest {

  private static TestDatabase database;

  @BeforeAll
  static void createDatabase() {
    database = TestDatabases.createMigrated();
    database.execute("CREATE TABLE enrolments (student text PRIMARY KEY)");
  }

  @AfterAll
  static void dropDatabase() {
    database.close();
  }

  @BeforeEach
  void emptyTables() {
    database.emptyLog("enrolments");
  }

  @Test
  void forUrlAcceptsPostgresAndJdbcUrlsAndCloseReleasesThePool()
      throws SQLException, InterruptedException {
    for (String url : List.of(database.postgresUrl(), database.jdbcUrl())) {
      EventStore store = EventStore.forUrl(url);
      store.append(List.of(Event.of("Connected")));
      assertThat(connectionsFromThisDatabase()).isPositive();
      store.close();
      assertThat(connectionsFromThisDatabaseOnceClosedOnesHaveExited()).isZero();
    }
    try (EventStore store = EventStore.forDataSource(database.dataSource())) {
      assertThat(store.read().toList()).hasSize(2);
    }
  }

  @Test
  void forDataSourceBorrowsThePoolAndNeverClosesIt() {
    var config = new HikariConfig();
    config.setJdbcUrl(database.jdbcUrl());
    config.setMaximumPoolSize(2);
    try (var pool = new HikariDataSource(config)) {
      EventStore store = EventStore.forDataSource(pool);
      store.append(List.of(Event.of("Borrowed")));
      store.close();
      assertThat(pool.isClosed()).isFalse();
      try (EventStore again = EventStore.forDataSource(pool)) {
        assertThat(again.read().toList()).extracting(Event::type).containsExactly("Borrowed");
      }
    }
  }

  @Test
  void forDataSourceCommitsOnPoolsWithoutAutoCommit() {
    var config = new HikariConfig();
    config.setJdbcUrl(database.jdbcUrl());
    config.setAutoCommit(false);
    try (var pool = new HikariDataSource(config);
        EventStore store = EventStore.forDataSource(pool)) {
      store.append(List.of(Event.of("Committed")));
    }
    try (EventStore store = EventStore.forDataSource(database.dataSource())) {
      assertThat(store.read().toList()).extracting(Event::type).containsExactly("Committed");
    }
  }

  @Test
  void forDataSourceReadsEventsFromDriversThatReceiveJsonbInBinary() {
    var config = new HikariConfig();
    // jsonb (oid 3802) in binary, and every statement prepared on the server, so binary at once.
    config.setJdbcUrl(
        database.jdbcUrl()
            + (database.jdbcUrl().contains("?") ? "&" : "?")
            + "binaryTransferEnable=3802&prepareThreshold=-1");
    var written =
        List.of(
            Event.of("Noted", Map.of("text", "zażółć gęślą jaźń ✓", "n", 1)).withTags("t:1"),
            Event.of("Noted", Map.of("text", "plain")).withMetadata(Map.of("by", "ünïcode")));
    try (var pool = new HikariDataSource(config);
        EventStore store = EventStore.forDataSource(pool)) {
      store.append(written);
      assertThat(store.read().toList()).isEqualTo(written);
      assertThat(store.read().withTag("t:1").toList()).isEqualTo(written.subList(0, 1));
    }
  }

  @Test
  void eventsCommitTogetherWithTheApplicationsWrites() throws SQLException {
    try (EventStore store = EventStore.forDataSource(database.dataSource());
        Connection connection = database.dataSource().getConnection()) {
      connection.setAutoCommit(false);
      insertEnrolment(connection, "ada");
      AppendResult result =
          store
              .onConnection(connection)
              .append(
                  List.of(
                      Event.of("StudentEnrolled", Map.of("student", "ada"))
                          .withTags("student:ada")));
      assertThat(result).isEqualTo(new AppendResult.Success(1));
      // Not visible outside the transaction until it commits.
      assertThat(store.read().toList()).isEmpty();
      assertThat(store.onConnection(connection).read().toList()).hasSize(1);
      connection.commit();

      assertThat(connection.getAutoCommit()).isFalse();
      assertThat(connection.isClosed()).isFalse();
      assertThat(store.read().withTag("student:ada").toList()).hasSize(1);
      assertThat(enrolments()).containsExactly("ada");
    }
  }

  @Test
  void eventsRollBackTogetherWithTheApplicationsWrites() throws SQLException {
    try (EventStore store = EventStore.forDataSource(database.dataSource());
        Connection connection = database.dataSource().getConnection()) {
      connection.setAutoCommit(false);
      insertEnrolment(connection, "bob");
      store
          .onConnection(connection)
          .append(List.of(Event.of("StudentEnrolled").withTags("student:bob")));
      connection.rollback();

      assertThat(connection.getAutoCommit()).isFalse();
      assertThat(store.read().toList()).isEmpty();
      assertThat(store.head()).isZero();
      assertThat(enrolments()).isEmpty();
      // The position is free again; the next append takes it.
      assertThat(store.append(List.of(Event.of("After")))).isEqualTo(new AppendResult.Success(1));
    }
  }

  @Test
  void aConditionOnTheCallersConnectionSeesCommittedEvents() throws SQLException {
    try (EventStore store = EventStore.forDataSource(database.dataSource());
        Connection connection = database.dataSource().getConnection()) {
      store.append(List.of(Event.of("Registered").withTags("email:a@example.com")));
      connection.setAutoCommit(false);
      AppendResult result =
          store
              .onConnection(connection)
              .append(
                  List.of(Event.of("Registered").withTags("email:a@example.com")),
                  failIf(store.read().withTag("email:a@example.com")));
      assertThat(result).isInstanceOf(AppendResult.Failure.class);
      // A Failure is a result, not an error: the transaction is still usable.
      insertEnrolment(connection, "still-usable");
      connection.commit();
      assertThat(enrolments()).containsExactly("still-usable");
    }
  }

  @Test
  void appendsNeedReadCommittedIsolation() throws SQLException {
    try (EventStore store = EventStore.forDataSource(database.dataSource());
        Connection connection = database.dataSource().getConnection()) {
      connection.setAutoCommit(false);
      connection.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
      assertThatThrownBy(() -> store.onConnection(connection).append(List.of(Event.of("A"))))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("READ COMMITTED");
      connection.rollback();
      assertThat(store.head()).isZero();
    }
  }

  @Test
  void anAppendWaitingLongerThanTheLockTimeoutFailsClearlyAndWritesNothing() throws SQLException {
    try (EventStore store =
            EventStore.builder()
                .lockTimeout(Duration.ofMillis(200))
                .forDataSource(database.dataSource());
        Connection holder = database.dataSource().getConnection()) {
      holder.setAutoCommit(false);
      store.onConnection(holder).append(List.of(Event.of("HoldsTheLock")));

      long started = System.nanoTime();
      assertThatThrownBy(() -> store.append(List.of(Event.of("Waits"))))
          .isInstanceOf(AppendLockTimeoutException.class)
          .hasMessageContaining("nothing was written");
      assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(5));

      holder.commit();
      assertThat(store.read().toList()).extracting(Event::type).containsExactly("HoldsTheLock");
      assertThat(store.append(List.of(Event.of("Waits")))).isEqualTo(new AppendResult.Success(2));
    }
  }

  @Test
  void aReadWaitingForATableLockPastTheSessionsLockTimeoutIsNotReportedAsTheAppendLock()
      throws SQLException {
    try (EventStore store = EventStore.forDataSource(database.dataSource());
        Connection holder = database.dataSource().getConnection();
        Connection reader = database.dataSource().getConnection()) {
      store.append(List.of(Event.of("Stored")));
      holder.setAutoCommit(false);
      try (Statement statement = holder.createStatement()) {
        statement.execute("LOCK TABLE en57.events IN ACCESS EXCLUSIVE MODE");
      }
      try (Statement statement = reader.createStatement()) {
        statement.execute("SET lock_timeout = '200ms'");
      }

      assertThatThrownBy(() -> store.onConnection(reader).read().toList())
          .isInstanceOf(En57StorageException.class)
          .hasMessageContaining("timed out waiting for a lock")
          .hasMessageNotContaining("append lock");

      holder.rollback();
      assertThat(store.onConnection(reader).read().toList())
          .extracting(Event::type)
          .containsExactly("Stored");
    }
  }

  @Test
  void theInMemoryStoreHasNoConnections() throws SQLException {
    try (Connection connection = database.dataSource().getConnection()) {
      assertThatThrownBy(() -> EventStore.inMemory().onConnection(connection))
          .isInstanceOf(UnsupportedOperationException.class);
    }
  }

  private static void insertEnrolment(Connection connection, String student) throws SQLException {
    try (var insert = connection.prepareStatement("INSERT INTO enrolments VALUES (?)")) {
      insert.setString(1, student);
      insert.executeUpdate();
    }
  }

  private static List<String> enrolments() throws SQLException {
    try (Connection connection = database.dataSource().getConnection();
        Statement statement = connection.createStatement();
        ResultSet rows = statement.executeQuery("SELECT student FROM enrolments")) {
      var students = new java.util.ArrayList<String>();
      while (rows.next()) {
        students.add(rows.getString(1));
      }
      return students;
    }
  }

  /**
   * A backend leaves {@code pg_stat_activity} a moment after its client closed the socket, so a
   * pool that closed every connection may still show one for a few milliseconds.
   */
  private static int connectionsFromThisDatabaseOnceClosedOnesHaveExited()
      throws SQLException, InterruptedException {
    for (int i = 0; i < 500 && connectionsFromThisDatabase() > 0; i++) {
      Thread.sleep(10);
    }
    return connectionsFromThisDatabase();
  }

  private static int connectionsFromThisDatabase() throws SQLException {
    try (Connection connection = database.dataSource().getConnection();
        Statement statement = connection.createStatement();
        ResultSet row =
            statement.executeQuery(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")) {
      row.next();
      return row.getInt(1);
    }
  }
}
