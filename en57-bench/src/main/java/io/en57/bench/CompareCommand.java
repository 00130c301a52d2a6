package io.en57.bench;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** Prints each figure's change between two results files; exit code 1 on any regression. */
@Command(
    name = "compare",
    description = {
      "Compares a results file with an earlier one: each figure's change, regressions flagged.",
      "Exit code 1 if any figure got worse by more than the threshold."
    })
final class CompareCommand implements Callable<Integer> {

  @Spec CommandSpec spec;

  @Parameters(index = "0", paramLabel = "OLD", description = "the earlier results (JSON)")
  Path before;

  @Parameters(index = "1", paramLabel = "NEW", description = "the later results (JSON)")
  Path after;

  @Option(
      names = "--threshold",
      paramLabel = "PCT",
      defaultValue = "10",
      description =
          "a change for the worse beyond this percentage is a regression (${DEFAULT-VALUE})")
  double threshold;

  @Override
  public Integer call() throws Exception {
    Results earlier = Results.read(before);
    Results later = Results.read(after);
    List<Comparison.Change> changes = Comparison.compare(earlier, later, threshold);
    var out = spec.commandLine().getOut();
    out.println("Before: " + earlier.environment().date() + ", " + before);
    out.println("After:  " + later.environment().date() + ", " + after);
    out.println();
    out.print(Comparison.format(changes, threshold));
    long regressions = changes.stream().filter(Comparison.Change::regression).count();
    out.printf(
        "%n%d regression(s) beyond %.0f%% among %d figures.%n",
        regressions, threshold, changes.size());
    out.flush();
    return regressions == 0 ? 0 : 1;
  }
}
