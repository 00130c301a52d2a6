package io.en57.bench;

import static io.en57.bench.Report.count;
import static io.en57.bench.Report.ms;
import static io.en57.bench.Report.rate;
import static io.en57.bench.Report.ratio;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.en57.EventStore;
import io.en57.Read;
import io.en57.bench.Measure.Outcome;
import io.en57.bench.Results.Better;
import io.en57.bench.Results.Figure;
import io.en57.bench.Results.ScenarioResult;
import io.en57.bench.Results.Table;
import io.en57.bench.Results.Target;
import io.en57.bench.Scenario.Context;
import io.en57.internal.DatabaseUrl;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * Reads from a streaming replica next to the same reads from the primary, in the same run, on the
 * same seeded log, through one store with the replica configured: decision reads (one tag, 10
 * events) one at a time and from four threads, and the whole log streamed. The replica is the one
 * {@code REPLICA_URL} names: a streaming replica of the server the run measures ({@code
 * DATABASE_URL}), such as {@code .ci/standby start} makes; the scenario reads the database it
 * seeded on the primary from the replica once replayed. Without {@code REPLICA_URL} it says so and
 * measures nothing.
 */
final class ReplicaReads implements Scenario {

  /** The replica's URL, its database part replaced with the database of the run. */
  static final String REPLICA_URL = "REPLICA_URL";

  static final int READ_THREADS = 4;

  /** Replica reads within 10% of primary reads. */
  static final double TARGET_RATIO = 0.9;

  @Override
  public String name() {
    return "replica-reads";
  }

  @Override
  public String description() {
    return "decision reads (p50, p99, reads/s over "
        + READ_THREADS
        + " threads) and the log streamed, on a streaming replica (REPLICA_URL) next to the primary";
  }

  @Override
  public ScenarioResult run(Context context) throws Exception {
    long started = System.nanoTime();
    String replicaUrl = System.getenv(REPLICA_URL);
    if (replicaUrl == null || replicaUrl.isBlank()) {
      context.progress(
          "not run: set REPLICA_URL to a streaming replica of the measured server (with"
              + " DATABASE_URL set to that server; .ci/standby start makes a pair)");
      return new ScenarioResult(name(), Table.REPLICA, 0, List.of(), List.of(), List.of());
    }
    int courses = Seeds.courses(context.events());
    var rows = new ArrayList<List<String>>();
    var figures = new ArrayList<Figure>();
    var targets = new ArrayList<Target>();
    try (Database database = ReadWorkloads.courses(context);
        HikariDataSource primaryPool = database.pool(10);
        HikariDataSource replicaPool = replicaPool(replicaUrl, database.name(), 10)) {
      long head = database.head();
      awaitReplay(replicaPool, head, context);
      try (EventStore store =
          EventStore.builder()
              .replica(replicaPool)
              .replicaMaxLag(Duration.ofMinutes(10))
              .forDataSource(primaryPool)) {
        UnaryOperator<Read> onReplica = read -> read;
        UnaryOperator<Read> onPrimary = Read::fromPrimary;

        // One discarded pass over both first: the replica's copy of the log is cold where the
        // primary's was just written (its pages, and the hint bits a first read sets), and
        // whichever source went first would also warm the JVM for the other.
        for (UnaryOperator<Read> source : List.of(onReplica, onPrimary)) {
          decisionReads(store, source, courses, context);
          concurrentReads(store, source, courses, context);
        }
        Outcome primaryLatency = decisionReads(store, onPrimary, courses, context);
        Outcome replicaLatency = decisionReads(store, onReplica, courses, context);
        addLatency(rows, figures, targets, context, "p50 ms", replicaLatency, primaryLatency);
        addLatency(rows, figures, targets, context, "p99 ms", replicaLatency, primaryLatency);

        Outcome primaryRate = concurrentReads(store, onPrimary, courses, context);
        Outcome replicaRate = concurrentReads(store, onReplica, courses, context);
        addRate(
            rows,
            figures,
            targets,
            context,
            "decision reads/s (" + READ_THREADS + " threads)",
            replicaRate.calls() / replicaRate.seconds(),
            primaryRate.calls() / primaryRate.seconds());

        double[] streamed = streamRates(store, List.of(onReplica, onPrimary), head, context);
        addRate(rows, figures, targets, context, "events/s streamed", streamed[0], streamed[1]);
      }
    }
    return new ScenarioResult(
        name(), Table.REPLICA, (System.nanoTime() - started) / 1e9, rows, figures, targets);
  }

  private static Outcome decisionReads(
      EventStore store, UnaryOperator<Read> where, int courses, Context context) throws Exception {
    return Measure.rounds(
        1,
        ReadWorkloads.READS_PER_RUN,
        context.warmups(),
        context.runs(),
        (writer, round) -> {
          Read scope = where.apply(store.read().withTag("course:c" + random(courses)));
          return () -> expectTen(scope.toList().size());
        });
  }

