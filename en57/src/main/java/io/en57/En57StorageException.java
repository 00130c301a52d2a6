package io.en57;

/**
 * The database failed an operation: connection lost, server restarted, statement failed. An append
 * that ends in this exception was not confirmed: if the connection broke during the commit it may
 * still have been stored, so retry with the same event ids ({@link DuplicateEventIdException} then
 * means it was).
 */
public final class En57StorageException extends En57Exception {

  /** An exception wrapping the database error. */
  public En57StorageException(String message, Throwable cause) {
    super(message, cause);
  }
}
