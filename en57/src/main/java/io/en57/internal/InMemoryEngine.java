package io.en57.internal;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.en57.Query;
import io.en57.Query.Criterion;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * The in-memory engine: the log is a list guarded by one lock, so appends are serialised exactly as
 * the PostgreSQL engine's advisory lock serialises them. Like the database, it indexes positions by
 * tag and by type, so a read or a condition costs what it finds, not the size of the log. For tests
 * and demos; nothing survives the JVM. Thread-safe.
 */
public final class InMemoryEngine implements Engine {

  /**
   * Reads JSON to compare documents by value, numbers by their value as jsonb compares them, within
   * the codec's limits (Jackson's defaults refuse what the codec accepts).
   */
  private static final ObjectMapper JSON =
      new ObjectMapper(JsonFactory.builder().streamReadConstraints(EventCodec.READ_LIMITS).build())
          .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
          .setNodeFactory(JsonNodeFactory.withExactBigDecimals(false));

  /** Numbers equal by value whatever their node type (1 and 1.0), other values as they are. */
  private static final Comparator<JsonNode> BY_VALUE =
      (a, b) ->
          a.isNumber() && b.isNumber()
              ? a.decimalValue().compareTo(b.decimalValue())
              : a.equals(b) ? 0 : 1;

  private final List<StoredEvent> log = new ArrayList<>();
  private final Map<UUID, Integer> positionsById = new HashMap<>();
  private final Map<String, Positions> byTag = new HashMap<>();
  private final Map<String, Positions> byType = new HashMap<>();
  private boolean closed;

  @Override
  public synchronized AppendOutcome append(List<EncodedEvent> events, Query condition) {
    long head = head();
    if (condition != null) {
      Conditions.requireAfterWithinHead(condition, head);
    }
    for (EncodedEvent event : events) {
      if (positionsById.containsKey(event.id())) {
        return replay(events);
      }
    }
    if (condition != null) {
      List<StoredEvent> conflicts = read(condition, head + 1, true, MAX_CONFLICTING_EVENTS);
      if (!conflicts.isEmpty()) {
        return new AppendOutcome.Conflicted(conflicts.get(0).position(), reversed(conflicts));
      }
    }
    for (EncodedEvent event : events) {
      int position = Math.toIntExact(++head);
      // As jsonb would, so that maps read back iterate in the same order on both engines.
      var stored =
          new EncodedEvent(
              event.id(),
              event.type(),
              JsonbKeyOrder.of(event.data()),
              JsonbKeyOrder.of(event.meta()),
              event.tags());
      log.add(new StoredEvent(position, stored));
      positionsById.put(event.id(), position);
      byType.computeIfAbsent(event.type(), type -> new Positions()).add(position);
      for (String tag : event.tags()) {
        byTag.computeIfAbsent(tag, t -> new Positions()).add(position);
      }
    }
    return new AppendOutcome.Stored(head);
  }

  /** Judges an append with a stored id as a possible retry of the append that stored it. */
  private AppendOutcome replay(List<EncodedEvent> events) {
    var copies = new ArrayList<Replays.StoredCopy>(events.size());
    for (EncodedEvent event : events) {
      Integer position = positionsById.get(event.id());
      if (position == null) {
        copies.add(new Replays.StoredCopy(null, false, false, false, false));
        continue;
      }
      EncodedEvent stored = log.get(position - 1).event();
      copies.add(
          new Replays.StoredCopy(
              (long) position,
              stored.type().equals(event.type()),
              stored.tags().equals(event.tags()),
              sameJson(stored.data(), event.data()),
              sameJson(stored.meta(), event.meta())));
    }
    return Replays.judge(events, copies).outcome();
  }

  /** Whether two JSON documents (or two nulls) are equal as values, as jsonb compares them. */
  private static boolean sameJson(String stored, String appended) {
    if (stored == null || appended == null) {
      return stored == appended;
    }
    try {
      return JSON.readTree(stored).equals(BY_VALUE, JSON.readTree(appended));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("the codec wrote JSON it cannot read", e);
    }
  }

