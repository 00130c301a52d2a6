package io.en57.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
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
 * Writes a group of appends with {@code en57.append}: one round trip, one lock, one commit for all.
 * Each request is decided on its own, in order, seeing the stored log and the requests stored
 * before it in the group. On a pool, a group that finds the append lock busy is queued in the
 * database and written by the session holding the lock, together with the groups of other
 * application nodes (see migration 0004); a second call collects its outcome.
 */
final class AppendSql {

  private static final String APPEND_COLUMNS = "SELECT base, statuses, conflict_positions, ticket";
  private static final String APPEND_CALL =
      " FROM en57.append(?, ?, ?, ?::jsonb, ?::jsonb, ?, ?, ?::jsonb, ?, ?, ?, ?)";
  private static final String APPEND = APPEND_COLUMNS + APPEND_CALL;

  /** In the caller's transaction, which holds the append lock until it ends. */
  private static final String APPEND_HOLDING_THE_LOCK =
      APPEND_COLUMNS + ConnectionSource.PROBE_SILENT_CLIENT + APPEND_CALL;

  private static final String AWAIT =
      "SELECT decided, base, statuses, conflict_positions FROM en57.await_append(?, ?)";
  // Ids are looked up one by one, each a LIMITed lateral probe, which only the unique index can
  // answer: "id = ANY (?)" or a join plans a scan of the whole log on a log never analyzed (a new
  // one, or autovacuum off), and a prepared statement keeps that plan as the log grows.
  static final String ANY_ID_STORED =
      "SELECT 1 FROM unnest(?::uuid[]) AS x(id)"
          + " CROSS JOIN LATERAL (SELECT 1 FROM en57.events e WHERE e.id = x.id LIMIT 1) stored"
          + " LIMIT 1";
  private static final String RELEASE_TICKET = "SELECT en57.release_ticket(?)";
  static final String STORED_COPIES =
      "SELECT e.position, e.type = x.type,"
          + " e.tags @> t.tags AND e.tags <@ t.tags,"
          + " e.data = (?::jsonb -> (x.i::int - 1)),"
          + " e.meta IS NOT DISTINCT FROM nullif(?::jsonb -> (x.i::int - 1), 'null'::jsonb)"
          + " FROM unnest(?::uuid[], ?::text[]) WITH ORDINALITY AS x(id, type, i)"
          + " CROSS JOIN LATERAL (SELECT ARRAY(SELECT jsonb_array_elements_text("
          + "?::jsonb -> (x.i::int - 1))) AS tags) t"
          + " LEFT JOIN LATERAL (SELECT s.position, s.type, s.tags, s.data, s.meta"
          + " FROM en57.events s WHERE s.id = x.id LIMIT 1) e ON true"
          + " ORDER BY x.i";
  private static final ObjectMapper JSON = new ObjectMapper();

  private static final int STORED = 0;
  private static final int CONFLICTED = 1;
  private static final int DUPLICATE_ID = 2;
  private static final int AFTER_BEYOND_HEAD = 3;

  private static final String UNIQUE_VIOLATION = "23505";

  private AppendSql() {}

