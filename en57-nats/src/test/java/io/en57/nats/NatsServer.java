package io.en57.nats;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A {@code nats-server -js} of a test's own: on a free port of 127.0.0.1, with its own store
 * directory, stopped and started again on the same port and directory to restart the broker. The
 * binary is {@code $EN57_NATS_SERVER}, else {@code /usr/sbin/nats-server}; when it is missing,
 * starting fails (the tests that need it are tagged {@code nats} and never skip).
 */
final class NatsServer implements AutoCloseable {

  /** The variable naming the nats-server binary. */
  static final String BINARY_VARIABLE = "EN57_NATS_SERVER";

  /**
   * The variable naming a running JetStream-enabled server for the tests that do not restart it.
   */
  static final String URL_VARIABLE = "EN57_TEST_NATS_URL";

  private static final Duration START_TIMEOUT = Duration.ofSeconds(30);

  private final Path storeDirectory;
  private final int port;
  private final String externalUrl;
  private Process process;

  private NatsServer(Path storeDirectory, int port, String externalUrl) {
    this.storeDirectory = storeDirectory;
    this.port = port;
    this.externalUrl = externalUrl;
  }

  /** Starts a server with a new store directory on a free port. */
  static NatsServer start() {
    try {
      var server = new NatsServer(Files.createTempDirectory("en57-nats-"), freePort(), null);
      server.startProcess();
      return server;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * For tests that do not restart the broker: the server {@value #URL_VARIABLE} names, if set (the
   * tests then keep to streams of their own names), otherwise one of their own.
   */
  static NatsServer shared() {
    String url = System.getenv(URL_VARIABLE);
    return url != null && !url.isBlank() ? new NatsServer(null, 0, url) : start();
  }

  static String binary() {
    String binary = System.getenv(BINARY_VARIABLE);
    return binary != null && !binary.isBlank() ? binary : "/usr/sbin/nats-server";
  }

  String url() {
    return externalUrl != null ? externalUrl : "nats://127.0.0.1:" + port;
  }

  /** Stops the server as an operator would (SIGTERM: it shuts down cleanly) and waits. */
  void stop() {
    if (externalUrl != null) {
      throw new IllegalStateException("a server this test did not start cannot be stopped");
    }
    if (process == null) {
      return;
    }
    process.destroy();
    try {
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      process.destroyForcibly();
    }
    process = null;
  }

  /** Starts the server again after {@link #stop()}, on the same port and store directory. */
  void resume() {
    if (externalUrl != null) {
      throw new IllegalStateException("a server this test did not start cannot be restarted");
    }
    if (process == null) {
      startProcess();
    }
  }

  @Override
  public void close() {
    if (externalUrl != null) {
      return;
    }
    stop();

    try (Stream<Path> files = Files.walk(storeDirectory)) {
      files.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private void startProcess() {
    if (!Files.isExecutable(Path.of(binary()))) {
      throw new IllegalStateException(
          "no nats-server at "
              + binary()
              + " (set "
              + BINARY_VARIABLE
              + "); the tests tagged nats need one, `apt-get install nats-server`");
    }
    Path log = storeDirectory.resolve("server.log");
    int logged = read(log).length(); // a restart appends to the log of the runs before
    var command =
        List.of(
            binary(),
            "-js",
            "-a",
            "127.0.0.1",
            "-p",
            Integer.toString(port),
            "-sd",
            storeDirectory.resolve("jetstream").toString());
    try {
      process =
          new ProcessBuilder(command)
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
              .start();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new IllegalStateException("nats-server exited at start: " + read(log));
      }
      if (read(log).substring(logged).contains("Server is ready") && accepts()) {
        return;
      }
      sleep(20);
    }
    process.destroyForcibly();
    throw new IllegalStateException("nats-server did not start in " + START_TIMEOUT);
  }

  private boolean accepts() {
    try (var socket = new Socket()) {
      socket.connect(new InetSocketAddress("127.0.0.1", port), 200);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private static String read(Path log) {
    try {
      return Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static int freePort() throws IOException {
    try (var socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }
}
