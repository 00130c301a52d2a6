package io.en57.internal;

import io.en57.AppendLockTimeoutException;
import io.en57.DuplicateEventIdException;
import io.en57.internal.AppendLeadership.Leader;
import io.en57.internal.ForwardingWire.Hello;
import io.en57.internal.ForwardingWire.Reply;
import io.en57.internal.ForwardingWire.Request;
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
import java.util.Deque;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends this node's appends to the node leading appends, which writes them with its own in one
 * group commit, and serves other nodes' appends when this node leads. Where no leader is known,
 * this node leads, or the leader does not answer, an append goes to the database directly, as
 * without forwarding; that is always safe, because the database still decides every append under
 * its lock, and an append the leader stored after all is replayed rather than stored twice.
 * Thread-safe.
 */
final class AppendForwarding implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(AppendForwarding.class);

  /** How long connecting to the leader may take before this node appends directly. */
  private static final int CONNECT_TIMEOUT_MILLIS = 1_000;

  /** How long a leader that did not answer is passed over, unless another one is elected. */
  private static final long SHUN_NANOS = 5_000_000_000L;

  private final Function<AppendRequest, AppendOutcome> direct;
  private final ForwardingServer server;
  private final AppendLeadership leadership;
  private final int replyTimeoutMillis;
  private final Deque<Channel> idle = new ConcurrentLinkedDeque<>();
  private volatile Shunned shunned;

  /** A connection to a leader, used by one append at a time. */
  private record Channel(Leader leader, Socket socket, DataInputStream in, DataOutputStream out) {

    void close() {
      try {
        socket.close();
      } catch (IOException e) {
        LOG.debug("closing a connection to the append leader failed ({})", e.toString());
      }
    }
  }

  private record Shunned(Leader leader, long until) {}

  private AppendForwarding(
      Function<AppendRequest, AppendOutcome> direct,
      ForwardingServer server,
      AppendLeadership leadership,
      int replyTimeoutMillis) {
    this.direct = direct;
    this.server = server;
    this.leadership = leadership;
    this.replyTimeoutMillis = replyTimeoutMillis;
  }

  /**
   * Listens on {@code host}:{@code port} for other nodes' appends and takes part in electing the
   * leader on a connection from {@code connections}. {@code direct} writes an append through this
   * node's group commit.
   */
  static AppendForwarding start(
      String host,
      int port,
      ConnectionFactory connections,
      LogSchema schema,
      Timeouts timeouts,
      Function<AppendRequest, AppendOutcome> direct) {
    byte[] secret = new byte[32];
    new SecureRandom().nextBytes(secret);
    String token = Base64.getUrlEncoder().withoutPadding().encodeToString(secret);
    // A forwarded append is bounded by the leader's own limits, and then some for the network.
    int replyTimeout = timeouts.networkMillis() + 5_000;
    ForwardingServer server;
    try {
      server = ForwardingServer.start(host, port, token, direct, replyTimeout);
    } catch (IOException e) {
      throw new UncheckedIOException(
          "could not listen for forwarded appends on " + host + ":" + port, e);
    }
    var self = new Leader(address(host, server.port()), token);
    var leadership = new AppendLeadership(connections, schema, self);
    leadership.start(Duration.ofSeconds(5));
    return new AppendForwarding(direct, server, leadership, replyTimeout);
  }

  /** Appends through the leader, or directly when there is none to go through. */
  AppendOutcome append(AppendRequest request) {
    Leader leader = leadership.leader();
    // An interrupted caller is refused by the direct path, as without forwarding.
    if (leader == null
        || leadership.leads()
        || isShunned(leader)
        || Thread.currentThread().isInterrupted()) {
      return direct.apply(request);
    }
    Reply reply = forward(leader, request);
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
    // Not taken, or no answer: whatever the leader did, the database decides this append again.
    return direct.apply(request);
  }

  /** The leader's reply, or null when it gave none. */
  private Reply forward(Leader leader, AppendRequest request) {
    Channel channel = idleChannelTo(leader);
    try {
      if (channel == null) {
        channel = open(leader);
      }
      ForwardingWire.write(channel.out(), Request.of(request));
      Reply reply = ForwardingWire.read(channel.in(), Reply.class, ForwardingWire.MAX_FRAME_BYTES);
      idle.offerFirst(channel);
      return reply;
    } catch (IOException e) {
      if (channel != null) {
        channel.close();
      } else {
        shunned = new Shunned(leader, System.nanoTime() + SHUN_NANOS);
        leadership.recheck();
        LOG.warn(
            "En57 could not reach the append leader at {} ({}); appending directly",
            leader.address(),
            e.toString());
      }
      LOG.debug("En57 forwarded an append without an answer ({})", e.toString());
      return null;
    }
  }

  private Channel idleChannelTo(Leader leader) {
    Channel channel;
    while ((channel = idle.pollFirst()) != null) {
      if (channel.leader().equals(leader)) {
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
    var socket = new Socket();
    try {
      socket.setTcpNoDelay(true);
      socket.connect(new InetSocketAddress(host, port), CONNECT_TIMEOUT_MILLIS);
      socket.setSoTimeout(replyTimeoutMillis);
      var channel =
          new Channel(
              leader,
              socket,
              new DataInputStream(new BufferedInputStream(socket.getInputStream())),
              new DataOutputStream(new BufferedOutputStream(socket.getOutputStream())));
      ForwardingWire.write(channel.out(), new Hello(leader.token()));
      return channel;
    } catch (IOException | RuntimeException e) {
      socket.close();
      throw e;
    }
  }

  private boolean isShunned(Leader leader) {
    Shunned passedOver = shunned;
    return passedOver != null
        && passedOver.leader().equals(leader)
        && System.nanoTime() - passedOver.until() < 0;
  }

  private static String address(String host, int port) {
    return host.indexOf(':') >= 0 ? "[" + host + "]:" + port : host + ":" + port;
  }

  /** Stops serving other nodes (answering the appends being written) and gives up the lead. */
  @Override
  public void close() {
    leadership.close();
    server.close();
    Channel channel;
    while ((channel = idle.pollFirst()) != null) {
      channel.close();
    }
  }
}
