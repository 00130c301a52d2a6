package io.en57.cli;

import io.en57.MigrationState;
import io.en57.MigrationStatus;
import io.en57.Migrator;
import java.io.PrintWriter;
import java.util.List;
import picocli.CommandLine.Command;

/** {@code en57 migrate}: applies the pending migrations, then reports the resulting status. */
@Command(
    name = "migrate",
    mixinStandardHelpOptions = true,
    versionProvider = Version.class,
    description = {
      "Creates or upgrades schema en57 (or the one --schema names) by applying the pending migrations, each in its own"
          + " transaction. Safe to run concurrently and repeatedly.",
      "Refuses, with exit code 1 and the repair step, when the database is partial,"
          + " unversioned, ahead or holds a changed migration."
    })
final class MigrateCommand extends DatabaseCommand {

  @Override
  int run(Migrator migrator, PrintWriter out) {
    List<String> applied = migrator.migrate();
    applied.forEach(name -> out.println("Applied " + name));
    MigrationStatus status = migrator.status();
    if (applied.isEmpty()
        && status.state() == MigrationState.UP_TO_DATE
        && status.warning().isEmpty()
        && status.applicationRole().isEmpty()) {
      out.println(
          "Schema "
              + schema
              + " is up to date (version "
              + status.currentVersion()
              + "); nothing to do.");
      return 0;
    }
    StatusReport.print(schema, status, out);
    return StatusReport.exitCode(status);
  }
}
