package io.en57.cli;

import io.en57.En57Exception;
import io.en57.Migrator;
import io.en57.subscriptions.ProjectionState;
import io.en57.subscriptions.ProjectionStatus;
import io.en57.subscriptions.Projections;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code en57 projections}: every projection segment with its checkpoint, lag behind the head,
 * state and owner; {@code en57 projections reset NAME [--to POSITION]} moves one back (or forward).
 */
@Command(
    name = "projections",
    mixinStandardHelpOptions = true,
    versionProvider = Version.class,
    description = {
      "Lists the projections: name, segment, checkpoint (the position applied up to), lag behind"
          + " the head, state (RUNNING, STOPPED or FAILED) and owner.",
      "Exit code 0, or 1 when a projection is FAILED (its error is printed below the table)."
    },
    subcommands = {ProjectionsCommand.Reset.class})
final class ProjectionsCommand extends DatabaseCommand {

  private static final List<String> HEADER =
      List.of("NAME", "SEGMENT", "CHECKPOINT", "LAG", "STATE", "OWNER");

  @Override
  int run(Migrator migrator, PrintWriter out) {
    List<ProjectionStatus> segments;
    try {
      segments = Projections.forUrl(url).withSchema(schema).list();
    } catch (En57Exception e) {
      return failure(spec, e);
    }
    if (segments.isEmpty()) {
      out.println("No projections.");
      return 0;
    }
    var rows = new ArrayList<List<String>>();
    rows.add(HEADER);
    for (ProjectionStatus segment : segments) {
      rows.add(
          List.of(
              segment.name(),
              segment.segments() == 1 ? "-" : segment.segment() + "/" + segment.segments(),
              Long.toString(segment.checkpoint()),
              Long.toString(segment.lag()),
              segment.state().name(),
              segment.owner().orElse("-")));
    }
    print(rows, out);
    boolean failed = false;
    for (ProjectionStatus segment : segments) {
      if (segment.state() == ProjectionState.FAILED) {
        failed = true;
        out.println();
        out.println(
            "FAILED "
                + segment.name()
                + (segment.segments() == 1 ? "" : " segment " + segment.segment())
                + ": "
                + segment.error().map(ProjectionsCommand::firstLine).orElse("no error recorded"));
        out.println("  Fix the cause, then resume where it stopped: " + resume(schema, segment));
      }
    }
    return failed ? FAILURE : 0;
  }

  private static void print(List<List<String>> rows, PrintWriter out) {
    int[] widths = new int[HEADER.size()];
    for (List<String> row : rows) {
      for (int i = 0; i < widths.length; i++) {
        widths[i] = Math.max(widths[i], row.get(i).length());
      }
    }
    for (List<String> row : rows) {
      var line = new StringBuilder();
      for (int i = 0; i < widths.length; i++) {
        boolean number = i == 2 || i == 3;
        String cell = row.get(i);
        String pad = " ".repeat(widths[i] - cell.length());
        line.append(number && row != rows.get(0) ? pad + cell : cell + pad);
        if (i < widths.length - 1) {
          line.append("  ");
        }
      }
      out.println(line.toString().stripTrailing());
    }
  }

  /**
   * The command that resumes a FAILED projection where it stopped, in the log in {@code schema}.
   */
  static String resume(String schema, ProjectionStatus segment) {
    return "en57 projections reset "
        + segment.name()
        + " --to "
        + segment.checkpoint()
        + schemaOption(schema);
  }

  private static String firstLine(String text) {
    int end = text.indexOf('\n');
    return (end < 0 ? text : text.substring(0, end)).strip();
  }

  /** {@code en57 projections reset NAME [--to POSITION]}. */
  @Command(
      name = "reset",
      mixinStandardHelpOptions = true,
      versionProvider = Version.class,
      description = {
        "Moves every segment of projection NAME to POSITION (0, a rebuild, by default) and clears"
            + " a FAILED state. The runner that owns it next undoes the read model with the"
            + " projection's reset handler, then applies the events after POSITION.",
        "Current owners stop at once; a batch being applied finishes first."
      })
  static final class Reset implements Callable<Integer> {

    @Spec CommandSpec spec;

    /** Holds --url and --schema: picocli sets them there, given before or after "reset". */
    @ParentCommand ProjectionsCommand projections;

    @Parameters(paramLabel = "NAME", description = "the projection")
    String name;

    @Option(
        names = "--to",
        paramLabel = "POSITION",
        defaultValue = "0",
        description = "the position to resume after (${DEFAULT-VALUE}: rebuild from the start)")
    long position;

    @Override
    public Integer call() {
      return projections.call(spec, (migrator, out) -> reset(out));
    }

    private int reset(PrintWriter out) {
      try {
        Projections.forUrl(projections.url).withSchema(projections.schema).reset(name, position);
      } catch (En57Exception e) {
        return failure(spec, e);
      }
      out.println(
          "Projection "
              + name
              + (position == 0
                  ? " will be rebuilt from the start"
                  : " reset to position " + position)
              + "; its runner applies the reset when it next owns it.");
      return 0;
    }
  }
}
