package io.en57.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A TCP relay to a server that can be frozen: while frozen it holds every byte in both directions
 * without closing anything, as a server that stopped answering (SIGSTOP, a dead network path) looks
 * to a client; or {@link #cutOff()} the connections open now. Tests point a store at {@link
 * #port()} instead of the database.
 */
public final class FreezableProxy implements AutoCloseable {

  private final ServerSocket listener;
  private final String targetHost;
  private final int targetPort;
  private final List<Link> links = new CopyOnWriteArrayList<>();
  private final Set<Socket> cut = ConcurrentHashMap.newKeySet();
  private final Object gate = new Object();
  private boolean frozen;
  private boolean closed;

  /** One relayed connection: the client's end, and the end towards the server. */
  private record Link(Socket client, Socket server) {}

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

  /**
   * Cuts the connections open now off without a word to their clients: the server's ends are
   * closed, as a server closes a connection whose client it stopped hearing from, while the
   * clients' ends stay open and silent, holding what arrives, as after a network path died. New
   * connections relay.
   */
  public void cutOff() {
    for (Link link : links) {
      cut.add(link.client());
      closeQuietly(link.server());
    }
  }

  @Override
  public void close() {
    synchronized (gate) {
      closed = true;
    }
    thaw();
    try {
      listener.close();
    } catch (IOException e) {
      // Closing anyway.
    }
    for (Link link : links) {
      closeQuietly(link.client());
      closeQuietly(link.server());
    }
  }

  private void accept() {
    while (!listener.isClosed()) {
      try {
        Socket client = listener.accept();
        Socket server = new Socket(targetHost, targetPort);
        links.add(new Link(client, server));
        daemon(() -> relay(client, server), "proxy-up");
        daemon(() -> relay(server, client), "proxy-down");
      } catch (IOException e) {
        // The listener was closed, or one connection failed; the others go on.
      }
    }
  }

  private void relay(Socket from, Socket to) {
    byte[] buffer = new byte[8192];
    try {
      InputStream in = from.getInputStream();
      OutputStream out = to.getOutputStream();
      for (int read = in.read(buffer); read >= 0; read = in.read(buffer)) {
        awaitRelaying(from, to);
        out.write(buffer, 0, read);
        out.flush();
      }
    } catch (IOException | InterruptedException e) {
      // One side closed; close the other so the relay ends.
    } finally {
      // A client cut off hears nothing, not even that the server's end closed.
      if (!cut.contains(from)) {
        closeQuietly(from);
      }
      if (!cut.contains(to)) {
        closeQuietly(to);
      }
    }
  }

  private static void closeQuietly(Socket socket) {
    try {
      socket.close();
    } catch (IOException e) {
      // Closing anyway.
    }
  }

  /**
   * Waits while frozen, and for good once either end was cut off: a reply the server sent after the
   * cut, which this thread read only because it was not yet told that the server's end closed,
   * never reaches the client.
   */
  private void awaitRelaying(Socket from, Socket to) throws InterruptedException, IOException {
    synchronized (gate) {
      while ((frozen || cut.contains(from) || cut.contains(to)) && !closed) {
        gate.wait();
      }
      if (closed) {
        throw new IOException("the proxy is closed");
      }
    }
  }

  private static void daemon(Runnable task, String name) {
    var thread = new Thread(task, name);
    thread.setDaemon(true);
    thread.start();
  }
}
