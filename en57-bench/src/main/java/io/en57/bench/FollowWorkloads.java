package io.en57.bench;

import static io.en57.bench.Report.count;
import static io.en57.bench.Report.ms;
import static io.en57.bench.Report.rate;
import static io.en57.bench.Report.ratio;

import com.zaxxer.hikari.HikariDataSource;
import io.en57.Event;
import io.en57.EventStore;
import io.en57.SequencedEvent;
import io.en57.bench.Measure.Outcome;
import io.en57.bench.Results.Better;
import io.en57.bench.Results.Figure;
import io.en57.bench.Results.ScenarioResult;
import io.en57.bench.Results.Table;
import io.en57.bench.Results.Target;
import io.en57.bench.Scenario.Context;
import io.en57.subscriptions.Batch;
import io.en57.subscriptions.Projection;
import io.en57.subscriptions.ProjectionRunner;
import io.en57.subscriptions.Subscription;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;

/**
 * Following the log (issue 8, item 7): catching up with a seeded log into a no-op handler and into
 * a projection writing one row per event; the lag from an acknowledged append to a subscriber's
 * handler, in the same JVM and in another, while 16 threads append; and the append rate with four
 * live subscribers against none. Each figure comes with a baseline measured in the same run.
 */
final class FollowWorkloads {

  static final int APPEND_THREADS = 16;
  static final int SUBSCRIBERS = 4;
  private static final int PAGE = 1_000;

  private FollowWorkloads() {}

  static List<Scenario> scenarios() {
    return List.of(new CatchUp(), new Lag(), new AppendsWithSubscribers());
  }

  /** Wall-clock microseconds, comparable between JVMs on one machine. */
  static long wallMicros() {
    Instant now = Instant.now();
    return now.getEpochSecond() * 1_000_000 + now.getNano() / 1_000;
  }

  private static List<String> row(
      String scenario,
      String events,
      String figure,
      String ours,
      String baseline,
      String baselineIs,
      String ratio,
      String target) {
    return List.of(scenario, events, figure, ours, baseline, baselineIs, ratio, target);
  }

  private static double seconds(long nanos) {
    return nanos / 1e9;
  }

  /**
   * A subscription catching up with the seeded log from position 0 into a handler that does
   * nothing, next to the store's page query through plain JDBC on a held connection; and a
   * projection writing one row per event, next to the same pages read and the same rows inserted
   * through plain JDBC with one commit per page (a projection without checkpoint or ownership).
   */
  static final class CatchUp implements Scenario {

    static final double TARGET_EVENTS_PER_SECOND = 300_000;

    @Override
    public String name() {
      return "catch-up";
    }

    @Override
    public String description() {
      return "a subscription and a one-row-per-event projection catching up with the seeded log";
    }

    @Override
    public ScenarioResult run(Context context) throws Exception {
      long started = System.nanoTime();
      long events = context.events();
      double subscription;
      double rawPages;
      double projection;
      double rawProjection;
      try (Database database = ReadWorkloads.courses(context);
          HikariDataSource pool = database.pool(6);
          EventStore store = Database.store(pool)) {
        database.execute("CREATE TABLE projected (position bigint NOT NULL, course text)");
        subscription = measure(context, events, () -> subscribe(store));
        context.progress("subscription: %s events/s", rate(subscription));
        rawPages = measure(context, events, () -> rawPages(database, null));
        projection =
            measure(
                context,
                events,
                () -> {
                  database.execute("TRUNCATE projected");
                  return project(store, pool, events);
                });
        context.progress("projection: %s events/s", rate(projection));
        rawProjection =
            measure(
                context,
                events,
                () -> {
                  database.execute("TRUNCATE projected");
                  return rawPages(database, database);
                });
      }
      String stored = count(events);
      var rows =
          List.of(
              row(
                  "catch-up: no-op handler",
                  stored,
                  "events/s",
                  rate(subscription),
                  rate(rawPages),
                  "keyset pages through JDBC",
                  ratio(subscription / rawPages),
                  "≥ 300,000"),
              row(
                  "catch-up: projection, a row per event",
                  stored,
                  "events/s",
                  rate(projection),
                  rate(rawProjection),
                  "JDBC pages, rows inserted, a commit per page",
                  ratio(projection / rawProjection),
                  ""));
      var figures =
          List.of(
              new Figure("subscription events/s", subscription, "events/s", Better.HIGHER),
              new Figure("raw pages events/s", rawPages, "events/s", Better.NEITHER),
              new Figure("subscription ÷ raw", subscription / rawPages, "×", Better.HIGHER),
              new Figure("projection events/s", projection, "events/s", Better.HIGHER),
              new Figure("raw projection events/s", rawProjection, "events/s", Better.NEITHER),
              new Figure("projection ÷ raw", projection / rawProjection, "×", Better.HIGHER));
      var targets =
          List.of(
              new Target(
                  "catch-up into a no-op handler at ≥ 300,000 events/s",
                  rate(subscription) + " events/s",
                  subscription >= TARGET_EVENTS_PER_SECOND));
      return new ScenarioResult(
          name(), Table.FOLLOW, seconds(System.nanoTime() - started), rows, figures, targets);
    }

