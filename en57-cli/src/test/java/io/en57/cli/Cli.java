package io.en57.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;

/** Runs the command line and captures what it prints. */
final class Cli {

  /** The exit code and the output of one run. */
  record Result(int exitCode, String out, String err) {}

  private Cli() {}

  /** Runs in this JVM; the URL default comes from this JVM's environment. */
  static Result run(String... args) {
    var out = new StringWriter();
    var err = new StringWriter();
    int exitCode =
        new CommandLine(new En57Command())
            .setOut(new PrintWriter(out, true))
            .setErr(new PrintWriter(err, true))
            .execute(args);
    return new Result(exitCode, out.toString(), err.toString());
  }

  /**
   * Runs {@code main} in a new JVM with {@code DATABASE_URL} removed from the environment, then set
   * to {@code environment}'s entries: the only way to control what {@code ${env:...}} sees.
   */
  static Result runInNewJvm(Map<String, String> environment, String... args) {
    var command = new ArrayList<String>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(List.of("-cp", System.getProperty("java.class.path")));
    command.add(En57Command.class.getName());
    command.addAll(List.of(args));
    var builder = new ProcessBuilder(command);
    builder.environment().remove("DATABASE_URL");
    builder.environment().putAll(environment);
    try {
      Process process = builder.start();
      process.getOutputStream().close();
      CompletableFuture<String> err =
          CompletableFuture.supplyAsync(() -> readAll(process.getErrorStream()));
      String out = readAll(process.getInputStream());
      if (!process.waitFor(60, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        throw new AssertionError("en57 " + String.join(" ", args) + " did not exit in 60 s");
      }
      return new Result(process.exitValue(), out, err.join());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  private static String readAll(InputStream in) {
    try (in) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
