package io.en57.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.offset;
import static org.assertj.core.api.Assertions.tuple;

import io.en57.bench.Comparison.Change;
import io.en57.bench.Results.Better;
import io.en57.bench.Results.Environment;
import io.en57.bench.Results.Figure;
import io.en57.bench.Results.ScenarioResult;
import io.en57.bench.Results.Table;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ComparisonTest {

  @Test
  void aLowerRateBeyondTheThresholdIsARegression() {
    Change change =
        only(
            compare(
                figure("events/s", 1000, Better.HIGHER),
                figure("events/s", 850, Better.HIGHER),
                10));

    assertThat(change.percent()).isCloseTo(-15.0, offset(1e-9));
    assertThat(change.regression()).isTrue();
  }

  @Test
  void aLowerRateWithinTheThresholdIsNot() {
    Change change =
        only(
            compare(
                figure("events/s", 1000, Better.HIGHER),
                figure("events/s", 950, Better.HIGHER),
                10));

    assertThat(change.regression()).isFalse();
  }

  @Test
  void aHigherLatencyBeyondTheThresholdIsARegressionAndALowerOneIsNot() {
    assertThat(
            only(compare(figure("p99", 1.0, Better.LOWER), figure("p99", 1.2, Better.LOWER), 10))
                .regression())
        .isTrue();
    assertThat(
            only(compare(figure("p99", 1.0, Better.LOWER), figure("p99", 0.5, Better.LOWER), 10))
                .regression())
        .isFalse();
  }

  @Test
  void aHigherRateIsAnImprovement() {
    assertThat(
            only(compare(
                    figure("events/s", 1000, Better.HIGHER),
                    figure("events/s", 2000, Better.HIGHER),
                    10))
                .regression())
        .isFalse();
  }

  @Test
  void contextFiguresNeverRegress() {
    assertThat(
            only(compare(
                    figure("raw events/s", 1000, Better.NEITHER),
                    figure("raw events/s", 10, Better.NEITHER),
                    10))
                .regression())
        .isFalse();
  }

  @Test
  void figuresInOneFileOnlyAreListedNotJudged() {
    List<Change> changes =
        Comparison.compare(
            results(
                new ScenarioResult(
                    "a",
                    Table.APPENDS,
                    1,
                    List.of(),
                    List.of(new Figure("gone", 1, "ms", Better.LOWER)),
                    List.of())),
            results(
                new ScenarioResult(
                    "a",
                    Table.APPENDS,
                    1,
                    List.of(),
                    List.of(new Figure("new", 1, "ms", Better.LOWER)),
                    List.of())),
            10);

    assertThat(changes)
        .extracting(Change::figure, Change::before, Change::after, Change::regression)
        .containsExactly(tuple("new", null, 1.0, false), tuple("gone", 1.0, null, false));
  }

  @Test
  void sameFigureNamesInDifferentScenariosAreDistinct() {
    List<Change> changes =
        Comparison.compare(
            results(
                scenario("a", figure("events/s", 100, Better.HIGHER)),
                scenario("b", figure("events/s", 100, Better.HIGHER))),
            results(
                scenario("a", figure("events/s", 100, Better.HIGHER)),
                scenario("b", figure("events/s", 50, Better.HIGHER))),
            10);

    assertThat(changes)
        .extracting(Change::scenario, Change::regression)
        .containsExactly(tuple("a", false), tuple("b", true));
  }

  @Test
  void resultsSurviveTheirJsonFile(@TempDir Path directory) throws Exception {
    Results written = results(scenario("a", figure("events/s", 1234.5, Better.HIGHER)));
    Path file = directory.resolve("results.json");

    written.write(file);

    assertThat(Results.read(file)).isEqualTo(written);
    assertThat(Comparison.compare(written, Results.read(file), 10)).noneMatch(Change::regression);
  }

  private static List<Change> compare(Figure before, Figure after, double threshold) {
    return Comparison.compare(
        results(scenario("s", before)), results(scenario("s", after)), threshold);
  }

  private static Change only(List<Change> changes) {
    assertThat(changes).hasSize(1);
    return changes.get(0);
  }

  private static Figure figure(String name, double value, Better better) {
    return new Figure(name, value, "unit", better);
  }

  private static ScenarioResult scenario(String name, Figure figure) {
    return new ScenarioResult(
        name, Table.APPENDS, 1.0, List.of(List.of("cell")), List.of(figure), List.of());
  }

  private static Results results(ScenarioResult... scenarios) {
    var environment =
        new Environment(
            "2026-01-01T00:00:00Z",
            "bench run all",
            "abc1234",
            "cpu",
            2,
            "os",
            "jvm",
            "18",
            "embedded",
            Map.of("fsync", "on"));
    return new Results(environment, List.of(scenarios));
  }
}
