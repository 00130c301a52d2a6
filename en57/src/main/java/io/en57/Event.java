package io.en57;

import io.en57.internal.Frozen;
import io.en57.internal.Uuid7;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;

/**
 * An event: what happened ({@code type}), its payload ({@code data}), the tags that place it in
 * consistency boundaries, and optional metadata.
 *
 * <p>{@code data} is either a {@link Map} with {@code String} keys (untyped) or an instance of the
 * class registered for the event's type with {@link EventStoreBuilder#register(String, Class)}
 * (typed). Events are immutable values; untyped data and metadata maps are copied on construction.
 *
 * <p>What an append accepts, it reads back; what it could not read back, or PostgreSQL could not
 * store or index, it refuses with an {@link IllegalArgumentException} naming the field, before
 * anything is written, on every engine:
 *
 * <ul>
 *   <li>the type at most {@value #MAX_TYPE_BYTES} and each tag at most {@value #MAX_TAG_BYTES}
 *       bytes in UTF-8 (they are indexed; the same holds for types and tags in queries);
 *   <li>no text anywhere (type, tags, map keys, strings) containing U+0000 or half of a UTF-16
 *       surrogate pair;
 *   <li>data, and metadata, each at most {@value #MAX_JSON_LENGTH} characters written as JSON, and
 *       the data and metadata of all events of one append together at most {@value
 *       #MAX_APPEND_JSON_LENGTH};
 *   <li>the types and tags of all events of one append, with the types and tags of its condition,
 *       together at most {@value #MAX_APPEND_INDEXED_LENGTH} characters;
 *   <li>at most {@value #MAX_NESTING_DEPTH} levels of maps and lists, the data map (or the payload
 *       object) being the first;
 *   <li>numbers inside lists and maps, and in typed payloads, at most {@value #MAX_NUMBER_LENGTH}
 *       characters written out in full ({@code 1E+999} is a 1 and 999 zeros); top-level {@code
 *       BigDecimal} and {@code BigInteger} values of untyped data are stored as text, unaffected;
 *   <li>in untyped data and metadata, map keys are strings at every level.
 * </ul>
 *
 * @param id unique id; {@link #of(String, Object)} assigns a fresh UUIDv7
 * @param type event type, not blank
 * @param data payload: a map, or an instance of the class registered for {@code type}
 * @param tags tags, a set of non-blank strings (insertion order kept, duplicates dropped)
 * @param metadata metadata; values follow the same rules as untyped data
 */
public record Event(
    UUID id, String type, Object data, Set<String> tags, Map<String, Object> metadata) {

  /** The most bytes of UTF-8 an event type may take; types are indexed. */
  public static final int MAX_TYPE_BYTES = 1_000;

  /** The most bytes of UTF-8 a tag may take; tags are indexed. */
  public static final int MAX_TAG_BYTES = 1_000;

  /**
   * The most characters the data of one event may take written as JSON, and separately its metadata
   * (with the type hints of data and metadata): 16 Mi.
   */
  public static final int MAX_JSON_LENGTH = 16 * 1024 * 1024;

  /**
   * The most characters the data and metadata of all events of one append may take together,
   * written as JSON: 32 Mi. An append's data travels to PostgreSQL as one jsonb array, which holds
   * at most 256 MiB, and jsonb takes up to about six times the JSON's size (a list of small
   * numbers).
   */
  public static final int MAX_APPEND_JSON_LENGTH = 32 * 1024 * 1024;

  /**
   * The most characters the types and tags of all events of one append may take together, with the
   * types and tags of its condition: 32 Mi. They travel to PostgreSQL beside the data, and
   * PostgreSQL takes no message over 1 GB.
   */
  public static final int MAX_APPEND_INDEXED_LENGTH = 32 * 1024 * 1024;

  /** The deepest nesting of maps and lists in data or metadata; the data map is level 1. */
  public static final int MAX_NESTING_DEPTH = 1_000;

  /**
   * The most characters a number inside data or metadata may take written out in full, without
   * exponent (top-level {@code BigDecimal} and {@code BigInteger} values excepted).
   */
  public static final int MAX_NUMBER_LENGTH = 1_000;

  /** Validates and copies; every message names the offending field. */
  public Event {
    Objects.requireNonNull(id, "event id must not be null");
    Objects.requireNonNull(type, "event type must not be null");
    if (type.isBlank()) {
      throw new IllegalArgumentException("event type must not be blank");
    }
    Objects.requireNonNull(data, "event data must not be null (use an empty map for no data)");
    if (data instanceof Map<?, ?> map) {
      data = copyOf(map, "event data");
    }
    tags = copyOfTags(Objects.requireNonNull(tags, "event tags must not be null"));
    metadata =
        copyOf(
            Objects.requireNonNull(metadata, "event metadata must not be null"), "event metadata");
  }

  /** An event of {@code type} with {@code data}, no tags, no metadata, and a fresh UUIDv7 id. */
  public static Event of(String type, Object data) {
    return new Event(Uuid7.next(), type, data, Set.of(), Map.of());
  }

  /** An event of {@code type} with no data. */
  public static Event of(String type) {
    return of(type, Map.of());
  }

  /** This event with {@code tags} in place of its tags. */
  public Event withTags(String... tags) {
    Objects.requireNonNull(tags, "event tags must not be null");
    return withTags(Arrays.asList(tags));
  }

  /** This event with {@code tags} in place of its tags. */
  public Event withTags(Collection<String> tags) {
    Objects.requireNonNull(tags, "event tags must not be null");
    return new Event(id, type, data, new LinkedHashSet<>(tags), metadata);
  }

  /** This event with {@code metadata} in place of its metadata. */
  public Event withMetadata(Map<String, ?> metadata) {
    Objects.requireNonNull(metadata, "event metadata must not be null");
    return new Event(id, type, data, tags, Collections.<String, Object>unmodifiableMap(metadata));
  }

  /** This event with {@code id} in place of its id (for idempotent appends). */
  public Event withId(UUID id) {
    return new Event(id, type, data, tags, metadata);
  }

  /** A copy of {@code tags}, checked, unless it is already one (read-only, made by the library). */
  @SuppressWarnings("unchecked")
  private static Set<String> copyOfTags(Collection<String> tags) {
    if (Frozen.isFrozen(tags)) {
      return (Set<String>) tags;
    }
    return checkedCopyOfTags(tags);
  }

  private static Set<String> checkedCopyOfTags(Collection<String> tags) {
    var copy = new LinkedHashSet<String>();
    for (String tag : tags) {
      Objects.requireNonNull(tag, "event tags must not contain null");
      if (tag.isBlank()) {
        throw new IllegalArgumentException("event tags must not contain a blank tag");
      }
      copy.add(tag);
    }
    return Frozen.set(copy);
  }

  /** A copy of {@code map}, unless it is already one (read-only, made by the library). */
  @SuppressWarnings("unchecked")
  private static Map<String, Object> copyOf(Map<?, ?> map, String field) {
    if (Frozen.isFrozen(map)) {
      return (Map<String, Object>) map;
    }
    var copy = new LinkedHashMap<String, Object>();
    for (var entry : map.entrySet()) {
      if (!(entry.getKey() instanceof String key)) {
        throw new IllegalArgumentException(field + " keys must be strings, got " + entry.getKey());
      }
      copy.put(key, entry.getValue());
    }
    return Frozen.map(copy);
  }
}
