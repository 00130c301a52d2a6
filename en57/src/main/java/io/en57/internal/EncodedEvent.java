package io.en57.internal;

import java.util.Set;
import java.util.UUID;

/**
 * An event as engines store it: data and meta as JSON text.
 *
 * @param meta JSON text, or null when the event has neither metadata nor type hints
 */
public record EncodedEvent(UUID id, String type, String data, String meta, Set<String> tags) {

  /** The characters of its type and tags, which travel and are indexed beside its data. */
  public long indexedLength() {
    return type.length() + StorableText.length(tags);
  }
}
