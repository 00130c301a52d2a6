package io.en57.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.en57.cli.Cli.Result;
import io.en57.internal.Migration;
import io.en57.testing.TestDatabases;
import io.en57.testing.TestDatabases.TestDatabase;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

@Tag("postgres")
class CommandsOnPostgresTest {

  /** The version the shipped migrations bring a database to. */
  private static final int LATEST =
      Migration.shipped().get(Migration.shipped().size() - 1).version();

  private TestDatabase database;

  @BeforeEach
  void createDatabase() {
    database = TestDatabases.create();
  }

  @AfterEach
  void dropDatabase() {
    database.close();
  }

  @Test
  void statusOfAFreshDatabaseListsThePendingMigration() {
    Result result = Cli.run("status", "--url", database.postgresUrl());

    assertThat(result.exitCode()).isZero();
    assertThat(result.out())
        .contains("Schema en57: fresh")
        .contains("Current version: 0")
        .contains("Target version: " + LATEST)
        .containsPattern("Pending migrations:\\R  0001_create_events")
        .doesNotContain("WARNING");
    assertThat(result.err()).isEmpty();
  }

  @Test
  void migrateAppliesTheMigrationsThenHasNothingToDo() {
    Result first = Cli.run("migrate", "--url", database.postgresUrl());

    assertThat(first.exitCode()).isZero();
    assertThat(first.out())
        .startsWith("Applied 0001_create_events")
        .contains("Schema en57: up to date")
        .contains("Current version: " + LATEST)
        .contains("Pending migrations: none");
    assertThat(first.err()).isEmpty();

    Result second = Cli.run("migrate", "--url", database.postgresUrl());

    assertThat(second.exitCode()).isZero();
    assertThat(second.out())
        .isEqualToIgnoringNewLines(
            "Schema en57 is up to date (version " + LATEST + "); nothing to do.");
  }

  @Test
  void schemaChoosesTheLogThatIsMigratedAndReported() {
    Result billing = Cli.run("migrate", "--url", database.postgresUrl(), "--schema", "billing");

    assertThat(billing.exitCode()).isZero();
    assertThat(billing.out()).contains("Schema billing: up to date");
    assertThat(Cli.run("status", "--url", database.postgresUrl()).out())
        .contains("Schema en57: fresh");
    Result fromEnvironment =
        Cli.runInNewJvm(
            Map.of("DATABASE_URL", database.postgresUrl(), "EN57_SCHEMA", "billing"), "status");
    assertThat(fromEnvironment.exitCode()).isZero();
    assertThat(fromEnvironment.out()).contains("Schema billing: up to date");
    Result doctor = Cli.run("doctor", "--url", database.postgresUrl(), "--schema", "billing");
    assertThat(doctor.out())
        .contains("Schema billing: up to date")
        .contains("Table billing.events");

    Result invalid = Cli.run("status", "--url", database.postgresUrl(), "--schema", "Bad-Name");
    assertThat(invalid.exitCode()).isEqualTo(1);
    assertThat(invalid.err()).contains("schema must be a plain lower-case SQL identifier");
  }

  @Test
  void migrateAcceptsAJdbcUrl() {
    Result result = Cli.run("migrate", "--url", database.jdbcUrl());

    assertThat(result.exitCode()).isZero();
    assertThat(result.out()).contains("Applied 0001_create_events");
  }

  @Test
  void statusAfterMigrateIsUpToDate() {
    assertThat(Cli.run("migrate", "--url", database.postgresUrl()).exitCode()).isZero();

    Result result = Cli.run("status", "--url", database.postgresUrl());

    assertThat(result.exitCode()).isZero();
    assertThat(result.out())
        .contains("Schema en57: up to date")
        .contains("Current version: " + LATEST)
        .contains("Target version: " + LATEST)
        .contains("Pending migrations: none")
        .doesNotContain("WARNING");
  }

