package io.en57;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.en57.internal.Migration;
import io.en57.testing.TestDatabases;
import io.en57.testing.TestDatabases.ApplicationRole;
import io.en57.testing.TestDatabases.TestDatabase;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

@Tag("postgres")
class MigratorTest {

  /** The shipped migrations' names and the version they bring a database to. */
  private static final List<String> SHIPPED =
      Migration.shipped().stream().map(Migration::name).toList();

  private static final int LATEST = Migration.shipped().get(SHIPPED.size() - 1).version();
  private static final int NEXT = LATEST + 1;
  private static final String ADD_INDEX = String.format("%04d_add_index", NEXT);
  private static final String BROKEN = String.format("%04d_broken", NEXT);
  private static final String FIXED = String.format("%04d_fixed", NEXT);

  private TestDatabase database;
  private Migrator migrator;

  @BeforeEach
  void createDatabase() {
    database = TestDatabases.create();
    migrator = Migrator.forDataSource(database.dataSource());
  }

  @AfterEach
  void dropDatabase() {
    database.close();
  }

  @Test
  void aFreshDatabaseHasEveryMigrationPending() {
    MigrationStatus status = migrator.status();
    assertThat(status.state()).isEqualTo(MigrationState.FRESH);
    assertThat(status.currentVersion()).isZero();
    assertThat(status.targetVersion()).isEqualTo(LATEST);
    assertThat(status.pendingMigrations()).isEqualTo(SHIPPED);
    assertThat(status.warning()).isEmpty();
  }

  @Test
  void migrateAppliesEverythingOnceAndThenIsANoOp() {
    assertThat(migrator.migrate()).isEqualTo(SHIPPED);
    MigrationStatus status = migrator.status();
    assertThat(status.state()).isEqualTo(MigrationState.UP_TO_DATE);
    assertThat(status.currentVersion()).isEqualTo(LATEST);
    assertThat(status.pendingMigrations()).isEmpty();
    assertThat(migrator.migrate()).isEmpty();
    assertThat(migrator.status()).isEqualTo(status);
  }

  @Test
  void pendingMigrationsAreAppliedInOrder() {
    var withSecond = new ArrayList<>(Migration.shipped());
    withSecond.add(
        Migration.of(
            NEXT, ADD_INDEX, "CREATE INDEX events_recorded_at ON en57.events (recorded_at)"));
    migrator.migrate();
    var upgraded = new Migrator(database.dataSource(), withSecond);
    MigrationStatus status = upgraded.status();
    assertThat(status.state()).isEqualTo(MigrationState.PENDING);
    assertThat(status.pendingMigrations()).containsExactly(ADD_INDEX);
    assertThat(upgraded.migrate()).containsExactly(ADD_INDEX);
    assertThat(upgraded.status().state()).isEqualTo(MigrationState.UP_TO_DATE);
    assertThat(migrator.status().state()).isEqualTo(MigrationState.AHEAD);
  }

  @Test
  void racingMigratorsBothEndCleanlyWithOneSchema() throws Exception {
    int migrators = 4;
    ExecutorService pool = Executors.newFixedThreadPool(migrators);
    try {
      var barrier = new CyclicBarrier(migrators);
      var results = new ArrayList<Future<List<String>>>();
      for (int i = 0; i < migrators; i++) {
        results.add(
            pool.submit(
                () -> {
                  barrier.await();
                  return Migrator.forDataSource(database.dataSource()).migrate();
                }));
      }
      var applied = new ArrayList<String>();
      for (Future<List<String>> result : results) {
        applied.addAll(result.get());
      }
      assertThat(applied).isEqualTo(SHIPPED);
    } finally {
      pool.shutdown();
    }
    assertThat(migrator.status().state()).isEqualTo(MigrationState.UP_TO_DATE);
    try (EventStore store = EventStore.forDataSource(database.dataSource())) {
      assertThat(store.append(List.of(Event.of("Works")))).isEqualTo(new AppendResult.Success(1));
    }
  }

