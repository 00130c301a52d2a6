package io.en57.bench;

import static io.en57.bench.Report.ms;
import static io.en57.bench.Report.rate;
import static io.en57.bench.Report.ratio;

import com.zaxxer.hikari.HikariDataSource;
import io.en57.AppendCondition;
import io.en57.AppendResult;
import io.en57.Event;
import io.en57.EventStore;
import io.en57.bench.Measure.Outcome;
import io.en57.bench.Results.Better;
import io.en57.bench.Results.Figure;
import io.en57.bench.Results.ScenarioResult;
import io.en57.bench.Results.Table;
import io.en57.bench.Results.Target;
import io.en57.internal.Uuid7;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Conditional single-event appends, the uniqueness check of registration-style commands: each
 * append stores one event tagged with a fresh {@code user:<uuid>} on condition that no event with
 * that tag exists (it never does). Measured with 1, 4, 16 and 64 threads, spread over one store or
 * over two stores (two pools, as two application nodes), each in a fresh database; next to the raw
 * ceiling: the same rows inserted without lock or condition, one statement and one commit per
 * event, with as many connections as threads.
 */
final class ConditionalAppends implements Scenario {

  static final String TYPE = "UserRegistered";
  static final List<Integer> THREADS = List.of(1, 4, 16, 64);
  static final List<Integer> STORES = List.of(1, 2);

  /** Connections per store: appends use {@code groupsInFlight} (2) of them, whatever the load. */
  static final int POOL_SIZE = 10;

  @Override
  public String name() {
    return "conditional-single-event-appends";
  }

  @Override
  public String description() {
    return "one event per append with a never-matching condition, 1/4/16/64 threads,"
        + " 1 and 2 stores, next to raw one-commit inserts";
  }

  @Override
  public ScenarioResult run(Context context) throws Exception {
    long started = System.nanoTime();
    var rows = new ArrayList<List<String>>();
    var figures = new ArrayList<Figure>();
    var targets = new ArrayList<Target>();
    for (int threads : context.threadsOr(THREADS)) {
      Outcome raw = rawCommits(context, threads);
      context.progress(
          "%s, raw: %s commits/s, p50 %s ms",
          Report.threads(threads), rate(raw.callsPerSecond()), ms(raw.latency().median()));
      for (int stores : STORES) {
        Outcome ours = appends(context, threads, stores);
        double rateRatio = ours.callsPerSecond() / raw.callsPerSecond();
        double p50Ratio = ours.latency().median() / raw.latency().median();
        rows.add(
            List.of(
                String.valueOf(threads),
                String.valueOf(stores),
                rate(ours.callsPerSecond()),
                ms(ours.latency().median()),
                ms(ours.latency().p99()),
                rate(raw.callsPerSecond()),
                ms(raw.latency().median()),
                ms(raw.latency().p99()),
                ratio(rateRatio),
                ratio(p50Ratio)));
        context.progress("%s", String.join(" | ", rows.get(rows.size() - 1)));
        String key =
            Report.threads(threads) + ", " + stores + (stores == 1 ? " store: " : " stores: ");
        figures.add(
            new Figure(key + "appends/s", ours.callsPerSecond(), "appends/s", Better.HIGHER));
        figures.add(new Figure(key + "p50", ours.latency().median(), "ms", Better.LOWER));
        figures.add(new Figure(key + "p99", ours.latency().p99(), "ms", Better.LOWER));
        figures.add(new Figure(key + "÷ raw rate", rateRatio, "×", Better.HIGHER));
        String setup =
            Report.threads(threads) + ", " + stores + (stores == 1 ? " store" : " stores");
        if (threads == 16) {
          targets.add(rateTarget(setup, rateRatio, 1.0));
        } else if (threads == 64) {
          targets.add(rateTarget(setup, rateRatio, 1.5));
        } else if (threads == 1 && stores == 1) {
          targets.add(
              new Target(
                  "conditional appends, 1 thread: p50 ≤ 1.3 × one raw commit",
                  ratio(p50Ratio)
                      + " × ("
                      + ms(ours.latency().median())
                      + " vs "
                      + ms(raw.latency().median())
                      + " ms)",
                  p50Ratio <= 1.3));
        }
      }
      figures.add(
          new Figure(
              Report.threads(threads) + ": raw commits/s",
              raw.callsPerSecond(),
              "commits/s",
              Better.NEITHER));
    }
    return new ScenarioResult(
        name(), Table.CONDITIONAL, (System.nanoTime() - started) / 1e9, rows, figures, targets);
  }

  private static Target rateTarget(String setup, double ratio, double target) {
    return new Target(
        "conditional appends, " + setup + ": ≥ " + ratio(target) + " × raw one-commit rate",
        ratio(ratio) + " ×",
        ratio >= target);
  }

  private static Outcome appends(Context context, int threads, int storeCount) throws Exception {
    try (Database database = context.server().create()) {
      var pools = new ArrayList<HikariDataSource>();
      var stores = new ArrayList<EventStore>();
      try {
        for (int i = 0; i < storeCount; i++) {
          pools.add(database.pool(POOL_SIZE));
          stores.add(Database.store(pools.get(i)));
        }
        return Measure.forDuration(
            threads,
            context.duration(),
            context.warmups(),
            context.runs(),
            thread -> {
              EventStore store = stores.get(thread % storeCount);
              return () -> {
                String id = UUID.randomUUID().toString();
                String tag = "user:" + id;
                AppendResult result =
                    store.append(
                        List.of(Event.of(TYPE, Map.of("userId", id)).withTags(tag)),
                        AppendCondition.failIf(store.read().withTag(tag)));
                if (result instanceof AppendResult.Failure failure) {
                  throw new IllegalStateException("a never-matching condition failed: " + failure);
                }
                return 0;
              };
            });
      } finally {
        stores.forEach(EventStore::close);
        pools.forEach(HikariDataSource::close);
      }
    }
  }

  /**
   * The raw one-commit-per-event ceiling in a fresh database: {@code threads} threads, each on a
   * connection of its own, each commit one event row and its tag row, identical to what a
   * conditional append stores.
   */
  static Outcome rawCommits(Context context, int threads) throws Exception {
    try (Database database = context.server().create()) {
      var positions = new AtomicLong(database.head());
      List<Connection> connections = database.connect(threads);
      try {
        return Measure.forDuration(
            threads,
            context.duration(),
            context.warmups(),
            context.runs(),
            thread ->
                () -> {
                  String id = UUID.randomUUID().toString();
                  var row =
                      new RawInserts.Row(
                          Uuid7.next(), TYPE, "{\"userId\": \"" + id + "\"}", "user:" + id);
                  RawInserts.insert(
                      connections.get(thread), positions.incrementAndGet(), List.of(row));
                  return 0;
                });
      } finally {
        for (Connection connection : connections) {
          connection.close();
        }
      }
    }
  }
}
