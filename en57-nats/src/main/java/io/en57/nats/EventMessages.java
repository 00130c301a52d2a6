package io.en57.nats;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.json.JsonWriteFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectWriter;
import io.en57.Event;
import io.en57.SequencedEvent;
import io.nats.client.Message;
import io.nats.client.impl.Headers;
import io.nats.client.impl.NatsMessage;
import io.nats.client.support.NatsJetStreamConstants;
import java.nio.charset.StandardCharsets;
import java.util.function.Function;

/**
 * Turns an event into the message the relay publishes: subject, headers, the data as JSON.
 * JetStream's headers (the message id, the stream and last sequence expected) are among them rather
 * than in publish options, so that the size the relay checks is the size sent. Thread-safe.
 */
final class EventMessages {

  private static final char[] HEX = "0123456789ABCDEF".toCharArray();

  private final String relayHeader;
  private final Function<SequencedEvent, String> subjects;
  private final ObjectWriter data;
  private final ObjectWriter metadata;

  EventMessages(String relay, Function<SequencedEvent, String> subjects, ObjectMapper mapper) {
    this.relayHeader = headerValue(relay);
    this.subjects = subjects;
    this.data = mapper.writer();
    this.metadata = mapper.writer().with(JsonWriteFeature.ESCAPE_NON_ASCII);
  }

  /**
   * The message for {@code sequenced}, to {@code stream}, whose last sequence must be {@code
   * lastSequence}.
   *
   * @throws IllegalArgumentException if its subject is not valid or its data cannot be written
   */
  Message of(SequencedEvent sequenced, String stream, long lastSequence) {
    Event event = sequenced.event();
    String subject = subjects.apply(sequenced);
    if (subject == null) {
      throw new IllegalArgumentException(
          "the subject for the event at position " + sequenced.position() + " is null");
    }
    Subjects.requireValid(subject, "the subject for the event at position " + sequenced.position());
    var headers = new Headers();
    headers.put(NatsJetStreamConstants.MSG_ID_HDR, event.id().toString());
    headers.put(NatsJetStreamConstants.EXPECTED_STREAM_HDR, stream);
    headers.put(NatsJetStreamConstants.EXPECTED_LAST_SEQ_HDR, Long.toString(lastSequence));
    headers.put(JetStreamRelay.RELAY_HEADER, relayHeader);
    headers.put(JetStreamRelay.POSITION_HEADER, Long.toString(sequenced.position()));
    headers.put(JetStreamRelay.TYPE_HEADER, headerValue(event.type()));
    if (!event.tags().isEmpty()) {
      headers.put(
          JetStreamRelay.TAGS_HEADER,
          event.tags().stream().map(EventMessages::headerValue).toList());
    }
    try {
      if (!event.metadata().isEmpty()) {
        // JSON escapes control characters, ESCAPE_NON_ASCII the rest but DEL, which only a string
        // can hold, where its escape means the same.
        String json = metadata.writeValueAsString(event.metadata()).replace("\u007f", "\\u007f");
        headers.put(JetStreamRelay.METADATA_HEADER, json);
      }
      return NatsMessage.builder()
          .subject(subject)
          .headers(headers)
          .data(data.writeValueAsBytes(event.data()))
          .build();
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(
          "the event at position " + sequenced.position() + " cannot be written as JSON: " + e, e);
    }
  }

  /**
   * {@code text} as a header value: printable ASCII but space, % and + as they are, every other
   * character percent-encoded as UTF-8 ({@code URLDecoder.decode(value, UTF_8)} restores it).
   */
  static String headerValue(String text) {
    if (text.chars().allMatch(EventMessages::isPlain)) {
      return text;
    }
    var encoded = new StringBuilder(text.length() + 16);
    text.codePoints()
        .forEach(
            c -> {
              if (isPlain(c)) {
                encoded.append((char) c);
              } else {
                for (byte b : new String(Character.toChars(c)).getBytes(StandardCharsets.UTF_8)) {
                  encoded.append('%').append(HEX[(b >> 4) & 0xF]).append(HEX[b & 0xF]);
                }
              }
            });
    return encoded.toString();
  }

  private static boolean isPlain(int c) {
    return c > ' ' && c < 0x7f && c != '%' && c != '+';
  }
}