  @Test
  void aServerOlderThanPostgresql15IsRefusedBeforeAnythingIsApplied() {
    assertThatThrownBy(() -> Migrator.requireSupportedServer(140_012, "14.12"))
        .isInstanceOf(MigrationException.class)
        .hasMessageContaining("needs PostgreSQL 15 or newer")
        .hasMessageContaining("this server is 14.12")
        .hasMessageContaining("Nothing was migrated");
    Migrator.requireSupportedServer(150_000, "15.0");
  }

  @Test
  void aDatabaseNotEncodedInUtf8IsRefusedBeforeAnythingIsApplied() {
    try (TestDatabase latin1 =
        TestDatabases.create("ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0")) {
      Migrator latin1Migrator = Migrator.forDataSource(latin1.dataSource());

      assertThatThrownBy(latin1Migrator::migrate)
          .isInstanceOf(MigrationException.class)
          .hasMessageContaining("needs a database encoded in UTF8")
          .hasMessageContaining("encoded in LATIN1")
          .hasMessageContaining("Nothing was migrated");
      assertThat(latin1Migrator.status().state()).isEqualTo(MigrationState.FRESH);
    }
  }

  @Test
  void aFailedMigrationLeavesNothingAndMigratingAgainRetriesIt() {
    migrator.migrate();
    var broken = new ArrayList<>(Migration.shipped());
    broken.add(
        Migration.of(NEXT, BROKEN, "CREATE TABLE en57.half (id int); SELECT no_such_function()"));
    var upgrade = new Migrator(database.dataSource(), broken);

    assertThatThrownBy(upgrade::migrate)
        .isInstanceOf(MigrationException.class)
        .hasMessageContaining(BROKEN + " failed and was rolled back, leaving nothing")
        .hasMessageContaining("no_such_function");

    MigrationStatus status = upgrade.status();
    assertThat(status.state()).isEqualTo(MigrationState.PENDING);
    assertThat(status.currentVersion()).isEqualTo(LATEST);
    assertThat(status.pendingMigrations()).containsExactly(BROKEN);
    // The table the failed migration created went with it: creating it again succeeds.
    database.execute("CREATE TABLE en57.half (id int); DROP TABLE en57.half");
    var fixed = new ArrayList<>(Migration.shipped());
    fixed.add(Migration.of(NEXT, FIXED, "CREATE TABLE en57.half (id int)"));
    assertThat(new Migrator(database.dataSource(), fixed).migrate()).containsExactly(FIXED);
  }

  @Test
  void aMigrationRecordedAsStartedAndNotCompletedIsReportedAsPartialAndNeverSilentlyContinued() {
    migrator.migrate();
    // What a migrator that recorded the start in a transaction of its own left when it failed.
    database.execute(
        "INSERT INTO en57.schema_migrations (version, name, checksum) VALUES ("
            + NEXT
            + ", '"
            + BROKEN
            + "', 'x')");
    var upgrade = new Migrator(database.dataSource(), Migration.shipped());

    MigrationStatus status = upgrade.status();
    assertThat(status.state()).isEqualTo(MigrationState.PARTIAL);
    assertThat(status.currentVersion()).isEqualTo(LATEST);
    assertThat(status.warning())
        .hasValueSatisfying(
            w ->
                assertThat(w)
                    .contains(BROKEN + " started and did not complete")
                    .contains("DELETE FROM en57.schema_migrations WHERE version = " + NEXT));
    assertThatThrownBy(upgrade::migrate)
        .isInstanceOf(MigrationException.class)
        .hasMessageContaining("not migrating");
    assertThatThrownBy(() -> EventStore.forDataSource(database.dataSource()))
        .isInstanceOf(SchemaNotReadyException.class)
        .hasMessageContaining("PARTIAL");

    // The repair step the warning names, then migrate goes on.
    database.execute("DELETE FROM en57.schema_migrations WHERE version = " + NEXT);
    assertThat(upgrade.migrate()).isEmpty();
    assertThat(upgrade.status().state()).isEqualTo(MigrationState.UP_TO_DATE);
  }

