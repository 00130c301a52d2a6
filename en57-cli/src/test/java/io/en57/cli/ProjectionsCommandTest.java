package io.en57.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.en57.Migrator;
import io.en57.cli.Cli.Result;
import io.en57.testing.TestDatabases;
import io.en57.testing.TestDatabases.TestDatabase;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * {@code en57 projections} and {@code en57 projections reset} on a database whose projections are
 * set up with the migration's own functions, as runners would leave them.
 */
@Tag("postgres")
class ProjectionsCommandTest {

  private TestDatabase database;
  private String url;

  @BeforeEach
  void createDatabase() {
    database = TestDatabases.create();
    url = database.postgresUrl();
  }

  @AfterEach
  void dropDatabase() {
    database.close();
  }

  private void migrateWithProjections() {
    Migrator.forDataSource(database.dataSource()).migrate();
    database.execute(
        "INSERT INTO en57.events (position, id, type, data)"
            + " SELECT g, gen_random_uuid(), 'A', '{}' FROM generate_series(1, 10) g;"
            + " SELECT en57.projection_register('seats-left', 1);"
            + " SELECT en57.projection_register('mails', 2);"
            + " SELECT * FROM en57.projection_claim('seats-left', 0, 1, 'node-a#1', 3600000);"
            + " UPDATE en57.projections SET position = 7 WHERE name = 'seats-left';"
            + " UPDATE en57.projections SET position = 10 WHERE name = 'mails' AND segment = 1;");
  }

  @Test
  void listsEverySegmentWithItsCheckpointLagStateAndOwner() {
    migrateWithProjections();

    Result result = Cli.run("projections", "--url", url);

    assertThat(result.exitCode()).as(result.err()).isZero();
    assertThat(result.out().lines())
        .containsExactly(
            "NAME        SEGMENT  CHECKPOINT  LAG  STATE    OWNER",
            "mails       0/2               0   10  STOPPED  -",
            "mails       1/2              10    0  STOPPED  -",
            "seats-left  -                 7    3  RUNNING  node-a#1");
  }

  @Test
  void aFailedProjectionIsShownWithItsErrorAndHowToResumeAndExitsWith1() {
    migrateWithProjections();
    database.execute(
        "SELECT en57.projection_fail('seats-left', 0, 1,"
            + " 'event at position 8 (A): java.lang.IllegalStateException: no seat' || chr(10)"
            + " || '  at Handler.apply')");

    Result result = Cli.run("projections", "--url", url);

    assertThat(result.exitCode()).isEqualTo(1);
    assertThat(result.out())
        .contains("seats-left  -                 7    3  FAILED")
        .contains(
            "FAILED seats-left: event at position 8 (A): java.lang.IllegalStateException: no seat")
        .contains("en57 projections reset seats-left --to 7")
        .doesNotContain("Handler.apply");
  }

  @Test
  void resetMovesEverySegmentAndClearsFailed() {
    migrateWithProjections();
    database.execute("SELECT en57.projection_fail('mails', 1, 0, 'broken')");

    Result reset = Cli.run("projections", "reset", "mails", "--to", "4", "--url", url);

    assertThat(reset.exitCode()).as(reset.err()).isZero();
    assertThat(reset.out()).contains("Projection mails reset to position 4");
    assertThat(Cli.run("projections", "--url", url).out())
        .contains("mails       0/2               4    6  STOPPED")
        .contains("mails       1/2               4    6  STOPPED");

    Result rebuild = Cli.run("projections", "reset", "seats-left", "--url", url);

    assertThat(rebuild.exitCode()).isZero();
    assertThat(rebuild.out()).contains("seats-left will be rebuilt from the start");
    assertThat(Cli.run("projections", "--url", url).out())
        .contains("seats-left  -                 0   10  STOPPED  -");
  }

