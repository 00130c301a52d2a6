package io.en57.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.en57.Event;
import io.en57.EventStore;
import io.en57.cli.Cli.Result;
import io.en57.subscriptions.Projection;
import io.en57.subscriptions.ProjectionRunner;
import io.en57.subscriptions.ProjectionState;
import io.en57.subscriptions.Projections;
import io.en57.subscriptions.Retry;
import io.en57.testing.AppendLock;
import io.en57.testing.TestDatabases;
import io.en57.testing.TestDatabases.TestDatabase;
import java.sql.Connection;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** {@code en57 doctor} in real situations made in the database. */
@Tag("postgres")
class DoctorCommandTest {

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
  void aHealthyDatabaseHasNoProblems() {
    Cli.run("migrate", "--url", database.postgresUrl());
    try (EventStore store = EventStore.forDataSource(database.dataSource())) {
      store.append(List.of(Event.of("Checked").withTags("a:1", "b:2")));
    }

    Result result = Cli.run("doctor", "--url", database.postgresUrl());

    assertThat(result.exitCode()).isZero();
    assertThat(result.out())
        .contains("Connection: ok, as role " + database.dataSource().getUser())
        .containsPattern("Server: PostgreSQL \\d+\\S*( \\(.*\\))?, supported")
        .contains("Schema en57: up to date")
        .contains("Append lock: free")
        .containsPattern("Table en57.events: \\d+ [kMG]?B, ")
        .containsPattern("Table en57.event_tags: \\d+ [kMG]?B, ")
        .contains("Projections: none")
        .endsWith("Problems: none" + System.lineSeparator());
    assertThat(result.err()).isEmpty();
  }

  @Test
  void anUnmigratedDatabaseIsAProblemWithItsRepair() {
    Result result = Cli.run("doctor", "--url", database.postgresUrl());

    assertThat(result.exitCode()).isOne();
    assertThat(result.out())
        .contains("Connection: ok")
        .contains("Schema en57: fresh")
        .contains("Problems:")
        .contains("  - schema en57 is fresh: run en57 migrate");
  }

  @Test
  void aTransactionHoldingTheAppendLockIsShownWithTheAppendsWaitingForIt() throws Exception {
    Cli.run("migrate", "--url", database.postgresUrl());
    Connection holder = AppendLock.hold(database.dataSource());
    try (EventStore store = EventStore.forDataSource(database.dataSource())) {
      CompletableFuture<?> waiting =
          CompletableFuture.runAsync(() -> store.append(List.of(Event.of("Waits"))));
      AppendLock.awaitWaiters(database.dataSource(), 1);

      Result result = Cli.run("doctor", "--url", database.postgresUrl(), "--max-lock-hold", "0");

      assertThat(result.exitCode()).isOne();
      assertThat(result.out())
          .containsPattern("Append lock: held by pid \\d+ \\(role \\w+, .*idle in transaction\\)")
          .containsPattern("its transaction open for \\d+\\.\\d s")
          .contains("Appends waiting for it: 1, the longest for")
          .containsPattern(
              "  - a transaction has held the append lock for \\d+\\.\\d s \\(1 append\\(s\\)"
                  + " waiting\\): .* pg_terminate_backend\\(\\d+\\)");

      holder.rollback();
      holder.close();
      waiting.get();
    }
    // The lock is free again, and the default limit judges nothing.
    Result after = Cli.run("doctor", "--url", database.postgresUrl());
    assertThat(after.exitCode()).isZero();
    assertThat(after.out()).contains("Append lock: free");
  }

  @Test
  void anAppendLockHeldByASessionWhoseAgeTheDoctorCannotSeeIsAProblem() throws Exception {
    // A schema owner that is no superuser, as the README sets up; the helper makes it a plain role.
    try (var owner = database.createApplicationRole();
        var application = database.createApplicationRole()) {
      database.execute("GRANT CREATE ON DATABASE " + database.name() + " TO " + owner.name());
      String ownerUrl = database.postgresUrl().replaceFirst("//[^@]*@", "//" + owner.name() + "@");
      Result migrate = Cli.run("migrate", "--url", ownerUrl, "--app-role", application.name());
      assertThat(migrate.exitCode()).as(migrate.err()).isZero();
      Connection holder = AppendLock.hold(application.dataSource());
      try {
        Result result =
            Cli.run(
                "doctor",
                "--url",
                ownerUrl,
                "--app-role",
                application.name(),
                "--max-lock-hold",
                "0");

        assertThat(result.exitCode()).isOne();
        assertThat(result.out())
            .containsPattern(
                "Append lock: held by pid \\d+ \\(role "
                    + application.name()
                    + ".*\\), how long hidden from this role")
            .containsPattern(
                "  - cannot see how long pid \\d+ \\(role "
                    + application.name()
                    + "\\) has held the append lock: .*; GRANT pg_read_all_stats TO "
                    + owner.name()
                    + ", or run the doctor as a superuser")
            .doesNotContain("Problems: none");

        // The repair it names: the hold time shows, and is judged.
        database.execute("GRANT pg_read_all_stats TO " + owner.name());
        Result granted = Cli.run("doctor", "--url", ownerUrl, "--max-lock-hold", "0");
        assertThat(granted.exitCode()).isOne();
        assertThat(granted.out())
            .containsPattern("its transaction open for \\d+\\.\\d s")
            .contains("  - a transaction has held the append lock for")
            .doesNotContain("cannot see");
      } finally {
        holder.rollback();
        holder.close();
      }
    }
  }

