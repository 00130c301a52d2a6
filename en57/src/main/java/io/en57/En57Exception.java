package io.en57;

/** The base of the exceptions En57 throws for conditions other than bad arguments. */
public class En57Exception extends RuntimeException {

  /** An exception with a message. */
  public En57Exception(String message) {
    super(message);
  }

  /** An exception with a message and a cause. */
  public En57Exception(String message, Throwable cause) {
    super(message, cause);
  }
}
