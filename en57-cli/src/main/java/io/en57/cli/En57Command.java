package io.en57.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.HelpCommand;

/**
 * The {@code en57} command: {@code en57 migrate} and {@code en57 status} against the database named
 * by {@code DATABASE_URL} or {@code --url}.
 *
 * <p>Exit codes: 0 success, 1 failure or a database in trouble (partial, unversioned, ahead, or a
 * changed migration), 2 usage error such as a missing database URL.
 */
@Command(
    name = "en57",
    mixinStandardHelpOptions = true,
    versionProvider = Version.class,
    description = "Creates, upgrades and inspects the En57 event store schema in PostgreSQL.",
    subcommands = {
      MigrateCommand.class,
      StatusCommand.class,
      DoctorCommand.class,
      ProjectionsCommand.class,
      HelpCommand.class
    })
public final class En57Command {

  /** A command for picocli to populate; run it with {@code new CommandLine(command).execute}. */
  public En57Command() {}

  /** Runs the command line and exits with its exit code. */
  public static void main(String[] args) {
    System.exit(new CommandLine(new En57Command()).execute(args));
  }
}
