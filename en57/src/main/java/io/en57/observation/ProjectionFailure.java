package io.en57.observation;

import java.util.Objects;

/**
 * A projection's handler (or reset handler) threw.
 *
 * @param projection the projection's name
 * @param segment the segment, from 0
 * @param action what the runner does about it
 * @param error what the handler threw
 */
public record ProjectionFailure(String projection, int segment, Action action, Throwable error) {

  /** What the runner does after a handler failed. */
  public enum Action {
    /** Tries the batch again after a back-off. */
    RETRY,
    /** Gave up: the segment stopped in state FAILED until it is reset. */
    FAILED,
    /** Gave up on one event: recorded it as a dead letter and went on. */
    DEAD_LETTER
  }

  /** Validates. */
  public ProjectionFailure {
    Objects.requireNonNull(projection, "projection must not be null");
    Objects.requireNonNull(action, "action must not be null");
    Objects.requireNonNull(error, "error must not be null");
  }
}
