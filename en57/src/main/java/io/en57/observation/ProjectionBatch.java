package io.en57.observation;

import java.time.Duration;
import java.util.Objects;

/**
 * A batch a projection segment applied, committed together with its checkpoint.
 *
 * @param projection the projection's name
 * @param segment the segment, from 0
 * @param events how many events the handler got (0 when none of the batch's events matched this
 *     segment, and only the checkpoint moved)
 * @param duration the batch's transaction: claiming the row, the handler, moving the checkpoint,
 *     committing
 * @param checkpoint the position the checkpoint moved to
 * @param lag how many positions the checkpoint is behind the log's head after this batch
 */
public record ProjectionBatch(
    String projection, int segment, int events, Duration duration, long checkpoint, long lag) {

  /** Validates. */
  public ProjectionBatch {
    Objects.requireNonNull(projection, "projection must not be null");
    Objects.requireNonNull(duration, "duration must not be null");
    if (events < 0 || lag < 0) {
      throw new IllegalArgumentException("events and lag must not be negative");
    }
  }
}
