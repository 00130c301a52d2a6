package io.en57.internal;

import io.en57.AppendLockTimeoutException;
import io.en57.DuplicateEventIdException;
import io.en57.internal.ForwardingWire.Hello;
import io.en57.internal.ForwardingWire.Reason;
import io.en57.internal.ForwardingWire.Reply;
import io.en57.internal.ForwardingWire.Request;
import io.en57.internal.ForwardingWire.Welcome;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Function;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLServerSocket;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Takes other nodes' appends and writes them through this node's group commit. Each connection
 * starts with the token this node publishes when it leads, and then carries one append at a time; a
 * thread serves each connection. Thread-safe.
 */
final class ForwardingServer {

  private static final Logger LOG = LoggerFactory.getLogger(ForwardingServer.class);

  /** Connections served at once; a node beyond them is turned away and appends directly. */
  static final int MAX_CONNECTIONS = 256;

  /** How long a new connection may take to say hello. */
  private static final int HELLO_TIMEOUT_MILLIS = 5_000;

  /** How long a connection may stay idle: well beyond how long followers keep one idle. */
  private static final int IDLE_TIMEOUT_MILLIS = 300_000;

  private static final long ACCEPT_PAUSE_NANOS = 100_000_000L;

  private final ServerSocket server;
  private final byte[] token;
  private final Function<AppendRequest, AppendOutcome> direct;
  private final long closeWaitMillis;
  private final Thread acceptor;
  private final Set<Peer> peers = new HashSet<>();
  private boolean closed;

  /** A connection, busy while its append is being written. Guarded by the server. */
  private static final class Peer {
    final Socket socket;
    Thread thread;
    boolean busy;

    Peer(Socket socket) {
      this.socket = socket;
    }
  }

  private ForwardingServer(
      ServerSocket server,
      String token,
      Function<AppendRequest, AppendOutcome> direct,
      long closeWaitMillis) {
    this.server = server;
    this.token = token.getBytes(StandardCharsets.UTF_8);
    this.direct = direct;
    this.closeWaitMillis = closeWaitMillis;
    this.acceptor = new Thread(this::accept, "en57-forwarding-accept");
    acceptor.setDaemon(true);
  }

  /**
   * Listens on {@code host}:{@code port} (0 for any free port), over TLS when {@code tls} is given
   * (nodes must then present a certificate it trusts), and serves appends through {@code direct}.
   * {@code closeWaitMillis} bounds how long {@link #close()} waits for appends being written.
   */
  static ForwardingServer start(
      String host,
      int port,
      SSLContext tls,
      String token,
      Function<AppendRequest, AppendOutcome> direct,
      long closeWaitMillis)
      throws IOException {
    ServerSocket socket =
        tls == null ? new ServerSocket() : tls.getServerSocketFactory().createServerSocket();
    if (socket instanceof SSLServerSocket secured) {
      secured.setNeedClientAuth(true);
    }
    try {
      socket.bind(new InetSocketAddress(host, port));
    } catch (IOException e) {
      socket.close();
      throw e;
    }
    var server = new ForwardingServer(socket, token, direct, closeWaitMillis);
    server.acceptor.start();
    return server;
  }

  /** The port listened on. */
  int port() {
    return server.getLocalPort();
  }

