package io.en57.nats;

import io.en57.EventStore;
import io.en57.SequencedEvent;
import io.en57.subscriptions.Batch;
import io.en57.subscriptions.BatchHandler;
import io.en57.subscriptions.UnprocessableEventException;
import io.nats.client.Connection;
import io.nats.client.JetStream;
import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamManagement;
import io.nats.client.JetStreamOptions;
import io.nats.client.Message;
import io.nats.client.api.MessageInfo;
import io.nats.client.api.PublishAck;
import io.nats.client.api.RetentionPolicy;
import io.nats.client.api.StreamConfiguration;
import io.nats.client.api.StreamInfo;
import io.nats.client.impl.Headers;
import io.nats.client.support.NatsJetStreamConstants;
import java.io.IOException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;

/**
 * Publishes a batch to the stream and returns once the broker acknowledged all of it; throws
 * otherwise, so that the runner sends the batch again and moves the checkpoint only after a batch
 * it returned from.
 *
 * <p>Each batch starts from the stream's tail, read afresh: the events up to the position of the
 * stream's last message (which must hold this log's event at that position) are already there and
 * are skipped, and each message sent expects the stream's last sequence to be the one its
 * predecessor got (the first, the tail's). The broker stores messages of one connection in the
 * order they were sent, and refuses a message whose predecessor is missing, so a batch lands whole,
 * or as a prefix that the next attempt completes. Called by the runner, one batch at a time; holds
 * no state between batches, so whoever published last, the stream says where to resume.
 */
final class RelayHandler implements BatchHandler {

  /** JetStream's error code for "no message found" (here: the stream is empty). */
  private static final int NO_MESSAGE_FOUND = 10037;

  /** How often a wait for acknowledgements checks that the connection is still up. */
  private static final long CONNECTION_CHECK_NANOS = TimeUnit.MILLISECONDS.toNanos(20);

  /** JetStream's error code for "stream not found". */
  private static final int STREAM_NOT_FOUND = 10059;

  /** JetStream's error code for "message size exceeds maximum allowed" (the stream's). */
  private static final int MESSAGE_TOO_LARGE = 10054;

  private final Connection nats;
  private final JetStream jetStream;
  private final JetStreamManagement management;
  private final String stream;
  private final String relay;
  private final EventStore store;
  private final EventMessages messages;
  private final Duration ackTimeout;

  /**
   * The stream's tail as this handler's last batch left it, while nothing failed since: the next
   * batch expects it without asking the stream. Were it stale (another relay published since), the
   * broker would refuse the first message, and the next attempt reads the tail.
   */
  private volatile Tail known;

  /** What the stream takes, as its configuration last read said. */
  private volatile Limits limits = new Limits(List.of(), -1);

  RelayHandler(
      Connection nats,
      String stream,
      String relay,
      EventStore store,
      EventMessages messages,
      Duration ackTimeout) {
    var options = JetStreamOptions.builder().requestTimeout(ackTimeout).build();
    try {
      this.jetStream = nats.jetStream(options);
      this.management = nats.jetStreamManagement(options);
    } catch (IOException e) {
      throw new IllegalStateException("cannot use JetStream through " + nats + ": " + e, e);
    }
    this.nats = nats;
    this.stream = stream;
    this.relay = relay;
    this.store = store;
    this.messages = messages;
    this.ackTimeout = ackTimeout;
  }

