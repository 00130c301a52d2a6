package io.en57.observation;

/**
 * An append about to be written.
 *
 * @param events how many events it appends
 * @param conditional whether it carries an append condition
 */
public record AppendStarted(int events, boolean conditional) {

  /** Validates. */
  public AppendStarted {
    if (events < 1) {
      throw new IllegalArgumentException("events must be positive, got " + events);
    }
  }
}
