package io.en57.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.en57.EventStore;
import io.en57.Query;
import io.en57.Read;
import io.en57.testing.TestDatabases;
import io.en57.testing.TestDatabases.TestDatabase;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLWarning;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Function;
import java.util.function.IntFunction;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * On a store of 1,000,000 events, reads by tag, type and type plus tag, unions of up to hundreds of
 * criteria, and the condition checks inside {@code en57.append}, use indexes: no plan scans {@code
 * events} or {@code event_tags} sequentially, neither the custom plans of the first executions nor
 * the generic plans prepared statements and PL/pgSQL switch to later. Needs a superuser (for
 * auto_explain).
 */
@Tag("postgres")
@Tag("slow")
class QueryPlanTest {

  private static final int EVENTS = 1_000_000;
  private static TestDatabase database;
  private static EventStore store;

  @BeforeAll
  static void seed() {
    database = TestDatabases.createMigrated();
    // 20 types and a rare one, only at the start of the log; 100,000 courses of 10 events each;
    // 37,003 students of about 27 events each.
    database.execute(
        "INSERT INTO en57.events (position, id, type, data, tags)"
            + " SELECT g, gen_random_uuid(), CASE WHEN g <= 5 THEN 'Rare' ELSE 'T' || g % 20 END,"
            + " jsonb_build_object('n', g),"
            + " ARRAY['course:' || g % 100000, 'student:' || g % 37003]"
            + " FROM generate_series(1, "
            + EVENTS
            + ") g;"
            + " INSERT INTO en57.event_tags (tag, position)"
            + " SELECT unnest(tags), position FROM en57.events;"
            + " ANALYZE en57.events; ANALYZE en57.event_tags");
    store = EventStore.forDataSource(database.dataSource());
  }

  @AfterAll
  static void drop() {
    store.close();
    database.close();
  }

  /**
   * A decision scope of the DCB examples, or a whole-log read, and the index that must serve it.
   */
  private record Scope(String name, Function<EventStore, Read> read, String index) {}

  private static final List<Scope> SCOPES =
      List.of(
          new Scope("tag", s -> s.read().withTag("course:42"), "event_tags_pkey"),
          new Scope(
              "two tags", s -> s.read().withTag("course:42", "student:42"), "event_tags_pkey"),
          new Scope("type", s -> s.read().ofType("T3"), "events_type_position"),
          new Scope("types", s -> s.read().ofType("T3", "T4"), "events_type_position"),
          new Scope("rare old type", s -> s.read().ofType("Rare"), "events_type_position"),
          new Scope(
              "type and tag", s -> s.read().ofType("T2").withTag("course:42"), "event_tags_pkey"),
          new Scope(
              "union",
              s -> s.read().withTag("course:42").or(s.read().ofType("T7").withTag("student:9")),
              "event_tags_pkey"),
          new Scope("all after", s -> s.read().after(EVENTS - 1_000), "events_pkey"),
          // Unions of hundreds of criteria, as decisions spanning many entities make them.
          new Scope(
              "300 tags",
              s -> union(s, 300, i -> s.read().withTag("course:" + i * 7)),
              "event_tags_pkey"),
          new Scope(
              "300 types and tags",
              s -> union(s, 300, i -> s.read().ofType("T" + i % 20).withTag("student:" + i)),
              "event_tags_pkey"),
          new Scope(
              "300 types",
              s -> union(s, 300, i -> s.read().ofType("T" + i % 20, "Rare" + i)),
              "events_type_position"),
          new Scope(
              "all after, or a tag",
              s -> s.read().after(EVENTS - 1_000).or(s.read().withTag("course:42")),
              "events_pkey"));

  private static Read union(EventStore store, int criteria, IntFunction<Read> criterion) {
    Read union = criterion.apply(0);
    for (int i = 1; i < criteria; i++) {
      union = union.or(criterion.apply(i));
    }
    return union;
  }

  @Test
  void readsUseIndexesForEveryScopeAndDirection() throws SQLException {
    try (Connection connection = database.dataSource().getConnection()) {
      for (Scope scope : SCOPES) {
        Query query = scope.read().apply(store).query();
        for (boolean backwards : new boolean[] {false, true}) {
          long cursor = backwards ? Long.MAX_VALUE : 0;
          for (int limit : new int[] {1, 1_000}) {
            for (String planMode : new String[] {"force_custom_plan", "force_generic_plan"}) {
              String plan =
                  explain(connection, ReadSql.of(query, cursor, backwards, limit), planMode);
              assertThat(plan)
                  .as(
                      "%s, backwards %s, limit %d, %s:%n%s",
                      scope.name(), backwards, limit, planMode, plan)
                  .doesNotContain("Seq Scan on events")
                  .doesNotContain("Seq Scan on event_tags")
                  // JIT compilation (where the server has it) takes milliseconds: never for these.
                  .doesNotContain("JIT")
                  .contains(scope.index());
            }
          }
        }
      }
    }
  }

