package io.en57.bench;

import io.en57.bench.Results.Environment;
import io.en57.bench.Results.ScenarioResult;
import io.en57.bench.Results.Table;
import io.en57.bench.Results.Target;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/** Formats results as Markdown, ready to paste into the README. */
final class Report {

  private Report() {}

  /** The machine, JVM, server and command, as a bullet list. */
  static String environment(Environment environment) {
    String settings =
        environment.settings().entrySet().stream()
            .map(e -> e.getKey() + "=" + e.getValue())
            .collect(Collectors.joining(", "));
    return String.join(
        "\n",
        "- Date: " + environment.date(),
        "- Command: `" + environment.command() + "`",
        "- Revision: " + environment.revision(),
        "- Machine: " + environment.machine() + ", " + environment.cores() + " cores",
        "- OS: " + environment.os(),
        "- JVM: " + environment.jvm(),
        "- PostgreSQL: " + environment.postgres() + " (" + environment.server() + ")",
        "- Server settings: " + settings,
        "");
  }

  /** Every table that has rows, then the targets. */
  static String tables(List<ScenarioResult> results) {
    var out = new StringBuilder();
    for (Table table : Table.values()) {
      List<List<String>> rows =
          results.stream().filter(r -> r.table() == table).flatMap(r -> r.rows().stream()).toList();
      if (!rows.isEmpty()) {
        out.append("### ").append(table.title).append("\n\n").append(table(table, rows));
        out.append('\n');
      }
    }
    List<Target> targets = results.stream().flatMap(r -> r.targets().stream()).toList();
    if (!targets.isEmpty()) {
      out.append("### Targets\n\n").append(targets(targets));
    }
    return out.toString();
  }

  /** One table's header and rows, columns padded so that the text lines up too. */
  static String table(Table table, List<List<String>> rows) {
    var header = table.columns;
    int[] widths = new int[header.size()];
    for (int i = 0; i < widths.length; i++) {
      widths[i] = Math.max(3, header.get(i).length());
      for (List<String> row : rows) {
        widths[i] = Math.max(widths[i], row.get(i).length());
      }
    }
    var out = new StringBuilder(line(header, widths, table.labelColumns));
    var rule = new ArrayList<String>();
    for (int i = 0; i < widths.length; i++) {
      rule.add(i < table.labelColumns ? "-".repeat(widths[i]) : "-".repeat(widths[i] - 1) + ":");
    }
    out.append(line(rule, widths, widths.length));
    rows.forEach(row -> out.append(line(row, widths, table.labelColumns)));
    return out.toString();
  }

  static String targets(List<Target> targets) {
    var out = new StringBuilder("| Target | Measured | Met |\n|---|---:|---|\n");
    for (Target target : targets) {
      out.append("| ")
          .append(target.description())
          .append(" | ")
          .append(target.measured())
          .append(" | ")
          .append(target.met() ? "yes" : "**no**")
          .append(" |\n");
    }
    return out.toString();
  }

  private static String line(List<String> cells, int[] widths, int leftAligned) {
    var out = new StringBuilder("|");
    for (int i = 0; i < cells.size(); i++) {
      String cell = cells.get(i);
      String pad = " ".repeat(widths[i] - cell.length());
      out.append(' ').append(i < leftAligned ? cell + pad : pad + cell).append(" |");
    }
    return out.append('\n').toString();
  }

  static String ms(double millis) {
    return String.format(Locale.ROOT, millis < 10 ? "%.3f" : "%.1f", millis);
  }

  static String rate(double perSecond) {
    return String.format(Locale.ROOT, "%,.0f", perSecond);
  }

  /** Microseconds, whole; a dash where not measured. */
  static String micros(double micros) {
    return Double.isNaN(micros) ? "–" : rate(micros);
  }

  static String ratio(double ratio) {
    return String.format(Locale.ROOT, "%.2f", ratio);
  }

  static String threads(int threads) {
    return threads == 1 ? "1 thread" : threads + " threads";
  }

  static String count(long count) {
    return String.format(Locale.ROOT, "%,d", count);
  }
}
