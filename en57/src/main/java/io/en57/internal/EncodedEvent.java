package io.en57.internal;

import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;

/**
 * An event as engines store it: data and meta as JSON text. A value, compared by its fields.
 *
 * <p>Not a record because its data has two forms: the text the codec wrote, or the UTF-8 bytes a
 * read received from PostgreSQL. Reads hand the bytes to the JSON parser as they came, and only a
 * caller of {@link #data()} turns them into a string. Parsing the bytes rather than a string made
 * of them took a sixth less of the reading thread's time (decoding a batch of 1,000 of the
 * benchmark's course events, timed alone), and spares the fetching thread the string.
 */
public final class EncodedEvent {

  private final UUID id;
  private final String type;
  private final String meta;
  private final Set<String> tags;
  private final byte[] utf8Data;
  // Made from utf8Data on first use; a race makes two equal strings, as String's own hash does.
  private String data;

  /**
   * @param data JSON text
   * @param meta JSON text, or null when the event has neither metadata nor type hints
   */
  public EncodedEvent(UUID id, String type, String data, String meta, Set<String> tags) {
    this(id, type, Objects.requireNonNull(data, "data"), null, meta, tags);
  }

  private EncodedEvent(
      UUID id, String type, String data, byte[] utf8Data, String meta, Set<String> tags) {
    this.id = id;
    this.type = type;
    this.data = data;
    this.utf8Data = utf8Data;
    this.meta = meta;
    this.tags = tags;
  }

  /** An event as read: its data is JSON text in UTF-8, which the caller must not change. */
  static EncodedEvent read(UUID id, String type, byte[] utf8Data, String meta, Set<String> tags) {
    return new EncodedEvent(id, type, null, Objects.requireNonNull(utf8Data, "data"), meta, tags);
  }

  public UUID id() {
    return id;
  }

  public String type() {
    return type;
  }

  /** The data, as JSON text. */
  public String data() {
    String text = data;
    if (text == null) {
      text = new String(utf8Data, StandardCharsets.UTF_8);
      data = text;
    }
    return text;
  }

  /** The data, as JSON text in UTF-8; the caller must not change it. */
  byte[] utf8Data() {
    return utf8Data != null ? utf8Data : data.getBytes(StandardCharsets.UTF_8);
  }

  /** The meta document as JSON text, or null when the event has neither metadata nor hints. */
  public String meta() {
    return meta;
  }

  public Set<String> tags() {
    return tags;
  }

  /** The characters of its type and tags, which travel and are indexed beside its data. */
  public long indexedLength() {
    return type.length() + StorableText.length(tags);
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof EncodedEvent that
        && id.equals(that.id)
        && type.equals(that.type)
        && data().equals(that.data())
        && Objects.equals(meta, that.meta)
        && tags.equals(that.tags);
  }

  @Override
  public int hashCode() {
    return Objects.hash(id, type, data(), meta, tags);
  }

  @Override
  public String toString() {
    return "EncodedEvent[id="
        + id
        + ", type="
        + type
        + ", data="
        + data()
        + ", meta="
        + meta
        + ", tags="
        + tags
        + "]";
  }
}
