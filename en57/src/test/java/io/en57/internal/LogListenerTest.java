package io.en57.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.en57.testing.TestDatabases;
import io.en57.testing.TestDatabases.TestDatabase;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.sql.DriverManager;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class LogListenerTest {

  private static TestDatabase database;

  @BeforeAll
  static void createDatabase() {
    database = TestDatabases.create();
  }

  @AfterAll
  static void dropDatabase() {
    database.close();
  }

  @Test
  void aConnectionWhosePeerFallsSilentIsReplacedWithinItsCheck() throws Exception {
    try (var proxy = new SilencingProxy(database.dataSource().getPortNumbers()[0])) {
      var opened = new AtomicInteger();
      String direct = database.jdbcUrl();
      String proxied = direct.replaceFirst("//[^/]+/", "//127.0.0.1:" + proxy.port() + "/");
      var listener =
          new LogListener(
              () -> DriverManager.getConnection(opened.incrementAndGet() == 1 ? proxied : direct),
              "en57_listener_test",
              new LogSignal(),
              Duration.ofMillis(100));
      listener.start();
      try {
        awaitAtLeast(opened, 1, Duration.ofSeconds(10));
        Thread.sleep(1_000); // LISTEN went through the proxy
        proxy.fallSilent();

        // The check runs every 10 s and may wait 10 s more; without a limit it waited minutes.
        awaitAtLeast(opened, 2, Duration.ofSeconds(40));
      } finally {
        listener.close();
      }
    }
  }

  private static void awaitAtLeast(AtomicInteger count, int expected, Duration patience)
      throws InterruptedException {
    long deadline = System.nanoTime() + patience.toNanos();
    while (count.get() < expected && System.nanoTime() < deadline) {
      Thread.sleep(50);
    }
    assertThat(count.get()).as("connections opened").isGreaterThanOrEqualTo(expected);
  }

  /**
   * Forwards one TCP connection to the server until told to fall silent: then it keeps both sockets
   * open and passes nothing on, as a peer that vanished without closing anything.
   */
  private static final class SilencingProxy implements AutoCloseable {

    private final ServerSocket server;
    private final int target;
    private volatile boolean silent;

    SilencingProxy(int target) throws IOException {
      this.server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
      this.target = target;
      Thread acceptor = new Thread(this::accept, "silencing-proxy");
      acceptor.setDaemon(true);
      acceptor.start();
    }

    int port() {
      return server.getLocalPort();
    }

    void fallSilent() {
      silent = true;
    }

    private void accept() {
      try {
        Socket client = server.accept();
        Socket upstream = new Socket(InetAddress.getLoopbackAddress(), target);
        pump(client.getInputStream(), upstream.getOutputStream());
        pump(upstream.getInputStream(), client.getOutputStream());
      } catch (IOException e) {
        // Closed.
      }
    }

    private void pump(InputStream from, OutputStream to) {
      Thread thread =
          new Thread(
              () -> {
                byte[] buffer = new byte[8192];
                try {
                  for (int n; (n = from.read(buffer)) >= 0; ) {
                    if (silent) {
                      TimeUnit.DAYS.sleep(1);
                    }
                    to.write(buffer, 0, n);
                    to.flush();
                  }
                } catch (IOException | InterruptedException e) {
                  // Closed.
                }
              },
              "silencing-proxy-pump");
      thread.setDaemon(true);
      thread.start();
    }

    @Override
    public void close() throws IOException {
      server.close();
    }
  }
}
