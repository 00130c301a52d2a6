package io.en57.bench;

import static io.en57.bench.Report.micros;
import static io.en57.bench.Report.ms;
import static io.en57.bench.Report.rate;
import static io.en57.bench.Report.ratio;

import com.zaxxer.hikari.HikariDataSource;
import io.en57.AppendCondition;
import io.en57.AppendResult;
import io.en57.Event;
import io.en57.EventStore;
import io.en57.EventStoreBuilder;
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
import java.util.concurrent.locks.LockSupport;

/**
 * Conditional single-event appends, the uniqueness check of registration-style commands: each
 * append stores one event tagged with a fresh {@code user:<uuid>} on condition that no event with
 * that tag exists (it never does). Measured with 1 to 64 threads spread over one store or over
 * several (each store with its own pool, as separate application nodes: 16 nodes of 1 thread, 4
 * nodes of 4 threads, 1 node of 16 threads), each in a fresh database; next to the raw ceiling: the
 * same rows inserted without lock or condition, one statement and one commit per event, with as
 * many connections as threads. One diagnostic setup has no target: one node of 16 threads, 12 of
 * which pause after each append, to show what a forwarded append's way back costs by itself.
 */
final class ConditionalAppends implements Scenario {

  static final String TYPE = "UserRegistered";

  /**
   * The best peer's rate with 16 application nodes of one thread each, as issue 10's harness
   * measured it on this machine's PostgreSQL 15 (not measured here: the peers are not part of this
   * suite).
   */
  static final double PEER_16_NODES = 801;

  /**
   * Threads, and the stores (application nodes) they are spread over; {@code forwarded}: the stores
   * forward their appends to the leading one ({@code EventStoreBuilder.forwardAppends}), over TLS
   * with {@code tls} ({@code forwardingTls}); {@code pausing} of the threads wait {@code
   * pauseMicros} after each append, standing in for a forwarded append's way back without its CPU.
   */
  record Setup(
      int threads, int stores, boolean forwarded, boolean tls, int pausing, int pauseMicros) {

    Setup(int threads, int stores) {
      this(threads, stores, false, false, 0, 0);
    }

    Setup(int threads, int stores, boolean forwarded) {
      this(threads, stores, forwarded, false, 0, 0);
    }

    Setup(int threads, int stores, boolean forwarded, boolean tls) {
      this(threads, stores, forwarded, tls, 0, 0);
    }

    String nodes() {
      return stores
          + (forwarded ? " forwarding" : "")
          + (tls ? " over TLS" : "")
          + (pausing > 0 ? ", " + pausing + " threads pausing " + pauseMicros + " µs" : "");
    }

    String described() {
      return Report.threads(threads)
          + ", "
          + stores
          + (stores == 1 ? " store" : " stores")
          + (forwarded ? " forwarding" : "")
          + (tls ? " over TLS" : "")
          + (pausing > 0
              ? ", " + pausing + " of them pausing " + pauseMicros + " µs an append"
              : "");
    }
  }

  static final List<Setup> SETUPS =
      List.of(
          new Setup(1, 1),
          new Setup(4, 1),
          new Setup(16, 1),
          new Setup(16, 4),
          new Setup(16, 4, true),
          new Setup(16, 4, true, true),
          // 1 node × 16 whose threads come back late as 4 nodes × 4 forwarding's 12 followers' do
          new Setup(16, 1, false, false, 12, 200),
          new Setup(16, 16),
          new Setup(16, 16, true),
          new Setup(64, 1),
          new Setup(64, 4),
          new Setup(64, 4, true));

  /**
   * Connections per store: appends use {@code groupsInFlight} (1) of them whatever the load, so
   * many stores get small pools (16 stores stay far below PostgreSQL's default 100 connections).
   */
  static final int POOL_SIZE = 10;

  @Override
  public String name() {
    return "conditional-single-event-appends";
  }

  @Override
  public String description() {
    return "one event per append with a never-matching condition, 1 to 64 threads on 1, 4 or 16"
        + " stores (application nodes), next to raw one-commit inserts";
  }

