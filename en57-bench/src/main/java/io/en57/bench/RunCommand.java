package io.en57.bench;

import io.en57.bench.Results.Environment;
import io.en57.bench.Results.ScenarioResult;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * Runs one scenario or all of them: prints the environment, each scenario's table rows as it
 * finishes, then every table and the targets, and writes the results as JSON and Markdown.
 */
@Command(
    name = "run",
    description = {
      "Runs a scenario (see list), or all of them, each in fresh databases.",
      "Uses the server DATABASE_URL names, else an embedded PostgreSQL with durable settings."
    })
final class RunCommand implements Callable<Integer> {

  static final int DEFAULT_EVENTS = 1_000_000;
  static final int LARGE_EVENTS = 10_000_000;

  @Spec CommandSpec spec;

  @Parameters(paramLabel = "NAME", description = "a scenario name, or all")
  String name;

  @Option(names = "--runs", defaultValue = "5", description = "measured runs (${DEFAULT-VALUE})")
  int runs;

  @Option(
      names = "--warmups",
      defaultValue = "2",
      description = "discarded warm-up runs before them (${DEFAULT-VALUE})")
  int warmups;

  @Option(
      names = "--events",
      defaultValue = "1000000",
      description = "stored events for the read scenarios (${DEFAULT-VALUE})")
  int events;

  @Option(names = "--large", description = "10,000,000 stored events for the read scenarios")
  boolean large;

  @Option(
      names = "--duration",
      defaultValue = "3",
      paramLabel = "SECONDS",
      description = "length of one run of the throughput scenarios (${DEFAULT-VALUE})")
  double durationSeconds;

  @Option(
      names = "--threads",
      split = ",",
      paramLabel = "N",
      description = "thread counts for decision-loop and conditional-single-event-appends")
  List<Integer> threads = new ArrayList<>();

  @Option(
      names = "--out",
      paramLabel = "FILE",
      description = "results JSON (bench-results/<timestamp>.json); Markdown next to it as .md")
  Path out;

  @Option(
      names = "--data-dir",
      defaultValue = "target/bench-postgres",
      description = "the embedded server's data directory (${DEFAULT-VALUE})")
  Path dataDirectory;

  @Option(
      names = "--server-setting",
      paramLabel = "NAME=VALUE",
      description = {
        "an embedded-server setting on top of the fixed ones, for experiments (repeatable);",
        "printed with the others"
      })
  Map<String, String> serverSettings = new LinkedHashMap<>();

  @Override
  public Integer call() throws Exception {
    List<Scenario> scenarios = select();
    if (runs < 1 || warmups < 0 || durationSeconds <= 0 || events < 20) {
      throw new ParameterException(
          spec.commandLine(), "--runs ≥ 1, --warmups ≥ 0, --duration > 0 and --events ≥ 20");
    }
    int storedEvents = large ? LARGE_EVENTS : events;
    Path json = out != null ? out : defaultOut();
    Path markdown =
        json.resolveSibling(json.getFileName().toString().replaceAll("\\.json$", "") + ".md");
    PrintStream console = System.out;
    var results = new ArrayList<ScenarioResult>();
    boolean failed = false;
    try (Server server =
        Server.start(System.getenv("DATABASE_URL"), dataDirectory, serverSettings)) {
      Environment environment = environment(server);
      console.println("## En57 benchmarks\n");
      console.println(Report.environment(environment));
      var context =
          new Scenario.Context(
              server,
              runs,
              warmups,
              storedEvents,
              Duration.ofMillis(Math.round(durationSeconds * 1000)),
              threads,
              console);
      for (Scenario scenario : scenarios) {
        console.printf("%n== %s: %s%n", scenario.name(), scenario.description());
        try {
          ScenarioResult result = scenario.run(context);
          results.add(result);
          console.printf("   (%.0f s)%n", result.seconds());
          console.print(Report.table(result.table(), result.rows()));
          if (!result.targets().isEmpty()) {
            console.print(Report.targets(result.targets()));
          }
        } catch (Exception e) {
          failed = true;
          console.println("FAILED: " + e);
          e.printStackTrace(console);
        }
        console.flush();
      }
      var all = new Results(environment, results);
      String report =
          "## En57 benchmarks\n\n"
              + Report.environment(environment)
              + "\n"
              + Report.tables(results);
      console.println();
      console.println(report);
      all.write(json);
      Files.writeString(markdown, report);
      console.println("Results: " + json + " and " + markdown);
    }
    return failed ? 1 : 0;
  }

  private List<Scenario> select() {
    if (name.equals("all")) {
      return Scenario.all();
    }
    List<Scenario> named = Scenario.all().stream().filter(s -> s.name().equals(name)).toList();
    if (named.isEmpty()) {
      throw new ParameterException(
          spec.commandLine(),
          "Unknown scenario: "
              + name
              + "; one of all, "
              + String.join(", ", Scenario.all().stream().map(Scenario::name).toList()));
    }
    return named;
  }

  private static Path defaultOut() {
    String stamp = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
    return Path.of("bench-results", stamp + ".json");
  }

  private Environment environment(Server server) {
    var runtime = ManagementFactory.getRuntimeMXBean();
    String jvm =
        System.getProperty("java.vm.name")
            + " "
            + System.getProperty("java.runtime.version")
            + " ("
            + String.join(" ", runtime.getInputArguments())
            + ")";
    long memory =
        ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
            .getTotalMemorySize();
    return new Environment(
        OffsetDateTime.now().truncatedTo(ChronoUnit.SECONDS).toString(),
        "bench " + String.join(" ", spec.commandLine().getParseResult().originalArgs()),
        revision(),
        cpuModel() + String.format(Locale.ROOT, ", %.1f GiB RAM", memory / (double) (1L << 30)),
        Runtime.getRuntime().availableProcessors(),
        System.getProperty("os.name")
            + " "
            + System.getProperty("os.version")
            + " "
            + System.getProperty("os.arch"),
        jvm,
        server.version(),
        server.description(),
        server.settings());
  }

  private static String revision() {
    try {
      Process git =
          new ProcessBuilder("git", "describe", "--always", "--dirty")
              .redirectError(ProcessBuilder.Redirect.DISCARD)
              .start();
      String revision = new String(git.getInputStream().readAllBytes()).strip();
      return git.waitFor() == 0 && !revision.isEmpty() ? revision : "unknown";
    } catch (IOException e) {
      return "unknown";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "unknown";
    }
  }

  private static String cpuModel() {
    try (Stream<String> lines = Files.lines(Path.of("/proc/cpuinfo"))) {
      return lines
          .filter(line -> line.startsWith("model name"))
          .map(line -> line.substring(line.indexOf(':') + 1).strip())
          .findFirst()
          .orElse("unknown CPU");
    } catch (IOException e) {
      return "unknown CPU";
    }
  }
}