  @Test
  void aResetThatCannotBeDoneSaysWhyInOneLine() {
    migrateWithProjections();

    Result unknown = Cli.run("projections", "reset", "nope", "--url", url);
    Result beyond = Cli.run("projections", "reset", "mails", "--to", "11", "--url", url);

    assertThat(unknown.exitCode()).isEqualTo(1);
    assertThat(unknown.err())
        .isEqualToIgnoringNewLines("en57 projections reset: there is no projection named nope");
    assertThat(beyond.exitCode()).isEqualTo(1);
    assertThat(beyond.err()).contains("position 11 is beyond the head 10");
  }

  /**
   * seats-left in en57 as {@link #migrateWithProjections()} leaves it, and FAILED at 3 in billing.
   */
  private void migrateWithTwoLogs() {
    migrateWithProjections();
    Migrator.forDataSource(database.dataSource()).withSchema("billing").migrate();
    database.execute(
        "INSERT INTO billing.events (position, id, type, data)"
            + " SELECT g, gen_random_uuid(), 'A', '{}' FROM generate_series(1, 5) g;"
            + " SELECT billing.projection_register('seats-left', 1);"
            + " UPDATE billing.projections SET position = 3 WHERE name = 'seats-left';"
            + " SELECT billing.projection_fail('seats-left', 0, 0, 'broken')");
  }

  @Test
  void theResumeOfAFailedProjectionInAnotherSchemaResetsThatOneAsPrinted() {
    migrateWithTwoLogs();
    String en57Before = Cli.run("projections", "--url", url).out();

    Result failed = Cli.run("projections", "--schema", "billing", "--url", url);

    assertThat(failed.exitCode()).isEqualTo(1);
    String resume =
        failed
            .out()
            .lines()
            .filter(line -> line.contains("resume where it stopped: "))
            .findFirst()
            .orElseThrow()
            .replaceFirst(".*resume where it stopped: en57 ", "");
    assertThat(resume).isEqualTo("projections reset seats-left --to 3 --schema billing");

    Result followed = Cli.run((resume + " --url " + url).split(" "));

    assertThat(followed.exitCode()).as(followed.err()).isZero();
    assertThat(Cli.run("projections", "--schema", "billing", "--url", url).out())
        .contains("seats-left  -                 3    2  STOPPED");
    assertThat(Cli.run("projections", "--url", url).out()).isEqualTo(en57Before);
  }

  @Test
  void resetWorksOnTheSchemaAndDatabaseGivenToProjections() {
    migrateWithTwoLogs();
    String en57Before = Cli.run("projections", "--url", url).out();

    Result reset =
        Cli.run(
            "projections", "--schema", "billing", "reset", "seats-left", "--to", "1", "--url", url);

    assertThat(reset.exitCode()).as(reset.err()).isZero();
    assertThat(Cli.run("projections", "--url", url).out()).isEqualTo(en57Before);
    assertThat(Cli.run("projections", "--schema", "billing", "--url", url).out())
        .contains("seats-left  -                 1    4  STOPPED");

    Result urlFirst =
        Cli.run(
            "projections", "--url", url, "--schema", "billing", "reset", "seats-left", "--to", "2");

    assertThat(urlFirst.exitCode()).as(urlFirst.err()).isZero();
    assertThat(Cli.run("projections", "--schema", "billing", "--url", url).out())
        .contains("seats-left  -                 2    3  STOPPED");
  }

  @Test
  void aDatabaseWithoutProjectionsSaysSo() {
    Migrator.forDataSource(database.dataSource()).migrate();

    Result result = Cli.run("projections", "--url", url);

    assertThat(result.exitCode()).isZero();
    assertThat(result.out()).isEqualToIgnoringNewLines("No projections.");
  }

  @Test
  void anUnmigratedDatabaseNamesTheFixWithoutAStackTrace() {
    Result result = Cli.run("projections", "--url", url);

    assertThat(result.exitCode()).isEqualTo(1);
    assertThat(result.err())
        .startsWith("en57 projections: ")
        .contains("en57 migrate")
        .doesNotContain("\tat ");
  }
}
