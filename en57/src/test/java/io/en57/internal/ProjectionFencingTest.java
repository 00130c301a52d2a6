package io.en57.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.en57.testing.TestDatabases;
import io.en57.testing.TestDatabases.TestDatabase;
import java.sql.Connection;
import java.sql.SQLException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The ownership rules of migration 0003, statement by statement: one owner at a time, no takeover
 * while a batch holds the segment, and a former owner fenced out of every write.
 */
@Tag("postgres")
class ProjectionFencingTest {

  private static final long HOUR = 3_600_000;

  private TestDatabase database;

  @BeforeEach
  void createDatabase() {
    database = TestDatabases.createMigrated();
    ProjectionSql.register(LogSchema.DEFAULT, database.dataSource(), "p", 1);
  }

  @AfterEach
  void dropDatabase() {
    database.close();
  }

  private ProjectionSql.Claim claim(String owner, long leaseMs) {
    return ProjectionSql.claim(
        LogSchema.DEFAULT, ConnectionSource.pool(database.dataSource()), "p", 0, 1, owner, leaseMs);
  }

  private void expireLease() {
    database.execute("UPDATE en57.projections SET lease_until = now() - interval '1 second'");
  }

  private Connection transaction() throws SQLException {
    Connection connection = database.dataSource().getConnection();
    connection.setAutoCommit(false);
    return connection;
  }

  @Test
  void aSegmentHasOneOwnerUntilItsLeaseExpiresAndANewOwnerGetsANewEpoch() {
    ProjectionSql.Claim a = claim("a", HOUR);
    assertThat(a.status()).isEqualTo("owner");
    assertThat(claim("b", HOUR).status()).isEqualTo("taken");
    assertThat(claim("a", HOUR).epoch()).as("a renewal keeps the epoch").isEqualTo(a.epoch());

    expireLease();
    ProjectionSql.Claim b = claim("b", HOUR);

    assertThat(b.status()).isEqualTo("owner");
    assertThat(b.epoch()).isGreaterThan(a.epoch());
  }

  @Test
  void aBatchOrAResetWaitsForTheSegmentsRowsAboutALeaseThenTheServerEndsTheWait() throws Exception {
    long epoch = claim("a", 1_500).epoch();
    try (Connection holder = transaction();
        Connection batch = transaction();
        Connection reset = transaction()) {
      // Every segment's row held, as by a reset whose handler runs.
      holder.createStatement().execute("SELECT 1 FROM en57.projections FOR UPDATE");
      // Without an end on the server's side, these calls would wait for the holder until this
      // timeout, and fail otherwise.
      batch.setNetworkTimeout(Runnable::run, 20_000);
      reset.setNetworkTimeout(Runnable::run, 20_000);

      long started = System.nanoTime();
      assertThatThrownBy(() -> ProjectionSql.begin(LogSchema.DEFAULT, batch, "p", 0, epoch, 1_500))
          .isInstanceOfSatisfying(
              SQLException.class,
              e -> assertThat(e.getSQLState()).isEqualTo(ConnectionSource.LOCK_NOT_AVAILABLE));
      assertThat(millisSince(started)).isBetween(1_400L, 10_000L);

      // A reset waits for what is left of the caller's lease, and at least a second.
      started = System.nanoTime();
      assertThatThrownBy(() -> ProjectionSql.applyReset(LogSchema.DEFAULT, reset, "p", 0, epoch))
          .isInstanceOfSatisfying(
              SQLException.class,
              e -> assertThat(e.getSQLState()).isEqualTo(ConnectionSource.LOCK_NOT_AVAILABLE));
      assertThat(millisSince(started)).isBetween(900L, 10_000L);
      holder.rollback();
    }
    // Once they hold the rows, the caller's lock_timeout is back for the handlers.
    try (Connection batch = transaction();
        Connection reset = transaction()) {
      assertThat(ProjectionSql.begin(LogSchema.DEFAULT, batch, "p", 0, epoch, HOUR).status())
          .isEqualTo("ok");
      assertThat(lockTimeout(batch)).isEqualTo("0");
      batch.rollback();
      assertThat(ProjectionSql.applyReset(LogSchema.DEFAULT, reset, "p", 0, epoch)).isNull();
      assertThat(lockTimeout(reset)).isEqualTo("0");
      reset.rollback();
    }
  }

  private static long millisSince(long started) {
    return (System.nanoTime() - started) / 1_000_000;
  }

  private static String lockTimeout(Connection connection) throws SQLException {
    try (var statement = connection.createStatement();
        var row = statement.executeQuery("SHOW lock_timeout")) {
      row.next();
      return row.getString(1);
    }
  }