  @Override
  public void handle(Batch batch) throws Exception {
    Tail tail = known;
    known = null; // until this batch is acknowledged, only the stream can say where it ends
    requireConnected();
    if (tail == null || startsAtOrBefore(batch, tail)) {
      // The runner went back (a reset, maybe after a purge of the stream; a batch sent again): the
      // tail this handler left may no longer be the stream's.
      tail = tail();
    }
    List<SequencedEvent> events = after(batch.events(), tail.position());
    if (events.isEmpty()) {
      known = tail;
      return;
    }
    List<Message> outgoing = new ArrayList<>(events.size());
    for (int i = 0; i < events.size(); i++) {
      // All or nothing: a bad event fails before any is sent.
      outgoing.add(publishable(events.get(i), tail.sequence() + i));
    }
    List<CompletableFuture<PublishAck>> acks = new ArrayList<>(outgoing.size());
    for (int i = 0; i < outgoing.size(); i++) {
      try {
        acks.add(jetStream.publishAsync(outgoing.get(i)));
      } catch (IllegalArgumentException e) {
        // The client's own checks, should they go beyond the ones above; the messages before it
        // may be on the stream, which the next attempt reads.
        throw new UnprocessableEventException(
            events.get(i),
            "NATS refuses the message for the event at position "
                + events.get(i).position()
                + ": "
                + e.getMessage(),
            e);
      }
    }
    List<PublishAck> acknowledged = awaitAcks(events, acks);
    for (int i = 0; i < acknowledged.size(); i++) {
      if (acknowledged.get(i).isDuplicate()) {
        // Every event after the tail is new to the stream, unless it no longer holds what it once
        // did: counted as relayed, the event would be missing from the stream for good.
        throw new IllegalStateException(
            "the broker dropped the event at position "
                + events.get(i).position()
                + " as a duplicate of its id: stream "
                + stream
                + " holds it already (published meanwhile), or no longer does (purged, or past its"
                + " limits) and the broker still remembers the id; the batch will be sent again"
                + " from the stream's last message, and stored once the duplicate window passed");
      }
    }
    PublishAck last = acknowledged.get(acknowledged.size() - 1);
    known = new Tail(last.getSeqno(), events.get(events.size() - 1).position());
  }

  /**
   * The message for {@code event}, expecting the stream's last sequence to be {@code lastSequence},
   * or an {@link UnprocessableEventException} when the stream can never take it: no valid message
   * (its subject, its data), larger than the server's {@code max_payload} (which would also cost
   * the connection) or than the stream's {@code max_msg_size}, or a subject the stream does not
   * take.
   */
  private Message publishable(SequencedEvent event, long lastSequence)
      throws IOException, JetStreamApiException {
    Message message;
    try {
      message = messages.of(event, stream, lastSequence);
    } catch (IllegalArgumentException e) {
      throw new UnprocessableEventException(event, e.getMessage(), e);
    }
    // What the broker counts against both limits: the data and every header.
    long size = message.getData().length + message.getHeaders().serializedLength();
    long maxPayload = nats.getMaxPayload(); // -1 while the server is not known
    if (maxPayload > 0 && size > maxPayload) {
      throw tooLarge(event, size, "the NATS server's max_payload of " + maxPayload);
    }
    if (!limits.fits(size) || !limits.takes(message.getSubject())) {
      // Asked again before the event is called unprocessable: the stream may take more by now.
      limits = limitsOf(streamInfo());
    }
    if (!limits.fits(size)) {
      throw tooLarge(
          event,
          size,
          "the max_msg_size of stream " + stream + ", " + limits.maxMessageSize() + " bytes");
    }
    if (!limits.takes(message.getSubject())) {
      throw new UnprocessableEventException(
          event,
          "the subject "
              + message.getSubject()
              + " of the event at position "
              + event.position()
              + " is not one stream "
              + stream
              + " takes ("
              + String.join(", ", limits.subjects())
              + ")");
    }
    return message;
  }

  private static UnprocessableEventException tooLarge(
      SequencedEvent event, long size, String limit) {
    return new UnprocessableEventException(
        event,
        "the message for the event at position "
            + event.position()
            + " takes "
            + size
            + " bytes with its headers, more than "
            + limit);
  }

  /**
   * What a stream takes: messages to {@code subjects} (filters, with wildcards) of at most {@code
   * maxMessageSize} bytes, data and headers (-1: no limit of its own).
   */
  private record Limits(List<String> subjects, long maxMessageSize) {

