package io.en57.subscriptions;

/** Where a projection segment stands. */
public enum ProjectionState {
  /** A runner owns it (its lease is valid) and applies new events. */
  RUNNING,
  /** No runner owns it: none is started, or the last owner stopped or died and no one took over. */
  STOPPED,
  /** Its handler kept failing on an event; it stays stopped until it is reset. */
  FAILED
}
