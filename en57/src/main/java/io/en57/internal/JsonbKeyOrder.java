package io.en57.internal;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Map;
import java.util.TreeMap;

/**
 * Puts the members of every object of a JSON text in the order PostgreSQL's jsonb keeps them:
 * shorter keys (in UTF-8 bytes) first, keys of one length by their bytes; of repeated keys the last
 * one stays. The in-memory engine stores data so, and a map read back iterates in the same order on
 * both engines. Numbers and strings are copied exactly as written.
 */
final class JsonbKeyOrder {

  private static final JsonFactory FACTORY =
      JsonFactory.builder().streamReadConstraints(EventCodec.READ_LIMITS).build();

  private static final Comparator<String> KEYS =
      Comparator.comparing(
          (String key) -> key.getBytes(StandardCharsets.UTF_8),
          Comparator.<byte[]>comparingInt(bytes -> bytes.length)
              .thenComparing(Arrays::compareUnsigned));

  private JsonbKeyOrder() {}

  /** {@code json} with its objects' members in jsonb's order; null stays null. */
  static String of(String json) {
    if (json == null) {
      return null;
    }
    try (JsonParser parser = FACTORY.createParser(json)) {
      parser.nextToken();
      return copy(parser);
    } catch (IOException e) {
      throw new UncheckedIOException("the codec wrote JSON it cannot read", e);
    }
  }

  /** The value at the parser's current token, written in jsonb's order. */
  private static String copy(JsonParser parser) throws IOException {
    var text = new StringWriter();
    try (JsonGenerator out = FACTORY.createGenerator(text)) {
      switch (parser.currentToken()) {
        case START_OBJECT -> {
          var members = new TreeMap<String, String>(KEYS);
          while (parser.nextToken() == JsonToken.FIELD_NAME) {
            String key = parser.currentName();
            parser.nextToken();
            members.put(key, copy(parser));
          }
          out.writeStartObject();
          for (Map.Entry<String, String> member : members.entrySet()) {
            out.writeFieldName(member.getKey());
            out.writeRawValue(member.getValue());
          }
          out.writeEndObject();
        }
        case START_ARRAY -> {
          out.writeStartArray();
          while (parser.nextToken() != JsonToken.END_ARRAY) {
            out.writeRawValue(copy(parser));
          }
          out.writeEndArray();
        }
        case VALUE_STRING -> out.writeString(parser.getText());
        case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> out.writeNumber(parser.getText());
        case VALUE_TRUE, VALUE_FALSE -> out.writeBoolean(parser.getBooleanValue());
        case VALUE_NULL -> out.writeNull();
        default -> throw new IOException("unexpected " + parser.currentToken() + " in JSON");
      }
    }
    return text.toString();
  }
}