  @Test
  void aFailedProjectionIsAProblemAndLagIsJudgedOnlyWhenAsked() throws Exception {
    Cli.run("migrate", "--url", database.postgresUrl());
    try (EventStore store = EventStore.forDataSource(database.dataSource())) {
      store.append(List.of(Event.of("Poison"), Event.of("Other")));
      Projection failing =
          Projection.atLeastOnce(
                  "failing",
                  store.read().ofType("Poison"),
                  batch -> {
                    throw new IllegalStateException("poisoned");
                  })
              .withRetry(Retry.none());
      try (ProjectionRunner runner =
          ProjectionRunner.start(store, database.dataSource(), failing)) {
        Projections projections = Projections.forDataSource(database.dataSource());
        for (int i = 0; i < 300; i++) {
          if (projections.status("failing").get(0).state() == ProjectionState.FAILED) {
            break;
          }
          Thread.sleep(100);
        }
        assertThat(runner.node()).isNotBlank();
      }
    }

    Result result = Cli.run("doctor", "--url", database.postgresUrl());

    assertThat(result.exitCode()).isOne();
    assertThat(result.out())
        .contains("  failing: FAILED, at 0, lag 2, owner none")
        .contains(
            "  - projection failing FAILED: fix the cause, then en57 projections reset"
                + " failing --to 0")
        .doesNotContain("lags");

    Projections.forDataSource(database.dataSource()).reset("failing", 0);
    Result lagging = Cli.run("doctor", "--url", database.postgresUrl(), "--max-lag", "1");
    assertThat(lagging.exitCode()).isOne();
    assertThat(lagging.out())
        .contains("  - projection failing lags 2 positions behind the head, and no runner owns it");
  }

  @Test
  void theRepairsOfALogInAnotherSchemaNameIt() {
    Cli.run("migrate", "--url", database.postgresUrl(), "--schema", "billing");
    database.execute(
        "SELECT billing.projection_register('failing', 1);"
            + " SELECT billing.projection_fail('failing', 0, 0, 'broken')");
    try (var role = database.createApplicationRole()) {
      Result result =
          Cli.run(
              "doctor",
              "--url",
              database.postgresUrl(),
              "--schema",
              "billing",
              "--app-role",
              role.name());

      assertThat(result.exitCode()).isOne();
      assertThat(result.out())
          .contains("  Repair: en57 migrate --schema billing --app-role " + role.name())
          .contains(
              "  - the application role's privileges are not in place: run en57 migrate"
                  + " --schema billing --app-role "
                  + role.name())
          .contains(
              "  - projection failing FAILED: fix the cause, then en57 projections reset"
                  + " failing --to 0 --schema billing");
    }
  }

  @Test
  void anUnreachableServerIsAProblem() {
    Result result = Cli.run("doctor", "--url", "postgres://nobody@127.0.0.1:1/nowhere");

    assertThat(result.exitCode()).isOne();
    assertThat(result.out()).contains("Connection: FAILED").contains("  - cannot connect");
  }

  @Test
  void theApplicationRolesPrivilegesAreChecked() {
    Cli.run("migrate", "--url", database.postgresUrl());
    try (var role = database.createApplicationRole()) {
      Result result = Cli.run("doctor", "--url", database.postgresUrl(), "--app-role", role.name());

      assertThat(result.exitCode()).isOne();
      assertThat(result.out())
          .contains("Application role " + role.name() + ": privileges NOT in place")
          .contains(
              "  - the application role's privileges are not in place: run en57 migrate"
                  + " --app-role "
                  + role.name());
    }
  }
}
