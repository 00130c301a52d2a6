package io.en57.internal;

import io.en57.Query;

/** Rules about append conditions that every engine applies the same way. */
final class Conditions {

  private Conditions() {}

  /**
   * A condition's {@code after} comes from a read of this store, so it cannot be beyond the head. A
   * position that was never read is a bug in the caller (a position from another store, say), and
   * silently accepting it would let the condition ignore events it should see.
   */
  static void requireAfterWithinHead(Query condition, long head) {
    if (largestAfter(condition) > head) {
      throw afterBeyondHead(condition, head);
    }
  }

  /** The error for a condition whose largest {@code after} is beyond {@code head}. */
  static IllegalArgumentException afterBeyondHead(Query condition, long head) {
    return new IllegalArgumentException(
        "condition after position "
            + largestAfter(condition)
            + " is beyond the store's head "
            + head
            + "; positions in a condition come from reads of this store");
  }

  private static long largestAfter(Query condition) {
    return condition.criteria().stream().mapToLong(Query.Criterion::after).max().orElse(0);
  }
}