    /** One catch-up, returning the events it went through. */
    private interface Run {
      long run() throws Exception;
    }

    /** Events per second over the measured runs, each of which must go through every event. */
    private static double measure(Context context, long events, Run run) throws Exception {
      long measuredNanos = 0;
      for (int i = 0; i < context.warmups() + context.runs(); i++) {
        long start = System.nanoTime();
        long seen = run.run();
        long elapsed = System.nanoTime() - start;
        if (seen != events) {
          throw new IllegalStateException("went through " + seen + " events, not " + events);
        }
        if (i >= context.warmups()) {
          measuredNanos += elapsed;
        }
      }
      return events * context.runs() / seconds(measuredNanos);
    }

    private static long subscribe(EventStore store) throws InterruptedException {
      long seen = 0;
      try (Subscription subscription = store.subscribe(store.read(), 0)) {
        Batch batch;
        do {
          batch = subscription.poll(Duration.ZERO);
          seen += batch.events().size();
        } while (!batch.caughtUp());
      }
      return seen;
    }

    private static long project(EventStore store, HikariDataSource pool, long events)
        throws Exception {
      var seen = new long[1];
      String name = "catch-up-" + UUID.randomUUID();
      Projection projection =
          Projection.of(
              name,
              store.read(),
              (batch, connection) -> {
                try (PreparedStatement insert =
                    connection.prepareStatement(
                        "INSERT INTO projected (position, course) VALUES (?, ?)")) {
                  for (SequencedEvent event : batch.events()) {
                    insert.setLong(1, event.position());
                    insert.setString(
                        2, (String) ((Map<?, ?>) event.event().data()).get("courseId"));
                    insert.addBatch();
                  }
                  insert.executeBatch();
                }
                seen[0] += batch.events().size();
              });
      try (ProjectionRunner runner = ProjectionRunner.start(store, pool, projection)) {
        if (!runner.await(name, events, Duration.ofHours(1))) {
          throw new IllegalStateException("the projection did not catch up within an hour");
        }
      }
      return seen[0];
    }

    /**
     * Reads the log in keyset pages on a held connection; with {@code projectInto}, inserts a row
     * per event into {@code projected} through another connection, one commit per page.
     */
    private static long rawPages(Database database, Database projectInto) throws SQLException {
      long seen = 0;
      long after = 0;
      try (Connection reading = database.connect();
          Connection writing = projectInto == null ? null : projectInto.connect();
          PreparedStatement page =
              reading.prepareStatement(
                  "SELECT e.position, e.id, e.type, e.data, e.meta, e.tags FROM en57.events e"
                      + " WHERE e.position > ? ORDER BY e.position LIMIT ?");
          PreparedStatement insert =
              writing == null
                  ? null
                  : writing.prepareStatement(
                      "INSERT INTO projected (position, course) VALUES (?, ?::jsonb ->> 'courseId')")) {
        if (writing != null) {
          writing.setAutoCommit(false);
        }
        page.setInt(2, PAGE);
        int rows;
        do {
          page.setLong(1, after);
          rows = 0;
          try (ResultSet result = page.executeQuery()) {
            while (result.next()) {
              after = result.getLong(1);
              result.getObject(2);
              result.getString(3);
              String data = result.getString(4);
              result.getString(5);
              result.getArray(6).getArray();
              if (insert != null) {
                insert.setLong(1, after);
                insert.setString(2, data);
                insert.addBatch();
              }
              rows++;
            }
          }
          if (insert != null) {
            insert.executeBatch();
            writing.commit();
          }
          seen += rows;
        } while (rows == PAGE);
      }
      return seen;
    }
  }

