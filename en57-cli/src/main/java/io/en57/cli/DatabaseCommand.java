package io.en57.cli;

import io.en57.En57StorageException;
import io.en57.MigrationException;
import io.en57.Migrator;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * A subcommand working on the database named by {@code --url} or {@code DATABASE_URL}. Turns the
 * migrator's exceptions into a one-line message on stderr and exit code 1. The library's messages
 * never repeat the URL, so they never show its password.
 */
abstract class DatabaseCommand implements Callable<Integer> {

  static final int FAILURE = 1;

  @Spec CommandSpec spec;

  // The default is never shown in the help: DATABASE_URL usually holds a password.
  @Option(
      names = "--url",
      paramLabel = "URL",
      defaultValue = "${env:DATABASE_URL}",
      description = {
        "Database URL: postgres://user:password@host:port/database or jdbc:postgresql://...",
        "Defaults to the environment variable DATABASE_URL, which keeps the password out of"
            + " the process list."
      })
  String url;

  @Option(
      names = "--app-role",
      paramLabel = "ROLE",
      defaultValue = "${env:EN57_APP_ROLE}",
      description = {
        "The application's database role: migrate grants it what a store needs (read the log,"
            + " append through en57.append) and nothing else; status reports whether that is in"
            + " place. Defaults to the environment variable EN57_APP_ROLE; none when unset."
      })
  String applicationRole;

  @Option(
      names = "--schema",
      paramLabel = "SCHEMA",
      defaultValue = "${env:EN57_SCHEMA:-en57}",
      description = {
        "The schema that holds the log (one database can hold several independent logs, each"
            + " migrated and versioned on its own). Defaults to the environment variable"
            + " EN57_SCHEMA, or en57 when unset."
      })
  String schema;

  /** Does the work with a migrator for the database and returns the exit code. */
  abstract int run(Migrator migrator, PrintWriter out);

  @Override
  public final Integer call() {
    if (url == null || url.isBlank()) {
      throw new ParameterException(
          spec.commandLine(),
          "No database URL: set the environment variable DATABASE_URL or pass --url.");
    }
    try {
      Migrator migrator = Migrator.forUrl(url).withSchema(schema);
      if (applicationRole != null && !applicationRole.isBlank()) {
        migrator = migrator.withApplicationRole(applicationRole);
      }
      return run(migrator, spec.commandLine().getOut());
    } catch (MigrationException | En57StorageException | IllegalArgumentException e) {
      spec.commandLine().getErr().println(spec.qualifiedName() + ": " + oneLine(e.getMessage()));
      return FAILURE;
    }
  }

  private static String oneLine(String message) {
    return String.valueOf(message).strip().replaceAll("\\s*\\R\\s*", " ");
  }
}
