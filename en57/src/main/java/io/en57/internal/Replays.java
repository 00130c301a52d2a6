package io.en57.internal;

import io.en57.DuplicateEventIdException;
import java.util.List;

/**
 * Judges an append whose event ids are already stored: a retry of an append that was stored (the
 * caller lost the answer) gets the original outcome again, marked as a replay; anything else is a
 * {@link DuplicateEventIdException} naming the first difference. Both engines find what the log
 * holds for each event, and judge it here.
 */
final class Replays {

  private Replays() {}

  /**
   * What the log holds for one event of the append.
   *
   * @param position where the event's id is stored, or null when it is not
   */
  record StoredCopy(
      Long position, boolean sameType, boolean sameTags, boolean sameData, boolean sameMetadata) {}

  /** The outcome of the append given what the log holds for each of its events, in order. */
  static Completion judge(List<EncodedEvent> events, List<StoredCopy> stored) {
    StoredCopy first = stored.get(0);
    for (int i = 0; i < events.size(); i++) {
      String difference = difference(i, stored.get(i), first);
      if (difference != null) {
        int duplicate = firstStored(stored);
        return new Completion.Failed(
            new DuplicateEventIdException(
                events.get(duplicate).id(),
                "an event with id "
                    + events.get(duplicate).id()
                    + " (events["
                    + duplicate
                    + "]) is already stored at position "
                    + stored.get(duplicate).position()
                    + ", and this append does not repeat the append that stored it: events["
                    + i
                    + "] "
                    + difference
                    + "; nothing was appended"));
      }
    }
    long last = stored.get(stored.size() - 1).position();
    return new Completion.Decided(new AppendOutcome.Stored(last, true));
  }

  private static int firstStored(List<StoredCopy> stored) {
    for (int i = 0; i < stored.size(); i++) {
      if (stored.get(i).position() != null) {
        return i;
      }
    }
    throw new IllegalStateException("judged an append none of whose ids is stored");
  }

  private static String difference(int i, StoredCopy copy, StoredCopy first) {
    if (copy.position() == null) {
      return "is not stored";
    }
    if (first.position() == null) {
      return "is stored at position " + copy.position() + ", though events[0] is not";
    }
    if (copy.position() != first.position() + i) {
      return "is stored at position "
          + copy.position()
          + ", not right after the append's earlier events (events[0] is at "
          + first.position()
          + ")";
    }
    if (!copy.sameType()) {
      return "is stored at position " + copy.position() + " with another type";
    }
    if (!copy.sameTags()) {
      return "is stored at position " + copy.position() + " with other tags";
    }
    if (!copy.sameData()) {
      return "is stored at position " + copy.position() + " with other data";
    }
    if (!copy.sameMetadata()) {
      return "is stored at position " + copy.position() + " with other metadata";
    }
    return null;
  }
}
