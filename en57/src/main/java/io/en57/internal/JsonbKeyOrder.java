package io.en57.internal;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
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
      JsonFactory.builder()
          .streamReadConstraints(EventCodec.READ_LIMITS)
          .streamWriteConstraints(EventCodec.WRITE_LIMITS)
          .build();

  /** Keys in UTF-8, each encoded once, not at every comparison. */
  private static final Comparator<byte[]> KEYS =
      Comparator.<byte[]>comparingInt(bytes -> bytes.length).thenComparing(Arrays::compareUnsigned);

  private JsonbKeyOrder() {}

  /** A number as written, which jsonb keeps exactly. */
  private record NumberText(String text) {}

  private record Member(String key, Object value) {}

  /** {@code json} with its objects' members in jsonb's order; null stays null. */
  static String of(String json) {
    if (json == null) {
      return null;
    }
    var text = new StringWriter(json.length());
    try (JsonParser parser = FACTORY.createParser(json);
        JsonGenerator out = FACTORY.createGenerator(text)) {
      parser.nextToken();
      write(read(parser), out);
    } catch (IOException e) {
      throw new UncheckedIOException("the codec wrote JSON it cannot read", e);
    }
    return text.toString();
  }

  /**
   * The value at the parser's current token, objects as maps of members in jsonb's order. Read
   * whole before anything is written, so that each character is copied once however deep it is
   * nested.
   */
  private static Object read(JsonParser parser) throws IOException {
    return switch (parser.currentToken()) {
      case START_OBJECT -> {
        var members = new TreeMap<byte[], Member>(KEYS);
        while (parser.nextToken() == JsonToken.FIELD_NAME) {
          String key = parser.currentName();
          parser.nextToken();
          members.put(key.getBytes(StandardCharsets.UTF_8), new Member(key, read(parser)));
        }
        yield members;
      }
      case START_ARRAY -> {
        var elements = new ArrayList<Object>();
        while (parser.nextToken() != JsonToken.END_ARRAY) {
          elements.add(read(parser));
        }
        yield elements;
      }
      case VALUE_STRING -> parser.getText();
      case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> new NumberText(parser.getText());
      case VALUE_TRUE, VALUE_FALSE -> parser.getBooleanValue();
      case VALUE_NULL -> null;
      default -> throw new IOException("unexpected " + parser.currentToken() + " in JSON");
    };
  }

  private static void write(Object value, JsonGenerator out) throws IOException {
    if (value instanceof Map<?, ?> members) {
      out.writeStartObject();
      for (Object entry : members.values()) {
        var member = (Member) entry;
        out.writeFieldName(member.key());
        write(member.value(), out);
      }
      out.writeEndObject();
    } else if (value instanceof List<?> elements) {
      out.writeStartArray();
      for (Object element : elements) {
        write(element, out);
      }
      out.writeEndArray();
    } else if (value instanceof String string) {
      out.writeString(string);
    } else if (value instanceof NumberText number) {
      out.writeNumber(number.text());
    } else if (value instanceof Boolean bool) {
      out.writeBoolean(bool);
    } else {
      out.writeNull();
    }
  }
}