  @Test
  void noOneTakesOverWhileABatchHoldsTheSegmentEvenWithItsLeaseExpired() throws Exception {
    long epoch = claim("a", 1).epoch();
    try (Connection batch = transaction()) {
      assertThat(ProjectionSql.begin(LogSchema.DEFAULT, batch, "p", 0, epoch, 1).status())
          .isEqualTo("ok");
      Thread.sleep(20); // the one-millisecond lease is over

      assertThat(claim("b", HOUR).status()).isEqualTo("busy");

      ProjectionSql.advance(LogSchema.DEFAULT, batch, "p", 0, epoch, 0, 0, HOUR);
      batch.commit();
    }
    assertThat(claim("b", HOUR).status()).isEqualTo("taken");
  }

  @Test
  void aFormerOwnerCanNeitherBeginNorCommitABatch() throws Exception {
    long former = claim("a", HOUR).epoch();
    try (Connection stale = transaction()) {
      // a's batch began before the takeover...
      assertThat(ProjectionSql.begin(LogSchema.DEFAULT, stale, "p", 0, former, HOUR).status())
          .isEqualTo("ok");
      stale.commit();
    }
    expireLease();
    long current = claim("b", HOUR).epoch();

    try (Connection stale = transaction()) {
      assertThat(ProjectionSql.begin(LogSchema.DEFAULT, stale, "p", 0, former, HOUR).status())
          .isEqualTo("fenced");
      assertThatThrownBy(
              () -> ProjectionSql.advance(LogSchema.DEFAULT, stale, "p", 0, former, 0, 0, HOUR))
          .isInstanceOfSatisfying(
              SQLException.class, e -> assertThat(e.getSQLState()).isEqualTo(ProjectionSql.FENCED));
      stale.rollback();
    }
    try (Connection owner = transaction()) {
      assertThat(ProjectionSql.begin(LogSchema.DEFAULT, owner, "p", 0, current, HOUR).status())
          .isEqualTo("ok");
      ProjectionSql.advance(LogSchema.DEFAULT, owner, "p", 0, current, 0, 0, HOUR);
      owner.commit();
    }
  }

  @Test
  void theCheckpointMovesOnlyFromWhereItIs() throws Exception {
    database.execute(
        "INSERT INTO en57.events (position, id, type, data) VALUES"
            + " (1, gen_random_uuid(), 'A', '{}'), (2, gen_random_uuid(), 'A', '{}')");
    long epoch = claim("a", HOUR).epoch();
    try (Connection batch = transaction()) {
      ProjectionSql.begin(LogSchema.DEFAULT, batch, "p", 0, epoch, HOUR);
      ProjectionSql.advance(LogSchema.DEFAULT, batch, "p", 0, epoch, 0, 2, HOUR);
      batch.commit();
    }
    try (Connection replay = transaction()) {
      ProjectionSql.begin(LogSchema.DEFAULT, replay, "p", 0, epoch, HOUR);
      assertThatThrownBy(
              () -> ProjectionSql.advance(LogSchema.DEFAULT, replay, "p", 0, epoch, 0, 1, HOUR))
          .isInstanceOfSatisfying(
              SQLException.class, e -> assertThat(e.getSQLState()).isEqualTo(ProjectionSql.FENCED));
      replay.rollback();
    }
  }

  @Test
  void aResetFencesTheOwnerAndWaitsToBeApplied() throws Exception {
    database.execute(
        "INSERT INTO en57.events (position, id, type, data) VALUES"
            + " (1, gen_random_uuid(), 'A', '{}')");
    long epoch = claim("a", HOUR).epoch();

    ProjectionSql.reset(LogSchema.DEFAULT, database.dataSource(), "p", 1);

    try (Connection stale = transaction()) {
      assertThat(ProjectionSql.begin(LogSchema.DEFAULT, stale, "p", 0, epoch, HOUR).status())
          .isEqualTo("fenced");
      stale.rollback();
    }
    ProjectionSql.Claim again = claim("a", HOUR);
    assertThat(again.resetPending()).isTrue();
    assertThat(again.position()).isEqualTo(1);
    try (Connection batch = transaction()) {
      assertThat(
              ProjectionSql.begin(LogSchema.DEFAULT, batch, "p", 0, again.epoch(), HOUR).status())
          .isEqualTo("reset");
      assertThat(ProjectionSql.applyReset(LogSchema.DEFAULT, batch, "p", 0, again.epoch()))
          .isEqualTo(1);
      assertThat(ProjectionSql.applyReset(LogSchema.DEFAULT, batch, "p", 0, again.epoch()))
          .isNull();
      batch.commit();
    }
  }
}
