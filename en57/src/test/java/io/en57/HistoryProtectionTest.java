package io.en57;

import static io.en57.AppendCondition.failIf;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.en57.AppendResult.Success;
import io.en57.testing.TestDatabases;
import io.en57.testing.TestDatabases.ApplicationRole;
import io.en57.testing.TestDatabases.TestDatabase;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The database enforces the security model (DESIGN.md §9): the application's role reads and appends
 * through the append function and can do nothing else to the log; nobody updates, deletes or
 * truncates history without saying so.
 */
@Tag("postgres")
class HistoryProtectionTest {

  private TestDatabase database;
  private ApplicationRole application;
  private EventStore store;

  @BeforeEach
  void setUp() {
    database = TestDatabases.createMigrated();
    application = database.createApplicationRole();
    Migrator.forDataSource(database.dataSource()).withApplicationRole(application.name()).migrate();
    store = EventStore.forDataSource(application.dataSource());
    store.append(List.of(Event.of("Registered", Map.of("name", "Ada")).withTags("user:1")));
  }

  @AfterEach
  void tearDown() {
    store.close();
    application.close();
    database.close();
  }

  @Test
  void theApplicationRoleAppendsUnderConditionsAndReads() {
    assertThat(
            store.append(
                List.of(Event.of("Renamed").withTags("user:1")),
                failIf(store.read().withTag("user:1")).after(1)))
        .isEqualTo(new Success(2));
    assertThat(store.read().withTag("user:1").toList())
        .extracting(Event::type)
        .containsExactly("Registered", "Renamed");
    MigrationStatus status =
        Migrator.forDataSource(database.dataSource())
            .withApplicationRole(application.name())
            .status();
    assertThat(status.applicationRole())
        .hasValueSatisfying(role -> assertThat(role.inPlace()).as(role.toString()).isTrue());
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "INSERT INTO en57.events (position, id, type, data) VALUES (99, gen_random_uuid(), 'X', '{}')",
        "INSERT INTO en57.event_tags (tag, position) VALUES ('user:1', 99)",
        "UPDATE en57.events SET type = 'Forged'",
        "DELETE FROM en57.events",
        "DELETE FROM en57.event_tags",
        "TRUNCATE en57.events CASCADE",
        "TRUNCATE en57.event_tags",
        "CREATE TABLE en57.intruder (id int)",
        // Saying so does not help a role without the privileges.
        "SET en57.allow_history_rewrite = on; UPDATE en57.events SET type = 'Forged'"
      })
  void theApplicationRoleCannotWriteTheLogAroundTheAppendFunction(String sql) {
    assertThatThrownBy(() -> execute(application.dataSource(), sql))
        .isInstanceOf(SQLException.class)
        .hasMessageContaining("permission denied");
    assertThat(store.read().toList()).extracting(Event::type).containsExactly("Registered");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "UPDATE en57.events SET type = 'Forged'",
        "DELETE FROM en57.events",
        "DELETE FROM en57.event_tags",
        "TRUNCATE en57.events, en57.event_tags",
        "TRUNCATE en57.event_tags"
      })
  void theOwnerCannotRewriteHistoryEither(String sql) {
    assertThatThrownBy(() -> execute(database.dataSource(), sql))
        .isInstanceOf(SQLException.class)
        .hasMessageContaining("history is append-only");
    assertThat(store.read().withTag("user:1").toList())
        .extracting(Event::type)
        .containsExactly("Registered");
  }

  @Test
  void anOperatorWhoMustRewriteHistorySaysSoInTheSameTransaction() throws SQLException {
    execute(
        database.dataSource(),
        "BEGIN; SET LOCAL en57.allow_history_rewrite = on;"
            + " UPDATE en57.events SET data = '{\"name\": \"erased\"}' WHERE position = 1; COMMIT");
    assertThat(store.read().toList().get(0).data()).isEqualTo(Map.of("name", "erased"));
    // The permission lasted one transaction.
    assertThatThrownBy(() -> execute(database.dataSource(), "DELETE FROM en57.events"))
        .hasMessageContaining("history is append-only");
  }

  @Test
  void statusReportsWhatARoleLacksAndWhatItHoldsBeyondItsNeedsAndMigrateSetsItRight()
      throws SQLException {
    try (ApplicationRole careless = database.createApplicationRole()) {
      database.execute(
          "GRANT USAGE ON SCHEMA en57 TO "
              + careless.name()
              + "; GRANT SELECT, INSERT ON en57.events TO "
              + careless.name()
              + "; GRANT UPDATE (data) ON en57.events TO "
              + careless.name()
              + "; GRANT EXECUTE ON FUNCTION en57.ticket_key(bigint) TO PUBLIC");
      Migrator migrator =
          Migrator.forDataSource(database.dataSource()).withApplicationRole(careless.name());
      ApplicationRoleStatus before = migrator.status().applicationRole().orElseThrow();
      assertThat(before.inPlace()).isFalse();
      assertThat(before.missing())
          .contains("SELECT on table en57.event_tags")
          .anySatisfy(m -> assertThat(m).startsWith("EXECUTE on function en57.append("));
      assertThat(before.excess())
          .containsExactly(
              "INSERT on table en57.events",
              "UPDATE on table en57.events",
              "EXECUTE on function en57.ticket_key(bigint) for PUBLIC (every role)");

      migrator.migrate();
      assertThat(migrator.status().applicationRole().orElseThrow().inPlace()).isTrue();
      assertThatThrownBy(
              () ->
                  execute(
                      careless.dataSource(),
                      "INSERT INTO en57.events (position, id, type, data)"
                          + " VALUES (99, gen_random_uuid(), 'X', '{}')"))
          .hasMessageContaining("permission denied");
    }
  }

  @Test
  void theMigratorRefusesToGrantToARoleThatCouldRewriteHistoryOrDoesNotExist() {
    String owner = database.dataSource().getUser();
    assertThatThrownBy(
            () ->
                Migrator.forDataSource(database.dataSource()).withApplicationRole(owner).migrate())
        .isInstanceOf(MigrationException.class)
        .hasMessageContaining("owns schema en57");
    assertThatThrownBy(
            () ->
                Migrator.forDataSource(database.dataSource())
                    .withApplicationRole("no_such_role_" + ProcessHandle.current().pid())
                    .migrate())
        .isInstanceOf(MigrationException.class)
        .hasMessageContaining("does not exist");
    try (ApplicationRole member = database.createApplicationRole()) {
      // Not inheriting its rights, it can still SET ROLE to the owner (here a superuser).
      database.execute(
          "ALTER ROLE " + member.name() + " NOINHERIT; GRANT " + owner + " TO " + member.name());
      assertThatThrownBy(
              () ->
                  Migrator.forDataSource(database.dataSource())
                      .withApplicationRole(member.name())
                      .migrate())
          .isInstanceOf(MigrationException.class)
          .hasMessageContaining("owns schema en57 (or is a member of its owner)")
          .hasMessageContaining("is a superuser (or a member of one)");
    }
  }

  @Test
  void beforePostgresql16TheMigratorRefusesARoleThatMayCreateRoles() throws SQLException {
    try (TestDatabase owned = TestDatabases.create();
        ApplicationRole owner = owned.createApplicationRole();
        ApplicationRole creator = owned.createApplicationRole()) {
      // An owner that is not a superuser: CREATEROLE never could grant membership in a superuser.
      owned.execute("GRANT CREATE ON DATABASE " + owned.name() + " TO " + owner.name());
      owned.execute("ALTER ROLE " + creator.name() + " CREATEROLE");
      Migrator migrator =
          Migrator.forDataSource(owner.dataSource()).withApplicationRole(creator.name());
      String grantItselfTheOwner = "GRANT " + owner.name() + " TO " + creator.name();
      if (serverVersionNum() < 160_000) {
        assertThatThrownBy(migrator::migrate)
            .isInstanceOf(MigrationException.class)
            .hasMessageContaining("has CREATEROLE");
        assertThat(migrator.status().applicationRole().orElseThrow().excess())
            .anySatisfy(e -> assertThat(e).startsWith("has CREATEROLE"));
        // What the refusal is for.
        execute(creator.dataSource(), grantItselfTheOwner);
      } else {
        migrator.migrate();
        assertThat(migrator.status().applicationRole().orElseThrow().inPlace()).isTrue();
        assertThatThrownBy(() -> execute(creator.dataSource(), grantItselfTheOwner))
            .hasMessageContaining("permission denied to grant role");
      }
    }
  }

  private int serverVersionNum() throws SQLException {
    try (Connection connection = database.dataSource().getConnection();
        Statement statement = connection.createStatement();
        ResultSet row = statement.executeQuery("SHOW server_version_num")) {
      row.next();
      return Integer.parseInt(row.getString(1));
    }
  }

  @Test
  void theAppendFunctionRunsWithItsOwnersRightsAndAFixedSearchPath() throws SQLException {
    try (Connection connection = database.dataSource().getConnection();
        Statement statement = connection.createStatement();
        ResultSet row =
            statement.executeQuery(
                "SELECT prosecdef, proconfig::text FROM pg_proc"
                    + " WHERE oid = 'en57.append'::regproc")) {
      row.next();
      assertThat(row.getBoolean(1)).isTrue();
      assertThat(row.getString(2)).contains("search_path=pg_catalog, pg_temp");
    }
  }

  private static void execute(DataSource dataSource, String sql) throws SQLException {
    try (Connection connection = dataSource.getConnection();
        Statement statement = connection.createStatement()) {
      statement.execute(sql);
    }
  }
}