  /**
   * 16 threads append single events for the warm-up and measured runs; a push subscription in this
   * JVM and one in another JVM record when their handler saw each event. The lag of an event is
   * from its append's acknowledgement to then (0 when the handler saw it first), over the events
   * acknowledged in the measured runs. The baseline is a NOTIFY sent on one plain connection and
   * received by LISTEN on another, in this JVM, every 5 ms during the same runs.
   */
  static final class Lag implements Scenario {

    static final double TARGET_SAME_JVM_P99_MS = 10;
    static final double TARGET_OTHER_JVM_P99_MS = 100;

    @Override
    public String name() {
      return "follow-lag";
    }

    @Override
    public String description() {
      return "lag from append acknowledged to handler, same and other JVM, 16 threads appending";
    }

    @Override
    public ScenarioResult run(Context context) throws Exception {
      long started = System.nanoTime();
      var ackNanos = new ConcurrentHashMap<UUID, Long>();
      var ackMicros = new ConcurrentHashMap<UUID, Long>();
      var seenNanos = new ConcurrentHashMap<UUID, Long>();
      var seenElsewhere = new ConcurrentHashMap<UUID, Long>();
      List<Long> notifyNanos = new ArrayList<>();
      long appended;
      try (Database database = context.server().create();
          HikariDataSource pool = database.pool(APPEND_THREADS + 4);
          EventStore store = Database.store(pool)) {
        Process other = startWorker(database);
        try (var fromOther =
                new BufferedReader(
                    new InputStreamReader(other.getInputStream(), StandardCharsets.UTF_8));
            Writer toOther =
                new OutputStreamWriter(other.getOutputStream(), StandardCharsets.UTF_8);
            Subscription here =
                store
                    .subscribe(store.read(), 0)
                    .start(
                        batch -> {
                          long now = System.nanoTime();
                          for (SequencedEvent event : batch.events()) {
                            seenNanos.put(event.event().id(), now);
                          }
                        })) {
          String ready = fromOther.readLine();
          if (!"ready".equals(ready)) {
            throw new IllegalStateException("the other JVM's subscriber said " + ready);
          }
          appended = append(context, store, database, ackNanos, ackMicros, notifyNanos);
          long head = store.head();
          toOther.write("until " + head + "\n");
          toOther.flush();
          String line;
          while ((line = fromOther.readLine()) != null && !line.equals("done")) {
            int space = line.indexOf(' ');
            seenElsewhere.put(
                UUID.fromString(line.substring(0, space)),
                Long.parseLong(line.substring(space + 1)));
          }
          long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
          while (here.position() < head && System.nanoTime() < deadline) {
            Thread.sleep(10);
          }
        } finally {
          if (!other.waitFor(60, TimeUnit.SECONDS)) {
            other.destroyForcibly();
          }
        }
      }
      double[] same = lags(ackNanos, seenNanos, 1e6);
      double[] elsewhere = lags(ackMicros, seenElsewhere, 1e3);
      double[] raw = notifyNanos.stream().mapToDouble(n -> n / 1e6).sorted().toArray();
      context.progress(
          "%,d appends measured; same JVM p99 %s ms, other JVM p99 %s ms",
          ackNanos.size(), ms(percentile(same, 0.99)), ms(percentile(elsewhere, 0.99)));
      var rows = new ArrayList<List<String>>();
      var figures = new ArrayList<Figure>();
      String events = count(appended) + " appended";
      for (String where : List.of("same JVM", "other JVM")) {
        double[] lags = where.equals("same JVM") ? same : elsewhere;
        for (double quantile : List.of(0.5, 0.99)) {
          String figure = quantile == 0.5 ? "p50 ms" : "p99 ms";
          double ours = percentile(lags, quantile);
          double baseline = percentile(raw, quantile);
          String target = quantile == 0.5 ? "" : where.equals("same JVM") ? "< 10" : "< 100";
          rows.add(
              row(
                  "follow-lag: " + where,
                  events,
                  figure,
                  ms(ours),
                  ms(baseline),
                  "NOTIFY→LISTEN, plain connections",
                  ratio(ours / baseline),
                  target));
          figures.add(new Figure(where + " " + figure, ours, "ms", Better.LOWER));
          figures.add(new Figure("raw notify " + figure, baseline, "ms", Better.NEITHER));
        }
      }
      var targets =
          List.of(
              new Target(
                  "lag append → handler, same JVM, 16 threads appending: p99 < 10 ms",
                  ms(percentile(same, 0.99)) + " ms",
                  percentile(same, 0.99) < TARGET_SAME_JVM_P99_MS),
              new Target(
                  "lag append → handler, other JVM, 16 threads appending: p99 < 100 ms",
                  ms(percentile(elsewhere, 0.99)) + " ms",
                  percentile(elsewhere, 0.99) < TARGET_OTHER_JVM_P99_MS));
      return new ScenarioResult(
          name(), Table.FOLLOW, seconds(System.nanoTime() - started), rows, figures, targets);
    }

