package io.en57.internal;

import io.en57.Event;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32;

/**
 * Which segment of a partitioned projection an event belongs to: the CRC-32 of the smallest of its
 * tags with the prefix, modulo the number of segments (stable across JVMs and releases); segment 0
 * when it has no such tag.
 */
final class Segments {

  private Segments() {}

  static int of(Event event, String tagPrefix, int segments) {
    if (segments == 1) {
      return 0;
    }
    String key = null;
    for (String tag : event.tags()) {
      if (tag.startsWith(tagPrefix) && (key == null || tag.compareTo(key) < 0)) {
        key = tag;
      }
    }
    if (key == null) {
      return 0;
    }
    var crc = new CRC32();
    crc.update(key.getBytes(StandardCharsets.UTF_8));
    return (int) (crc.getValue() % segments);
  }
}
