package io.en57.nats;

import io.nats.client.Connection;
import io.nats.client.IterableConsumer;
import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamManagement;
import io.nats.client.Message;
import io.nats.client.Nats;
import io.nats.client.Options;
import io.nats.client.api.OrderedConsumerConfiguration;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import io.nats.client.impl.Headers;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** Streams for the tests: created afresh, and read whole by a JetStream consumer. */
final class Streams {

  private Streams() {}

  /** A message as a consumer received it. */
  record Received(
      long sequence,
      String subject,
      String messageId,
      long position,
      String type,
      Message message) {

    /** The message as received; position -1 and no id or type if it has no headers. */
    static Received of(Message message) {
      Headers headers = message.getHeaders();
      return new Received(
          message.metaData().streamSequence(),
          message.getSubject(),
          headers == null ? null : headers.getFirst("Nats-Msg-Id"),
          headers == null ? -1 : Long.parseLong(headers.getFirst(JetStreamRelay.POSITION_HEADER)),
          headers == null ? null : headers.getFirst(JetStreamRelay.TYPE_HEADER),
          message);
    }
  }

  /** A connection to {@code url} that reconnects without limit, as the relay wants. */
  static Connection connect(String url) throws IOException, InterruptedException {
    return Nats.connect(
        Options.builder()
            .server(url)
            .maxReconnects(-1)
            .reconnectWait(Duration.ofMillis(100))
            .connectionTimeout(Duration.ofSeconds(5))
            .build());
  }

  /**
   * Creates stream {@code name} on {@code subjects}, deleting any stream of that name first (the
   * caller deletes it when done: streams of one server cannot share subjects).
   */
  static void create(Connection nats, String name, String subjects, Duration duplicateWindow)
      throws IOException, JetStreamApiException {
    JetStreamManagement management = nats.jetStreamManagement();
    if (management.getStreamNames().contains(name)) {
      management.deleteStream(name);
    }
    management.addStream(
        StreamConfiguration.builder()
            .name(name)
            .subjects(subjects)
            .storageType(StorageType.File)
            .duplicateWindow(duplicateWindow)
            .build());
  }

  /** Deletes stream {@code name} if it exists. */
  static void delete(Connection nats, String name) throws IOException, JetStreamApiException {
    JetStreamManagement management = nats.jetStreamManagement();
    if (management.getStreamNames().contains(name)) {
      management.deleteStream(name);
    }
  }

  /**
   * Every message of stream {@code name}, in stream order, read by an ordered consumer from the
   * first to the stream's last sequence (at most 60 seconds).
   */
  static List<Received> readAll(Connection nats, String name) throws Exception {
    long last = nats.jetStreamManagement().getStreamInfo(name).getStreamState().getLastSequence();
    var received = new ArrayList<Received>();
    if (last == 0) {
      return received;
    }
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    try (IterableConsumer consumer =
        nats.getStreamContext(name)
            .createOrderedConsumer(new OrderedConsumerConfiguration())
            .iterate()) {
      while (System.nanoTime() < deadline) {
        Message message = consumer.nextMessage(Duration.ofMillis(500));
        if (message == null) {
          continue;
        }
        received.add(Received.of(message));
        if (message.metaData().streamSequence() >= last) {
          return received;
        }
      }
    }
    throw new AssertionError(
        "the consumer got " + received.size() + " messages of stream " + name + " in 60 s");
  }
}
