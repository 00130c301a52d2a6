package io.en57;

/**
 * {@link Migrator#migrate()} refused to run or a migration failed. The message says what state the
 * database is in and how to repair it.
 */
public final class MigrationException extends En57Exception {

  /** An exception whose message names the repair. */
  public MigrationException(String message) {
    super(message);
  }

  /** An exception whose message names the repair, with the database error behind it. */
  public MigrationException(String message, Throwable cause) {
    super(message, cause);
  }
}