    boolean takes(String subject) {
      return subjects.stream().anyMatch(filter -> Subjects.matches(filter, subject));
    }

    boolean fits(long size) {
      return maxMessageSize < 0 || size <= maxMessageSize;
    }
  }

  /** A stream configured without subjects takes its own name. */
  private Limits limitsOf(StreamInfo info) {
    StreamConfiguration config = info.getConfiguration();
    List<String> subjects = config.getSubjects();
    return new Limits(
        subjects.isEmpty() ? List.of(stream) : List.copyOf(subjects), config.getMaxMsgSize());
  }

  private static boolean startsAtOrBefore(Batch batch, Tail tail) {
    return !batch.events().isEmpty() && batch.events().get(0).position() <= tail.position();
  }

  /**
   * Waits for the acknowledgements in order; the first failure is the cause of the later ones. A
   * connection that drops ends the wait at once: what was in flight may never be answered.
   */
  private List<PublishAck> awaitAcks(
      List<SequencedEvent> events, List<CompletableFuture<PublishAck>> acks)
      throws InterruptedException, TimeoutException {
    long deadline = System.nanoTime() + ackTimeout.toNanos();
    List<PublishAck> acknowledged = new ArrayList<>(acks.size());
    for (int i = 0; i < acks.size(); i++) {
      long position = events.get(i).position();
      while (acknowledged.size() == i) {
        long remaining = deadline - System.nanoTime();
        if (remaining <= 0) {
          throw new TimeoutException(
              "no acknowledgement for the event at position "
                  + position
                  + " from stream "
                  + stream
                  + " within "
                  + ackTimeout
                  + "; the batch will be sent again from the stream's last message");
        }
        try {
          acknowledged.add(
              acks.get(i).get(Math.min(remaining, CONNECTION_CHECK_NANOS), TimeUnit.NANOSECONDS));
        } catch (TimeoutException e) {
          requireConnected();
        } catch (ExecutionException e) {
          Throwable cause =
              e.getCause() instanceof RuntimeException r && r.getCause() != null
                  ? r.getCause()
                  : e.getCause();
          if (cause instanceof JetStreamApiException refusal
              && refusal.getApiErrorCode() == MESSAGE_TOO_LARGE) {
            // The broker's own word that this message is too large (the stream's max_msg_size went
            // down since its configuration was read): the messages before it are stored, the ones
            // after it refused only for the sequence they expect, so this event alone is at fault.
            throw new UnprocessableEventException(
                events.get(i),
                "stream "
                    + stream
                    + " refused the message for the event at position "
                    + position
                    + " as larger than its max_msg_size ("
                    + refusal.getErrorDescription()
                    + ")",
                cause);
          }
          throw new IllegalStateException(
              "the broker refused the event at position "
                  + position
                  + " for stream "
                  + stream
                  + " ("
                  + cause
                  + "); the batch will be sent again from the stream's last message",
              cause);
        }
      }
    }
    return acknowledged;
  }

  private void requireConnected() {
    Connection.Status status = nats.getStatus();
    if (status != Connection.Status.CONNECTED) {
      throw new IllegalStateException(
          "the NATS connection is " + status + "; the batch will be sent when it is back");
    }
  }

  /** The stream's last sequence, and the position of the event its last message holds. */
  private record Tail(long sequence, long position) {}

  private StreamInfo streamInfo() throws IOException, JetStreamApiException {
    try {
      return management.getStreamInfo(stream);
    } catch (JetStreamApiException e) {
      if (e.getApiErrorCode() == STREAM_NOT_FOUND) {
        throw new IllegalStateException(
            "there is no stream "
                + stream
                + " on the NATS server; create it with subjects covering the relay's",
            e);
      }
      throw e;
    }
  }

