package io.en57.nats;

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
import io.nats.client.PublishOptions;
import io.nats.client.api.MessageInfo;
import io.nats.client.api.PublishAck;
import io.nats.client.api.RetentionPolicy;
import io.nats.client.api.StreamInfo;
import io.nats.client.impl.Headers;
import java.io.IOException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Publishes a batch to the stream and returns once the broker acknowledged all of it; throws
 * otherwise, so that the runner sends the batch again and moves the checkpoint only after a batch
 * it returned from.
 *
 * <p>Each batch starts from the stream's tail, read afresh: the events up to the position of the
 * stream's last message are already there and are skipped, and the n-th message sent expects the
 * stream's last sequence to be the tail's plus n - 1. The broker stores messages of one connection
 * in the order they were sent, and refuses a message whose predecessor is missing, so a batch lands
 * whole, or as a prefix that the next attempt completes. Called by the runner, one batch at a time;
 * holds no state between batches, so whoever published last, the stream says where to resume.
 */
final class RelayHandler implements BatchHandler {

  /** JetStream's error code for "no message found" (here: the stream is empty). */
  private static final int NO_MESSAGE_FOUND = 10037;

  /** How often a wait for acknowledgements checks that the connection is still up. */
  private static final long CONNECTION_CHECK_NANOS = TimeUnit.MILLISECONDS.toNanos(20);

  /** JetStream's error code for "stream not found". */
  private static final int STREAM_NOT_FOUND = 10059;

  private final Connection nats;
  private final JetStream jetStream;
  private final JetStreamManagement management;
  private final String stream;
  private final String relay;
  private final EventMessages messages;
  private final Duration ackTimeout;

  /**
   * The stream's tail as this handler's last batch left it, while nothing failed since: the next
   * batch expects it without asking the stream. Were it stale (another relay published since), the
   * broker would refuse the first message, and the next attempt reads the tail.
   */
  private volatile Tail known;

  /** The subjects the stream takes, as its configuration last read said. */
  private volatile List<String> streamSubjects = List.of();

  RelayHandler(
      Connection nats, String stream, String relay, EventMessages messages, Duration ackTimeout) {
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
    for (SequencedEvent event : events) {
      outgoing.add(publishable(event)); // all or nothing: a bad event fails before any is sent
    }
    List<CompletableFuture<PublishAck>> acks = new ArrayList<>(outgoing.size());
    for (int i = 0; i < outgoing.size(); i++) {
      PublishOptions options =
          PublishOptions.builder()
              .expectedStream(stream)
              .messageId(events.get(i).event().id().toString())
              .expectedLastSequence(tail.sequence() + i)
              .build();
      try {
        acks.add(jetStream.publishAsync(outgoing.get(i), options));
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
   * The message for {@code event}, or an {@link UnprocessableEventException} when the stream can
   * never take it: no valid message (its subject, its data), larger than the server's {@code
   * max_payload} (which would also cost the connection), or a subject the stream does not take.
   */
  private Message publishable(SequencedEvent event) throws IOException, JetStreamApiException {
    Message message;
    try {
      message = messages.of(event);
    } catch (IllegalArgumentException e) {
      throw new UnprocessableEventException(event, e.getMessage(), e);
    }
    long size =
        message.getData().length
            + (message.getHeaders() == null ? 0 : message.getHeaders().serializedLength());
    long maxPayload = nats.getMaxPayload(); // -1 while the server is not known
    if (maxPayload > 0 && size > maxPayload) {
      throw new UnprocessableEventException(
          event,
          "the message for the event at position "
              + event.position()
              + " takes "
              + size
              + " bytes with its headers, more than the NATS server's max_payload of "
              + maxPayload);
    }
    if (!takes(message.getSubject(), streamSubjects)) {
      // Asked again before the event is called unprocessable: the stream may take more by now.
      streamSubjects = subjectsOf(streamInfo());
    }
    if (!takes(message.getSubject(), streamSubjects)) {
      throw new UnprocessableEventException(
          event,
          "the subject "
              + message.getSubject()
              + " of the event at position "
              + event.position()
              + " is not one stream "
              + stream
              + " takes ("
              + String.join(", ", streamSubjects)
              + ")");
    }
    return message;
  }

  private static boolean takes(String subject, List<String> filters) {
    return filters.stream().anyMatch(filter -> Subjects.matches(filter, subject));
  }

  /** A stream configured without subjects takes its own name. */
  private List<String> subjectsOf(StreamInfo info) {
    List<String> subjects = info.getConfiguration().getSubjects();
    return subjects.isEmpty() ? List.of(stream) : List.copyOf(subjects);
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
    streamSubjects = subjectsOf(info);
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

  /** The position of the event in the stream's last message, which this relay must have sent. */
  private long positionOf(MessageInfo last) {
    Headers headers = last.getHeaders();
    String position = headers == null ? null : headers.getFirst(JetStreamRelay.POSITION_HEADER);
    String publisher = headers == null ? null : headers.getFirst(JetStreamRelay.RELAY_HEADER);
    if (position == null || publisher == null) {
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
    return Long.parseLong(position);
  }

  private static List<SequencedEvent> after(List<SequencedEvent> events, long position) {
    int first = 0;
    while (first < events.size() && events.get(first).position() <= position) {
      first++;
    }
    return events.subList(first, events.size());
  }
}