  private static Outcome concurrentReads(
      EventStore store, UnaryOperator<Read> where, int courses, Context context) throws Exception {
    return Measure.forDuration(
        READ_THREADS,
        context.duration(),
        context.warmups(),
        context.runs(),
        thread ->
            () ->
                expectTen(
                    where
                        .apply(store.read().withTag("course:c" + random(courses)))
                        .toList()
                        .size()));
  }

  /**
   * Events per second streaming the whole log from each of {@code sources}, which take turns run by
   * run, so that neither gets a JVM warmed up by the other's runs.
   */
  private static double[] streamRates(
      EventStore store, List<UnaryOperator<Read>> sources, long head, Context context) {
    long[] nanos = new long[sources.size()];
    for (int run = 0; run < context.warmups() + context.runs(); run++) {
      for (int source = 0; source < sources.size(); source++) {
        long started = System.nanoTime();
        try (Stream<?> events = sources.get(source).apply(store.read()).sequenced()) {
          long read = events.count();
          if (read != head) {
            throw new IllegalStateException("streamed " + read + " events, not " + head);
          }
        }
        if (run >= context.warmups()) {
          nanos[source] += System.nanoTime() - started;
        }
      }
    }
    double[] rates = new double[sources.size()];
    for (int source = 0; source < rates.length; source++) {
      rates[source] = head * (double) context.runs() / (nanos[source] / 1e9);
    }
    return rates;
  }

  private static void addLatency(
      List<List<String>> rows,
      List<Figure> figures,
      List<Target> targets,
      Context context,
      String figure,
      Outcome replica,
      Outcome primary) {
    boolean p50 = figure.startsWith("p50");
    double ours = p50 ? replica.latency().median() : replica.latency().p99();
    double theirs = p50 ? primary.latency().median() : primary.latency().p99();
    rows.add(
        List.of(
            "decision read: tag",
            count(context.events()),
            figure,
            ms(ours),
            ms(theirs),
            ratio(ours / theirs),
            p50 ? "≤ 1.1" : ""));
    figures.add(
        new Figure("decision read " + figure + " on the replica", ours, "ms", Better.LOWER));
    figures.add(
        new Figure("decision read " + figure + " on the primary", theirs, "ms", Better.NEITHER));
    figures.add(
        new Figure(
            "decision read " + figure + " replica ÷ primary", ours / theirs, "×", Better.LOWER));
    if (p50) {
      targets.add(
          new Target(
              "replica decision reads within 10% of the primary's (p50)",
              ratio(ours / theirs) + "×", ours / theirs <= 1 / TARGET_RATIO));
    }
  }

  private static void addRate(
      List<List<String>> rows,
      List<Figure> figures,
      List<Target> targets,
      Context context,
      String figure,
      double replica,
      double primary) {
    rows.add(
        List.of(
            figure.startsWith("events") ? "stream the log" : "decision read: tag",
            count(context.events()),
            figure,
            rate(replica),
            rate(primary),
            ratio(replica / primary),
            "≥ 0.9"));
    figures.add(new Figure(figure + " on the replica", replica, "/s", Better.HIGHER));
    figures.add(new Figure(figure + " on the primary", primary, "/s", Better.NEITHER));
    figures.add(new Figure(figure + " replica ÷ primary", replica / primary, "×", Better.HIGHER));
    targets.add(
        new Target(
            "replica " + figure + " within 10% of the primary's",
            ratio(replica / primary) + "×",
            replica / primary >= TARGET_RATIO));
  }

  /** A pool on the replica's copy of database {@code name}. */
  private static HikariDataSource replicaPool(String replicaUrl, String name, int size) {
    DatabaseUrl parsed = DatabaseUrl.parse(replicaUrl);
    var url = new PGSimpleDataSource();
    url.setURL(parsed.jdbcUrl());
    url.setDatabaseName(name);
    var config = new HikariConfig();
    config.setPoolName("bench-replica-" + name);
    config.setJdbcUrl(url.getURL());
    config.setUsername(parsed.user());
    config.setPassword(parsed.password());
    config.setMaximumPoolSize(size);
    config.setAutoCommit(true);
    // The database appears on the replica once it replays its creation: do not fail before.
    config.setInitializationFailTimeout(-1);
    return new HikariDataSource(config);
  }

  /** Waits until the replica shows the seeded log up to {@code head}. */
  private static void awaitReplay(HikariDataSource replica, long head, Context context)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(10);
    while (true) {
      try (Connection connection = replica.getConnection();
          Statement statement = connection.createStatement();
          ResultSet row =
              statement.executeQuery("SELECT coalesce(max(position), 0) FROM en57.events")) {
        row.next();
        if (row.getLong(1) >= head) {
          context.progress("the replica replayed the seeded log (%s events)", count(head));
          return;
        }
      } catch (SQLException e) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("the replica did not replay the seeded database", e);
        }
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("the replica did not replay the seeded log in 10 minutes");
      }
      Thread.sleep(200);
    }
  }

  private static int expectTen(int events) {
    if (events != 10) {
      throw new IllegalStateException("a decision read found " + events + " events, not 10");
    }
    return 0;
  }

  private static int random(int bound) {
    return ThreadLocalRandom.current().nextInt(bound);
  }
}
