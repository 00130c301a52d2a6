package io.en57.internal;

import java.util.List;

/** What an engine reports for one append; the store decodes it into an AppendResult. */
public sealed interface AppendOutcome {

  /** Stored; {@code position} is that of the append's last event. */
  record Stored(long position) implements AppendOutcome {}

  /** The condition matched; {@code events} are the newest conflicting ones, ascending. */
  record Conflicted(long position, List<StoredEvent> events) implements AppendOutcome {}
}
