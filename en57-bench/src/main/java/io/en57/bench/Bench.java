package io.en57.bench;

import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.HelpCommand;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * The benchmark suite's command line: {@code list}, {@code run <name|all>} and {@code compare
 * <old.json> <new.json>}. Run it with
 *
 * <pre>
 * ./mvnw -q -DskipTests package -pl en57-bench -am &amp;&amp; java -jar en57-bench/target/en57-bench.jar run all
 * </pre>
 *
 * <p>Without {@code DATABASE_URL} it starts an embedded PostgreSQL with fixed, durable settings;
 * with it, it creates (and drops) its databases on that server.
 */
@Command(
    name = "bench",
    mixinStandardHelpOptions = true,
    description = "The En57 benchmark suite.",
    subcommands = {
      Bench.ListCommand.class,
      RunCommand.class,
      CompareCommand.class,
      StreamWorker.class,
      FollowWorker.class,
      HelpCommand.class
    })
public final class Bench {

  private Bench() {}

  public static void main(String[] args) {
    System.exit(new CommandLine(new Bench()).execute(args));
  }

  /** Prints the scenarios' names and what each measures. */
  @Command(name = "list", description = "Lists the scenarios.")
  static final class ListCommand implements Callable<Integer> {

    @Spec CommandSpec spec;

    @Override
    public Integer call() {
      var out = spec.commandLine().getOut();
      int width = Scenario.all().stream().mapToInt(s -> s.name().length()).max().orElse(0);
      for (Scenario scenario : Scenario.all()) {
        out.printf("%-" + width + "s  %s%n", scenario.name(), scenario.description());
      }
      out.flush();
      return 0;
    }
  }
}