  /**
   * A new log, never analyzed (as on a server with autovacuum off): reads led by a tag must still
   * go from the tag rows to each event by position. The planner, knowing nothing of the tables,
   * would otherwise join every tag row to a scan of all events of the type, and a prepared
   * statement keeps a plan made then while the log grows.
   */
  @Test
  void readsLedByATagProbeEachEventByPositionOnALogNeverAnalyzed() throws SQLException {
    try (TestDatabase fresh = TestDatabases.createMigrated();
        EventStore onFresh = EventStore.forDataSource(fresh.dataSource());
        Connection connection = fresh.dataSource().getConnection()) {
      List<Read> reads =
          List.of(
              onFresh.read().withTag("course:1"),
              onFresh.read().ofType("T").withTag("course:1"),
              onFresh.read().ofType("T", "U").withTag("course:1"),
              onFresh.read().ofType("T").withTag("course:1", "student:1"));
      for (Read read : reads) {
        for (boolean backwards : new boolean[] {false, true}) {
          long cursor = backwards ? Long.MAX_VALUE : 0;
          String plan =
              explain(
                  connection,
                  ReadSql.of(read.query(), cursor, backwards, 100),
                  "force_generic_plan");
          assertThat(plan)
              .as("%s, backwards %s:%n%s", read.query(), backwards, plan)
              .contains("event_tags_pkey")
              .contains("events_pkey")
              .doesNotContain("events_type_position")
              .doesNotContain("Seq Scan on events");
        }
      }
    }
  }

  /**
   * The same on a log never analyzed for the look-ups of ids an append makes after a conflict or a
   * duplicate id: each id is one probe of the unique index, never a scan of the log.
   */
  @Test
  void idLookUpsProbeTheUniqueIndexOnALogNeverAnalyzed() throws SQLException {
    try (TestDatabase fresh = TestDatabases.createMigrated();
        Connection connection = fresh.dataSource().getConnection()) {
      String ids = "'{" + UUID.randomUUID() + "," + UUID.randomUUID() + "}'::uuid[]";
      String anyIdStored = genericPlan(connection, AppendSql.ANY_ID_STORED, ids);
      String storedCopies =
          genericPlan(
              connection,
              AppendSql.STORED_COPIES,
              "'[{}, {}]'",
              "'[null, null]'",
              ids,
              "'{A,B}'::text[]",
              "'[[], []]'");
      for (String plan : List.of(anyIdStored, storedCopies)) {
        assertThat(plan).contains("events_id_key").doesNotContain("Seq Scan on events");
      }
    }
  }

  /**
   * The generic plan of a statement with {@code ?} parameters, as a prepared statement gets after a
   * few executions, for the SQL literals given.
   */
  private static String genericPlan(Connection connection, String sql, String... literals)
      throws SQLException {
    var numbered = new StringBuilder();
    int parameter = 0;
    for (char c : sql.toCharArray()) {
      numbered.append(c == '?' ? "$" + ++parameter : String.valueOf(c));
    }
    try (Statement statement = connection.createStatement()) {
      statement.execute("SET plan_cache_mode = force_generic_plan");
      statement.execute("PREPARE probe AS " + numbered);
      var plan = new StringBuilder();
      try (ResultSet rows =
          statement.executeQuery("EXPLAIN EXECUTE probe(" + String.join(", ", literals) + ")")) {
        while (rows.next()) {
          plan.append(rows.getString(1)).append('\n');
        }
      }
      statement.execute("DEALLOCATE probe");
      return plan.toString();
    }
  }

