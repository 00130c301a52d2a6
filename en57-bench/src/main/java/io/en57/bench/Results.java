package io.en57.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * What one run of the suite measured, as written to and read from its JSON file.
 *
 * @param environment the machine, JVM and server the numbers come from
 * @param scenarios the scenarios that completed, in the order they ran
 */
record Results(Environment environment, List<ScenarioResult> scenarios) {

  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  static Results read(Path file) throws IOException {
    return JSON.readValue(file.toFile(), Results.class);
  }

  void write(Path file) throws IOException {
    if (file.toAbsolutePath().getParent() != null) {
      Files.createDirectories(file.toAbsolutePath().getParent());
    }
    JSON.writeValue(file.toFile(), this);
  }

  /**
   * Where the numbers come from.
   *
   * @param revision the git revision of the checkout the suite ran in ({@code git describe --always
   *     --dirty}), "unknown" outside one
   * @param settings the server's effective settings, as {@code SHOW} reports them
   */
  record Environment(
      String date,
      String command,
      String revision,
      String machine,
      int cores,
      String os,
      String jvm,
      String postgres,
      String server,
      Map<String, String> settings) {}

  /**
   * One scenario's outcome.
   *
   * @param table the Markdown table its rows belong to
   * @param rows formatted cells, one list per table row
   * @param figures the numbers a later run is compared against
   * @param targets the targets this scenario checks
   */
  record ScenarioResult(
      String name,
      Table table,
      double seconds,
      List<List<String>> rows,
      List<Figure> figures,
      List<Target> targets) {}

  /**
   * One number. {@code better} says which direction is an improvement; figures that only give
   * context (a baseline's own rate, a spread) have {@link Better#NEITHER} and never regress.
   */
  record Figure(String name, double value, String unit, Better better) {}

  /** Which direction of change is an improvement. */
  enum Better {
    HIGHER,
    LOWER,
    NEITHER
  }

  /** A target from the issues, the value measured against it, and whether it was met. */
  record Target(String description, String measured, boolean met) {}

  /** The Markdown tables, each with its columns; the first {@code labelColumns} hold text. */
  enum Table {
    APPENDS(
        "Appends of 100 events (the original's workloads), next to a raw multi-row insert",
        1,
        "Scenario",
        "Writers",
        "Runs",
        "Appends",
        "Mean ms",
        "Stddev ms",
        "Min ms",
        "Max ms",
        "Median ms",
        "Retries",
        "Events/s",
        "Raw multi-row events/s",
        "÷ raw"),
    READS(
        "Reads and decisions, next to the same SQL through plain JDBC",
        3,
        "Scenario",
        "Stored events",
        "Figure",
        "En57",
        "Raw JDBC",
        "En57 ÷ raw",
        "Target"),
    DECISIONS(
        "The decision loop through the decision-model API, next to the same loop by hand",
        2,
        "Threads",
        "Figure",
        "Decision model",
        "By hand",
        "Model ÷ hand"),
    CONDITIONAL(
        "Conditional single-event appends, next to raw one-commit-per-event inserts",
        0,
        "Threads",
        "Stores",
        "Appends/s",
        "p50 ms",
        "p99 ms",
        "Raw commits/s",
        "Raw p50 ms",
        "Raw p99 ms",
        "Rate ÷ raw",
        "p50 ÷ raw",
        "JVM CPU µs/append",
        "Machine CPU µs/append",
        "JVM wait for a core µs/append",
        "Database wait for a core µs/append",
        "Appends per group",
        "Group write ms"),
    REPLICA(
        "Reads on a streaming replica, next to the same reads on the primary in the same run",
        3,
        "Scenario",
        "Stored events",
        "Figure",
        "Replica",
        "Primary",
        "Replica ÷ primary",
        "Target"),
    FOLLOW(
        "Following the log, next to a baseline measured in the same run",
        3,
        "Scenario",
        "Events",
        "Figure",
        "En57",
        "Baseline",
        "Baseline is",
        "En57 ÷ baseline",
        "Target");

    final String title;
    final int labelColumns;
    final List<String> columns;

    Table(String title, int labelColumns, String... columns) {
      this.title = title;
      this.labelColumns = labelColumns;
      this.columns = List.of(columns);
    }
  }
}
