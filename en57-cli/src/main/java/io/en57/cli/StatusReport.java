package io.en57.cli;

import io.en57.MigrationState;
import io.en57.MigrationStatus;
import java.io.PrintWriter;
import java.util.Locale;
import java.util.Optional;

/** The readable form of a {@link MigrationStatus}, and the exit code it deserves. */
final class StatusReport {

  private StatusReport() {}

  /** Prints state, versions, pending migrations and the warning, if any. */
  static void print(String schema, MigrationStatus status, PrintWriter out) {
    out.println("Schema " + schema + ": " + describe(status.state()));
    out.println("Current version: " + status.currentVersion());
    out.println("Target version: " + status.targetVersion());
    if (status.pendingMigrations().isEmpty()) {
      out.println("Pending migrations: none");
    } else {
      out.println("Pending migrations:");
      status.pendingMigrations().forEach(name -> out.println("  " + name));
    }
    status.warning().ifPresent(warning -> out.println("WARNING: " + warning));
    status
        .applicationRole()
        .ifPresent(
            role -> {
              if (role.inPlace()) {
                out.println(
                    "Application role "
                        + role.role()
                        + ": privileges in place (reads, appends through en57.append, nothing"
                        + " else)");
                return;
              }
              out.println("Application role " + role.role() + ": privileges NOT in place");
              role.missing().forEach(missing -> out.println("  lacks " + missing));
              role.excess().forEach(excess -> out.println("  should not have: " + excess));
              out.println(
                  "  Repair: " + DatabaseCommand.migrateCommand(schema, Optional.of(role.role())));
            });
  }

  /** "up to date" for {@link MigrationState#UP_TO_DATE}, and so on. */
  static String describe(MigrationState state) {
    return state.name().toLowerCase(Locale.ROOT).replace('_', ' ');
  }

  /**
   * 1 when the database needs a person (partial, unversioned, ahead, any warning such as a changed
   * migration, or an application role whose privileges are not in place), so that scripts can
   * detect it; 0 when {@code migrate} can proceed.
   */
  static int exitCode(MigrationStatus status) {
    boolean trouble =
        switch (status.state()) {
          case FRESH, PENDING, UP_TO_DATE ->
              status.warning().isPresent()
                  || status.applicationRole().map(role -> !role.inPlace()).orElse(false);
          case PARTIAL, UNVERSIONED, AHEAD -> true;
        };
    return trouble ? DatabaseCommand.FAILURE : 0;
  }
}