  @Test
  void migratingWithoutTheApplicationRoleKeepsEverythingItCouldDoAndGivesItWhatIsNew() {
    try (ApplicationRole application = database.createApplicationRole()) {
      // A database at version 3, its application role granted then, as the README says, once.
      List<Migration> third = Migration.shipped().subList(0, 3);
      new Migrator(database.dataSource(), third).withApplicationRole(application.name()).migrate();

      // Later migrations drop and create en57.append and add tables and functions.
      assertThat(migrator.migrate()).isEqualTo(SHIPPED.subList(3, SHIPPED.size()));

      assertThat(
              Migrator.forDataSource(database.dataSource())
                  .withApplicationRole(application.name())
                  .status()
                  .applicationRole()
                  .orElseThrow()
                  .inPlace())
          .isTrue();
      try (EventStore store = EventStore.forDataSource(application.dataSource())) {
        assertThat(store.append(List.of(Event.of("Works")))).isEqualTo(new AppendResult.Success(1));
      }
    }
  }

  @Test
  void aRoleThatCouldAppendKeepsItWhenALaterMigrationFails() {
    try (ApplicationRole application = database.createApplicationRole()) {
      List<Migration> third = Migration.shipped().subList(0, 3);
      new Migrator(database.dataSource(), third).withApplicationRole(application.name()).migrate();

      // 0004 drops and creates en57.append and commits; the migration after it fails.
      var brokenAfterFourth = new ArrayList<>(Migration.shipped().subList(0, 4));
      brokenAfterFourth.add(Migration.of(5, "0005_broken", "SELECT no_such_function()"));
      assertThatThrownBy(() -> new Migrator(database.dataSource(), brokenAfterFourth).migrate())
          .isInstanceOf(MigrationException.class);

      // Migrating again without naming the role still finds it among those that could append.
      migrator.migrate();
      try (EventStore store = EventStore.forDataSource(application.dataSource())) {
        assertThat(store.append(List.of(Event.of("Works")))).isEqualTo(new AppendResult.Success(1));
      }
    }
  }

  @Test
  void aSchemaNotMadeByTheMigratorIsUnversioned() {
    database.execute("CREATE SCHEMA en57; CREATE TABLE en57.events (id int)");
    MigrationStatus status = migrator.status();
    assertThat(status.state()).isEqualTo(MigrationState.UNVERSIONED);
    assertThat(status.warning())
        .hasValueSatisfying(w -> assertThat(w).contains("no version table"));
    assertThatThrownBy(migrator::migrate).isInstanceOf(MigrationException.class);
  }

  @Test
  void anEmptySchemaIsFresh() {
    database.execute("CREATE SCHEMA en57");
    assertThat(migrator.status().state()).isEqualTo(MigrationState.FRESH);
    assertThat(migrator.migrate()).isEqualTo(SHIPPED);
  }

  @Test
  void anEditedMigrationIsReportedAndRefused() {
    migrator.migrate();
    database.execute("UPDATE en57.schema_migrations SET checksum = 'edited' WHERE version = 1");
    assertThat(migrator.status().warning())
        .hasValueSatisfying(w -> assertThat(w).contains("differs from the one this library ships"));
    assertThatThrownBy(migrator::migrate).isInstanceOf(MigrationException.class);
  }

  @Test
  void aStoreOnAnUnmigratedDatabaseNamesTheFix() {
    assertThatThrownBy(() -> EventStore.forDataSource(database.dataSource()))
        .isInstanceOf(SchemaNotReadyException.class)
        .hasMessageContaining("no En57 schema")
        .hasMessageContaining("en57 migrate")
        .hasMessageContaining("Migrator");
  }

  @Test
  void aSchemaDroppedUnderARunningStoreIsReportedAsNotReady() {
    migrator.migrate();
    try (EventStore store = EventStore.forDataSource(database.dataSource())) {
      database.execute("DROP SCHEMA en57 CASCADE");
      assertThatThrownBy(() -> store.append(List.of(Event.of("A"))))
          .isInstanceOf(SchemaNotReadyException.class)
          .hasMessageContaining("en57 migrate");
      assertThatThrownBy(() -> store.read().toList()).isInstanceOf(SchemaNotReadyException.class);
    }
  }

  @Test
  void migrationsAreListedInVersionOrder() {
    List<Migration> shipped = Migration.shipped();
    var versions = shipped.stream().map(Migration::version).toList();
    var sorted = new ArrayList<>(versions);
    Collections.sort(sorted);
    assertThat(versions).isEqualTo(sorted).doesNotHaveDuplicates().startsWith(1);
  }
}