  /** A read in memory is over before anyone could cancel it: {@code cancellation} is not needed. */
  @Override
  public synchronized List<StoredEvent> read(
      Query query, long cursor, boolean backwards, int limit, Cancellation cancellation) {
    requireOpen();
    // Each criterion yields its first matches beyond the cursor; the page is the first of their
    // union, as the database merges the scans of its indexes.
    var matches = new ArrayList<Integer>();
    for (Criterion criterion : new LinkedHashSet<>(query.criteria())) {
      matches.addAll(matchesOf(criterion, cursor, backwards, limit));
    }
    int[] positions = matches.stream().mapToInt(Integer::intValue).sorted().distinct().toArray();
    var page = new ArrayList<StoredEvent>(Math.min(limit, positions.length));
    for (int i = 0; i < positions.length && page.size() < limit; i++) {
      page.add(log.get(positions[backwards ? positions.length - 1 - i : i] - 1));
    }
    return page;
  }

  /**
   * Positions matching {@code criterion} beyond the cursor: the first {@code limit} of each list of
   * candidates, which hold the first {@code limit} of all.
   */
  private List<Integer> matchesOf(Criterion criterion, long cursor, boolean backwards, int limit) {
    long lower = backwards ? criterion.after() : Math.max(criterion.after(), cursor);
    long upper = backwards ? cursor : Long.MAX_VALUE;
    var found = new ArrayList<Integer>();
    for (Positions candidates : candidatesOf(criterion)) {
      int from = candidates.indexAfter(lower);
      int to = candidates.indexBefore(upper);
      int quota = limit;
      for (int i = backwards ? to : from;
          i >= from && i <= to && quota > 0;
          i += backwards ? -1 : 1) {
        int position = candidates.get(i);
        EncodedEvent event = log.get(position - 1).event();
        if (criterion.matches(event.type(), event.tags(), position)) {
          found.add(position);
          quota--;
        }
      }
    }
    return found;
  }

  /**
   * Position lists that hold every event matching {@code criterion}: those of its rarest tag, or of
   * each of its types, or the whole log.
   */
  private List<Positions> candidatesOf(Criterion criterion) {
    if (!criterion.tags().isEmpty()) {
      Positions rarest = null;
      for (String tag : criterion.tags()) {
        Positions tagged = byTag.getOrDefault(tag, Positions.NONE);
        if (rarest == null || tagged.size() < rarest.size()) {
          rarest = tagged;
        }
      }
      return List.of(rarest);
    }
    if (!criterion.types().isEmpty()) {
      var lists = new ArrayList<Positions>();
      for (String type : criterion.types()) {
        lists.add(byType.getOrDefault(type, Positions.NONE));
      }
      return lists;
    }
    return List.of(Positions.all(log.size()));
  }

  @Override
  public synchronized long head() {
    requireOpen();
    return log.size();
  }

  /** Like a PostgreSQL store, whose pool is gone once it is closed, a closed one refuses work. */
  private void requireOpen() {
    if (closed) {
      throw new IllegalStateException("the store is closed");
    }
  }

  @Override
  public Engine onConnection(Connection connection) {
    throw new UnsupportedOperationException(
        "the in-memory store has no database connection; use a PostgreSQL store for onConnection");
  }

  @Override
  public synchronized void close() {
    closed = true;
  }

  private static List<StoredEvent> reversed(List<StoredEvent> events) {
    var ascending = new ArrayList<>(events);
    Collections.reverse(ascending);
    return ascending;
  }

  /** Ascending positions, growing at the end. */
  private static final class Positions {

    static final Positions NONE = new Positions();

    private int[] positions;
    private int size;

    private Positions() {
      this(new int[4], 0);
    }

    private Positions(int[] positions, int size) {
      this.positions = positions;
      this.size = size;
    }

    /** Positions 1 to {@code head}, without storing them. */
    static Positions all(int head) {
      return new Positions(null, head);
    }

    void add(int position) {
      if (size == positions.length) {
        positions = Arrays.copyOf(positions, size * 2);
      }
      positions[size++] = position;
    }

    int size() {
      return size;
    }

    int get(int index) {
      return positions == null ? index + 1 : positions[index];
    }

    /** The index of the first position greater than {@code position}. */
    int indexAfter(long position) {
      int low = 0;
      int high = size;
      while (low < high) {
        int middle = (low + high) >>> 1;
        if (get(middle) <= position) {
          low = middle + 1;
        } else {
          high = middle;
        }
      }
      return low;
    }

    /** The index of the last position less than {@code position}, -1 if there is none. */
    int indexBefore(long position) {
      int low = 0;
      int high = size;
      while (low < high) {
        int middle = (low + high) >>> 1;
        if (get(middle) < position) {
          low = middle + 1;
        } else {
          high = middle;
        }
      }
      return low - 1;
    }
  }
}
