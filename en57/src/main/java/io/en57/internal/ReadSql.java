package io.en57.internal;

import io.en57.Query;
import io.en57.Query.Criterion;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;

/**
 * Builds and runs one page of a read as keyset-paginated SQL that every index serves in position
 * order: a tag criterion is a range scan of {@code event_tags (tag, position)}, a type criterion
 * one of {@code events (type, position)} per type, and a criterion with neither a range scan of the
 * primary key. A union of criteria merges their position lists, then fetches the rows.
 */
final class ReadSql {

  private static final String COLUMNS = "e.position, e.id, e.type, e.data, e.meta, e.tags";

  private final StringBuilder sql = new StringBuilder();
  private final List<Object> parameters = new ArrayList<>();
  private final boolean backwards;
  private final long cursor;
  private final int limit;

  private ReadSql(boolean backwards, long cursor, int limit) {
    this.backwards = backwards;
    this.cursor = cursor;
    this.limit = limit;
  }

  /** One page of a read; the server cancels it after {@code timeoutSeconds}. */
  static List<StoredEvent> read(
      Connection connection,
      Query query,
      long cursor,
      boolean backwards,
      int limit,
      int timeoutSeconds)
      throws SQLException {
    return of(query, cursor, backwards, limit).run(connection, timeoutSeconds);
  }

  /** The statement for one page of a read. */
  static ReadSql of(Query query, long cursor, boolean backwards, int limit) {
    var statement = new ReadSql(backwards, cursor, limit);
    statement.build(query);
    return statement;
  }

  String sql() {
    return sql.toString();
  }

  /** Binds the parameters to a statement prepared from {@link #sql()}, possibly prefixed. */
  void bind(Connection connection, PreparedStatement statement) throws SQLException {
    for (int i = 0; i < parameters.size(); i++) {
      Object parameter = parameters.get(i);
      if (parameter instanceof String[] array) {
        statement.setArray(i + 1, connection.createArrayOf("text", array));
      } else {
        statement.setObject(i + 1, parameter);
      }
    }
  }

  private void build(Query query) {
    List<Criterion> criteria = query.criteria();
    if (criteria.size() == 1 && singleScan(criteria.get(0))) {
      scan(criteria.get(0), COLUMNS);
      return;
    }
    sql.append("SELECT ").append(COLUMNS).append(" FROM en57.events e WHERE e.position IN (");
    sql.append("SELECT u.position FROM (");
    boolean first = true;
    for (Criterion criterion : criteria) {
      for (Criterion scan : scans(criterion)) {
        sql.append(first ? "(" : " UNION (");
        scan(scan, "e.position");
        sql.append(')');
        first = false;
      }
    }
    sql.append(") u ORDER BY u.position").append(order()).append(" LIMIT ?)");
    parameters.add(limit);
    sql.append(" ORDER BY e.position").append(order());
  }

  /** A criterion that one index scan answers: it has tags, or at most one type. */
  private static boolean singleScan(Criterion criterion) {
    return !criterion.tags().isEmpty() || criterion.types().size() <= 1;
  }

  /** A criterion split into criteria that each one index scan answers. */
  private static List<Criterion> scans(Criterion criterion) {
    if (singleScan(criterion)) {
      return List.of(criterion);
    }
    return criterion.types().stream()
        .map(type -> new Criterion(Set.of(type), criterion.tags(), criterion.after()))
        .toList();
  }

  private void scan(Criterion criterion, String columns) {
    long lower = backwards ? criterion.after() : Math.max(criterion.after(), cursor);
    long upper = backwards ? cursor : Long.MAX_VALUE;
    if (criterion.tags().isEmpty() && criterion.types().size() == 1) {
      // A row comparison, not "type = ?", so that only the (type, position) index can deliver
      // this order: otherwise the planner may walk the primary key and filter on type, which
      // crosses the whole log for a type that is rare or has no recent events.
      String type = criterion.types().iterator().next();
      sql.append("SELECT ")
          .append(columns)
          .append(" FROM en57.events e")
          .append(" WHERE (e.type, e.position) > (?, ?) AND (e.type, e.position) < (?, ?)")
          .append(" ORDER BY e.type")
          .append(order())
          .append(", e.position")
          .append(order())
          .append(" LIMIT ?");
      parameters.addAll(List.of(type, lower, type, upper, limit));
      return;
    }
    String position;
    if (!criterion.tags().isEmpty()) {
      position = "t.position";
      sql.append("SELECT ")
          .append(columns)
          .append(" FROM en57.event_tags t JOIN en57.events e ON e.position = t.position")
          .append(" WHERE t.tag = ?");
      var tags = new ArrayList<>(criterion.tags());
      parameters.add(tags.get(0));
      if (tags.size() > 1) {
        sql.append(" AND e.tags @> ?");
        parameters.add(tags.subList(1, tags.size()).toArray(String[]::new));
      }
      typeFilter(criterion);
    } else {
      position = "e.position";
      sql.append("SELECT ").append(columns).append(" FROM en57.events e WHERE true");
    }
    sql.append(" AND ").append(position).append(" > ?");
    parameters.add(lower);
    if (backwards) {
      sql.append(" AND ").append(position).append(" < ?");
      parameters.add(upper);
    }
    sql.append(" ORDER BY ").append(position).append(order()).append(" LIMIT ?");
    parameters.add(limit);
  }

  private void typeFilter(Criterion criterion) {
    if (criterion.types().size() == 1) {
      sql.append(" AND e.type = ?");
      parameters.add(criterion.types().iterator().next());
    } else if (!criterion.types().isEmpty()) {
      sql.append(" AND e.type = ANY (?)");
      parameters.add(criterion.types().toArray(String[]::new));
    }
  }

  private String order() {
    return backwards ? " DESC" : "";
  }

  private List<StoredEvent> run(Connection connection, int timeoutSeconds) throws SQLException {
    try (PreparedStatement statement = connection.prepareStatement(sql.toString())) {
      statement.setQueryTimeout(timeoutSeconds);
      bind(connection, statement);
      var events = new ArrayList<StoredEvent>(Math.min(limit, 1024));
      try (ResultSet rows = statement.executeQuery()) {
        while (rows.next()) {
          events.add(storedEvent(rows));
        }
      }
      return events;
    }
  }

  /** Reads the columns of {@link #COLUMNS}. */
  private static StoredEvent storedEvent(ResultSet rows) throws SQLException {
    String[] tags = (String[]) rows.getArray(6).getArray();
    var event =
        new EncodedEvent(
            rows.getObject(2, UUID.class),
            rows.getString(3),
            rows.getString(4),
            rows.getString(5),
            new LinkedHashSet<>(List.of(tags)));
    return new StoredEvent(rows.getLong(1), event);
  }
}
