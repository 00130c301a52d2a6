package io.en57.bench;

import static io.en57.bench.Report.count;
import static io.en57.bench.Report.ms;
import static io.en57.bench.Report.rate;
import static io.en57.bench.Report.ratio;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.zaxxer.hikari.HikariDataSource;
import io.en57.AppendCondition;
import io.en57.AppendResult;
import io.en57.Event;
import io.en57.EventStore;
import io.en57.Read;
import io.en57.SequencedEvent;
import io.en57.bench.Measure.Outcome;
import io.en57.bench.Results.Better;
import io.en57.bench.Results.Figure;
import io.en57.bench.Results.ScenarioResult;
import io.en57.bench.Results.Table;
import io.en57.bench.Results.Target;
import io.en57.bench.Scenario.Context;
import io.en57.internal.Uuid7;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Reads and decisions on a seeded course-subscription log ({@link Seeds#courses}): streaming the
 * whole log in a 64 MB heap, decision reads of about ten events, and the DCB course-subscription
 * decision loop. Each runs in a fresh copy of the seeded database, next to the same work done with
 * plain JDBC.
 */
final class ReadWorkloads {

  /** Decision reads per run, per kind. */
  static final int READS_PER_RUN = 2_000;

  static final List<Integer> LOOP_THREADS = List.of(1, 16);

  /** Subscriptions a student may hold in the decision loop; seeded students hold 10. */
  static final int MAX_COURSES_PER_STUDENT = 100;

  private ReadWorkloads() {}

  static List<Scenario> scenarios() {
    return List.of(new StreamLog(), new DecisionRead(), new DecisionLoop());
  }

  static Database courses(Context context) throws Exception {
    return context
        .server()
        .copyOf("courses-" + context.events(), db -> Seeds.courses(db, context.events()));
  }

  private static List<String> row(
      String scenario, Context context, String figure, String ours, String raw, String ratio) {
    return row(scenario, context, figure, ours, raw, ratio, "");
  }

  private static List<String> row(
      String scenario,
      Context context,
      String figure,
      String ours,
      String raw,
      String ratio,
      String target) {
    return List.of(scenario, count(context.events()), figure, ours, raw, ratio, target);
  }

  /**
   * The whole log streamed through the store and through JDBC, each in a JVM of its own with
   * default options; and through the store again in a JVM with a 64 MB heap.
   */
  static final class StreamLog implements Scenario {

    static final String HEAP = "-Xmx64m";
    static final double TARGET_EVENTS_PER_SECOND = 500_000;

    @Override
    public String name() {
      return "stream-log";
    }

    @Override
    public String description() {
      return "stream the whole log with default JVM options and in a 64 MB heap: events/s, peak"
          + " heap";
    }

    @Override
    public ScenarioResult run(Context context) throws Exception {
      long started = System.nanoTime();
      StreamWorker.Result ours;
      StreamWorker.Result small;
      StreamWorker.Result raw;
      try (Database database = courses(context)) {
        ours = stream(database, "en57", context, List.of());
        context.progress("en57: %s events/s", rate(ours.eventsPerSecond()));
        small = stream(database, "en57", context, List.of(HEAP));
        context.progress("en57 in 64 MB: %s events/s", rate(small.eventsPerSecond()));
        raw = stream(database, "raw", context, List.of());
      }
      double ratio = ours.eventsPerSecond() / raw.eventsPerSecond();
      double smallRatio = small.eventsPerSecond() / raw.eventsPerSecond();
      var rows =
          List.of(
              row(
                  name(),
                  context,
                  "events/s (default JVM options)",
                  rate(ours.eventsPerSecond()),
                  rate(raw.eventsPerSecond()),
                  ratio(ratio),
                  "≥ 500,000"),
              row(
                  name(),
                  context,
                  "events/s (" + HEAP + ")",
                  rate(small.eventsPerSecond()),
                  rate(raw.eventsPerSecond()),
                  ratio(smallRatio),
                  "≥ 500,000"),
              row(
                  name(),
                  context,
                  "peak heap MB (" + HEAP + ")",
                  String.format("%.1f", small.peakHeapMegabytes()),
                  String.format("%.1f", raw.peakHeapMegabytes()),
                  "—",
                  "< 64"));
      var figures =
          List.of(
              new Figure("events/s", ours.eventsPerSecond(), "events/s", Better.HIGHER),
              new Figure("events/s in 64 MB", small.eventsPerSecond(), "events/s", Better.HIGHER),
              new Figure("peak heap", small.peakHeapMegabytes(), "MB", Better.LOWER),
              new Figure("raw events/s", raw.eventsPerSecond(), "events/s", Better.NEITHER),
              new Figure("÷ raw", ratio, "×", Better.HIGHER));
      var targets =
          List.of(
              new Target(
                  "stream the log at ≥ 500,000 events/s (default JVM options)",
                  rate(ours.eventsPerSecond()) + " events/s",
                  ours.eventsPerSecond() >= TARGET_EVENTS_PER_SECOND),
              new Target(
                  "stream the log at ≥ 500,000 events/s in a 64 MB heap",
                  rate(small.eventsPerSecond()) + " events/s",
                  small.eventsPerSecond() >= TARGET_EVENTS_PER_SECOND),
              new Target(
                  "stream the log in a 64 MB heap",
                  String.format("peak %.1f MB of %.0f MB", small.peakHeapMegabytes(), 64.0),
                  small.peakHeapMegabytes() < 64));
      return new ScenarioResult(
          name(), Table.READS, (System.nanoTime() - started) / 1e9, rows, figures, targets);
    }

    /** Runs {@link StreamWorker} in a JVM of its own with {@code jvmOptions}. */
    private static StreamWorker.Result stream(
        Database database, String mode, Context context, List<String> jvmOptions)
        throws IOException, InterruptedException {
      String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
      var arguments = new ArrayList<String>();
      arguments.add(java);
      arguments.addAll(jvmOptions);
      arguments.addAll(
          List.of(
              "-cp",
              System.getProperty("java.class.path"),
              Bench.class.getName(),
              "stream-worker",
              "--mode=" + mode,
              "--warmups=" + context.warmups(),
              "--runs=" + context.runs(),
              "--expect=" + context.events()));
      var command = new ProcessBuilder(arguments).redirectError(ProcessBuilder.Redirect.INHERIT);
      // The environment, not the command line, carries the credentials.
      command.environment().put(StreamWorker.URL, database.jdbcUrl());
      command.environment().put(StreamWorker.USER, database.user());
      if (database.password() != null) {
        command.environment().put(StreamWorker.PASSWORD, database.password());
      }
      Process child = command.start();
      String output = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!child.waitFor(30, TimeUnit.MINUTES) || child.exitValue() != 0) {
        child.destroyForcibly();
        throw new IllegalStateException("the streaming JVM failed: " + output);
      }
      String[] lines = output.strip().split("\\R");
      return new ObjectMapper().readValue(lines[lines.length - 1], StreamWorker.Result.class);
    }
  }

  /**
   * The reads a decision starts with: all events of one course tag (10 events), and the events of
   * one type with one student tag (10 of the student's 18). The raw baseline runs the statement the
   * store runs, prepared on one held connection.
   */
  static final class DecisionRead implements Scenario {

    static final double TARGET_P99_MS = 1.0;

    @Override
    public String name() {
      return "decision-read";
    }

    @Override
    public String description() {
      return "read one tag, or type + tag, of about 10 events: p50 and p99 latency";
    }

    @Override
    public ScenarioResult run(Context context) throws Exception {
      long started = System.nanoTime();
      int courses = Seeds.courses(context.events());
      int students = Seeds.students(context.events());
      var rows = new ArrayList<List<String>>();
      var figures = new ArrayList<Figure>();
      var targets = new ArrayList<Target>();
      try (Database database = courses(context);
          HikariDataSource pool = database.pool(10);
          EventStore store = Database.store(pool);
          Connection connection = database.connect()) {
        for (String kind : List.of("tag", "type + tag")) {
          boolean typed = kind.equals("type + tag");
          Outcome ours =
              Measure.rounds(
                  1,
                  READS_PER_RUN,
                  context.warmups(),
                  context.runs(),
                  (writer, round) -> {
                    Read scope =
                        typed
                            ? store
                                .read()
                                .ofType(Seeds.SUBSCRIBED)
                                .withTag("student:s" + random(students))
                            : store.read().withTag("course:c" + random(courses));
                    return () -> expectTen(scope.toList().size());
                  });
          Outcome raw;
          try (PreparedStatement statement = connection.prepareStatement(rawSql(typed))) {
            raw =
                Measure.rounds(
                    1,
                    READS_PER_RUN,
                    context.warmups(),
                    context.runs(),
                    (writer, round) -> {
                      String tag =
                          typed ? "student:s" + random(students) : "course:c" + random(courses);
                      return () -> expectTen(rawRead(statement, tag, typed));
                    });
          }
          String scenario = name() + ": " + kind;
          double p50 = ours.latency().median();
          double p99 = ours.latency().p99();
          rows.add(
              row(
                  scenario,
                  context,
                  "p50 ms",
                  ms(p50),
                  ms(raw.latency().median()),
                  ratio(p50 / raw.latency().median())));
          rows.add(
              row(
                  scenario,
                  context,
                  "p99 ms",
                  ms(p99),
                  ms(raw.latency().p99()),
                  ratio(p99 / raw.latency().p99()),
                  "< 1"));
          figures.add(new Figure(kind + ": p50", p50, "ms", Better.LOWER));
          figures.add(new Figure(kind + ": p99", p99, "ms", Better.LOWER));
          figures.add(new Figure(kind + ": raw p50", raw.latency().median(), "ms", Better.NEITHER));
          figures.add(new Figure(kind + ": raw p99", raw.latency().p99(), "ms", Better.NEITHER));
          targets.add(
              new Target(
                  "decision read ("
                      + kind
                      + ") at "
                      + count(context.events())
                      + " events: p99 < 1 ms",
                  ms(p99) + " ms",
                  p99 < TARGET_P99_MS));
        }
      }
      return new ScenarioResult(
          name(), Table.READS, (System.nanoTime() - started) / 1e9, rows, figures, targets);
    }

    private static int expectTen(int events) {
      if (events != 10) {
        throw new IllegalStateException("a decision read found " + events + " events, not 10");
      }
      return 0;
    }

    /** The statement the store runs for these reads (see ReadSql), on the same columns. */
    private static String rawSql(boolean typed) {
      return "SELECT e.position, e.id, e.type, e.data, e.meta, e.tags"
          + " FROM en57.event_tags t JOIN en57.events e ON e.position = t.position"
          + " WHERE t.tag = ?"
          + (typed ? " AND e.type = '" + Seeds.SUBSCRIBED + "'" : "")
          + " AND t.position > 0 ORDER BY t.position LIMIT 1000";
    }

    private static int rawRead(PreparedStatement statement, String tag, boolean typed)
        throws SQLException {
      statement.setString(1, tag);
      int events = 0;
      try (ResultSet rows = statement.executeQuery()) {
        while (rows.next()) {
          rows.getLong(1);
          rows.getObject(2);
          rows.getString(3);
          rows.getString(4);
          rows.getString(5);
          rows.getArray(6).getArray();
          events++;
        }
      }
      return events;
    }
  }

  /**
   * The DCB course-subscription decision, as the examples write it: read the course's events and
   * the student's subscriptions, decide (the course exists and has a free seat, the student is not
   * subscribed yet and holds fewer than {@value #MAX_COURSES_PER_STUDENT} courses), and append the
   * subscription on condition that nothing in that scope was stored since the read; after a
   * conflict, read and decide again. The baseline is raw one-commit inserts of the same event by as
   * many threads: what the append alone would cost without lock, condition or read.
   */
  static final class DecisionLoop implements Scenario {

    @Override
    public String name() {
      return "decision-loop";
    }

    @Override
    public String description() {
      return "course subscription: read, decide, append with the read scope as condition;"
          + " 1 and 16 threads";
    }

    @Override
    public ScenarioResult run(Context context) throws Exception {
      long started = System.nanoTime();
      var rows = new ArrayList<List<String>>();
      var figures = new ArrayList<Figure>();
      for (int threads : context.threadsOr(LOOP_THREADS)) {
        var rejected = new AtomicLong();
        Outcome ours;
        try (Database database = courses(context);
            HikariDataSource pool = database.pool(threads + 2);
            EventStore store = Database.store(pool)) {
          ours =
              Measure.forDuration(
                  threads,
                  context.duration(),
                  context.warmups(),
                  context.runs(),
                  thread -> () -> subscribe(store, context.events(), rejected));
        }
        Outcome raw;
        try (Database database = courses(context)) {
          var positions = new AtomicLong(database.head());
          List<Connection> connections = database.connect(threads);
          try {
            raw =
                Measure.forDuration(
                    threads,
                    context.duration(),
                    context.warmups(),
                    context.runs(),
                    thread ->
                        () -> {
                          RawInserts.insert(
                              connections.get(thread),
                              positions.incrementAndGet(),
                              List.of(rawSubscription(context.events())));
                          return 0;
                        });
          } finally {
            for (Connection connection : connections) {
              connection.close();
            }
          }
        }
        String scenario = name() + ": " + Report.threads(threads);
        double ratio = ours.callsPerSecond() / raw.callsPerSecond();
        rows.add(
            row(
                scenario,
                context,
                "decisions/s (raw: commits/s)",
                rate(ours.callsPerSecond()),
                rate(raw.callsPerSecond()),
                ratio(ratio)));
        rows.add(
            row(
                scenario,
                context,
                "p50 ms",
                ms(ours.latency().median()),
                ms(raw.latency().median()),
                ratio(ours.latency().median() / raw.latency().median())));
        rows.add(
            row(
                scenario,
                context,
                "p99 ms",
                ms(ours.latency().p99()),
                ms(raw.latency().p99()),
                ratio(ours.latency().p99() / raw.latency().p99())));
        rows.add(
            row(
                scenario,
                context,
                "conflicts retried / rejected",
                count(ours.retries()) + " / " + count(rejected.get()),
                "—",
                "—"));
        String key = Report.threads(threads) + ": ";
        figures.add(new Figure(key + "decisions/s", ours.callsPerSecond(), "ops/s", Better.HIGHER));
        figures.add(new Figure(key + "p50", ours.latency().median(), "ms", Better.LOWER));
        figures.add(new Figure(key + "p99", ours.latency().p99(), "ms", Better.LOWER));
        figures.add(
            new Figure(key + "raw commits/s", raw.callsPerSecond(), "ops/s", Better.NEITHER));
        figures.add(new Figure(key + "÷ raw", ratio, "×", Better.HIGHER));
        context.progress("%s", String.join(" | ", rows.get(rows.size() - 4)));
      }
      return new ScenarioResult(
          name(), Table.READS, (System.nanoTime() - started) / 1e9, rows, figures, List.of());
    }

    /** One decision: returns the conflicts it retried after. */
    static int subscribe(EventStore store, int events, AtomicLong rejected) {
      String courseId = "c" + random(Seeds.courses(events));
      String studentId = "s" + random(Seeds.students(events));
      String course = "course:" + courseId;
      String student = "student:" + studentId;
      Read scope =
          store.read().withTag(course).or(store.read().ofType(Seeds.SUBSCRIBED).withTag(student));
      for (int retries = 0; ; retries++) {
        List<SequencedEvent> seen = scope.sequenced().toList();
        if (!allowed(seen, course, student)) {
          rejected.incrementAndGet();
          return retries;
        }
        long after = seen.isEmpty() ? 0 : seen.get(seen.size() - 1).position();
        Event subscribed =
            Event.of(
                    Seeds.SUBSCRIBED,
                    Map.of(
                        "courseId", courseId,
                        "studentId", studentId,
                        "at", Instant.now().toString()))
                .withTags(course, student);
        if (store.append(List.of(subscribed), AppendCondition.failIf(scope).after(after))
            instanceof AppendResult.Success) {
          return retries;
        }
      }
    }

    private static boolean allowed(List<SequencedEvent> seen, String course, String student) {
      int capacity = 0;
      int seats = 0;
      int studentCourses = 0;
      for (SequencedEvent sequenced : seen) {
        Event event = sequenced.event();
        boolean ofCourse = event.tags().contains(course);
        if (event.type().equals(Seeds.COURSE_DEFINED) && ofCourse) {
          capacity = ((Number) ((Map<?, ?>) event.data()).get("capacity")).intValue();
        } else if (event.type().equals(Seeds.SUBSCRIBED)) {
          if (ofCourse && event.tags().contains(student)) {
            return false;
          }
          seats += ofCourse ? 1 : 0;
          studentCourses += event.tags().contains(student) ? 1 : 0;
        }
      }
      return seats < capacity && studentCourses < MAX_COURSES_PER_STUDENT;
    }

    private static RawInserts.Row rawSubscription(int events) {
      String courseId = "c" + random(Seeds.courses(events));
      String studentId = "s" + random(Seeds.students(events));
      String data =
          "{\"courseId\": \""
              + courseId
              + "\", \"studentId\": \""
              + studentId
              + "\", \"at\": \""
              + Instant.now()
              + "\"}";
      return new RawInserts.Row(
          Uuid7.next(), Seeds.SUBSCRIBED, data, "course:" + courseId, "student:" + studentId);
    }
  }

  private static int random(int bound) {
    return ThreadLocalRandom.current().nextInt(bound);
  }
}
