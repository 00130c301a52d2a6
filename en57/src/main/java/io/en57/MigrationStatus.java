package io.en57;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * What {@link Migrator#status()} reports.
 *
 * @param state where the database stands
 * @param currentVersion the highest completed migration, 0 when none
 * @param targetVersion the highest migration this library ships
 * @param pendingMigrations names of the migrations {@code migrate} would apply, in order
 * @param warning what is wrong and the step that repairs it, when something is
 * @param applicationRole whether the application role's privileges are in place, for a migrator
 *     {@link Migrator#withApplicationRole with an application role} and a schema that exists
 */
public record MigrationStatus(
    MigrationState state,
    int currentVersion,
    int targetVersion,
    List<String> pendingMigrations,
    Optional<String> warning,
    Optional<ApplicationRoleStatus> applicationRole) {

  /** Validates and copies. */
  public MigrationStatus {
    Objects.requireNonNull(state, "state");
    pendingMigrations =
        List.copyOf(
            Objects.requireNonNull(pendingMigrations, "pendingMigrations must not be null"));
    Objects.requireNonNull(warning, "warning");
    Objects.requireNonNull(applicationRole, "applicationRole");
  }

  /** A status without an application role check. */
  public MigrationStatus(
      MigrationState state,
      int currentVersion,
      int targetVersion,
      List<String> pendingMigrations,
      Optional<String> warning) {
    this(state, currentVersion, targetVersion, pendingMigrations, warning, Optional.empty());
  }

  /** This status with the application role's check. */
  MigrationStatus withApplicationRole(ApplicationRoleStatus role) {
    return new MigrationStatus(
        state, currentVersion, targetVersion, pendingMigrations, warning, Optional.of(role));
  }
}
