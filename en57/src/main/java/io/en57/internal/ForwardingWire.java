package io.en57.internal;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.en57.Event;
import io.en57.Query;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;

/**
 * What travels between a node and the append leader: frames of JSON, each after its length in four
 * bytes. A connection starts with the follower's {@link Hello} and the leader's {@link Welcome};
 * then each {@link Request} gets one {@link Reply}, in turn.
 */
final class ForwardingWire {

  /**
   * The largest request or reply: an append's data and metadata may take {@link
   * io.en57.Event#MAX_APPEND_JSON_LENGTH} characters of JSON, up to three bytes each in UTF-8, and
   * escaping them as strings here can take several times that.
   */
  static final int MAX_FRAME_BYTES = Integer.MAX_VALUE - 8;

  /**
   * The largest request a leader reads: far beyond what an append of {@link
   * AppendForwarding#MAX_FORWARDED_JSON_LENGTH} characters of data takes, even with thousands of
   * tags; a larger one is appended directly.
   */
  static final int MAX_REQUEST_BYTES = 16 * 1024 * 1024;

  /** The largest hello: read before the peer is known, so it must not make the leader allocate. */
  static final int MAX_HELLO_BYTES = 1024;

  /** Changed whenever what travels changes: a leader turns away a follower of another version. */
  static final int VERSION = 1;

  /**
   * Event data travels as strings, which may be longer than Jackson reads by default: a conflicting
   * event's data may take {@link io.en57.Event#MAX_JSON_LENGTH} characters.
   */
  private static final ObjectMapper MAPPER =
      new ObjectMapper(
          JsonFactory.builder()
              .streamReadConstraints(
                  StreamReadConstraints.builder().maxStringLength(Integer.MAX_VALUE).build())
              .build());

  /** Reads an event's data or metadata as the codec reads it. */
  private static final JsonFactory EVENT_JSON =
      JsonFactory.builder().streamReadConstraints(EventCodec.READ_LIMITS).build();

  private ForwardingWire() {}

  /** The follower's first frame: its version of this wire, and the token the leader published. */
  record Hello(int version, String token) {}

  /** The leader's answer to a hello with the right token: its version of this wire. */
  record Welcome(int version) {}

  /** One append; {@code condition} null when it has none. */
  record Request(List<WireEvent> events, List<WireCriterion> condition) {

    static Request of(AppendRequest append) {
      return new Request(
          append.events().stream().map(WireEvent::of).toList(),
          append.condition() == null
              ? null
              : append.condition().criteria().stream().map(WireCriterion::of).toList());
    }

    /**
     * The append, checked as the follower's store checked it before sending: the leader writes it
     * in one statement with other callers' appends, where a forged one (data holding two JSON
     * values, say, or an id twice) must not reach theirs.
     *
     * @throws IllegalArgumentException naming what no store sends
     */
    AppendRequest toAppend() {
      if (events == null || events.isEmpty()) {
        throw new IllegalArgumentException("a forwarded append without events");
      }
      var ids = new HashSet<UUID>();
      var encoded = new ArrayList<EncodedEvent>(events.size());
      for (WireEvent event : events) {
        EncodedEvent one = Objects.requireNonNull(event, "a forwarded event is null").toEncoded();
        if (!ids.add(one.id())) {
          throw new IllegalArgumentException("a forwarded append repeats the id " + one.id());
        }
        encoded.add(one);
      }
      var append =
          new AppendRequest(
              encoded,
              condition == null
                  ? null
                  : new Query(condition.stream().map(WireCriterion::toCriterion).toList()));
      if (append.jsonLength() > AppendForwarding.MAX_FORWARDED_JSON_LENGTH) {
        throw new IllegalArgumentException(
            "a forwarded append of " + append.jsonLength() + " characters of JSON");
      }
      return append;
    }
  }

  /** An encoded event; tags as a list, in the order the follower held them. */
  record WireEvent(UUID id, String type, String data, String meta, List<String> tags) {

    static WireEvent of(EncodedEvent event) {
      return new WireEvent(
          event.id(), event.type(), event.data(), event.meta(), new ArrayList<>(event.tags()));
    }

    EncodedEvent toEncoded() {
      Objects.requireNonNull(id, "a forwarded event without an id");
      StorableText.requireIndexable(
          Objects.requireNonNull(type, "a forwarded event without a type"),
          "type",
          Event.MAX_TYPE_BYTES);
      for (String tag : Objects.requireNonNull(tags, "a forwarded event without tags")) {
        StorableText.requireIndexable(
            Objects.requireNonNull(tag, "a forwarded tag is null"), "tag", Event.MAX_TAG_BYTES);
      }
      requireOneJsonValue(data, "data");
      if (meta != null) {
        requireOneJsonValue(meta, "meta");
      }
      return new EncodedEvent(id, type, data, meta, inOrder(tags));
    }
  }