    /**
     * Appends from 16 threads for the warm-up and measured runs; records the acknowledgement of the
     * events appended in the measured runs, and the raw notification round trips meanwhile.
     */
    private static long append(
        Context context,
        EventStore store,
        Database database,
        Map<UUID, Long> ackNanos,
        Map<UUID, Long> ackMicros,
        List<Long> notifyNanos)
        throws Exception {
      long perRun = context.duration().toNanos();
      long start = System.nanoTime();
      long measureFrom = start + perRun * context.warmups();
      long end = measureFrom + perRun * context.runs();
      var appended = new java.util.concurrent.atomic.AtomicLong();
      ExecutorService threads = Executors.newFixedThreadPool(APPEND_THREADS + 1);
      try {
        var writers = new ArrayList<Future<?>>();
        var go = new CountDownLatch(1);
        for (int t = 0; t < APPEND_THREADS; t++) {
          writers.add(
              threads.submit(
                  () -> {
                    go.await();
                    while (System.nanoTime() < end) {
                      Event event = Event.of("Lagged", Map.of("at", System.nanoTime()));
                      store.append(List.of(event));
                      long acked = System.nanoTime();
                      appended.incrementAndGet();
                      if (acked >= measureFrom) {
                        ackNanos.put(event.id(), acked);
                        ackMicros.put(event.id(), wallMicros());
                      }
                    }
                    return null;
                  }));
        }
        var probing = new AtomicBoolean(true);
        Future<?> probe =
            threads.submit(
                () -> {
                  probeNotifications(database, measureFrom, probing, notifyNanos);
                  return null;
                });
        go.countDown();
        for (Future<?> writer : writers) {
          writer.get();
        }
        probing.set(false);
        probe.get();
      } finally {
        threads.shutdownNow();
      }
      return appended.get();
    }

    /** NOTIFY on one plain connection, LISTEN on another: the round trip, every 5 ms. */
    private static void probeNotifications(
        Database database, long measureFrom, AtomicBoolean probing, List<Long> round)
        throws Exception {
      try (Connection listening = database.connect();
          Connection sending = database.connect()) {
        try (Statement listen = listening.createStatement()) {
          listen.execute("LISTEN bench_probe");
        }
        PGConnection pg = listening.unwrap(PGConnection.class);
        while (probing.get()) {
          long sent = System.nanoTime();
          try (Statement notify = sending.createStatement()) {
            notify.execute("NOTIFY bench_probe");
          }
          PGNotification[] received = pg.getNotifications(10_000);
          long arrived = System.nanoTime();
          if (received == null || received.length == 0) {
            throw new IllegalStateException("a notification did not arrive within 10 s");
          }
          if (sent >= measureFrom) {
            synchronized (round) {
              round.add(arrived - sent);
            }
          }
          Thread.sleep(5);
        }
      }
    }