  @Test
  void conditionChecksUseIndexesInCustomAndGenericPlans() throws SQLException {
    try (Connection connection = database.dataSource().getConnection();
        Statement statement = connection.createStatement()) {
      statement.execute("LOAD 'auto_explain'");
      statement.execute("SET auto_explain.log_min_duration = 0");
      statement.execute("SET auto_explain.log_nested_statements = on");
      // With analyze, the plans also say whether a statement was compiled by JIT; with no cost
      // threshold for it, every statement would be, unless en57.append switches JIT off.
      statement.execute("SET auto_explain.log_analyze = on");
      statement.execute("SET jit_above_cost = 0");
      statement.execute("SET auto_explain.log_level = 'notice'");
      connection.setAutoCommit(false);
      for (Scope scope : SCOPES) {
        String criteria = criteriaJson(scope.read().apply(store).query());
        // A pooled session's lone append is written by en57.write_single, one in the caller's
        // transaction by en57.write_group. PL/pgSQL plans its statements afresh for five
        // executions, then may keep a generic plan.
        for (int run = 0; run < 14; run++) {
          boolean pooled = run < 7;
          int execution = run % 7 + 1;
          List<String> plans = appendPlans(statement, criteria, pooled);
          String conditionPlan =
              plans.stream()
                  .filter(p -> p.contains("jsonb_to_recordset"))
                  .findFirst()
                  .orElseThrow();
          assertThat(conditionPlan)
              .as("%s, %s, execution %d:%n%s", scope.name(), pooled, execution, conditionPlan)
              .doesNotContain("Seq Scan on events")
              .doesNotContain("Seq Scan on event_tags")
              .contains(scope.index());
          // Sets unnested from the arguments are never joined: under a generic plan's estimates a
          // nested loop over them is quadratic in the size of the group. A lone append whose
          // condition matched inserts nothing, so an unconditional one shows that plan.
          Optional<String> stored = insertPlan(plans);
          String insertPlan =
              stored.isPresent()
                  ? stored.get()
                  : insertPlan(appendPlans(statement, "[]", pooled)).orElseThrow();
          assertThat(insertPlan)
              .as("%s, %s, execution %d:%n%s", scope.name(), pooled, execution, insertPlan)
              .doesNotContain("Nested Loop")
              .doesNotContain("Hash Join")
              .doesNotContain("Merge Join");
          assertThat(plans)
              .as("%s, %s, execution %d", scope.name(), pooled, execution)
              .noneMatch(
                  p ->
                      p.contains("Seq Scan on events")
                          || p.contains("Seq Scan on event_tags")
                          || p.contains("JIT"));
        }
        connection.rollback();
      }
    }
  }

  /**
   * The plans auto_explain reports for one call of en57.append, as from a pooled session or in the
   * caller's transaction, rolled back afterwards.
   */
  private static List<String> appendPlans(Statement statement, String criteria, boolean pooled)
      throws SQLException {
    statement.clearWarnings();
    statement.execute(
        "SELECT * FROM en57.append(ARRAY[1], ARRAY[gen_random_uuid()], ARRAY['T1'], '[{}]',"
            + " '[null]', ARRAY[0, 1], ARRAY['course:42'], '"
            + criteria
            + "', ARRAY[]::int[],"
            + " 1, '5000', "
            + pooled
            + ")");
    var plans = new ArrayList<String>();
    for (SQLWarning warning = statement.getWarnings();
        warning != null;
        warning = warning.getNextWarning()) {
      // Only the statements inside en57.append: the call itself is this test's.
      if (!warning.getMessage().contains("Query Text: SELECT * FROM en57.append(")) {
        plans.add(warning.getMessage());
      }
    }
    assertThat(plans).isNotEmpty();
    return plans;
  }

  private static Optional<String> insertPlan(List<String> plans) {
    return plans.stream().filter(p -> p.contains("INSERT INTO en57.events")).findFirst();
  }

  private static String criteriaJson(Query query) {
    var json = new StringBuilder("[");
    for (Query.Criterion c : query.criteria()) {
      json.append(json.length() > 1 ? "," : "")
          .append("{\"r\":1,\"a\":")
          .append(c.after())
          .append(",\"ty\":")
          .append(array(c.types()))
          .append(",\"tg\":")
          .append(array(c.tags()))
          .append('}');
    }
    return json.append(']').toString();
  }

  private static String array(java.util.Set<String> values) {
    return values.stream().map(v -> "\"" + v + "\"").toList().toString().replace(" ", "");
  }

  private static String explain(Connection connection, ReadSql read, String planMode)
      throws SQLException {
    try (Statement statement = connection.createStatement()) {
      statement.execute("SET plan_cache_mode = " + planMode);
    }
    try (PreparedStatement explain = connection.prepareStatement("EXPLAIN " + read.sql())) {
      read.bind(connection, explain);
      var plan = new StringBuilder();
      try (ResultSet rows = explain.executeQuery()) {
        while (rows.next()) {
          plan.append(rows.getString(1)).append('\n');
        }
      }
      return plan.toString();
    }
  }
}
