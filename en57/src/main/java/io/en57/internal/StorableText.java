package io.en57.internal;

import io.en57.Query;
import java.util.Collection;

/**
 * The rules text must follow to be stored exactly by PostgreSQL and to fit its indexes, shared by
 * events (checked when encoded) and queries (checked when built), so that both engines refuse the
 * same input.
 */
public final class StorableText {

  private static final int SHOWN_CHARACTERS = 40;

  private StorableText() {}

  /** The characters of the types and tags of {@code query}'s criteria. */
  public static long indexedLength(Query query) {
    long length = 0;
    for (Query.Criterion criterion : query.criteria()) {
      length += length(criterion.types()) + length(criterion.tags());
    }
    return length;
  }

  /** The characters of {@code texts}, all together. */
  static long length(Collection<String> texts) {
    long length = 0;
    for (String text : texts) {
      length += text.length();
    }
    return length;
  }

  /**
   * Refuses U+0000 and half of a UTF-16 surrogate pair: PostgreSQL stores neither (the driver would
   * send the half pair as '?', silently changing the text, or matching another one in a query).
   *
   * @param field how to name the text in the message
   * @throws IllegalArgumentException naming the field
   */
  public static void requireStorable(String text, String field) {
    int at = firstUnstorable(text);
    if (at >= 0) {
      throw new IllegalArgumentException(
          field
              + (text.charAt(at) == '\0'
                  ? ": contains the character U+0000, which PostgreSQL cannot store"
                  : ": contains half of a UTF-16 surrogate pair, which PostgreSQL cannot store"));
    }
  }

  /** Whether {@link #requireStorable} accepts {@code text}. */
  static boolean isStorable(String text) {
    return firstUnstorable(text) < 0;
  }

  /** The index of the first U+0000 or unpaired surrogate in {@code text}, or -1. */
  private static int firstUnstorable(String text) {
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c < Character.MIN_SURROGATE) {
        if (c == '\0') {
          return i;
        }
      } else if (Character.isHighSurrogate(c)
          && i + 1 < text.length()
          && Character.isLowSurrogate(text.charAt(i + 1))) {
        i++;
      } else if (Character.isSurrogate(c)) {
        return i;
      }
    }
    return -1;
  }

  /**
   * Refuses a type or tag that PostgreSQL cannot store exactly or that is longer than its index
   * allows, measured in bytes of UTF-8 as the database stores it.
   *
   * @param field how to name the value in the message
   * @param maxBytes the most bytes of UTF-8 allowed
   * @throws IllegalArgumentException naming the field
   */
  public static void requireIndexable(String value, String field, int maxBytes) {
    requireStorable(value, field);
    // Every char takes at most 3 bytes (a surrogate pair, two chars, takes 4).
    if (value.length() * 3L <= maxBytes) {
      return;
    }
    int bytes = utf8Length(value);
    if (bytes > maxBytes) {
      throw new IllegalArgumentException(
          String.format(
              "%s: \"%s\" takes %,d bytes in UTF-8; at most %,d are allowed",
              field, abbreviated(value), bytes, maxBytes));
    }
  }

  /** The length of {@code text} in UTF-8, which must be {@linkplain #requireStorable storable}. */
  static int utf8Length(String text) {
    int bytes = 0;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c < 0x80) {
        bytes += 1;
      } else if (c < 0x800) {
        bytes += 2;
      } else if (Character.isHighSurrogate(c)) {
        bytes += 4;
        i++;
      } else {
        bytes += 3;
      }
    }
    return bytes;
  }

  /** {@code text} with each U+0000 and half surrogate pair replaced by U+FFFD. */
  static String withUnstorableReplaced(String text) {
    int at = firstUnstorable(text);
    if (at < 0) {
      return text;
    }
    var replaced = new StringBuilder(text.length());
    // codePoints() joins each pair, so what remains a surrogate is half of one.
    text.codePoints()
        .forEach(
            c ->
                replaced.appendCodePoint(
                    c == 0 || Character.getType(c) == Character.SURROGATE ? 0xFFFD : c));
    return replaced.toString();
  }

  /**
   * The first {@code length} characters of {@code text} (all of a shorter one), or one fewer not to
   * split a pair.
   */
  static String cut(String text, int length) {
    if (text.length() <= length) {
      return text;
    }
    int end = Character.isHighSurrogate(text.charAt(length - 1)) ? length - 1 : length;
    return text.substring(0, end);
  }

  /** The start of {@code text}, for messages. */
  static String abbreviated(String text) {
    if (text.length() <= SHOWN_CHARACTERS) {
      return text;
    }
    return cut(text, SHOWN_CHARACTERS) + "…";
  }
}