    /** Per acknowledged event, how long after it the handler saw it, in ms (0 if before). */
    private static double[] lags(Map<UUID, Long> acked, Map<UUID, Long> seen, double perMilli) {
      double[] lags = new double[acked.size()];
      int i = 0;
      for (Map.Entry<UUID, Long> ack : acked.entrySet()) {
        Long at = seen.get(ack.getKey());
        if (at == null) {
          throw new IllegalStateException("a subscriber never saw event " + ack.getKey());
        }
        lags[i++] = Math.max(0, at - ack.getValue()) / perMilli;
      }
      Arrays.sort(lags);
      return lags;
    }

    private static double percentile(double[] sorted, double quantile) {
      if (sorted.length == 0) {
        throw new IllegalStateException("nothing was measured");
      }
      return sorted[(int) Math.ceil(quantile * sorted.length) - 1];
    }

    private static Process startWorker(Database database) throws Exception {
      String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
      var command =
          new ProcessBuilder(
                  java,
                  "-cp",
                  System.getProperty("java.class.path"),
                  Bench.class.getName(),
                  "follow-worker")
              .redirectError(ProcessBuilder.Redirect.INHERIT);
      command.environment().put(StreamWorker.URL, database.jdbcUrl());
      command.environment().put(StreamWorker.USER, database.user());
      if (database.password() != null) {
        command.environment().put(StreamWorker.PASSWORD, database.password());
      }
      return command.start();
    }
  }

  /**
   * 16 threads append single events to one store, with no subscriber and with four live push
   * subscriptions to the whole log on the same store (no-op handlers), each in a fresh database.
   */
  static final class AppendsWithSubscribers implements Scenario {

    static final double TARGET_RATIO = 0.9;

    @Override
    public String name() {
      return "append-with-subscribers";
    }

    @Override
    public String description() {
      return "16 threads appending, with four live subscribers and with none";
    }

    @Override
    public ScenarioResult run(Context context) throws Exception {
      long started = System.nanoTime();
      Outcome without = appends(context, 0);
      context.progress("no subscriber: %s appends/s", rate(without.callsPerSecond()));
      Outcome with = appends(context, SUBSCRIBERS);
      double ratio = with.callsPerSecond() / without.callsPerSecond();
      var rows =
          List.of(
              row(
                  "append-with-subscribers: " + SUBSCRIBERS,
                  count(with.calls()) + " appended",
                  "appends/s",
                  rate(with.callsPerSecond()),
                  rate(without.callsPerSecond()),
                  "no subscriber",
                  ratio(ratio),
                  "≥ 0.9×"));
      var figures =
          List.of(
              new Figure(
                  "appends/s with subscribers", with.callsPerSecond(), "ops/s", Better.HIGHER),
              new Figure("appends/s without", without.callsPerSecond(), "ops/s", Better.NEITHER),
              new Figure("with ÷ without", ratio, "×", Better.HIGHER));
      var targets =
          List.of(
              new Target(
                  "append rate with 4 live subscribers ≥ 0.9 × without",
                  ratio(ratio) + " ×",
                  ratio >= TARGET_RATIO));
      return new ScenarioResult(
          name(), Table.FOLLOW, seconds(System.nanoTime() - started), rows, figures, targets);
    }

    private static Outcome appends(Context context, int subscribers) throws Exception {
      try (Database database = context.server().create();
          HikariDataSource pool = database.pool(APPEND_THREADS + 4);
          EventStore store = Database.store(pool)) {
        var subscriptions = new ArrayList<Subscription>();
        try {
          for (int s = 0; s < subscribers; s++) {
            subscriptions.add(store.subscribe(store.read(), 0).start(batch -> {}));
          }
          return Measure.forDuration(
              APPEND_THREADS,
              context.duration(),
              context.warmups(),
              context.runs(),
              thread ->
                  () -> {
                    store.append(List.of(Event.of("Appended", Map.of("thread", thread))));
                    return 0;
                  });
        } finally {
          subscriptions.forEach(Subscription::close);
        }
      }
    }
  }
}
