package io.en57.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.en57.DuplicateEventIdException;
import io.en57.Query;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * Writes a group of appends with one call of {@code en57.append}: one round trip, one lock, one
 * commit for all. Each request is decided on its own, in order, seeing the stored log and the
 * requests stored before it in the group.
 */
final class AppendSql {

  private static final String CALL =
      "SELECT base, statuses, conflict_positions"
          + " FROM en57.append(?, ?, ?, ?, ?, ?, ?::jsonb, ?, ?, ?)";
  private static final ObjectMapper JSON = new ObjectMapper();

  private static final int STORED = 0;
  private static final int CONFLICTED = 1;
  private static final int DUPLICATE_ID = 2;
  private static final int AFTER_BEYOND_HEAD = 3;

  private AppendSql() {}

  /**
   * One entry of what {@link #write} returns: the outcome, or the exception it ends with thrown.
   */
  static AppendOutcome outcomeOf(Object written) {
    if (written instanceof RuntimeException e) {
      throw e;
    }
    return (AppendOutcome) written;
  }

  /**
   * Writes the group and returns, per request in order, its {@link AppendOutcome} or the exception
   * it must end with. Only a failure of the whole statement is thrown.
   */
  static List<Object> write(
      Connection connection, List<AppendRequest> requests, Duration lockTimeout)
      throws SQLException {
    int eventCount = requests.stream().mapToInt(r -> r.events().size()).sum();
    Integer[] eventRequest = new Integer[eventCount];
    UUID[] ids = new UUID[eventCount];
    String[] types = new String[eventCount];
    String[] data = new String[eventCount];
    String[] meta = new String[eventCount];
    String[] tags = new String[eventCount];
    var criteria = new ArrayList<Map<String, Object>>();
    var dependencies = new ArrayList<Integer>();
    int event = 0;
    for (int k = 0; k < requests.size(); k++) {
      AppendRequest request = requests.get(k);
      for (EncodedEvent e : request.events()) {
        eventRequest[event] = k + 1;
        ids[event] = e.id();
        types[event] = e.type();
        data[event] = e.data();
        meta[event] = e.meta();
        tags[event] = toJson(e.tags());
        event++;
      }
      if (request.condition() != null) {
        for (Query.Criterion c : request.condition().criteria()) {
          var criterion = new LinkedHashMap<String, Object>();
          criterion.put("r", k + 1);
          criterion.put("a", c.after());
          criterion.put("ty", c.types());
          criterion.put("tg", c.tags());
          criteria.add(criterion);
        }
        for (int j = 0; j < k; j++) {
          if (request.dependsOn(requests.get(j))) {
            dependencies.add(k + 1);
            dependencies.add(j + 1);
          }
        }
      }
    }

    long base;
    int[] statuses;
    Long[] conflictPositions;
    try (PreparedStatement call = connection.prepareStatement(CALL)) {
      call.setArray(1, connection.createArrayOf("int4", eventRequest));
      call.setArray(2, connection.createArrayOf("uuid", ids));
      call.setArray(3, connection.createArrayOf("text", types));
      call.setArray(4, connection.createArrayOf("text", data));
      call.setArray(5, connection.createArrayOf("text", meta));
      call.setArray(6, connection.createArrayOf("text", tags));
      call.setString(7, toJson(criteria));
      call.setArray(8, connection.createArrayOf("int4", dependencies.toArray(Integer[]::new)));
      call.setInt(9, requests.size());
      call.setString(10, Long.toString(lockTimeout.toMillis()));
      try (ResultSet row = call.executeQuery()) {
        row.next();
        base = row.getLong(1);
        statuses = toInts(row.getArray(2));
        conflictPositions = (Long[]) row.getArray(3).getArray();
      }
    }

    var outcomes = new ArrayList<Object>(requests.size());
    long position = base;
    for (int k = 0; k < requests.size(); k++) {
      AppendRequest request = requests.get(k);
      switch (statuses[k]) {
        case STORED -> {
          position += request.events().size();
          outcomes.add(new AppendOutcome.Stored(position));
        }
        case CONFLICTED ->
            outcomes.add(conflict(connection, requests, outcomes, k, base, conflictPositions[k]));
        case DUPLICATE_ID ->
            outcomes.add(new DuplicateEventIdException(storedId(connection, request)));
        case AFTER_BEYOND_HEAD ->
            outcomes.add(Conditions.afterBeyondHead(maxAfter(request.condition()), base));
        default -> throw new IllegalStateException("unknown append status " + statuses[k]);
      }
    }
    return outcomes;
  }

  /**
   * The newest events that made request k fail: stored ones up to the latest the database found,
   * and events of requests stored before k in this group.
   */
  private static AppendOutcome conflict(
      Connection connection,
      List<AppendRequest> requests,
      List<Object> outcomes,
      int k,
      long base,
      Long storedConflict)
      throws SQLException {
    Query condition = requests.get(k).condition();
    var conflicts = new ArrayList<StoredEvent>();
    if (storedConflict != null) {
      List<StoredEvent> stored =
          ReadSql.read(
              connection, condition, storedConflict + 1, true, Engine.MAX_CONFLICTING_EVENTS);
      for (int i = stored.size() - 1; i >= 0; i--) {
        conflicts.add(stored.get(i));
      }
    }
    long position = base;
    for (int j = 0; j < k; j++) {
      if (!(outcomes.get(j) instanceof AppendOutcome.Stored)) {
        continue;
      }
      for (EncodedEvent event : requests.get(j).events()) {
        position++;
        if (condition.matches(event.type(), event.tags(), position)) {
          conflicts.add(new StoredEvent(position, event));
        }
      }
    }
    List<StoredEvent> newest =
        conflicts.subList(
            Math.max(0, conflicts.size() - Engine.MAX_CONFLICTING_EVENTS), conflicts.size());
    return new AppendOutcome.Conflicted(
        newest.get(newest.size() - 1).position(), List.copyOf(newest));
  }

  private static UUID storedId(Connection connection, AppendRequest request) throws SQLException {
    try (PreparedStatement query =
        connection.prepareStatement("SELECT id FROM en57.events WHERE id = ANY (?) LIMIT 1")) {
      query.setArray(
          1,
          connection.createArrayOf(
              "uuid", request.events().stream().map(EncodedEvent::id).toArray()));
      try (ResultSet row = query.executeQuery()) {
        row.next();
        return row.getObject(1, UUID.class);
      }
    }
  }

  private static long maxAfter(Query condition) {
    return condition.criteria().stream().mapToLong(Query.Criterion::after).max().orElse(0);
  }

  private static int[] toInts(Array array) throws SQLException {
    Integer[] boxed = (Integer[]) array.getArray();
    int[] values = new int[boxed.length];
    for (int i = 0; i < boxed.length; i++) {
      values[i] = boxed[i];
    }
    return values;
  }

  private static String toJson(Object value) {
    try {
      return JSON.writeValueAsString(value);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("criteria and tags are strings and numbers", e);
    }
  }
}
