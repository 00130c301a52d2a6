package io.en57.internal;

/**
 * How one append of a group ended: decided by the database, or failed with the exception its caller
 * gets. A group is written by one thread for many callers, so an append's failure is handed over as
 * a value and thrown on the caller's thread.
 */
sealed interface Completion {

  /** The database decided the append: stored or conflicted. */
  record Decided(AppendOutcome outcome) implements Completion {}

  /** The append ended with {@code error}, to be thrown to its caller. */
  record Failed(RuntimeException error) implements Completion {}

  /** The outcome, or throws the exception the append failed with. */
  default AppendOutcome outcome() {
    if (this instanceof Failed failed) {
      throw failed.error();
    }
    return ((Decided) this).outcome();
  }
}
