package io.en57.maven;

import io.en57.ApplicationRoleStatus;
import io.en57.En57Exception;
import io.en57.MigrationStatus;
import io.en57.Migrator;
import java.util.Locale;
import org.apache.maven.plugin.AbstractMojo;
import org.apache.maven.plugin.MojoExecutionException;
import org.apache.maven.plugin.MojoFailureException;
import org.apache.maven.plugins.annotations.Parameter;

/**
 * A goal on the database named by {@code url} or, without it, the environment variable {@code
 * DATABASE_URL}. The library's messages never repeat the URL, so the build log never shows its
 * password.
 */
abstract class DatabaseMojo extends AbstractMojo {

  /**
   * The database: {@code postgres://user:password@host:port/database} or {@code
   * jdbc:postgresql://...}. Defaults to the environment variable {@code DATABASE_URL}, which keeps
   * the password out of the POM and the command line.
   */
  @Parameter(property = "en57.url")
  String url;

  /**
   * The application's database role: {@code migrate} grants it what a store needs and nothing else;
   * {@code status} reports whether that is in place. Defaults to the environment variable {@code
   * EN57_APP_ROLE}.
   */
  @Parameter(property = "en57.appRole")
  String appRole;

  /**
   * The schema that holds the log, {@code en57} by default: one database can hold several
   * independent logs, each migrated and versioned on its own. Defaults to the environment variable
   * {@code EN57_SCHEMA}.
   */
  @Parameter(property = "en57.schema")
  String schema;

  /** Skips the goal. */
  @Parameter(property = "en57.skip", defaultValue = "false")
  boolean skip;

  /** Does the goal's work. */
  abstract void run(Migrator migrator) throws MojoFailureException;

  @Override
  public final void execute() throws MojoExecutionException, MojoFailureException {
    if (skip) {
      getLog().info("Skipped (en57.skip)");
      return;
    }
    String database = firstSet(url, System.getenv("DATABASE_URL"));
    if (database == null) {
      throw new MojoExecutionException(
          "No database URL: set the environment variable DATABASE_URL or the parameter en57.url");
    }
    try {
      Migrator migrator = Migrator.forUrl(database).withSchema(schemaName());
      String role = firstSet(appRole, System.getenv("EN57_APP_ROLE"));
      if (role != null) {
        migrator = migrator.withApplicationRole(role);
      }
      run(migrator);
    } catch (En57Exception | IllegalArgumentException e) {
      throw new MojoFailureException(e.getMessage(), e);
    }
  }

  /** The schema of the log: the parameter, or {@code EN57_SCHEMA}, or {@code en57}. */
  String schemaName() {
    String name = firstSet(schema, System.getenv("EN57_SCHEMA"));
    return name == null ? "en57" : name;
  }

  /** Logs state, versions, pending migrations, the warning and the application role. */
  void log(MigrationStatus status) {
    getLog()
        .info(
            "Schema "
                + schemaName()
                + ": "
                + status.state().name().toLowerCase(Locale.ROOT).replace('_', ' '));
    getLog().info("Current version: " + status.currentVersion());
    getLog().info("Target version: " + status.targetVersion());
    getLog()
        .info(
            "Pending migrations: "
                + (status.pendingMigrations().isEmpty()
                    ? "none"
                    : String.join(", ", status.pendingMigrations())));
    status.warning().ifPresent(warning -> getLog().warn(warning));
    status.applicationRole().ifPresent(this::log);
  }

  private void log(ApplicationRoleStatus role) {
    if (role.inPlace()) {
      getLog().info("Application role " + role.role() + ": privileges in place");
      return;
    }
    getLog().warn("Application role " + role.role() + ": privileges NOT in place");
    role.missing().forEach(missing -> getLog().warn("  lacks " + missing));
    role.excess().forEach(excess -> getLog().warn("  should not have: " + excess));
  }

  /**
   * Whether the database needs a person: partial, unversioned or ahead, a warning (a changed
   * migration), or an application role without its privileges.
   */
  static boolean inTrouble(MigrationStatus status) {
    return switch (status.state()) {
      case FRESH, PENDING, UP_TO_DATE ->
          status.warning().isPresent()
              || status.applicationRole().map(role -> !role.inPlace()).orElse(false);
      case PARTIAL, UNVERSIONED, AHEAD -> true;
    };
  }

  private static String firstSet(String first, String second) {
    if (first != null && !first.isBlank()) {
      return first;
    }
    return second == null || second.isBlank() ? null : second;
  }
}