  @Test
  void aPartialMigrationIsReportedWithItsRepairAndBlocksMigrate() {
    assertThat(Cli.run("migrate", "--url", database.postgresUrl()).exitCode()).isZero();
    database.execute("UPDATE en57.schema_migrations SET completed_at = NULL WHERE version = 1");

    Result status = Cli.run("status", "--url", database.postgresUrl());

    assertThat(status.exitCode()).isEqualTo(1);
    assertThat(status.out())
        .contains("Schema en57: partial")
        .contains("Current version: 0")
        .containsPattern("WARNING: migration 0001_create_events started and did not complete.*")
        .contains("DELETE FROM en57.schema_migrations WHERE version = 1");

    Result migrate = Cli.run("migrate", "--url", database.postgresUrl());

    assertThat(migrate.exitCode()).isEqualTo(1);
    assertThat(migrate.out()).isEmpty();
    assertThat(migrate.err())
        .startsWith("en57 migrate: not migrating: migration 0001_create_events")
        .contains("DELETE FROM en57.schema_migrations WHERE version = 1")
        .doesNotContain("Exception")
        .doesNotContain("\tat ");
  }

  @Test
  void anUnversionedSchemaIsTrouble() {
    database.execute("CREATE SCHEMA en57");
    database.execute("CREATE TABLE en57.events (position bigint)");

    Result status = Cli.run("status", "--url", database.postgresUrl());

    assertThat(status.exitCode()).isEqualTo(1);
    assertThat(status.out())
        .contains("Schema en57: unversioned")
        .contains("WARNING: schema en57 holds tables or functions but no version table");
    assertThat(Cli.run("migrate", "--url", database.postgresUrl()).exitCode()).isEqualTo(1);
  }

  @Test
  void aDatabaseMigratedByANewerEn57IsTrouble() {
    assertThat(Cli.run("migrate", "--url", database.postgresUrl()).exitCode()).isZero();
    database.execute(
        "INSERT INTO en57.schema_migrations (version, name, checksum, completed_at)"
            + " VALUES ("
            + (LATEST + 1)
            + ", 'from_the_future', 'x', now())");

    Result status = Cli.run("status", "--url", database.postgresUrl());

    assertThat(status.exitCode()).isEqualTo(1);
    assertThat(status.out())
        .contains("Schema en57: ahead")
        .contains("Current version: " + (LATEST + 1))
        .contains("Target version: " + LATEST)
        .contains("WARNING: the database is at migration " + (LATEST + 1));
    assertThat(Cli.run("migrate", "--url", database.postgresUrl()).exitCode()).isEqualTo(1);
  }

  @Test
  void aChangedMigrationIsTroubleAlthoughTheVersionIsCurrent() {
    assertThat(Cli.run("migrate", "--url", database.postgresUrl()).exitCode()).isZero();
    database.execute("UPDATE en57.schema_migrations SET checksum = 'edited' WHERE version = 1");

    Result status = Cli.run("status", "--url", database.postgresUrl());

    assertThat(status.exitCode()).isEqualTo(1);
    assertThat(status.out())
        .contains("Schema en57: up to date")
        .contains("WARNING: applied migration 0001_create_events differs");
    Result migrate = Cli.run("migrate", "--url", database.postgresUrl());
    assertThat(migrate.exitCode()).isEqualTo(1);
    assertThat(migrate.err()).contains("differs from the one this library ships");
  }

  @Test
  void theUrlDefaultsToDatabaseUrl() {
    Result result = Cli.runInNewJvm(Map.of("DATABASE_URL", database.postgresUrl()), "status");

    assertThat(result.exitCode()).as(result.err()).isZero();
    assertThat(result.out()).contains("Schema en57: fresh");
  }

  @Test
  void statusReportsTheApplicationRolesPrivilegesAndMigrateSetsThemUp() {
    assertThat(Cli.run("migrate", "--url", database.postgresUrl()).exitCode()).isZero();
    try (var application = database.createApplicationRole()) {
      Result before =
          Cli.run("status", "--url", database.postgresUrl(), "--app-role", application.name());

      assertThat(before.exitCode()).isEqualTo(1);
      assertThat(before.out())
          .contains("Application role " + application.name() + ": privileges NOT in place")
          .contains("lacks USAGE on schema en57")
          .contains("Repair: en57 migrate --app-role " + application.name());

      Result migrate =
          Cli.run("migrate", "--url", database.postgresUrl(), "--app-role", application.name());

      assertThat(migrate.exitCode()).isZero();
      assertThat(migrate.out())
          .contains("Application role " + application.name() + ": privileges in place");
      assertThat(
              Cli.run("status", "--url", database.postgresUrl(), "--app-role", application.name())
                  .exitCode())
          .isZero();
    }
  }
}
