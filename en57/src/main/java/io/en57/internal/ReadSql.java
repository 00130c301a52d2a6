package io.en57.internal;

import io.en57.Query;
import io.en57.Query.Criterion;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;

/**
 * Builds and runs one page of a read as keyset-paginated SQL that every index serves in position
 * order: a tag criterion is a range scan of {@code event_tags (tag, position)}, a type criterion
 * one of {@code events (type, position)} per type, and a criterion with neither a range scan of the
 * primary key.
 *
 * <p>A single criterion that one index scan answers gets a statement of its own, and so does a
 * small union (of up to {@value #MAX_LITERAL_SCANS} index scans): their positions merged, then the
 * rows fetched. A larger union runs one statement whose text never changes, however many criteria:
 * they travel as flat arrays, each criterion is probed by a LIMITed lateral subquery (which can
 * only be an index scan, whatever the planner estimates), and the first positions of all probes
 * make the page. So it is planned quickly and binds a fixed number of parameters, where a statement
 * of its own would take seconds to plan and need more than the 65,535 parameters a statement may
 * have.
 *
 * <p>The arrays reach the probes through a subquery the planner cannot see into ({@code OFFSET 0}),
 * so it estimates ten probes of each kind whatever their number. Told the real number (or a
 * hundred, as it assumes for a jsonb argument), it would cost a large union high enough to compile
 * it with JIT, which takes from tens to hundreds of milliseconds on every page; the plan's shape is
 * fixed by the lateral probes anyway.
 */
final class ReadSql {

  /** The first byte of jsonb in binary: the version of its format. */
  private static final byte JSONB_VERSION = 1;

  private static final String COLUMNS = "e.position, e.id, e.type, e.data, e.meta, e.tags";

  /**
   * The most index scans a union may need to get a statement of its own. Measured on PostgreSQL 15
   * against the constant statement: a union of 2 to 8 criteria ran 0.4 to 0.5 ms faster per page on
   * its own statement, 16 about the same, 32 and more slower, and from there planning grows with
   * every criterion.
   */
  private static final int MAX_LITERAL_SCANS = 16;

