package io.en57.internal;

import io.en57.DuplicateEventIdException;
import io.en57.Query;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;

/**
 * The in-memory engine: the log is a list guarded by one lock, so appends are serialised exactly as
 * the PostgreSQL engine's advisory lock serialises them. For tests and demos; nothing survives the
 * JVM.
 */
public final class InMemoryEngine implements Engine {

  private final List<StoredEvent> log = new ArrayList<>();
  private final Set<UUID> ids = new HashSet<>();

  @Override
  public synchronized AppendOutcome append(List<EncodedEvent> events, Query condition) {
    long head = head();
    if (condition != null) {
      Conditions.requireAfterWithinHead(condition, head);
    }
    for (EncodedEvent event : events) {
      if (ids.contains(event.id())) {
        throw new DuplicateEventIdException(event.id());
      }
    }
    if (condition != null) {
      List<StoredEvent> conflicts = read(condition, head + 1, true, MAX_CONFLICTING_EVENTS);
      if (!conflicts.isEmpty()) {
        return new AppendOutcome.Conflicted(conflicts.get(0).position(), reversed(conflicts));
      }
    }
    for (EncodedEvent event : events) {
      log.add(new StoredEvent(++head, event));
      ids.add(event.id());
    }
    return new AppendOutcome.Stored(head);
  }

  @Override
  public synchronized List<StoredEvent> read(
      Query query, long cursor, boolean backwards, int limit) {
    var page = new ArrayList<StoredEvent>();
    // Positions are 1..size with no gaps here, so the cursor maps straight to an index.
    int start =
        backwards ? (int) Math.min(cursor - 1, log.size()) - 1 : (int) Math.min(cursor, log.size());
    for (int i = start; i >= 0 && i < log.size() && page.size() < limit; i += backwards ? -1 : 1) {
      StoredEvent stored = log.get(i);
      if (query.matches(stored.event().type(), stored.event().tags(), stored.position())) {
        page.add(stored);
      }
    }
    return page;
  }

  @Override
  public synchronized long head() {
    return log.size();
  }

  @Override
  public Engine onConnection(Connection connection) {
    throw new UnsupportedOperationException(
        "the in-memory store has no database connection; use a PostgreSQL store for onConnection");
  }

  @Override
  public void close() {}

  private static List<StoredEvent> reversed(List<StoredEvent> events) {
    var ascending = new ArrayList<>(events);
    Collections.reverse(ascending);
    return ascending;
  }
}
