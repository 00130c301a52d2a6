package io.en57.internal;

import io.en57.AppendLockTimeoutException;
import io.en57.DuplicateEventIdException;
import io.en57.En57StorageException;
import io.en57.internal.AppendLeadership.Leader;
import io.en57.internal.ForwardingWire.Hello;
import io.en57.internal.ForwardingWire.Reply;
import io.en57.internal.ForwardingWire.Request;
import io.en57.internal.ForwardingWire.Welcome;
import io.en57.subscriptions.ConnectionFactory;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Base64;
import java.util.concurrent.BlockingDeque;
import java.util.concurrent.LinkedBlockingDeque;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.function.Function;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends this node's appends to the node leading appends, which writes them with its own in one
 * group commit, and serves other nodes' appends when this node leads. Where no leader is known,
 * this node leads, the append is large, or the leader does not answer, an append goes to the
 * database directly, as without forwarding. That is always safe: the database decides every append
 * under its lock whoever sends it, and an append the leader stored after all is replayed, not
 * stored twice. Thread-safe.
 */
final class AppendForwarding implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(AppendForwarding.class);

  /**
   * The most characters of data and metadata an append may carry to be forwarded. Larger appends
   * fill a group of their own anyway, and sending them twice over the network would cost more than
   * sharing a commit saves.
   */
  static final int MAX_FORWARDED_JSON_LENGTH = 64 * 1024;

  /** How long connecting to the leader may take before this node appends directly. */
  private static final int CONNECT_TIMEOUT_MILLIS = 1_000;

  /** How long the leader may take to welcome a new connection. */
  private static final int HANDSHAKE_TIMEOUT_MILLIS = 5_000;

  /** How long a leader that failed an append is passed over, unless another one is elected. */
  private static final long SHUN_NANOS = Duration.ofSeconds(5).toNanos();

  /**
   * How long a connection to the leader may stay idle and still be used: a firewall may forget an
   * idle connection without a word, and an append sent on it would wait for a reply in vain.
   */
  private static final long MAX_IDLE_NANOS = Duration.ofSeconds(10).toNanos();

  /** Idle connections kept to the leader; more are closed once their append is answered. */
  private static final int MAX_IDLE_CHANNELS = 64;

  private final Function<AppendRequest, AppendOutcome> direct;
  private final ForwardingServer server;
  private final AppendLeadership leadership;
  private final String selfAddress;
  private final int replyTimeoutMillis;
  private final SSLContext tls;
  private final BlockingDeque<Channel> idle = new LinkedBlockingDeque<>(MAX_IDLE_CHANNELS);
  private volatile Shunned shunned;
  private volatile Leader misconfigured;
  private volatile boolean closed;

  /** A connection to a leader, used by one append at a time. */
  private record Channel(
      Leader leader, Socket socket, DataInputStream in, DataOutputStream out, long idleSince) {

    Channel usedNow() {
      return new Channel(leader, socket, in, out, System.nanoTime());
    }

    /** Idle for too long to be trusted: see {@link #MAX_IDLE_NANOS}. */
    boolean stale() {
      return System.nanoTime() - idleSince >= MAX_IDLE_NANOS;
    }

    void close() {
      try {
        socket.close();
      } catch (IOException e) {
        LOG.debug("closing a connection to the append leader failed ({})", e.toString());
      }
    }
  }

  private record Shunned(Leader leader, long until) {}

  /**
   * How a forwarded append went: answered, or not, and then whether the leader may have stored it.
   */
  private sealed interface Forwarded {
    record Answered(Reply reply) implements Forwarded {}

    record Unanswered(boolean maybeStored) implements Forwarded {}
  }

  private AppendForwarding(
      Function<AppendRequest, AppendOutcome> direct,
      ForwardingServer server,
      AppendLeadership leadership,
      String selfAddress,
      int replyTimeoutMillis,
      SSLContext tls) {
    this.direct = direct;
    this.server = server;
    this.leadership = leadership;
    this.selfAddress = selfAddress;
    this.replyTimeoutMillis = replyTimeoutMillis;
    this.tls = tls;
  }

  /**
   * Listens on {@code host}:{@code port} for other nodes' appends (over TLS with {@code tls},
   * unless null) and takes part in electing the leader on a connection from {@code connections}.
   * {@code direct} writes an append through this node's group commit, which may keep it queued for
   * up to {@code maxGroupWait}; {@code submit} queues one there without waiting, for other nodes.
   */
  static AppendForwarding start(
      String host,
      int port,
      SSLContext tls,
      ConnectionFactory connections,
      LogSchema schema,
      Timeouts timeouts,
      Duration maxGroupWait,
      Function<AppendRequest, AppendOutcome> direct,
      BiConsumer<AppendRequest, Consumer<Completion>> submit) {
    String bareHost =
        host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
    byte[] secret = new byte[32];
    new SecureRandom().nextBytes(secret);
    String token = Base64.getUrlEncoder().withoutPadding().encodeToString(secret);
    // The longest a leader may legitimately take: its queue, then its call to the database.
    long replyTimeout =
        maxGroupWait.toMillis() + timeouts.networkMillis() + Duration.ofSeconds(5).toMillis();
    ForwardingServer server;
    try {
      server = ForwardingServer.start(bareHost, port, tls, token, submit, replyTimeout);
    } catch (IOException e) {
      throw new UncheckedIOException(
          "could not listen for forwarded appends on " + host + ":" + port, e);
    }
    String address =
        bareHost.indexOf(':') >= 0
            ? "[" + bareHost + "]:" + server.port()
            : bareHost + ":" + server.port();
    var leadership = new AppendLeadership(connections, schema, new Leader(address, token));
    leadership.start(Duration.ofSeconds(5));
    return new AppendForwarding(
        direct, server, leadership, address, (int) Math.min(Integer.MAX_VALUE, replyTimeout), tls);
  }

  /** Appends through the leader, or directly when there is none to go through. */
  AppendOutcome append(AppendRequest request) {
    Leader leader = leadership.leader();
    // An interrupted caller never gets here: EventStore refuses it on every engine.
    if (leader == null
        || closed
        || leadership.leads()
        || isShunned(leader)
        || misconfigured(leader)
        || request.jsonLength() > MAX_FORWARDED_JSON_LENGTH) {
      return direct.apply(request);
    }
    byte[] frame;
    try {
      frame = ForwardingWire.bytes(Request.of(request));
    } catch (IOException e) {
      throw new UncheckedIOException(e); // JSON of strings, written to memory
    }
    if (frame.length > ForwardingWire.MAX_REQUEST_BYTES) {
      return direct.apply(request);
    }
    Forwarded forwarded = forward(leader, frame);
    if (forwarded instanceof Forwarded.Answered answered) {
      Reply reply = answered.reply();
      if (reply instanceof Reply.Stored stored) {
        return new AppendOutcome.Stored(stored.position(), stored.replayed());
      }
      if (reply instanceof Reply.Conflicted conflicted) {
        return new AppendOutcome.Conflicted(
            conflicted.position(),
            conflicted.events().stream()
                .map(e -> new StoredEvent(e.position(), e.event().toEncoded()))
                .toList());
      }
      if (reply instanceof Reply.Refused refused) {
        throw switch (refused.reason()) {
          case DUPLICATE_EVENT_ID ->
              new DuplicateEventIdException(refused.eventId(), refused.message());
          case LOCK_TIMEOUT -> new AppendLockTimeoutException(refused.message(), null);
          case INVALID -> new IllegalArgumentException(refused.message());
        };
      }
      shun(leader, reply.toString());
      return afterward(request, reply instanceof Reply.Unknown);
    }
    return afterward(request, ((Forwarded.Unanswered) forwarded).maybeStored());
  }

  /**
   * Appends directly after the leader gave no outcome. When the leader may have stored the append,
   * a replay is this caller's own append, stored by the leader (a replay of an earlier call is far
   * less likely than that), and a failure that says nothing was written does not know better.
   */
  private AppendOutcome afterward(AppendRequest request, boolean maybeStored) {
    if (!maybeStored) {
      return direct.apply(request);
    }
    AppendOutcome outcome;
    try {
      outcome = direct.apply(request);
    } catch (DuplicateEventIdException | IllegalArgumentException | En57StorageException e) {
      throw e;
    } catch (RuntimeException e) {
      throw new En57StorageException(
          "the leading node may have stored this append without answering, and appending it"
              + " directly failed; retry with the same events: if it was stored, the retry replays"
              + " it",
          e);
    }
    if (outcome instanceof AppendOutcome.Stored stored && stored.replayed()) {
      return new AppendOutcome.Stored(stored.position(), false);
    }
    return outcome;
  }

  private Forwarded forward(Leader leader, byte[] request) {
    Channel channel = idleChannelTo(leader);
    if (channel == null) {
      try {
        channel = open(leader);
      } catch (IOException e) {
        shun(leader, e.toString());
        return new Forwarded.Unanswered(false);
      }
    }
    try {
      ForwardingWire.writeBytes(channel.out(), request);
      Reply reply = ForwardingWire.read(channel.in(), Reply.class, ForwardingWire.MAX_FRAME_BYTES);
      if (closed || !idle.offerFirst(channel.usedNow())) {
        channel.close();
      }
      closeStaleChannels();
      return new Forwarded.Answered(reply);
    } catch (IOException | RuntimeException e) {
      channel.close();
      shun(leader, e.toString());
      return new Forwarded.Unanswered(true);
    }
  }

  /**
   * Closes the connections idle for too long. They gather at the end of the idle list, since the
   * newest are used first: after a burst of appends they would otherwise stay open, each holding a
   * thread of the leader's, until the leader's idle timeout.
   */
  private void closeStaleChannels() {
    Channel oldest;
    while ((oldest = idle.peekLast()) != null && oldest.stale()) {
      if (idle.removeLastOccurrence(oldest)) {
        oldest.close();
      }
    }
  }

  private Channel idleChannelTo(Leader leader) {
    Channel channel;
    while ((channel = idle.pollFirst()) != null) {
      if (channel.leader().equals(leader) && !channel.stale()) {
        return channel;
      }
      channel.close();
    }
    return null;
  }

  private Channel open(Leader leader) throws IOException {
    int colon = leader.address().lastIndexOf(':');
    String host = leader.address().substring(0, colon);
    int port = Integer.parseInt(leader.address().substring(colon + 1));
    Socket socket = new Socket();
    try {
      socket.setTcpNoDelay(true);
      socket.connect(new InetSocketAddress(host, port), CONNECT_TIMEOUT_MILLIS);
      socket.setSoTimeout(HANDSHAKE_TIMEOUT_MILLIS);
      if (tls != null) {
        // The leader must present a certificate the context trusts, or the handshake fails and
        // this node appends directly.
        var secured = (SSLSocket) tls.getSocketFactory().createSocket(socket, host, port, true);
        socket = secured;
        secured.startHandshake();
      }
      var channel =
          new Channel(
              leader,
              socket,
              new DataInputStream(new BufferedInputStream(socket.getInputStream())),
              new DataOutputStream(new BufferedOutputStream(socket.getOutputStream())),
              System.nanoTime());
      ForwardingWire.write(channel.out(), new Hello(ForwardingWire.VERSION, leader.token()));
      Welcome welcome =
          ForwardingWire.read(channel.in(), Welcome.class, ForwardingWire.MAX_HELLO_BYTES);
      if (welcome.version() != ForwardingWire.VERSION) {
        throw new IOException("the leader speaks version " + welcome.version() + " of the wire");
      }
      socket.setSoTimeout(replyTimeoutMillis);
      return channel;
    } catch (IOException | RuntimeException e) {
      socket.close();
      throw e;
    }
  }

  /** Appends directly for a while, and learns the leader again: this one failed an append. */
  private void shun(Leader leader, String why) {
    Shunned before = shunned;
    shunned = new Shunned(leader, System.nanoTime() + SHUN_NANOS);
    leadership.recheck();
    if (before == null || !before.leader().equals(leader)) {
      LOG.warn(
          "En57 could not forward an append to the leader at {} ({}); appending directly",
          leader.address(),
          why);
    }
  }

  private boolean isShunned(Leader leader) {
    Shunned passedOver = shunned;
    return passedOver != null
        && passedOver.leader().equals(leader)
        && System.nanoTime() - passedOver.until() < 0;
  }

  /**
   * Whether the leader publishes this node's own address without being this node: several nodes
   * were given the same address (a loopback one, say), and each would reach only itself.
   */
  private boolean misconfigured(Leader leader) {
    if (!leader.address().equals(selfAddress)) {
      return false;
    }
    if (!leader.equals(misconfigured)) {
      misconfigured = leader;
      LOG.warn(
          "En57's append leader publishes {}, which is this node's own address: give each node an"
              + " address the others reach it at; appending directly meanwhile",
          selfAddress);
    }
    return true;
  }

  /** Stops serving other nodes (answering the appends being written) and gives up the lead. */
  @Override
  public void close() {
    closed = true;
    leadership.close();
    server.close();
    Channel channel;
    while ((channel = idle.pollFirst()) != null) {
      channel.close();
    }
  }
}
