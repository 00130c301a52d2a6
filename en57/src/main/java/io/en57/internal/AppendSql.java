package io.en57.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.en57.DuplicateEventIdException;
import io.en57.En57StorageException;
import io.en57.Query;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.postgresql.util.PSQLException;

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
   * Writes a group and returns each append's completion, in order. Never throws for a database
   * failure: when the group's statement fails, every append gets the failure, except that a failure
   * which certainly rolled the group back and may be one append's fault (its data) is answered by
   * writing each append alone, so that only that one fails.
   */
  static List<Completion> write(
      ConnectionSource connections, List<AppendRequest> group, Timeouts timeouts) {
    GroupDecision decision;
    try {
      decision = connections.runRaw(connection -> decide(connection, group, timeouts));
    } catch (SQLException e) {
      if (group.size() > 1 && rolledBackByData(e)) {
        var completions = new ArrayList<Completion>(group.size());
        for (AppendRequest request : group) {
          completions.addAll(write(connections, List.of(request), timeouts));
        }
        return completions;
      }
      return Collections.nCopies(
          group.size(), new Completion.Failed(ConnectionSource.translate(e)));
    }
    // The group is committed (or, on the caller's connection, part of the caller's transaction):
    // whatever happens from here, the stored appends are stored and are told so.
    return complete(connections, group, decision, timeouts);
  }

  /**
   * What the database decided for a group: stored appends take consecutive positions from {@code
   * base + 1} in request order; {@code statuses} and {@code conflictPositions} are per request.
   */
  private record GroupDecision(long base, int[] statuses, Long[] conflictPositions) {

    boolean needsDetails() {
      for (int status : statuses) {
        if (status == CONFLICTED || status == DUPLICATE_ID) {
          return true;
        }
      }
      return false;
    }
  }

  /** Calls {@code en57.append} for the group: one round trip, one lock, one commit. */
  private static GroupDecision decide(
      Connection connection, List<AppendRequest> requests, Timeouts timeouts) throws SQLException {
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

    try (PreparedStatement call = connection.prepareStatement(CALL)) {
      call.setQueryTimeout(timeouts.appendSeconds());
      call.setArray(1, connection.createArrayOf("int4", eventRequest));
      call.setArray(2, connection.createArrayOf("uuid", ids));
      call.setArray(3, connection.createArrayOf("text", types));
      call.setArray(4, connection.createArrayOf("text", data));
      call.setArray(5, connection.createArrayOf("text", meta));
      call.setArray(6, connection.createArrayOf("text", tags));
      call.setString(7, toJson(criteria));
      call.setArray(8, connection.createArrayOf("int4", dependencies.toArray(Integer[]::new)));
      call.setInt(9, requests.size());
      call.setString(10, Long.toString(timeouts.lock().toMillis()));
      try (ResultSet row = call.executeQuery()) {
        row.next();
        return new GroupDecision(
            row.getLong(1), toInts(row.getArray(2)), (Long[]) row.getArray(3).getArray());
      }
    }
  }

  /**
   * Each append's completion. Conflicts and duplicate ids need a look at the stored log to name the
   * events involved; if that look fails, only those appends fail, and they were not written.
   */
  private static List<Completion> complete(
      ConnectionSource connections,
      List<AppendRequest> requests,
      GroupDecision decision,
      Timeouts timeouts) {
    try {
      return decision.needsDetails()
          ? connections.runRaw(connection -> completeWith(connection, requests, decision, timeouts))
          : completeWith(null, requests, decision, timeouts);
    } catch (SQLException | RuntimeException e) {
      RuntimeException cause =
          e instanceof SQLException sql ? ConnectionSource.translate(sql) : (RuntimeException) e;
      return completeWithoutDetails(requests, decision, cause);
    }
  }

  /** The completions, reading the details of conflicts and duplicates on {@code connection}. */
  private static List<Completion> completeWith(
      Connection connection,
      List<AppendRequest> requests,
      GroupDecision decision,
      Timeouts timeouts)
      throws SQLException {
    var completions = new ArrayList<Completion>(requests.size());
    long position = decision.base();
    for (int k = 0; k < requests.size(); k++) {
      AppendRequest request = requests.get(k);
      Completion completion =
          switch (decision.statuses()[k]) {
            case STORED -> {
              position += request.events().size();
              yield new Completion.Decided(new AppendOutcome.Stored(position));
            }
            case CONFLICTED ->
                new Completion.Decided(
                    conflict(
                        connection,
                        requests,
                        completions,
                        k,
                        decision.base(),
                        decision.conflictPositions()[k],
                        timeouts));
            case DUPLICATE_ID ->
                new Completion.Failed(
                    new DuplicateEventIdException(storedId(connection, request, timeouts)));
            case AFTER_BEYOND_HEAD ->
                new Completion.Failed(
                    Conditions.afterBeyondHead(maxAfter(request.condition()), decision.base()));
            default ->
                throw new IllegalStateException("unknown append status " + decision.statuses()[k]);
          };
      completions.add(completion);
    }
    return completions;
  }

  /** The completions when the details of conflicts and duplicates could not be read. */
  private static List<Completion> completeWithoutDetails(
      List<AppendRequest> requests, GroupDecision decision, RuntimeException cause) {
    var completions = new ArrayList<Completion>(requests.size());
    long position = decision.base();
    for (int k = 0; k < requests.size(); k++) {
      int status = decision.statuses()[k];
      if (status == STORED) {
        position += requests.get(k).events().size();
        completions.add(new Completion.Decided(new AppendOutcome.Stored(position)));
      } else if (status == AFTER_BEYOND_HEAD) {
        completions.add(
            new Completion.Failed(
                Conditions.afterBeyondHead(
                    maxAfter(requests.get(k).condition()), decision.base())));
      } else {
        completions.add(
            new Completion.Failed(
                new En57StorageException(
                    (status == CONFLICTED
                            ? "the append's condition matched stored events"
                            : "an event id of the append is already stored")
                        + ", so nothing was written; reading the events involved then failed: "
                        + cause.getMessage(),
                    cause)));
      }
    }
    return completions;
  }

  /**
   * The newest events that made request k fail: stored ones up to the latest the database found,
   * and events of requests stored before k in this group.
   */
  private static AppendOutcome conflict(
      Connection connection,
      List<AppendRequest> requests,
      List<Completion> earlier,
      int k,
      long base,
      Long storedConflict,
      Timeouts timeouts)
      throws SQLException {
    Query condition = requests.get(k).condition();
    var conflicts = new ArrayList<StoredEvent>();
    if (storedConflict != null) {
      List<StoredEvent> stored =
          ReadSql.read(
              connection,
              condition,
              storedConflict + 1,
              true,
              Engine.MAX_CONFLICTING_EVENTS,
              timeouts.querySeconds());
      for (int i = stored.size() - 1; i >= 0; i--) {
        conflicts.add(stored.get(i));
      }
    }
    long position = base;
    for (int j = 0; j < k; j++) {
      if (!(earlier.get(j) instanceof Completion.Decided decided
          && decided.outcome() instanceof AppendOutcome.Stored)) {
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

  private static UUID storedId(Connection connection, AppendRequest request, Timeouts timeouts)
      throws SQLException {
    try (PreparedStatement query =
        connection.prepareStatement("SELECT id FROM en57.events WHERE id = ANY (?) LIMIT 1")) {
      query.setQueryTimeout(timeouts.querySeconds());
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

  /**
   * Whether the group's statement certainly failed without committing, for a reason that may be one
   * append's data: the server itself reported the error (so the statement, and with it the
   * transaction, was aborted), and it is a data exception (22), an integrity violation (23) or a
   * program limit such as an index row too large (54). A broken connection is never certain: the
   * commit may have happened.
   */
  private static boolean rolledBackByData(SQLException e) {
    if (!(e instanceof PSQLException server) || server.getServerErrorMessage() == null) {
      return false;
    }
    String state = String.valueOf(e.getSQLState());
    return state.startsWith("22") || state.startsWith("23") || state.startsWith("54");
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
