package io.en57.cli;

import io.en57.En57StorageException;
import io.en57.MigrationException;
import io.en57.Migrator;
import java.io.PrintWriter;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;

/**
 * A subcommand working on the database named by {@code --url} or {@code DATABASE_URL}. Turns the
 * migrator's exceptions into a one-line message on stderr and exit code 1. The library's messages
 * never repeat the URL, so they never show its password.
 *
 * <p>Its options are inherited by its own subcommands ({@code en57 projections reset}), which read
 * them here, whether given before or after the subcommand's name.
 */
abstract class DatabaseCommand implements Callable<Integer> {

  static final int FAILURE = 1;

  @Spec CommandSpec spec;

  // The default is never shown in the help: DATABASE_URL usually holds a password.
  @Option(
      names = "--url",
      paramLabel = "URL",
      defaultValue = "${env:DATABASE_URL}",
      scope = ScopeType.INHERIT,
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
      scope = ScopeType.INHERIT,
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
      scope = ScopeType.INHERIT,
      description = {
        "The schema that holds the log (one database can hold several independent logs, each"
            + " migrated and versioned on its own). Defaults to the environment variable"
            + " EN57_SCHEMA, or en57 when unset."
      })
  String schema;

  /** Work done with a migrator for the database; returns the exit code. */
  interface Work {
    int run(Migrator migrator, PrintWriter out);
  }

  /** Does the work with a migrator for the database and returns the exit code. */
  abstract int run(Migrator migrator, PrintWriter out);

  @Override
  public final Integer call() {
    return call(spec, this::run);
  }

  /**
   * Does {@code work} with this command's options for {@code command}, this command or one of its
   * subcommands, which prints the output and the errors.
   */
  final int call(CommandSpec command, Work work) {
    if (url == null || url.isBlank()) {
      throw new ParameterException(
          command.commandLine(),
          "No database URL: set the environment variable DATABASE_URL or pass --url.");
    }
    try {
      Migrator migrator = Migrator.forUrl(url).withSchema(schema);
      if (applicationRole != null && !applicationRole.isBlank()) {
        migrator = migrator.withApplicationRole(applicationRole);
      }
      return work.run(migrator, command.commandLine().getOut());
    } catch (MigrationException | En57StorageException | IllegalArgumentException e) {
      return failure(command, e);
    }
  }

  /** Reports a failure the library explained (a schema that is not ready, a lost connection). */
  static int failure(CommandSpec command, RuntimeException e) {
    command
        .commandLine()
        .getErr()
        .println(command.qualifiedName() + ": " + oneLine(e.getMessage()));
    return FAILURE;
  }

  /**
   * {@code " --schema SCHEMA"}, or nothing for en57: a repair command printed for a log in another
   * schema, followed as printed, must work on that log, not on a same-named thing in en57.
   */
  static String schemaOption(String schema) {
    return schema.equals("en57") ? "" : " --schema " + schema;
  }

  /** The command that migrates {@code schema}, granting {@code role} its privileges, if given. */
  static String migrateCommand(String schema, Optional<String> role) {
    return "en57 migrate" + schemaOption(schema) + role.map(r -> " --app-role " + r).orElse("");
  }

  private static String oneLine(String message) {
    return String.valueOf(message).strip().replaceAll("\\s*\\R\\s*", " ");
  }
}
