package io.en57;

/** Where a database stands with respect to the schema this library ships. */
public enum MigrationState {
  /** No En57 schema yet; {@code migrate} creates it. */
  FRESH,
  /** Some migrations are applied, newer ones are pending; {@code migrate} applies them. */
  PENDING,
  /** Every shipped migration is applied. */
  UP_TO_DATE,
  /**
   * A migration recorded as started and not completed, which only an earlier migrator left (it
   * recorded the start in a transaction of its own); {@code migrate} refuses until it is repaired.
   */
  PARTIAL,
  /** Schema {@code en57} holds objects but no version table; {@code migrate} refuses. */
  UNVERSIONED,
  /** The database has migrations newer than this library (a newer version migrated it). */
  AHEAD
}
