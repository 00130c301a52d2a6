package io.en57.internal;

import io.en57.En57Exception;

/**
 * A stored event that cannot be decoded (its registered payload class no longer matches its data,
 * say). Retrying does not help: whoever follows the log must stop at it, visibly.
 */
final class UndecodableEventException extends En57Exception {

  UndecodableEventException(String message, Throwable cause) {
    super(message, cause);
  }
}
