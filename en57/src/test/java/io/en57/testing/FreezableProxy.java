package io.en57.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A TCP relay to a server that can be frozen: while frozen it holds every byte in both directions
 * without closing anything, as a server that stopped answering (SIGSTOP, a dead network path) looks
 * to a client. Tests point a store at {@link #port()} instead of the database.
 */
public final class FreezableProxy implements AutoCloseable {

  private final ServerSocket listener;
  private final String targetHost;
  private final int targetPort;
  private final List<Socket> sockets = new CopyOnWriteArrayList<>();
  private final Object gate = new Object();
  private boolean frozen;

  public FreezableProxy(String targetHost, int targetPort) {
    this.targetHost = targetHost;
    this.targetPort = targetPort;
    try {
      listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    daemon(this::accept, "proxy-accept");
  }

  /** The local port relaying to the target. */
  public int port() {
    return listener.getLocalPort();
  }

  /** Stops relaying, holding what arrives. */
  public void freeze() {
    synchronized (gate) {
      frozen = true;
    }
  }

  /** Relays again, including what was held. */
  public void thaw() {
    synchronized (gate) {
      frozen = false;
      gate.notifyAll();
    }
  }

  @Override
  public void close() {
    thaw();
    try {
      listener.close();
    } catch (IOException e) {
      // Closing anyway.
    }
    for (Socket socket : sockets) {
      try {
        socket.close();
      } catch (IOException e) {
        // Closing anyway.
      }
    }
  }

  private void accept() {
    while (!listener.isClosed()) {
      try {
        Socket client = listener.accept();
        Socket server = new Socket(targetHost, targetPort);
        sockets.add(client);
        sockets.add(server);
        daemon(() -> relay(client, server), "proxy-up");
        daemon(() -> relay(server, client), "proxy-down");
      } catch (IOException e) {
        // The listener was closed, or one connection failed; the others go on.
      }
    }
  }

  private void relay(Socket from, Socket to) {
    byte[] buffer = new byte[8192];
    try (InputStream in = from.getInputStream();
        OutputStream out = to.getOutputStream()) {
      for (int read = in.read(buffer); read >= 0; read = in.read(buffer)) {
        awaitThawed();
        out.write(buffer, 0, read);
        out.flush();
      }
    } catch (IOException | InterruptedException e) {
      // One side closed; close the other so the relay ends.
    } finally {
      try {
        from.close();
        to.close();
      } catch (IOException e) {
        // Closing anyway.
      }
    }
  }

  private void awaitThawed() throws InterruptedException {
    synchronized (gate) {
      while (frozen) {
        gate.wait();
      }
    }
  }

  private static void daemon(Runnable task, String name) {
    var thread = new Thread(task, name);
    thread.setDaemon(true);
    thread.start();
  }
}