  record WireCriterion(List<String> types, List<String> tags, long after) {

    static WireCriterion of(Query.Criterion criterion) {
      return new WireCriterion(
          new ArrayList<>(criterion.types()), new ArrayList<>(criterion.tags()), criterion.after());
    }

    Query.Criterion toCriterion() {
      return new Query.Criterion(inOrder(types), inOrder(tags), after);
    }
  }

  record WireStoredEvent(long position, WireEvent event) {}

  /** The leader's answer to one request. */
  @JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "reply")
  @JsonSubTypes({
    @JsonSubTypes.Type(value = Reply.Stored.class, name = "stored"),
    @JsonSubTypes.Type(value = Reply.Conflicted.class, name = "conflicted"),
    @JsonSubTypes.Type(value = Reply.Refused.class, name = "refused"),
    @JsonSubTypes.Type(value = Reply.NotWritten.class, name = "not-written"),
    @JsonSubTypes.Type(value = Reply.Unknown.class, name = "unknown")
  })
  sealed interface Reply {

    record Stored(long position, boolean replayed) implements Reply {}

    record Conflicted(long position, List<WireStoredEvent> events) implements Reply {}

    /** The append is refused, as it would be on the follower: the follower throws the same. */
    record Refused(Reason reason, String message, UUID eventId) implements Reply {}

    /** The leader did not write the append (it is closing): the follower appends directly. */
    record NotWritten(String message) implements Reply {}

    /**
     * The leader cannot say whether it stored the append (the database failed it): the follower
     * appends directly, which replays the append if it was stored.
     */
    record Unknown(String message) implements Reply {}

    static Reply of(AppendOutcome outcome) {
      if (outcome instanceof AppendOutcome.Stored stored) {
        return new Stored(stored.position(), stored.replayed());
      }
      var conflicted = (AppendOutcome.Conflicted) outcome;
      return new Conflicted(
          conflicted.position(),
          conflicted.events().stream()
              .map(e -> new WireStoredEvent(e.position(), WireEvent.of(e.event())))
              .toList());
    }
  }

  /** Why the leader refused an append. */
  enum Reason {
    DUPLICATE_EVENT_ID,
    INVALID,
    LOCK_TIMEOUT
  }

  static void write(DataOutputStream out, Object frame) throws IOException {
    writeBytes(out, bytes(frame));
  }

  /** {@code frame} as it travels, after its length. */
  static byte[] bytes(Object frame) throws IOException {
    return MAPPER.writeValueAsBytes(frame);
  }

  static void writeBytes(DataOutputStream out, byte[] bytes) throws IOException {
    out.writeInt(bytes.length);
    out.write(bytes);
    out.flush();
  }

  static <T> T read(DataInputStream in, Class<T> type, int maxBytes) throws IOException {
    int length = in.readInt();
    if (length < 0 || length > maxBytes) {
      throw new IOException("a frame of " + length + " bytes is not one this library sends");
    }
    // Buffers grow with the bytes that arrive, not with the length a peer announces.
    byte[] bytes = in.readNBytes(length);
    if (bytes.length < length) {
      throw new EOFException("a frame of " + length + " bytes ended after " + bytes.length);
    }
    return MAPPER.readValue(bytes, type);
  }

  /**
   * Refuses {@code json} unless it is exactly one JSON value: the leader joins events' data into
   * one JSON array, where a text holding two values would shift every later event's data.
   */
  private static void requireOneJsonValue(String json, String field) {
    Objects.requireNonNull(json, () -> "a forwarded event without " + field);
    try (JsonParser parser = EVENT_JSON.createParser(json)) {
      if (parser.nextToken() == null) {
        throw new IllegalArgumentException("a forwarded event's " + field + " is empty");
      }
      parser.skipChildren();
      if (parser.nextToken() != null) {
        throw new IllegalArgumentException(
            "a forwarded event's " + field + " holds more than one JSON value");
      }
    } catch (IOException e) {
      throw new IllegalArgumentException("a forwarded event's " + field + " is not JSON", e);
    }
  }

  private static Set<String> inOrder(List<String> values) {
    return Collections.unmodifiableSet(new LinkedHashSet<>(values));
  }
}
