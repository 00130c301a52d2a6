package io.en57.maven;

import static org.assertj.core.api.Assertions.assertThat;

import io.en57.MigrationState;
import io.en57.Migrator;
import io.en57.testing.TestDatabases;
import io.en57.testing.TestDatabases.TestDatabase;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;

/**
 * {@code en57:migrate} and {@code en57:status} in real Maven builds: the project's wrapper runs a
 * small project that declares the plugin, against a local repository holding this build's plugin
 * and its dependencies (installed there by the invoker plugin), with the build's own local
 * repository as its only remote one (a file URL: no network), on an embedded PostgreSQL.
 */
@Tag("postgres")
class MavenGoalsIT {

  /** What one build printed and how it ended. */
  record Build(int exitCode, String output) {}

  private TestDatabase database;
  private Path project;

  @BeforeEach
  void createDatabaseAndProject(TestInfo test) throws IOException {
    database = TestDatabases.create();
    project = Path.of("target", "it", test.getTestMethod().orElseThrow().getName());
    Files.createDirectories(project);
    String repository =
        Path.of(System.getProperty("en57.userRepository")).toAbsolutePath().toUri().toString();
    Files.writeString(
        project.resolve("settings.xml"),
        """
        <settings>
          <mirrors>
            <mirror>
              <id>build-repository</id>
              <mirrorOf>*</mirrorOf>
              <url>%s</url>
            </mirror>
          </mirrors>
        </settings>
        """
            .formatted(repository));
    Files.writeString(
        project.resolve("pom.xml"),
        """
        <project xmlns="http://maven.apache.org/POM/4.0.0">
          <modelVersion>4.0.0</modelVersion>
          <groupId>io.en57.it</groupId>
          <artifactId>shop</artifactId>
          <version>1</version>
          <packaging>pom</packaging>
          <build>
            <plugins>
              <plugin>
                <groupId>io.en57</groupId>
                <artifactId>en57-maven-plugin</artifactId>
                <version>%s</version>
              </plugin>
            </plugins>
          </build>
        </project>
        """
            .formatted(System.getProperty("en57.pluginVersion")));
  }

  @AfterEach
  void dropDatabase() {
    database.close();
  }

  @Test
  void statusThenMigrateWithTheUrlFromDatabaseUrlOrTheParameter() throws Exception {
    Build fresh = maven(Map.of("DATABASE_URL", database.postgresUrl()), "en57:status");
    assertThat(fresh.exitCode()).as(fresh.output()).isZero();
    assertThat(fresh.output())
        .contains("Schema en57: fresh")
        .contains("Pending migrations: 0001_create_events");

    Build migrate = maven(Map.of(), "en57:migrate", "-Den57.url=" + database.jdbcUrl());
    assertThat(migrate.exitCode()).as(migrate.output()).isZero();
    assertThat(migrate.output())
        .contains("Applied 0001_create_events")
        .contains("Schema en57: up to date")
        .contains("BUILD SUCCESS");
    assertThat(Migrator.forDataSource(database.dataSource()).status().state())
        .isEqualTo(MigrationState.UP_TO_DATE);

    Build again = maven(Map.of("DATABASE_URL", database.postgresUrl()), "en57:migrate");
    assertThat(again.exitCode()).as(again.output()).isZero();
    assertThat(again.output()).contains("Schema en57 is up to date; nothing to do.");
  }

  @Test
  void theSchemaParameterOrEn57SchemaNamesTheLogAndLeavesTheDefaultOneAlone() throws Exception {
    Build migrate =
        maven(
            Map.of("DATABASE_URL", database.postgresUrl()), "en57:migrate", "-Den57.schema=orders");
    assertThat(migrate.exitCode()).as(migrate.output()).isZero();
    assertThat(migrate.output()).contains("Schema orders: up to date");
    assertThat(Migrator.forDataSource(database.dataSource()).withSchema("orders").status().state())
        .isEqualTo(MigrationState.UP_TO_DATE);
    assertThat(Migrator.forDataSource(database.dataSource()).status().state())
        .isEqualTo(MigrationState.FRESH);

    Build status =
        maven(
            Map.of("DATABASE_URL", database.postgresUrl(), "EN57_SCHEMA", "billing"),
            "en57:status");
    assertThat(status.exitCode()).as(status.output()).isZero();
    assertThat(status.output()).contains("Schema billing: fresh");
  }

  @Test
  void statusFailsTheBuildWhenTheApplicationRoleLacksItsPrivileges() throws Exception {
    Migrator.forDataSource(database.dataSource()).migrate();
    try (var role = database.createApplicationRole()) {
      Build status =
          maven(
              Map.of("DATABASE_URL", database.postgresUrl(), "EN57_APP_ROLE", role.name()),
              "en57:status");
      assertThat(status.exitCode()).isOne();
      assertThat(status.output())
          .contains("Application role " + role.name() + ": privileges NOT in place")
          .contains("BUILD FAILURE");

      Build migrate =
          maven(
              Map.of(),
              "en57:migrate",
              "-Den57.url=" + database.postgresUrl(),
              "-Den57.appRole=" + role.name());
      assertThat(migrate.exitCode()).as(migrate.output()).isZero();
      assertThat(migrate.output())
          .contains("Application role " + role.name() + ": privileges in place");
    }
  }

  @Test
  void withoutAUrlTheBuildFailsNamingBothWaysToGiveIt() throws Exception {
    Build build = maven(Map.of(), "en57:status");
    assertThat(build.exitCode()).isOne();
    assertThat(build.output())
        .contains(
            "No database URL: set the environment variable DATABASE_URL or the parameter"
                + " en57.url");
  }

  /**
   * Runs the wrapper on the project, with {@code DATABASE_URL} set only as {@code environment}
   * says.
   */
  private Build maven(Map<String, String> environment, String... arguments) throws Exception {
    var command = new ArrayList<String>();
    command.add(System.getProperty("en57.mavenWrapper"));
    command.addAll(
        List.of(
            "-B",
            "-ntp",
            "-s",
            project.resolve("settings.xml").toAbsolutePath().toString(),
            "-Dmaven.repo.local="
                + Path.of(System.getProperty("en57.itRepository")).toAbsolutePath(),
            "-f",
            project.resolve("pom.xml").toAbsolutePath().toString()));
    command.addAll(List.of(arguments));
    var builder = new ProcessBuilder(command).redirectErrorStream(true);
    builder.environment().remove("DATABASE_URL");
    builder.environment().remove("EN57_APP_ROLE");
    builder.environment().remove("MAVEN_ARGS");
    builder.environment().putAll(environment);
    Process process = builder.start();
    process.getOutputStream().close();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!process.waitFor(120, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      throw new AssertionError("the build did not end in 120 s:\n" + output);
    }
    return new Build(process.exitValue(), output);
  }
}
