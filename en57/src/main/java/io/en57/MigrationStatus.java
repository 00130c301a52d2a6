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
 */
public record MigrationStatus(
    MigrationState state,
    int currentVersion,
    int targetVersion,
    List<String> pendingMigrations,
    Optional<String> warning) {

  /** Validates and copies. */
  public MigrationStatus {
    Objects.requireNonNull(state, "state");
    pendingMigrations =
        List.copyOf(
            Objects.requireNonNull(pendingMigrations, "pendingMigrations must not be null"));
    Objects.requireNonNull(warning, "warning");
  }
}
