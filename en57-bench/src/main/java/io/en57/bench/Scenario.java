package io.en57.bench;

import io.en57.bench.Results.ScenarioResult;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** A named benchmark: runs in fresh databases of the server and returns its table rows. */
interface Scenario {

  String name();

  /** One line for {@code list}. */
  String description();

  ScenarioResult run(Context context) throws Exception;

  /** Every scenario, in the order {@code run all} runs them. */
  static List<Scenario> all() {
    var all = new ArrayList<Scenario>(AppendWorkloads.scenarios());
    all.addAll(ReadWorkloads.scenarios());
    all.add(new DecisionModelLoop());
    all.add(new ConditionalAppends());
    all.addAll(FollowWorkloads.scenarios());
    all.add(new RelayWorkloads());
    all.add(new ReplicaReads());
    return all;
  }

  /**
   * What a scenario runs with.
   *
   * @param runs measured runs
   * @param warmups discarded runs before them
   * @param events stored events for the read scenarios
   * @param duration the length of one run of the throughput scenarios
   * @param threads thread counts overriding the throughput scenarios' own; empty for theirs
   * @param out where progress goes
   */
  record Context(
      Server server,
      int runs,
      int warmups,
      int events,
      Duration duration,
      List<Integer> threads,
      PrintStream out) {

    /** {@code threads} when given, else {@code defaults}. */
    List<Integer> threadsOr(List<Integer> defaults) {
      return threads.isEmpty() ? defaults : threads;
    }

    void progress(String format, Object... args) {
      out.printf("  " + format + "%n", args);
    }
  }
}