  /**
   * Stops taking connections, closes those between appends, and waits for the appends being written
   * to be answered.
   */
  void close() {
    var waitFor = new ArrayList<Thread>();
    synchronized (this) {
      closed = true;
      closeQuietly(server);
      for (Peer peer : peers) {
        if (peer.busy) {
          waitFor.add(peer.thread);
        } else {
          closeQuietly(peer.socket);
        }
      }
    }
    long deadline = System.currentTimeMillis() + closeWaitMillis;
    try {
      acceptor.join(closeWaitMillis);
      for (Thread thread : waitFor) {
        thread.join(Math.max(1, deadline - System.currentTimeMillis()));
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    synchronized (this) {
      peers.forEach(peer -> closeQuietly(peer.socket));
    }
  }

  private void accept() {
    while (true) {
      Socket socket;
      try {
        socket = server.accept();
      } catch (IOException e) {
        synchronized (this) {
          if (closed) {
            return;
          }
        }
        LOG.warn("En57 could not accept a forwarded connection ({})", e.toString());
        // Such as running out of file descriptors: not a reason to spin.
        LockSupport.parkNanos(ACCEPT_PAUSE_NANOS);
        continue;
      }
      var peer = new Peer(socket);
      synchronized (this) {
        if (closed || peers.size() >= MAX_CONNECTIONS) {
          closeQuietly(socket);
          continue;
        }
        peers.add(peer);
        peer.thread = new Thread(() -> serve(peer), "en57-forwarded-appends");
        peer.thread.setDaemon(true);
        peer.thread.start();
      }
    }
  }

  private void serve(Peer peer) {
    try (Socket socket = peer.socket) {
      socket.setTcpNoDelay(true);
      socket.setSoTimeout(HELLO_TIMEOUT_MILLIS);
      var in = new DataInputStream(new BufferedInputStream(socket.getInputStream()));
      var out = new DataOutputStream(new BufferedOutputStream(socket.getOutputStream()));
      Hello hello;
      try {
        hello = ForwardingWire.read(in, Hello.class, ForwardingWire.MAX_HELLO_BYTES);
      } catch (SSLException e) {
        LOG.warn(
            "En57 turned away a forwarded connection from {}: the TLS handshake failed ({})",
            socket.getRemoteSocketAddress(),
            e.toString());
        return;
      }
      if (hello.token() == null
          || !MessageDigest.isEqual(token, hello.token().getBytes(StandardCharsets.UTF_8))) {
        LOG.warn(
            "En57 turned away a forwarded connection from {}: wrong token",
            socket.getRemoteSocketAddress());
        return;
      }
      if (hello.version() != ForwardingWire.VERSION) {
        LOG.warn(
            "En57 turned away a forwarded connection from {}: version {} of the wire, this node"
                + " speaks {}",
            socket.getRemoteSocketAddress(),
            hello.version(),
            ForwardingWire.VERSION);
        return;
      }
      ForwardingWire.write(out, new Welcome(ForwardingWire.VERSION));
      // Followers drop connections idle for longer than this; one left open here is a dead one.
      socket.setSoTimeout(IDLE_TIMEOUT_MILLIS);
      while (true) {
        Request request = ForwardingWire.read(in, Request.class, ForwardingWire.MAX_REQUEST_BYTES);
        if (!begin(peer)) {
          ForwardingWire.write(out, new Reply.NotWritten("the leading node is closing"));
          return;
        }
        Reply reply = write(request);
        ForwardingWire.write(out, reply);
        if (!end(peer)) {
          return;
        }
      }
    } catch (IOException | RuntimeException e) {
      // The follower left, or sent what this library does not send: it appends directly.
      LOG.debug("En57 closed a forwarded connection ({})", e.toString());
    } finally {
      synchronized (this) {
        peers.remove(peer);
      }
    }
  }

  private synchronized boolean begin(Peer peer) {
    peer.busy = !closed;
    return peer.busy;
  }

  private synchronized boolean end(Peer peer) {
    peer.busy = false;
    return !closed;
  }

  /** Writes one forwarded append, and says how it went as the follower needs to know. */
  private Reply write(Request request) {
    AppendRequest append;
    try {
      append = request.toAppend();
    } catch (RuntimeException e) {
      return new Reply.Refused(Reason.INVALID, e.getMessage(), null);
    }
    try {
      return Reply.of(direct.apply(append));
    } catch (DuplicateEventIdException e) {
      return new Reply.Refused(Reason.DUPLICATE_EVENT_ID, e.getMessage(), e.eventId());
    } catch (AppendLockTimeoutException e) {
      return new Reply.Refused(Reason.LOCK_TIMEOUT, e.getMessage(), null);
    } catch (IllegalArgumentException e) {
      return new Reply.Refused(Reason.INVALID, e.getMessage(), null);
    } catch (RuntimeException e) {
      // The database failed, maybe after the commit, or this node is closing: the follower's own
      // append then stores it, or replays it.
      return new Reply.Unknown(e.toString());
    }
  }

  private static void closeQuietly(AutoCloseable closeable) {
    try {
      closeable.close();
    } catch (Exception e) {
      LOG.debug("closing {} failed ({})", closeable, e.toString());
    }
  }
}
