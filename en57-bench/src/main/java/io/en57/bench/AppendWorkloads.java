package io.en57.bench;

import static io.en57.bench.Report.count;
import static io.en57.bench.Report.ms;
import static io.en57.bench.Report.rate;
import static io.en57.bench.Report.ratio;

import com.zaxxer.hikari.HikariDataSource;
import io.en57.AppendCondition;
import io.en57.AppendResult;
import io.en57.Event;
import io.en57.EventStore;
import io.en57.bench.Measure.Outcome;
import io.en57.bench.Measure.Stats;
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
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The original gem's append workloads, same names and shapes: appends of {@value #BATCH} events of
 * type {@value #TYPE} with empty data, by one writer or by {@value #WRITERS} writers started
 * together behind a barrier. Each is measured twice, in fresh databases: through one store, and as
 * raw multi-row inserts of identical rows by as many writers.
 *
 * <p>A run is {@value #SINGLE_ROUNDS} appends for one writer and {@value #CONCURRENT_ROUNDS} rounds
 * of ten concurrent appends for ten, so the default five measured runs make the original's 500 and
 * 50 × 10 appends.
 */
final class AppendWorkloads {

  static final String TYPE = "event_benchmarked";
  static final int BATCH = 100;
  static final int WRITERS = 10;
  static final int SINGLE_ROUNDS = 100;
  static final int CONCURRENT_ROUNDS = 10;
  static final int SEEDED_EVENTS = 1_000_000;

  /**
   * The best peer's bulk-append rate as issue 10's harness measured it on this machine's PostgreSQL
   * 15 (not measured here: the peers are not part of this suite).
   */
  static final double PEER_BULK_EVENTS_PER_SECOND = 25_300;

  /** The data of an order event, as JSON for the raw baseline. */
  static final String ORDER_JSON =
      "{\"orderId\": \"order-%d\", \"amount\": 4200, \"currency\": \"EUR\","
          + " \"note\": \"two items, gift wrapped\"}";

  private AppendWorkloads() {}

  /** The data of an order event as a registered payload class: the same JSON as {@link #order}. */
  public record Order(String orderId, int amount, String currency, String note) {
    static Order number(int i) {
      return new Order("order-" + i, 4200, "EUR", "two items, gift wrapped");
    }
  }

  /** The data of an order event. */
  static Map<String, Object> order(int i) {
    return Map.of(
        "orderId",
        "order-" + i,
        "amount",
        4200,
        "currency",
        "EUR",
        "note",
        "two items, gift wrapped");
  }

  static List<Scenario> scenarios() {
    return List.of(
        new Workload("append-no-fail-if", "one writer, unconditional", 1, Condition.NONE, false),
        new Workload(
            "bulk-append",
            "one writer, unconditional, events with data and two tags (issue 10's bulk workload)",
            1,
            Condition.NONE,
            false,
            Shape.ORDERS),
        new Workload(
            "bulk-append-typed",
            "bulk-append with each event's data a record of a registered payload class, not a map",
            1,
            Condition.NONE,
            false,
            Shape.TYPED_ORDERS),
        new Workload(
            "append-non-conflicting-tags",
            "one writer, a fresh tag each time, condition on it that never matches",
            1,
            Condition.OWN_TAG,
            false),
        new Workload(
            "concurrent-append-no-fail-if",
            "10 writers, own tag each, unconditional",
            WRITERS,
            Condition.NONE,
            false),
        new Workload(
            "concurrent-append-non-conflicting-tags",
            "10 writers, own tag plus a condition on it",
            WRITERS,
            Condition.OWN_TAG,
            false),
        new Workload(
            "concurrent-append-non-conflicting-tags-seeded",
            "the same on a store pre-filled with 1,000,000 events with random writer tags",
            WRITERS,
            Condition.OWN_TAG,
            true),
        new Workload(
            "concurrent-append-conflicting-tags",
            "10 writers on one shared tag; a loser retries after the conflict until all land",
            WRITERS,
            Condition.SHARED_TAG,
            false),
        new RawSingleRowCommits());
  }

  /** The condition each append carries. */
  enum Condition {
    /** None. */
    NONE,
    /** Fail if the writer's fresh tag exists: never matches. */
    OWN_TAG,
    /** Fail if the round's shared tag exists after the last conflict: all but one lose. */
    SHARED_TAG
  }

  /** What each event of an append looks like. */
  enum Shape {
    /** The original's: empty data, one tag. */
    ORIGINAL,
    /** About 100 bytes of data and two tags, an order and its customer. */
    ORDERS,
    /** The same, the data an {@link Order} of the class registered for the type. */
    TYPED_ORDERS
  }

  /** One of the append workloads. */
  record Workload(
      String name,
      String description,
      int writers,
      Condition condition,
      boolean seeded,
      Shape shape)
      implements Scenario {

    Workload(String name, String description, int writers, Condition condition, boolean seeded) {
      this(name, description, writers, condition, seeded, Shape.ORIGINAL);
    }

    @Override
    public ScenarioResult run(Context context) throws Exception {
      long started = System.nanoTime();
      int rounds = writers == 1 ? SINGLE_ROUNDS : CONCURRENT_ROUNDS;
      String prefix = Long.toHexString(ThreadLocalRandom.current().nextLong());
      Outcome ours;
      try (Database database = database(context);
          HikariDataSource pool = database.pool(10);
          EventStore store =
              shape == Shape.TYPED_ORDERS
                  ? EventStore.builder().register(TYPE, Order.class).forDataSource(pool)
                  : Database.store(pool)) {
        long seed = database.head();
        var appended = new AtomicLong();
        ours =
            Measure.rounds(
                writers,
                rounds,
                context.warmups(),
                context.runs(),
                (writer, round) -> {
                  Measure.Call call = append(store, prefix, round);
                  return () -> {
                    int retries = call.call();
                    appended.incrementAndGet();
                    return retries;
                  };
                });
        long expected = seed + appended.get() * BATCH;
        long stored = database.queryLong("SELECT count(*) FROM en57.events");
        if (stored != expected) {
          throw new IllegalStateException(stored + " events stored, expected " + expected);
        }
      }
      context.progress("en57 done, now the raw multi-row insert baseline");
      Outcome raw;
      try (Database database = database(context)) {
        var positions = new AtomicLong(database.head());
        List<Connection> connections = database.connect(writers);
        try {
          raw =
              Measure.rounds(
                  writers,
                  rounds,
                  context.warmups(),
                  context.runs(),
                  (writer, round) -> rawAppend(connections.get(writer), positions, shape));
        } finally {
          for (Connection connection : connections) {
            connection.close();
          }
        }
      }
      return result(context, ours, raw, (System.nanoTime() - started) / 1e9);
    }

    private Database database(Context context) throws Exception {
      if (!seeded) {
        return context.server().create();
      }
      return context
          .server()
          .copyOf("writers-" + SEEDED_EVENTS, database -> Seeds.writers(database, SEEDED_EVENTS));
    }

    private Measure.Call append(EventStore store, String prefix, long round) {
      String tag =
          condition == Condition.SHARED_TAG
              ? "writer:" + prefix + "-" + round
              // A random UUID: a fresh tag must not collide with the seeded store's random tags.
              : "writer:" + UUID.randomUUID();
      var events = new ArrayList<Event>(BATCH);
      for (int i = 0; i < BATCH; i++) {
        Object data =
            switch (shape) {
              case ORIGINAL -> Map.of();
              case ORDERS -> order(i);
              case TYPED_ORDERS -> Order.number(i);
            };
        events.add(
            shape == Shape.ORIGINAL
                ? Event.of(TYPE, data).withTags(tag)
                : Event.of(TYPE, data).withTags(tag, "customer:" + (i % 10)));
      }
      List<Event> batch = List.copyOf(events);
      if (condition == Condition.NONE) {
        return () -> {
          store.append(batch);
          return 0;
        };
      }
      AppendCondition failIf = AppendCondition.failIf(store.read().ofType(TYPE).withTag(tag));
      return () -> {
        int retries = 0;
        long after = 0;
        while (store.append(batch, failIf.after(after)) instanceof AppendResult.Failure failure) {
          if (condition != Condition.SHARED_TAG) {
            throw new IllegalStateException("a non-conflicting append failed: " + failure);
          }
          retries++;
          after = failure.position();
        }
        return retries;
      };
    }

    private static Measure.Call rawAppend(
        Connection connection, AtomicLong positions, Shape shape) {
      String tag = "writer:" + UUID.randomUUID();
      var rows = new ArrayList<RawInserts.Row>(BATCH);
      for (int i = 0; i < BATCH; i++) {
        rows.add(
            shape == Shape.ORIGINAL
                ? new RawInserts.Row(Uuid7.next(), TYPE, "{}", tag)
                : new RawInserts.Row(
                    Uuid7.next(), TYPE, ORDER_JSON.formatted(i), tag, "customer:" + (i % 10)));
      }
      return () -> {
        RawInserts.insert(connection, positions.getAndAdd(BATCH) + 1, rows);
        return 0;
      };
    }

    private ScenarioResult result(Context context, Outcome ours, Outcome raw, double seconds) {
      Stats latency = ours.latency();
      double eventsPerSecond = ours.callsPerSecond() * BATCH;
      double rawEventsPerSecond = raw.callsPerSecond() * BATCH;
      double ratio = eventsPerSecond / rawEventsPerSecond;
      List<String> row =
          List.of(
              name,
              String.valueOf(writers),
              String.valueOf(context.runs()),
              count(ours.calls()),
              ms(latency.mean()),
              ms(latency.stddev()),
              ms(latency.min()),
              ms(latency.max()),
              ms(latency.median()),
              count(ours.retries()),
              rate(eventsPerSecond),
              rate(rawEventsPerSecond),
              ratio(ratio));
      List<Figure> figures =
          List.of(
              new Figure("mean latency", latency.mean(), "ms", Better.LOWER),
              new Figure("stddev", latency.stddev(), "ms", Better.NEITHER),
              new Figure("min latency", latency.min(), "ms", Better.NEITHER),
              new Figure("max latency", latency.max(), "ms", Better.NEITHER),
              new Figure("median latency", latency.median(), "ms", Better.LOWER),
              new Figure("retries", ours.retries(), "retries", Better.NEITHER),
              new Figure("events/s", eventsPerSecond, "events/s", Better.HIGHER),
              new Figure("raw multi-row events/s", rawEventsPerSecond, "events/s", Better.NEITHER),
              new Figure("÷ raw multi-row", ratio, "×", Better.HIGHER));
      double target = shape == Shape.ORIGINAL ? 0.8 : 0.5;
      var targets = new ArrayList<Target>();
      if (condition == Condition.NONE) {
        targets.add(
            new Target(
                name
                    + ": unconditional 100-event appends ≥ "
                    + ratio(target)
                    + " × raw multi-row insert",
                ratio(ratio) + " × (" + rate(eventsPerSecond) + " events/s)",
                ratio >= target));
      }
      if (shape == Shape.ORDERS) {
        targets.add(
            new Target(
                name + ": ≥ 1.5 × the best peer's 25,300 events/s (issue 10)",
                rate(eventsPerSecond) + " events/s",
                eventsPerSecond >= 1.5 * PEER_BULK_EVENTS_PER_SECOND));
      }
      return new ScenarioResult(name, Table.APPENDS, seconds, List.of(row), figures, targets);
    }
  }

  /**
   * The other raw baseline: one event and its tag row per statement and commit, by one writer and
   * by ten, for as long as a throughput run lasts.
   */
  static final class RawSingleRowCommits implements Scenario {

    @Override
    public String name() {
      return "raw-single-row-commits";
    }

    @Override
    public String description() {
      return "baseline: raw one-event inserts, one commit each, by 1 and by 10 writers";
    }

    @Override
    public ScenarioResult run(Context context) throws Exception {
      long started = System.nanoTime();
      var rows = new ArrayList<List<String>>();
      var figures = new ArrayList<Figure>();
      for (int writers : List.of(1, WRITERS)) {
        Outcome raw = ConditionalAppends.rawCommits(context, writers);
        Stats latency = raw.latency();
        rows.add(
            List.of(
                name(),
                String.valueOf(writers),
                String.valueOf(context.runs()),
                count(raw.calls()),
                ms(latency.mean()),
                ms(latency.stddev()),
                ms(latency.min()),
                ms(latency.max()),
                ms(latency.median()),
                "0",
                rate(raw.callsPerSecond()),
                "—",
                "—"));
        figures.add(
            new Figure(
                writers + (writers == 1 ? " writer" : " writers") + ": events/s",
                raw.callsPerSecond(),
                "events/s",
                Better.NEITHER));
        figures.add(
            new Figure(
                writers + (writers == 1 ? " writer" : " writers") + ": median latency",
                latency.median(),
                "ms",
                Better.NEITHER));
      }
      return new ScenarioResult(
          name(), Table.APPENDS, (System.nanoTime() - started) / 1e9, rows, figures, List.of());
    }
  }
}
