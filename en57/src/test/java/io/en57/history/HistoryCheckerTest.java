package io.en57.history;

import static org.assertj.core.api.Assertions.assertThat;

import io.en57.AppendResult;
import io.en57.EventStore;
import io.en57.EventStoreBuilder;
import io.en57.internal.Migration;
import io.en57.testing.AppendsWritten;
import io.en57.testing.TestDatabases;
import io.en57.testing.TestDatabases.TestDatabase;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Concurrent writers on four application nodes (store instances with pools of their own), tailing
 * readers and subscribers, checked afterwards against I1 to I4 and against following the log (each
 * subscriber delivered exactly the final log's matching events, in order). The seed is fixed and
 * printed; set the system property {@code en57.history.seed} to replay another, {@code
 * en57.history.seconds} to run longer.
 */
@Tag("postgres")
@Tag("slow")
class HistoryCheckerTest {

  private static final long SEED = Long.getLong("en57.history.seed", 57L);
  private static final Duration DURATION =
      Duration.ofSeconds(Long.getLong("en57.history.seconds", 30));

  @Test
  void theStoreKeepsEveryInvariantUnderConcurrentWritersOnFourNodes() throws Exception {
    checkFourNodes(builder -> builder, DURATION);
  }

  /**
   * The same with every node forwarding its appends to the leading one, which writes them with its
   * own: the leader must have written most of them, and every invariant still holds.
   */
  @Test
  void theStoreKeepsEveryInvariantWhenFourNodesForwardTheirAppendsToALeader() throws Exception {
    var written = new CopyOnWriteArrayList<AppendsWritten>();
    checkFourNodes(
        builder -> {
          var count = new AppendsWritten();
          written.add(count);
          return builder.listener(count).forwardAppends("127.0.0.1", 0);
        },
        DURATION.dividedBy(2));
    int total = written.stream().mapToInt(AppendsWritten::count).sum();
    int byTheLeader = written.stream().mapToInt(AppendsWritten::count).max().orElse(0);
    System.out.printf(
        "History checker, forwarding: the leading node wrote %d of %d appends%n",
        byTheLeader, total);
    assertThat(byTheLeader).isGreaterThan(total / 2);
  }

  private static void checkFourNodes(UnaryOperator<EventStoreBuilder> options, Duration duration)
      throws Exception {
    System.out.printf(
        "History checker: seed %d, %s (replay with -Den57.history.seed=%d)%n",
        SEED, duration, SEED);
    try (TestDatabase database = TestDatabases.createMigrated()) {
      History history = run(database, duration, 4, 6, options);
      List<String> violations = HistoryChecker.check(history);
      long successes =
          history.appends().stream()
              .filter(a -> a.result() instanceof AppendResult.Success)
              .count();
      long failures =
          history.appends().stream()
              .filter(a -> a.result() instanceof AppendResult.Failure)
              .count();
      System.out.printf(
          "History checker: %d appends (%d successes, %d failures), %d events, readers saw %s,"
              + " subscribers were delivered %s%n",
          history.appends().size(),
          successes,
          failures,
          history.log().size(),
          history.readerPages().stream().map(List::size).toList(),
          history.subscribers().stream().map(s -> s.delivered().size()).toList());

      assertThat(violations).as("seed %d", SEED).isEmpty();
      // The run must have raced, or it proves nothing (modest bounds: CI machines are slow and
      // shared).
      assertThat(successes).isGreaterThan(100);
      assertThat(failures).isGreaterThan(10);
      assertThat(history.appends()).filteredOn(History.Append::disjoint).hasSizeGreaterThan(100);
      assertThat(history.subscribers())
          .hasSize(6)
          .allSatisfy(s -> assertThat(s.delivered()).as(s.name()).isNotEmpty());
    }
  }

  /**
   * The same checker against an engine whose condition is evaluated before the append lock (its
   * snapshot is taken too early): it must report write skew.
   */
  @Test
  void theCheckerReportsWriteSkewOfAnEngineThatChecksConditionsBeforeTheLock() throws Exception {
    try (TestDatabase database = TestDatabases.createMigrated()) {
      database.execute(conditionCheckedBeforeTheLock());
      // Write skew needs an unlucky interleaving: four nodes, so that more appends overlap, in
      // short
      // rounds until one shows it.
      List<String> violations = List.of();
      for (int round = 0;
          round < 6 && violations.stream().noneMatch(v -> v.startsWith("I1:"));
          round++) {
        violations =
            HistoryChecker.check(run(database, Duration.ofSeconds(5), 4, 0, builder -> builder));
      }
      System.out.printf(
          "History checker on the broken engine: %d violations, e.g. %s%n",
          violations.size(), violations.stream().limit(2).toList());
      assertThat(violations).anyMatch(v -> v.startsWith("I1:"));
    }
  }

  /**
   * Runs the writers, readers and subscribers on {@code nodeCount} store instances, each with its
   * own pool.
   */
  private static History run(
      TestDatabase database,
      Duration duration,
      int nodeCount,
      int subscribers,
      UnaryOperator<EventStoreBuilder> options)
      throws InterruptedException {
    var nodes = new ArrayList<EventStore>();
    try {
      for (int node = 0; node < nodeCount; node++) {
        nodes.add(
            options
                .apply(EventStore.builder().maxPoolSize(6).readBatchSize(20))
                .forUrl(database.jdbcUrl()));
      }
      return new HistoryRun(nodes, SEED, 8, 2, 2, 2, subscribers).run(duration);
    } finally {
      nodes.forEach(EventStore::close);
    }
  }

  /**
   * The shipped append functions with the lock moved after the condition check: appends never
   * queue, and each group takes the lock only once its conditions have been checked.
   */
  private static String conditionCheckedBeforeTheLock() {
    String sql =
        Migration.shipped().stream()
            .filter(m -> m.name().equals("0004_append_across_nodes"))
            .findFirst()
            .orElseThrow()
            .sql();
    String writeGroup =
        sql.substring(
            sql.indexOf("CREATE FUNCTION en57.write_group"), sql.indexOf("-- Writes the queued"));
    String append =
        sql.substring(
            sql.indexOf("CREATE FUNCTION en57.append("), sql.indexOf("-- Collects the outcome"));
    String afterConditions = "  FOR i IN 1 .. coalesce(array_length(p_dependencies";
    String tryLock = "IF NOT pg_try_advisory_xact_lock(1164850487, en57.log_key()) THEN";
    String lock = ",\n            pg_advisory_xact_lock(1164850487, en57.log_key());";
    String waitersLock = "PERFORM en57.begin_tenure();";
    assertThat(writeGroup).contains(afterConditions);
    assertThat(append).contains(tryLock, lock, waitersLock);
    return writeGroup
            .replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION")
            .replace(
                afterConditions,
                "  PERFORM pg_advisory_xact_lock(1164850487, en57.log_key());\n"
                    + "  base := (SELECT coalesce(max(e.position), 0) FROM en57.events e);\n"
                    + afterConditions)
        + ";\n"
        + append
            .replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION")
            .replace(tryLock, "IF false THEN")
            .replace(lock, ";")
            .replace(waitersLock, "");
  }
}
