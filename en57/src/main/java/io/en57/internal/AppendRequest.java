package io.en57.internal;

import io.en57.Query;
import java.util.List;

/**
 * One append as the PostgreSQL engine writes it.
 *
 * @param condition null for an unconditional append
 */
record AppendRequest(List<EncodedEvent> events, Query condition) {

  /** The characters of data and metadata its events carry, written as JSON. */
  long jsonLength() {
    long length = 0;
    for (EncodedEvent event : events) {
      length += event.data().length() + (event.meta() == null ? 0 : event.meta().length());
    }
    return length;
  }

  /** The characters of its events' types and tags, and of its condition's. */
  long indexedLength() {
    long length = condition == null ? 0 : StorableText.indexedLength(condition);
    for (EncodedEvent event : events) {
      length += event.indexedLength();
    }
    return length;
  }

  /**
   * Whether {@code earlier}'s events would make this request's condition fail if {@code earlier} is
   * stored first in the same group. Positions do not matter: the group's events land after the
   * head, and a condition's {@code after} is never beyond the head.
   */
  boolean dependsOn(AppendRequest earlier) {
    if (condition == null) {
      return false;
    }
    for (EncodedEvent event : earlier.events) {
      if (condition.matches(event.type(), event.tags(), Long.MAX_VALUE)) {
        return true;
      }
    }
    return false;
  }
}
