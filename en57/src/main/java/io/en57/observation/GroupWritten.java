package io.en57.observation;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * A group commit: appends through one store written with one statement and one commit.
 *
 * @param waits for each append of the group, in order, how long it waited for the group to start (0
 *     for the append whose thread found the store idle and wrote at once)
 * @param duration how long the group took in the database: waiting for the append lock, checking
 *     the conditions, inserting and committing. The lock is taken inside the same single call, so
 *     its wait is not measured apart; this is its upper bound
 */
public record GroupWritten(List<Duration> waits, Duration duration) {

  /** Validates and copies. */
  public GroupWritten {
    waits = List.copyOf(Objects.requireNonNull(waits, "waits must not be null"));
    if (waits.isEmpty()) {
      throw new IllegalArgumentException("a group holds at least one append");
    }
    Objects.requireNonNull(duration, "duration must not be null");
  }

  /** How many appends the group held. */
  public int appends() {
    return waits.size();
  }
}