  /**
   * Writes a group and returns each append's completion, in order. Never throws for a database
   * failure: when the group's statement fails, every append gets the failure, except that a failure
   * which certainly rolled the group back and may be one append's fault (its data, an id already
   * stored) is answered by writing each append alone, so that only that one fails, and an append
   * alone refused for a stored id is judged as a possible retry.
   */
  static List<Completion> write(
      ConnectionSource connections,
      LogSchema schema,
      List<AppendRequest> group,
      Timeouts timeouts) {
    GroupDecision decision;
    try {
      boolean mayQueue = !connections.isCallersTransaction();
      decision =
          connections.runRaw(connection -> decide(connection, schema, group, timeouts, mayQueue));
    } catch (SQLException e) {
      if (group.size() > 1 && rolledBackByData(e)) {
        var completions = new ArrayList<Completion>(group.size());
        for (AppendRequest request : group) {
          completions.addAll(write(connections, schema, List.of(request), timeouts));
        }
        return completions;
      }
      if (rolledBackByData(e) && UNIQUE_VIOLATION.equals(e.getSQLState())) {
        return List.of(replay(connections, schema, group.get(0), timeouts));
      }
      return Collections.nCopies(
          group.size(), new Completion.Failed(ConnectionSource.translateAppend(e)));
    }
    // The group is committed (or, on the caller's connection, part of the caller's transaction):
    // whatever happens from here, the stored appends are stored and are told so.
    return complete(connections, schema, group, decision, timeouts);
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

  /**
   * Calls {@code en57.append} for the group and, if it was queued behind another session's lock,
   * {@code en57.await_append} for its outcome. Only a session committing each call may queue: in
   * the caller's transaction the group waits for the lock itself.
   */
  private static GroupDecision decide(
      Connection connection,
      LogSchema schema,
      List<AppendRequest> requests,
      Timeouts timeouts,
      boolean mayQueue)
      throws SQLException {
    Arguments arguments = Arguments.of(requests);
    long ticket;
    try (PreparedStatement call =
        connection.prepareStatement(schema.sql(mayQueue ? APPEND : APPEND_HOLDING_THE_LOCK))) {
      call.setQueryTimeout(timeouts.appendSeconds());
      arguments.bind(connection, call);
      call.setString(11, Long.toString(timeouts.lock().toMillis()));
      call.setBoolean(12, mayQueue);
      try (ResultSet row = call.executeQuery()) {
        row.next();
        ticket = row.getLong(4);
        if (row.wasNull()) {
          return decision(row);
        }
      }
    }
    // Queued: the queue entry must be committed for the lock holder to see it.
    if (!connection.getAutoCommit()) {
      connection.commit();
    }
    try (PreparedStatement await = connection.prepareStatement(schema.sql(AWAIT))) {
      await.setQueryTimeout(timeouts.appendSeconds());
      await.setLong(1, ticket);
      await.setLong(2, timeouts.lock().toMillis());
      try (ResultSet row = await.executeQuery()) {
        row.next();
        if (!row.getBoolean(1)) {
          // Withdrawn from the queue before anyone took it: certainly nothing written.
          throw new SQLException(
              "timed out waiting for the append lock in the append queue", "55P03");
        }
        return new GroupDecision(
            row.getLong(2), toInts(row.getArray(3)), (Long[]) row.getArray(4).getArray());
      }
    } catch (SQLException | RuntimeException e) {
      releaseTicket(connection, schema, ticket, e);
      throw e;
    }
  }

  /**
   * After a failed wait, lets go of the queued group, so that a lock holder drops it rather than
   * writing it for nobody; the connection may live on in a pool. Best effort: a broken connection
   * has let go already.
   */
  private static void releaseTicket(
      Connection connection, LogSchema schema, long ticket, Exception failure) {
    try {
      if (connection.isClosed()) {
        return;
      }
      if (!connection.getAutoCommit()) {
        connection.rollback();
      }
      try (PreparedStatement release = connection.prepareStatement(schema.sql(RELEASE_TICKET))) {
        release.setLong(1, ticket);
        release.execute();
      }
      if (!connection.getAutoCommit()) {
        connection.commit();
      }
    } catch (SQLException releaseFailure) {
      failure.addSuppressed(releaseFailure);
    }
  }

  private static GroupDecision decision(ResultSet row) throws SQLException {
    return new GroupDecision(
        row.getLong(1), toInts(row.getArray(2)), (Long[]) row.getArray(3).getArray());
  }

  /**
   * The group as the arguments of {@code en57.append}: events as parallel arrays, data and metadata
   * as one JSON array each (parsed once by the server), every event's tags one after the other with
   * each event's bounds, the conditions as JSON.
   */
  private record Arguments(
      Integer[] eventRequest,
      UUID[] ids,
      String[] types,
      String data,
      String meta,
      Integer[] tagBounds,
      String[] tags,
      String criteria,
      Integer[] dependencies,
      int requestCount) {

    static Arguments of(List<AppendRequest> requests) {
      int eventCount = 0;
      int tagCount = 0;
      int jsonLength = 2;
      for (AppendRequest request : requests) {
        for (EncodedEvent e : request.events()) {
          eventCount++;
          tagCount += e.tags().size();
          jsonLength += e.data().length() + 1;
        }
      }
      var eventRequest = new Integer[eventCount];
      var ids = new UUID[eventCount];
      var types = new String[eventCount];
      var data = new StringBuilder(jsonLength).append('[');
      var meta = new StringBuilder().append('[');
      var tagBounds = new Integer[eventCount + 1];
      var tags = new String[tagCount];
      var criteria = new ArrayList<Map<String, Object>>();
      var dependencies = new ArrayList<Integer>();
      int event = 0;
      int tag = 0;
      tagBounds[0] = 0;
      for (int k = 0; k < requests.size(); k++) {
        AppendRequest request = requests.get(k);
        for (EncodedEvent e : request.events()) {
          eventRequest[event] = k + 1;
          ids[event] = e.id();
          types[event] = e.type();
          String separator = event == 0 ? "" : ",";
          data.append(separator).append(e.data());
          meta.append(separator).append(e.meta() == null ? "null" : e.meta());
          for (String t : e.tags()) {
            tags[tag++] = t;
          }
          tagBounds[++event] = tag;
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
      return new Arguments(
          eventRequest,
          ids,
          types,
          data.append(']').toString(),
          meta.append(']').toString(),
          tagBounds,
          tags,
          toJson(criteria),
          dependencies.toArray(Integer[]::new),
          requests.size());
    }

    /** Binds parameters 1 to 10 of {@link #APPEND}. */
    void bind(Connection connection, PreparedStatement call) throws SQLException {
      call.setArray(1, connection.createArrayOf("int4", eventRequest));
      call.setArray(2, connection.createArrayOf("uuid", ids));
      call.setArray(3, connection.createArrayOf("text", types));
      call.setString(4, data);
      call.setString(5, meta);
      call.setArray(6, connection.createArrayOf("int4", tagBounds));
      call.setArray(7, connection.createArrayOf("text", tags));
      call.setString(8, criteria);
      call.setArray(9, connection.createArrayOf("int4", dependencies));
      call.setInt(10, requestCount);
    }
  }

  /**
   * Each append's completion. Conflicts and duplicate ids need a look at the stored log to name the
   * events involved; if that look fails, only those appends fail, and they were not written.
   */
  private static List<Completion> complete(
      ConnectionSource connections,
      LogSchema schema,
      List<AppendRequest> requests,
      GroupDecision decision,
      Timeouts timeouts) {
    try {
      return decision.needsDetails()
          ? connections.runRaw(
              connection -> completeWith(connection, schema, requests, decision, timeouts))
          : completeWith(null, schema, requests, decision, timeouts);
    } catch (SQLException | RuntimeException e) {
      RuntimeException cause =
          e instanceof SQLException sql ? ConnectionSource.translate(sql) : (RuntimeException) e;
      return completeWithoutDetails(requests, decision, cause);
    }
  }

  /** The completions, reading the details of conflicts and duplicates on {@code connection}. */
  private static List<Completion> completeWith(
      Connection connection,
      LogSchema schema,
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
            // A retry of a stored conditional append matches its own condition: stored ids come
            // first, as they do where the database looks for them before the condition.
            case CONFLICTED ->
                anyIdStored(connection, schema, request, timeouts)
                    ? replay(connection, schema, request, timeouts)
                    : new Completion.Decided(
                        conflict(connection, schema, requests, decision, k, timeouts));
            case DUPLICATE_ID -> replay(connection, schema, request, timeouts);
            case AFTER_BEYOND_HEAD ->
                new Completion.Failed(
                    Conditions.afterBeyondHead(request.condition(), decision.base()));
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
                Conditions.afterBeyondHead(requests.get(k).condition(), decision.base())));
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
   * and events of requests stored before k in this group (by the database: a retry replayed there
   * wrote nothing and took no position).
   */
  private static AppendOutcome conflict(
      Connection connection,
      LogSchema schema,
      List<AppendRequest> requests,
      GroupDecision decision,
      int k,
      Timeouts timeouts)
      throws SQLException {
    Query condition = requests.get(k).condition();
    Long storedConflict = decision.conflictPositions()[k];
    var conflicts = new ArrayList<StoredEvent>();
    if (storedConflict != null) {
      List<StoredEvent> stored =
          ReadSql.read(
              connection,
              schema,
              condition,
              storedConflict + 1,
              true,
              Engine.MAX_CONFLICTING_EVENTS,
              timeouts.querySeconds());
      for (int i = stored.size() - 1; i >= 0; i--) {
        conflicts.add(stored.get(i));
      }
    }
    long position = decision.base();
    for (int j = 0; j < k; j++) {
      if (decision.statuses()[j] != STORED) {
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

  private static boolean anyIdStored(
      Connection connection, LogSchema schema, AppendRequest request, Timeouts timeouts)
      throws SQLException {
    try (PreparedStatement query = connection.prepareStatement(schema.sql(ANY_ID_STORED))) {
      query.setQueryTimeout(timeouts.querySeconds());
      query.setArray(
          1,
          connection.createArrayOf(
              "uuid", request.events().stream().map(EncodedEvent::id).toArray()));
      try (ResultSet row = query.executeQuery()) {
        return row.next();
      }
    }
  }

  /** Judges an append refused for a stored id, on a connection of its own. */
  private static Completion replay(
      ConnectionSource connections, LogSchema schema, AppendRequest request, Timeouts timeouts) {
    try {
      return connections.runRaw(connection -> replay(connection, schema, request, timeouts));
    } catch (SQLException e) {
      return new Completion.Failed(
          new En57StorageException(
              "an event id of the append is already stored, so nothing was written; reading the"
                  + " stored events to tell whether the append repeats them then failed: "
                  + e.getMessage(),
              e));
    }
  }

  /**
   * Judges an append refused for a stored id (see {@link Replays}), comparing its events with the
   * stored ones in the database, where JSON documents compare by value.
   */
  private static Completion replay(
      Connection connection, LogSchema schema, AppendRequest request, Timeouts timeouts)
      throws SQLException {
    List<EncodedEvent> events = request.events();
    var data = new ArrayList<String>();
    var meta = new ArrayList<String>();
    var tags = new ArrayList<String>();
    for (EncodedEvent event : events) {
      data.add(event.data());
      meta.add(event.meta() == null ? "null" : event.meta());
      tags.add(toJson(event.tags()));
    }
    try (PreparedStatement query = connection.prepareStatement(schema.sql(STORED_COPIES))) {
      query.setQueryTimeout(timeouts.querySeconds());
      query.setString(1, "[" + String.join(",", data) + "]");
      query.setString(2, "[" + String.join(",", meta) + "]");
      query.setArray(
          3, connection.createArrayOf("uuid", events.stream().map(EncodedEvent::id).toArray()));
      query.setArray(
          4, connection.createArrayOf("text", events.stream().map(EncodedEvent::type).toArray()));
      query.setString(5, "[" + String.join(",", tags) + "]");
      var copies = new ArrayList<Replays.StoredCopy>(events.size());
      try (ResultSet rows = query.executeQuery()) {
        while (rows.next()) {
          long position = rows.getLong(1);
          copies.add(
              rows.wasNull()
                  ? new Replays.StoredCopy(null, false, false, false, false)
                  : new Replays.StoredCopy(
                      position,
                      rows.getBoolean(2),
                      rows.getBoolean(3),
                      rows.getBoolean(4),
                      rows.getBoolean(5)));
        }
      }
      return Replays.judge(events, copies);
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
