package io.en57.bench;

import io.en57.bench.Results.Better;
import io.en57.bench.Results.Figure;
import io.en57.bench.Results.ScenarioResult;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Each figure of a results file against the same figure of an earlier one. A change is a regression
 * when it goes the wrong way (a lower rate, a higher latency) by more than the threshold; figures
 * that only give context never regress, and figures present in one file only are listed, not
 * judged.
 */
final class Comparison {

  private Comparison() {}

  /**
   * One figure, before and after.
   *
   * @param before null when the earlier file lacks the figure
   * @param after null when the later file lacks it
   * @param percent the change relative to {@code before}; null when either side is missing or
   *     {@code before} is zero
   */
  record Change(
      String scenario,
      String figure,
      String unit,
      Double before,
      Double after,
      Double percent,
      boolean regression) {}

  static List<Change> compare(Results before, Results after, double thresholdPercent) {
    Map<String, Figure> earlier = index(before);
    Map<String, Figure> later = index(after);
    var changes = new ArrayList<Change>();
    later.forEach(
        (key, figure) -> changes.add(change(key, earlier.remove(key), figure, thresholdPercent)));
    earlier.forEach((key, figure) -> changes.add(change(key, figure, null, thresholdPercent)));
    return changes;
  }

  private static Change change(String key, Figure before, Figure after, double threshold) {
    Figure known = after != null ? after : before;
    String[] parts = key.split("\u0000", 2);
    Double percent = null;
    boolean regression = false;
    if (before != null && after != null && before.value() != 0) {
      percent = (after.value() - before.value()) / Math.abs(before.value()) * 100;
      regression =
          (known.better() == Better.HIGHER && percent < -threshold)
              || (known.better() == Better.LOWER && percent > threshold);
    }
    return new Change(
        parts[0],
        parts[1],
        known.unit(),
        before == null ? null : before.value(),
        after == null ? null : after.value(),
        percent,
        regression);
  }

  private static Map<String, Figure> index(Results results) {
    var figures = new LinkedHashMap<String, Figure>();
    for (ScenarioResult scenario : results.scenarios()) {
      for (Figure figure : scenario.figures()) {
        figures.put(scenario.name() + "\u0000" + figure.name(), figure);
      }
    }
    return figures;
  }

  /** The changes as a Markdown table, regressions flagged. */
  static String format(List<Change> changes, double thresholdPercent) {
    var out = new StringBuilder("| Scenario | Figure | Before | After | Change | |\n");
    out.append("|---|---|---:|---:|---:|---|\n");
    for (Change change : changes) {
      out.append("| ")
          .append(change.scenario())
          .append(" | ")
          .append(change.figure())
          .append(" | ")
          .append(value(change.before(), change.unit()))
          .append(" | ")
          .append(value(change.after(), change.unit()))
          .append(" | ")
          .append(
              change.percent() == null
                  ? "—"
                  : String.format(Locale.ROOT, "%+.1f%%", change.percent()))
          .append(" | ")
          .append(flag(change, thresholdPercent))
          .append(" |\n");
    }
    return out.toString();
  }

  private static String flag(Change change, double thresholdPercent) {
    if (change.regression()) {
      return String.format(Locale.ROOT, "**REGRESSION** (beyond %.0f%%)", thresholdPercent);
    }
    if (change.before() == null) {
      return "new";
    }
    return change.after() == null ? "gone" : "";
  }

  private static String value(Double value, String unit) {
    return value == null ? "—" : String.format(Locale.ROOT, "%,.3f %s", value, unit);
  }
}
