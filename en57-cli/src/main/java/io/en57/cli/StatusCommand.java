package io.en57.cli;

import io.en57.MigrationStatus;
import io.en57.Migrator;
import java.io.PrintWriter;
import picocli.CommandLine.Command;

/** {@code en57 status}: reports where the database stands without changing anything. */
@Command(
    name = "status",
    mixinStandardHelpOptions = true,
    versionProvider = Version.class,
    description = {
      "Reports the state of schema en57 (or the one --schema names), its current and target versions, the pending"
          + " migrations, and what is wrong with the repair step when something is.",
      "Exit code 0 when fresh, pending or up to date; 1 when partial, unversioned, ahead or"
          + " holding a changed migration."
    })
final class StatusCommand extends DatabaseCommand {

  @Override
  int run(Migrator migrator, PrintWriter out) {
    MigrationStatus status = migrator.status();
    StatusReport.print(schema, status, out);
    return StatusReport.exitCode(status);
  }
}
