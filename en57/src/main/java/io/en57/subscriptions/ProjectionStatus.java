package io.en57.subscriptions;

import java.util.Objects;
import java.util.Optional;

/**
 * One projection segment as the database records it.
 *
 * @param name the projection's name
 * @param segment this segment, from 0
 * @param segments how many segments the projection has (1 when it is not partitioned)
 * @param checkpoint every matching event up to this position has been applied
 * @param head the log's head when this status was read
 * @param state running, stopped or failed
 * @param owner the runner that owns the segment while its lease is valid
 * @param error why the segment failed, when it did
 */
public record ProjectionStatus(
    String name,
    int segment,
    int segments,
    long checkpoint,
    long head,
    ProjectionState state,
    Optional<String> owner,
    Optional<String> error) {

  /** Validates. */
  public ProjectionStatus {
    Objects.requireNonNull(name, "name must not be null");
    Objects.requireNonNull(state, "state must not be null");
    Objects.requireNonNull(owner, "owner must not be null");
    Objects.requireNonNull(error, "error must not be null");
  }

  /** How many positions the checkpoint is behind the head. */
  public long lag() {
    return Math.max(0, head - checkpoint);
  }
}
