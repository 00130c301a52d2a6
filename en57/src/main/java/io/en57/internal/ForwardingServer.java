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
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLServerSocket;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Takes other nodes' appends and writes them through this node's group commit. Each connection
 * starts with the token this node publishes when it leads, and then carries one append at a time. A
 * thread reads each connection and queues its appends; the thread that writes an append's group
 * answers it, so a forwarded append wakes one thread of this node's, not two. Thread-safe.
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

  /**
   * The largest answer the thread writing a group sends itself. The follower has read everything
   * sent before, since it waits for this answer, so an answer this small fits the socket's send
   * buffer (16 KB at least on Linux) and the write cannot block the group on a slow or dead
   * follower. A larger one (a conflict carrying large events) is sent from a thread of its own.
   */
  private static final int INLINE_ANSWER_BYTES = 8 * 1024;

  private final ServerSocket server;
  private final byte[] token;
  private final BiConsumer<AppendRequest, Consumer<Completion>> submit;
  private final long closeWaitMillis;
  private final Thread acceptor;
  private final Set<Peer> peers = new HashSet<>();
  private boolean closed;

  /** A connection, busy while an append it carried is queued or being written. */
  private static final class Peer {
    final Socket socket;

    /** Appends queued or being written. Guarded by the server. */
    int unanswered;

    Peer(Socket socket) {
      this.socket = socket;
    }
  }

  private ForwardingServer(
      ServerSocket server,
      String token,
      BiConsumer<AppendRequest, Consumer<Completion>> submit,
      long closeWaitMillis) {
    this.server = server;
    this.token = token.getBytes(StandardCharsets.UTF_8);
    this.submit = submit;
    this.closeWaitMillis = closeWaitMillis;
    this.acceptor = new Thread(this::accept, "en57-forwarding-accept");
    acceptor.setDaemon(true);
  }

  /**
   * Listens on {@code host}:{@code port} (0 for any free port), over TLS when {@code tls} is given
   * (nodes must then present a certificate it trusts), and queues appends with {@code submit},
   * which hands each append's completion to the callback it is given. {@code closeWaitMillis}
   * bounds how long {@link #close()} waits for appends being written.
   */
  static ForwardingServer start(
      String host,
      int port,
      SSLContext tls,
      String token,
      BiConsumer<AppendRequest, Consumer<Completion>> submit,
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
    var server = new ForwardingServer(socket, token, submit, closeWaitMillis);
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
    synchronized (this) {
      closed = true;
      closeQuietly(server);
      peers.stream().filter(peer -> peer.unanswered == 0).forEach(p -> closeQuietly(p.socket));
      long deadline = System.currentTimeMillis() + closeWaitMillis;
      try {
        long left = closeWaitMillis;
        while (peers.stream().anyMatch(peer -> peer.unanswered > 0) && left > 0) {
          wait(left);
          left = deadline - System.currentTimeMillis();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      peers.forEach(peer -> closeQuietly(peer.socket));
    }
    try {
      acceptor.join(closeWaitMillis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
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
        var reader = new Thread(() -> serve(peer), "en57-forwarded-appends");
        reader.setDaemon(true);
        reader.start();
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
          synchronized (out) {
            ForwardingWire.write(out, new Reply.NotWritten("the leading node is closing"));
          }
          return;
        }
        AppendRequest append;
        try {
          append = request.toAppend();
        } catch (RuntimeException e) {
          answer(peer, out, new Reply.Refused(Reason.INVALID, e.getMessage(), null));
          continue;
        }
        submit.accept(append, completion -> answer(peer, out, reply(completion)));
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
    if (closed) {
      return false;
    }
    peer.unanswered++;
    return true;
  }

  /**
   * Sends {@code reply} to the follower, from this thread when it is small and from a thread of its
   * own otherwise (see {@link #INLINE_ANSWER_BYTES}).
   */
  private void answer(Peer peer, DataOutputStream out, Reply reply) {
    byte[] frame;
    try {
      frame = ForwardingWire.bytes(reply);
    } catch (IOException | RuntimeException e) {
      // Not expected (JSON of strings, written to memory). Cut off, the follower appends directly,
      // which replays the append if it was stored; the append is answered all the same.
      LOG.warn("En57 could not encode the answer to a forwarded append ({})", e.toString());
      closeQuietly(peer.socket);
      answered(peer);
      return;
    }
    if (frame.length <= INLINE_ANSWER_BYTES) {
      send(peer, out, frame);
    } else {
      var sender = new Thread(() -> send(peer, out, frame), "en57-forwarded-answer");
      sender.setDaemon(true);
      sender.start();
    }
  }

  private void send(Peer peer, DataOutputStream out, byte[] frame) {
    try {
      synchronized (out) {
        ForwardingWire.writeBytes(out, frame);
      }
    } catch (IOException e) {
      // The follower appends directly, which replays the append if it was stored.
      LOG.debug("En57 could not answer a forwarded append ({})", e.toString());
      closeQuietly(peer.socket);
    } finally {
      answered(peer);
    }
  }

  private synchronized void answered(Peer peer) {
    peer.unanswered--;
    notifyAll();
  }

  /** How a forwarded append went, as the follower needs to know. */
  private static Reply reply(Completion completion) {
    try {
      return Reply.of(completion.outcome());
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
