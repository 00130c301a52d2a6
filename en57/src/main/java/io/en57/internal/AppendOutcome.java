package io.en57.internal;

import java.util.List;

/** What an engine reports for one append; the store decodes it into an AppendResult. */
public sealed interface AppendOutcome {

  /**
   * Stored; {@code position} is that of the append's last event. {@code replayed}: it was stored
   * before, by an earlier append with the same events, whose outcome this repeats.
   */
  record Stored(long position, boolean replayed) implements AppendOutcome {

    /** Stored now. */
    public Stored(long position) {
      this(position, false);
    }
  }

  /** The condition matched; {@code events} are the newest conflicting ones, ascending. */
  record Conflicted(long position, List<StoredEvent> events) implements AppendOutcome {}
}