  @Override
  public ScenarioResult run(Context context) throws Exception {
    long started = System.nanoTime();
    var rows = new ArrayList<List<String>>();
    var figures = new ArrayList<Figure>();
    var targets = new ArrayList<Target>();
    var rawByThreads = new java.util.TreeMap<Integer, Outcome>();
    var oneNodeAt16 = new double[1];
    for (Setup setup : setups(context)) {
      int threads = setup.threads();
      int stores = setup.stores();
      Outcome raw = rawByThreads.get(threads);
      if (raw == null) {
        raw = rawCommits(context, threads);
        rawByThreads.put(threads, raw);
        context.progress(
            "%s, raw: %s commits/s, p50 %s ms",
            Report.threads(threads), rate(raw.callsPerSecond()), ms(raw.latency().median()));
        figures.add(
            new Figure(
                Report.threads(threads) + ": raw commits/s",
                raw.callsPerSecond(),
                "commits/s",
                Better.NEITHER));
      }
      var groups = new GroupCounts();
      Outcome ours = appends(context, setup, groups);
      double rateRatio = ours.callsPerSecond() / raw.callsPerSecond();
      double p50Ratio = ours.latency().median() / raw.latency().median();
      rows.add(
          List.of(
              String.valueOf(threads),
              setup.nodes(),
              rate(ours.callsPerSecond()),
              ms(ours.latency().median()),
              ms(ours.latency().p99()),
              rate(raw.callsPerSecond()),
              ms(raw.latency().median()),
              ms(raw.latency().p99()),
              ratio(rateRatio),
              ratio(p50Ratio),
              micros(ours.cpuMicrosPerCall()),
              micros(ours.machineCpuMicrosPerCall()),
              micros(ours.waitMicrosPerCall()),
              micros(ours.databaseWaitMicrosPerCall()),
              ratio(groups.appendsPerGroup()),
              ms(groups.writeMillisPerGroup())));
      context.progress("%s", String.join(" | ", rows.get(rows.size() - 1)));
      String described = setup.described();
      String key = described + ": ";
      figures.add(new Figure(key + "appends/s", ours.callsPerSecond(), "appends/s", Better.HIGHER));
      figures.add(new Figure(key + "p50", ours.latency().median(), "ms", Better.LOWER));
      figures.add(new Figure(key + "p99", ours.latency().p99(), "ms", Better.LOWER));
      figures.add(new Figure(key + "÷ raw rate", rateRatio, "×", Better.HIGHER));
      addIfMeasured(figures, key + "JVM CPU per append", ours.cpuMicrosPerCall());
      addIfMeasured(figures, key + "machine CPU per append", ours.machineCpuMicrosPerCall());
      addIfMeasured(figures, key + "JVM wait for a core per append", ours.waitMicrosPerCall());
      addIfMeasured(
          figures, key + "database wait for a core per append", ours.databaseWaitMicrosPerCall());
      if (!Double.isNaN(groups.appendsPerGroup())) {
        figures.add(
            new Figure(
                key + "appends per group", groups.appendsPerGroup(), "appends", Better.NEITHER));
        figures.add(
            new Figure(key + "group write", groups.writeMillisPerGroup(), "ms", Better.NEITHER));
      }
      String nodes =
          setup.forwarded() ? ", forwarding appends" + (setup.tls() ? " over TLS" : "") : "";
      if (setup.pausing() > 0) {
        // A diagnostic, not a workload of issue 10: a figure, no target.
        if (oneNodeAt16[0] > 0) {
          figures.add(
              new Figure(
                  key + "÷ 1 node × 16",
                  ours.callsPerSecond() / oneNodeAt16[0],
                  "×",
                  Better.NEITHER));
        }
      } else if (threads == 16 && stores == 1) {
        oneNodeAt16[0] = ours.callsPerSecond();
        targets.add(rateTarget(described, rateRatio, 1.0));
      } else if (threads == 16 && stores == 16) {
        targets.add(rateTarget(described + " (16 nodes × 1 thread)", rateRatio, 0.5));
        targets.add(
            new Target(
                "conditional appends, 16 nodes × 1 thread"
                    + nodes
                    + ": ≥ 2 × the best peer's 801/s (issue 10)",
                rate(ours.callsPerSecond()) + " appends/s",
                ours.callsPerSecond() >= 2 * PEER_16_NODES));
      } else if (threads == 16 && stores == 4 && oneNodeAt16[0] > 0) {
        double toOneNode = ours.callsPerSecond() / oneNodeAt16[0];
        targets.add(
            new Target(
                "conditional appends, 4 nodes × 4 threads"
                    + nodes
                    + ": within 10% of 1 node × 16 threads",
                ratio(toOneNode) + " ×",
                toOneNode >= 0.9));
      } else if (threads == 64 && stores == 1) {
        targets.add(rateTarget(described, rateRatio, 1.5));
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
    return new ScenarioResult(
        name(), Table.CONDITIONAL, (System.nanoTime() - started) / 1e9, rows, figures, targets);
  }

  /** The setups to run: the default ones, or with {@code --threads} those thread counts on 1. */
  private static List<Setup> setups(Context context) {
    if (context.threads().isEmpty()) {
      return SETUPS;
    }
    // The fixed setups with those thread counts (every node count measured for them), else one
    // store with each thread count asked for.
    var chosen =
        SETUPS.stream().filter(setup -> context.threads().contains(setup.threads())).toList();
    return chosen.isEmpty()
        ? context.threads().stream().map(threads -> new Setup(threads, 1)).toList()
        : chosen;
  }

  /** A figure the platform may not give (CPU time, waits for a core), where it was measured. */
  private static void addIfMeasured(List<Figure> figures, String name, double micros) {
    if (!Double.isNaN(micros)) {
      figures.add(new Figure(name, micros, "µs", Better.LOWER));
    }
  }

  private static Target rateTarget(String setup, double ratio, double target) {
    return new Target(
        "conditional appends, " + setup + ": ≥ " + ratio(target) + " × raw one-commit rate",
        ratio(ratio) + " ×",
        ratio >= target);
  }

  private static Outcome appends(Context context, Setup setup, GroupCounts groups)
      throws Exception {
    int threads = setup.threads();
    int storeCount = setup.stores();
    try (Database database = context.server().create()) {
      var pools = new ArrayList<HikariDataSource>();
      var stores = new ArrayList<EventStore>();
      try {
        for (int i = 0; i < storeCount; i++) {
          // A forwarding store holds one connection of its pool for electing the leader.
          int poolSize = Math.max(2, Math.min(POOL_SIZE, 32 / storeCount));
          pools.add(database.pool(poolSize + (setup.forwarded() ? 1 : 0)));
          EventStoreBuilder builder = EventStore.builder().listener(groups);
          if (setup.forwarded()) {
            builder.forwardAppends("127.0.0.1", 0);
          }
          if (setup.tls()) {
            builder.forwardingTls(NodesTls.context());
          }
          stores.add(builder.forDataSource(pools.get(i)));
        }
        return Measure.forDuration(
            threads,
            context.duration(),
            context.warmups(),
            context.runs(),
            groups,
            thread -> {
              EventStore store = stores.get(thread % storeCount);
              long pauseNanos = thread < setup.pausing() ? setup.pauseMicros() * 1_000L : 0;
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
                if (pauseNanos > 0) {
                  LockSupport.parkNanos(pauseNanos);
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