  private Tail tail() throws IOException, JetStreamApiException {
    StreamInfo info = streamInfo();
    limits = limitsOf(info);
    RetentionPolicy retention = info.getConfiguration().getRetentionPolicy();
    if (retention != RetentionPolicy.Limits) {
      // Consumers delete its messages, the last one too: an empty-looking stream would make the
      // relay send again what it holds, or what was consumed.
      throw new IllegalStateException(
          "stream "
              + stream
              + " has "
              + retention.name()
              + " retention, which deletes messages once consumed; the relay reads where it left off"
              + " from the stream's last message and needs limits retention (the default)");
    }
    MessageInfo last;
    try {
      last = management.getLastMessage(stream, ">");
    } catch (JetStreamApiException e) {
      if (e.getApiErrorCode() != NO_MESSAGE_FOUND) {
        throw e;
      }
      // Empty: new, purged, or every message past the stream's limits. Only the checkpoint knows
      // what was relayed. (This relay is the stream's only publisher, and it is not publishing.)
      return new Tail(info.getStreamState().getLastSequence(), 0);
    }
    return new Tail(last.getSeq(), positionOf(last));
  }

  /**
   * The position of the event in the stream's last message, which this relay must have sent from
   * this log.
   */
  private long positionOf(MessageInfo last) {
    Headers headers = last.getHeaders();
    String position = headers == null ? null : headers.getFirst(JetStreamRelay.POSITION_HEADER);
    String publisher = headers == null ? null : headers.getFirst(JetStreamRelay.RELAY_HEADER);
    String id = headers == null ? null : headers.getFirst(NatsJetStreamConstants.MSG_ID_HDR);
    if (position == null || publisher == null || id == null) {
      throw new IllegalStateException(
          "the last message of stream "
              + stream
              + " (sequence "
              + last.getSeq()
              + ", subject "
              + last.getSubject()
              + ") was not published by a relay; the relay must be the only publisher of its"
              + " stream");
    }
    String publishedBy = URLDecoder.decode(publisher, StandardCharsets.UTF_8);
    if (!publishedBy.equals(relay)) {
      throw new IllegalStateException(
          "stream "
              + stream
              + " is fed by relay '"
              + publishedBy
              + "', not by '"
              + relay
              + "'; a stream takes one relay");
    }
    long at = Long.parseLong(position);
    requireFromThisLog(last, at, id);
    return at;
  }

  /**
   * Checks that the stream's last message holds this log's event at its position. A relay of the
   * same name on another log (another schema or database: by default both are named after the
   * stream) counts positions of its own, and trusting them this relay would skip its events up to
   * there as already on the stream. The event id tells the logs apart with nothing to configure,
   * also in the messages of earlier versions, and it survives what keeps a log's events but not its
   * server's identity (a major-version upgrade, a dump and restore, a failover).
   */
  private void requireFromThisLog(MessageInfo last, long position, String id) {
    Optional<SequencedEvent> ours;
    // From the primary: a replica may not have replayed the event yet.
    try (Stream<SequencedEvent> events =
        store.read().fromPrimary().after(position - 1).limit(1).sequenced()) {
      ours = events.findFirst().filter(event -> event.position() == position);
    }
    if (ours.isPresent() && ours.get().event().id().toString().equals(id)) {
      return;
    }
    String found = ours.map(event -> "is event " + event.event().id()).orElse("holds no event");
    throw new IllegalStateException(
        "the last message of stream "
            + stream
            + " (sequence "
            + last.getSeq()
            + ") holds event "
            + id
            + " at position "
            + position
            + ", but position "
            + position
            + " of this relay's log (schema "
            + store.schema()
            + ") "
            + found
            + ": a relay named '"
            + relay
            + "' on another log (another schema or database) feeds the stream, or this log lost"
            + " events the stream holds (restored from an older backup); a stream takes the relay"
            + " of one log");
  }

  private static List<SequencedEvent> after(List<SequencedEvent> events, long position) {
    int first = 0;
    while (first < events.size() && events.get(first).position() <= position) {
      first++;
    }
    return events.subList(first, events.size());
  }
}
