package io.en57;

/**
 * The database has no En57 schema, or not the version this library needs. Run the migrator first:
 * {@code en57 migrate} (reads {@code DATABASE_URL}) or {@code
 * Migrator.forDataSource(ds).migrate()}.
 */
public final class SchemaNotReadyException extends En57Exception {

  /** An exception whose message names the fix. */
  public SchemaNotReadyException(String message) {
    super(message);
  }

  /** An exception whose message names the fix, with the database error behind it. */
  public SchemaNotReadyException(String message, Throwable cause) {
    super(message, cause);
  }
}