  private static final String UNION_FORWARDS = union("");
  private static final String UNION_BACKWARDS = union(" DESC");

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
      LogSchema schema,
      Query query,
      long cursor,
      boolean backwards,
      int limit,
      int timeoutSeconds)
      throws SQLException {
    return of(query, cursor, backwards, limit).run(connection, schema, timeoutSeconds);
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
      } else if (parameter instanceof Long[] array) {
        statement.setArray(i + 1, connection.createArrayOf("int8", array));
      } else if (parameter instanceof Integer[] array) {
        statement.setArray(i + 1, connection.createArrayOf("int4", array));
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
    var scans = new ArrayList<Criterion>();
    // A criterion repeated in a union adds nothing but work.
    for (Criterion criterion : new LinkedHashSet<>(criteria)) {
      scans.addAll(scans(criterion));
      if (scans.size() > MAX_LITERAL_SCANS) {
        sql.append(backwards ? UNION_BACKWARDS : UNION_FORWARDS);
        bindUnion(criteria);
        return;
      }
    }
    sql.append("SELECT ").append(COLUMNS).append(" FROM en57.events e WHERE e.position IN (");
    sql.append("SELECT u.position FROM (");
    for (int i = 0; i < scans.size(); i++) {
      sql.append(i == 0 ? "(" : " UNION (");
      scan(scans.get(i), "e.position");
      sql.append(')');
    }
    sql.append(") u ORDER BY u.position").append(order()).append(" LIMIT ?)");
    parameters.add(limit);
    sql.append(" ORDER BY e.position").append(order());
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

  /**
   * The union statement: probes of criteria with tags, of single types, and of the whole log, each
   * LIMITed to the page size, merged; then the page's rows fetched one by one.
   */
  private static String union(String order) {
    return "SELECT "
        + COLUMNS
        + " FROM (SELECT DISTINCT hit.position FROM ("
        // Criteria with tags: the range of their first tag in event_tags, the rest of the criterion
        // checked on the row. Their tags and types are slices of two flat arrays.
        + "(SELECT tagged.position FROM (SELECT ?::int8[] AS lo, ?::int8[] AS hi, ?::text[] AS tag,"
        + " ?::int4[] AS tags_from, ?::int4[] AS tags_to, ?::int4[] AS types_from,"
        + " ?::int4[] AS types_to, ?::text[] AS tags, ?::text[] AS types OFFSET 0) a"
        + " CROSS JOIN LATERAL unnest(a.lo, a.hi, a.tag, a.tags_from, a.tags_to, a.types_from,"
        + " a.types_to) AS c(lo, hi, tag, tags_from, tags_to, types_from, types_to)"
        + " CROSS JOIN LATERAL (SELECT t.position FROM en57.event_tags t"
        + " WHERE t.tag = c.tag AND t.position > c.lo AND t.position < c.hi"
        // A criterion of one tag is answered by event_tags alone; others look at the event.
        + " AND (c.tags_from = c.tags_to AND c.types_from > c.types_to"
        + " OR EXISTS (SELECT 1 FROM en57.events e WHERE e.position = t.position"
        + " AND e.tags @> a.tags[c.tags_from:c.tags_to]"
        + " AND (c.types_from > c.types_to OR e.type = ANY (a.types[c.types_from:c.types_to]))))"
        + " ORDER BY t.position"
        + order
        + " LIMIT ?) tagged)"
        // One type each: a range of (type, position); a row comparison, so that only that index can
        // deliver the order (see scan()).
        + " UNION ALL (SELECT typed.position FROM (SELECT ?::int8[] AS lo, ?::int8[] AS hi,"
        + " ?::text[] AS type OFFSET 0) a CROSS JOIN LATERAL unnest(a.lo, a.hi, a.type)"
        + " AS c(lo, hi, type) CROSS JOIN LATERAL (SELECT e.position FROM en57.events e"
        + " WHERE (e.type, e.position) > (c.type, c.lo) AND (e.type, e.position) < (c.type, c.hi)"
        + " ORDER BY e.type"
        + order
        + ", e.position"
        + order
        + " LIMIT ?) typed)"
        // Criteria with neither, which match a range of the log: the widest of them.
        + " UNION ALL (SELECT e.position FROM en57.events e WHERE e.position > ?"
        + " AND e.position < ? ORDER BY e.position"
        + order
        + " LIMIT ?)"
        + ") hit ORDER BY hit.position"
        + order
        + " LIMIT ?) page"
        // A LIMITed lateral fetch is an index probe per position, never a join the planner could
        // turn into a scan of the log.
        + " CROSS JOIN LATERAL (SELECT * FROM en57.events e WHERE e.position = page.position"
        + " LIMIT 1) e ORDER BY e.position"
        + order;
  }

  /** A range of one type to probe: positions greater than {@code lower}. */
  private record TypeProbe(long lower, String type) {}

  /** Binds the criteria of a union, each with the position range this page reads of it. */
  private void bindUnion(List<Criterion> criteria) {
    var tagged = new ArrayList<Criterion>();
    var typed = new LinkedHashSet<TypeProbe>();
    long widest = Long.MAX_VALUE;
    for (Criterion criterion : new LinkedHashSet<>(criteria)) {
      if (!criterion.tags().isEmpty()) {
        tagged.add(criterion);
      } else if (!criterion.types().isEmpty()) {
        for (String type : criterion.types()) {
          typed.add(new TypeProbe(lower(criterion), type));
        }
      } else {
        widest = Math.min(widest, lower(criterion));
      }
    }
    int count = tagged.size();
    var lo = new Long[count];
    var hi = new Long[count];
    var firstTag = new String[count];
    var tagsFrom = new Integer[count];
    var tagsTo = new Integer[count];
    var typesFrom = new Integer[count];
    var typesTo = new Integer[count];
    var tags = new ArrayList<String>();
    var types = new ArrayList<String>();
    for (int i = 0; i < count; i++) {
      Criterion criterion = tagged.get(i);
      lo[i] = lower(criterion);
      hi[i] = upper();
      firstTag[i] = criterion.tags().iterator().next();
      // Array slices are 1-based and inclusive; an empty one ends before it starts.
      tagsFrom[i] = tags.size() + 1;
      tags.addAll(criterion.tags());
      tagsTo[i] = tags.size();
      typesFrom[i] = types.size() + 1;
      types.addAll(criterion.types());
      typesTo[i] = types.size();
    }
    parameters.addAll(List.of(lo, hi, firstTag, tagsFrom, tagsTo, typesFrom, typesTo));
    parameters.add(tags.toArray(String[]::new));
    parameters.add(types.toArray(String[]::new));
    parameters.add(limit);

    parameters.add(typed.stream().map(TypeProbe::lower).toArray(Long[]::new));
    parameters.add(typed.stream().map(t -> upper()).toArray(Long[]::new));
    parameters.add(typed.stream().map(TypeProbe::type).toArray(String[]::new));
    parameters.add(limit);

    // No such criterion: a range that holds nothing.
    parameters.add(widest);
    parameters.add(widest == Long.MAX_VALUE ? 0L : upper());
    parameters.add(limit);

    parameters.add(limit);
  }

  /** A criterion that one index scan answers: it has tags, or at most one type. */
  private static boolean singleScan(Criterion criterion) {
    return !criterion.tags().isEmpty() || criterion.types().size() <= 1;
  }

  /** Positions this page reads of {@code criterion} are greater than this. */
  private long lower(Criterion criterion) {
    return backwards ? criterion.after() : Math.max(criterion.after(), cursor);
  }

  /** Positions this page reads are less than this. */
  private long upper() {
    return backwards ? cursor : Long.MAX_VALUE;
  }

  private void scan(Criterion criterion, String columns) {
    long lower = lower(criterion);
    long upper = upper();
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

  /**
   * The types of a criterion with tags, checked on the event its tag row leads to. Written so that
   * no index can use it ({@code IS TRUE}; a type is never null): on a log never analyzed (a new
   * one, or a server with autovacuum off) the planner otherwise joins each tag row to a bitmap scan
   * of every event of the type, and a prepared statement keeps that plan as the log grows (seen on
   * PostgreSQL 15 with autovacuum off: a conflict read took most of a second at 50,000 events).
   */
  private void typeFilter(Criterion criterion) {
    if (criterion.types().size() == 1) {
      sql.append(" AND (e.type = ?) IS TRUE");
      parameters.add(criterion.types().iterator().next());
    } else if (!criterion.types().isEmpty()) {
      sql.append(" AND (e.type = ANY (?)) IS TRUE");
      parameters.add(criterion.types().toArray(String[]::new));
    }
  }

  private String order() {
    return backwards ? " DESC" : "";
  }

  private List<StoredEvent> run(Connection connection, LogSchema schema, int timeoutSeconds)
      throws SQLException {
    try (PreparedStatement statement = connection.prepareStatement(schema.sql(sql.toString()))) {
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
    for (String tag : tags) {
      Objects.requireNonNull(tag, "a stored tag is null");
    }
    byte[] meta = rows.getBytes(5);
    var event =
        EncodedEvent.read(
            rows.getObject(2, UUID.class),
            rows.getString(3),
            jsonText(rows.getBytes(4)),
            meta == null ? null : new String(jsonText(meta), StandardCharsets.UTF_8),
            Frozen.tags(tags));
    return new StoredEvent(rows.getLong(1), event);
  }

  /**
   * A jsonb column's value as JSON text in UTF-8 (the driver's client encoding), as the server sent
   * it, for the codec to parse without first making a string of it. A driver told to receive jsonb
   * in binary ({@code binaryTransferEnable}, on a pool the application owns) gets the same text
   * after a format version byte, 1, which JSON text never starts with; the driver's {@code
   * getString} returns null for it.
   */
  private static byte[] jsonText(byte[] value) {
    return value.length > 0 && value[0] == JSONB_VERSION
        ? Arrays.copyOfRange(value, 1, value.length)
        : value;
  }
}
