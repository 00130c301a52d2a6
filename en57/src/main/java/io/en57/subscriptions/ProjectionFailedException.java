package io.en57.subscriptions;

import io.en57.En57Exception;

/**
 * A projection stopped in state {@link ProjectionState#FAILED}, so waiting for it to reach a
 * position is in vain until it is reset.
 */
public final class ProjectionFailedException extends En57Exception {

  /** An exception naming the projection and its error. */
  public ProjectionFailedException(String message) {
    super(message);
  }
}
