package io.en57.internal;

import com.fasterxml.jackson.core.Base64Variant;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.SerializableString;
import com.fasterxml.jackson.core.util.JsonGeneratorDelegate;
import io.en57.Event;
import java.io.IOException;
import java.io.Reader;
import java.io.StringWriter;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;

/**
 * Writes JSON as PostgreSQL's jsonb prints it back, and refuses what jsonb or the reader could not
 * take, while Jackson writes it: so the in-memory engine (which keeps this text) and the PostgreSQL
 * engine (which keeps jsonb) read back the same values, and an event that is accepted always reads
 * back. Checking token by token as they are written costs far less than parsing the JSON again.
 *
 * <p>Numbers are written in full, never with an exponent, as jsonb's numeric prints them: {@code
 * 1E+3} as {@code 1000}, {@code 1.0E20} as {@code 100000000000000000000.0} (a double keeps a
 * fraction, so that it reads back as a double), {@code -0.0} as {@code 0.0} (numeric has no
 * negative zero); NaN and infinities as strings, as Jackson writes them by default. A number longer
 * than {@link Event#MAX_NUMBER_LENGTH} written out is refused, and so is nesting deeper than {@link
 * Event#MAX_NESTING_DEPTH}, and text with U+0000 or half of a surrogate pair.
 *
 * <p>Raw JSON (from {@code @JsonRawValue}, say) cannot be checked as it is written; {@link
 * #wroteRaw()} tells the caller to pass the text through {@link #copy} once more.
 */
final class StorableJsonGenerator extends JsonGeneratorDelegate {

  /** Thrown when a value cannot be stored; the message says where and why. */
  static final class Refused extends RuntimeException {
    private static final long serialVersionUID = 1L;

    Refused(String message) {
      super(message, null, false, false);
    }
  }

  private static final int SHOWN_POINTER = 120;

  /** Nesting levels of the document above the user's value (the meta document wraps metadata). */
  private final int levelsAbove;

  private int depth;
  private boolean wroteRaw;

  /**
   * A lower bound of the characters written so far: a value or a bracket takes at least one, a
   * string at least its length and quotes. Past the limit the JSON is too long for certain, so
   * writing stops there instead of filling the heap; the caller checks the exact length at the end.
   */
  private long atLeastWritten;

  /**
   * @param levelsAbove how many levels of the document are the codec's own, not counted against the
   *     user's nesting limit and left out of paths in messages
   */
  StorableJsonGenerator(JsonGenerator generator, int levelsAbove) {
    // Copy methods (writeObject, writeTree, copyCurrentEvent) must come back through this class.
    super(generator, false);
    this.levelsAbove = levelsAbove;
  }

  /** Whether raw JSON was written, which only parsing it again can check. */
  boolean wroteRaw() {
    return wroteRaw;
  }

  @Override
  public void writeStartArray() throws IOException {
    enter();
    super.writeStartArray();
  }

  @Override
  @SuppressWarnings("deprecation")
  public void writeStartArray(int size) throws IOException {
    enter();
    super.writeStartArray(size);
  }

  @Override
  public void writeStartArray(Object forValue) throws IOException {
    enter();
    super.writeStartArray(forValue);
  }

  @Override
  public void writeStartArray(Object forValue, int size) throws IOException {
    enter();
    super.writeStartArray(forValue, size);
  }

  @Override
  public void writeEndArray() throws IOException {
    written(1);
    depth--;
    super.writeEndArray();
  }

  @Override
  public void writeStartObject() throws IOException {
    enter();
    super.writeStartObject();
  }

  @Override
  public void writeStartObject(Object forValue) throws IOException {
    enter();
    super.writeStartObject(forValue);
  }

  @Override
  public void writeStartObject(Object forValue, int size) throws IOException {
    enter();
    super.writeStartObject(forValue, size);
  }

  @Override
  public void writeEndObject() throws IOException {
    written(1);
    depth--;
    super.writeEndObject();
  }

  @Override
  public void writeFieldName(String name) throws IOException {
    written(name.length() + 3L);
    checkText(name, "a key");
    super.writeFieldName(name);
  }

  @Override
  public void writeFieldName(SerializableString name) throws IOException {
    written(name.getValue().length() + 3L);
    checkText(name.getValue(), "a key");
    super.writeFieldName(name);
  }

  // The delegate would write these arrays itself, past the checks: write them element by element.

  @Override
  public void writeArray(int[] array, int offset, int length) throws IOException {
    writeStartArray(array, length);
    for (int i = offset; i < offset + length; i++) {
      writeNumber(array[i]);
    }
    writeEndArray();
  }

  @Override
  public void writeArray(long[] array, int offset, int length) throws IOException {
    writeStartArray(array, length);
    for (int i = offset; i < offset + length; i++) {
      writeNumber(array[i]);
    }
    writeEndArray();
  }

  @Override
  public void writeArray(double[] array, int offset, int length) throws IOException {
    writeStartArray(array, length);
    for (int i = offset; i < offset + length; i++) {
      writeNumber(array[i]);
    }
    writeEndArray();
  }

  @Override
  public void writeArray(String[] array, int offset, int length) throws IOException {
    writeStartArray(array, length);
    for (int i = offset; i < offset + length; i++) {
      writeString(array[i]);
    }
    writeEndArray();
  }

  @Override
  public void writeString(String text) throws IOException {
    if (text != null) {
      written(text.length() + 2L);
      checkText(text, "a string");
    }
    super.writeString(text);
  }

  @Override
  public void writeFieldId(long id) throws IOException {
    written(3);
    super.writeFieldId(id);
  }

  @Override
  public void writeNumber(short value) throws IOException {
    written(1);
    super.writeNumber(value);
  }

  @Override
  public void writeNumber(int value) throws IOException {
    written(1);
    super.writeNumber(value);
  }

  @Override
  public void writeNumber(long value) throws IOException {
    written(1);
    super.writeNumber(value);
  }

  @Override
  public void writeBoolean(boolean value) throws IOException {
    written(4);
    super.writeBoolean(value);
  }

  @Override
  public void writeNull() throws IOException {
    written(4);
    super.writeNull();
  }

  @Override
  public void writeBinary(Base64Variant variant, byte[] data, int offset, int length)
      throws IOException {
    written(length + 2L);
    super.writeBinary(variant, data, offset, length);
  }

  @Override
  public void writeString(char[] text, int offset, int length) throws IOException {
    writeString(new String(text, offset, length));
  }

  @Override
  public void writeString(SerializableString text) throws IOException {
    writeString(text.getValue());
  }

  @Override
  public void writeString(Reader reader, int length) throws IOException {
    var text = new StringWriter();
    if (length < 0) {
      reader.transferTo(text);
    } else {
      char[] buffer = new char[Math.min(length, 8192)];
      for (int left = length, read; left > 0; left -= read) {
        read = reader.read(buffer, 0, Math.min(left, buffer.length));
        if (read < 0) {
          break;
        }
        text.write(buffer, 0, read);
      }
    }
    writeString(text.toString());
  }

  @Override
  public void writeRawUTF8String(byte[] text, int offset, int length) throws IOException {
    writeString(utf8(text, offset, length));
  }

  @Override
  public void writeUTF8String(byte[] text, int offset, int length) throws IOException {
    writeString(utf8(text, offset, length));
  }

  @Override
  public void writeRaw(String text) throws IOException {
    wroteRaw = true;
    written(text.length());
    super.writeRaw(text);
  }

  @Override
  public void writeRaw(String text, int offset, int length) throws IOException {
    wroteRaw = true;
    written(length);
    super.writeRaw(text, offset, length);
  }

  @Override
  public void writeRaw(SerializableString text) throws IOException {
    wroteRaw = true;
    written(text.getValue().length());
    super.writeRaw(text);
  }

  @Override
  public void writeRaw(char[] text, int offset, int length) throws IOException {
    wroteRaw = true;
    written(length);
    super.writeRaw(text, offset, length);
  }

  @Override
  public void writeRaw(char c) throws IOException {
    wroteRaw = true;
    written(1);
    super.writeRaw(c);
  }

  @Override
  public void writeRawValue(String text) throws IOException {
    wroteRaw = true;
    written(text.length());
    super.writeRawValue(text);
  }

  @Override
  public void writeRawValue(String text, int offset, int length) throws IOException {
    wroteRaw = true;
    written(length);
    super.writeRawValue(text, offset, length);
  }

  @Override
  public void writeRawValue(char[] text, int offset, int length) throws IOException {
    wroteRaw = true;
    written(length);
    super.writeRawValue(text, offset, length);
  }

  @Override
  public void writeNumber(BigInteger value) throws IOException {
    if (value == null) {
      writeNull();
      return;
    }
    // 3,400 bits hold more than 1,023 decimal digits: too long, without printing it to find out.
    if (value.bitLength() > 3_400) {
      throw numberTooLong("more than 1,000");
    }
    String text = value.toString();
    requireNumberLength(text.length());
    written(text.length());
    super.writeNumber(text);
  }

  @Override
  public void writeNumber(BigDecimal value) throws IOException {
    if (value == null) {
      writeNull();
      return;
    }
    super.writeNumber(plain(value));
  }

  @Override
  public void writeNumber(double value) throws IOException {
    written(1);
    if (!Double.isFinite(value)) {
      super.writeString(Double.toString(value));
    } else {
      super.writeNumber(withFraction(Double.toString(value == 0 ? 0.0 : value)));
    }
  }

  @Override
  public void writeNumber(float value) throws IOException {
    written(1);
    if (!Float.isFinite(value)) {
      super.writeString(Float.toString(value));
    } else {
      super.writeNumber(withFraction(Float.toString(value == 0 ? 0.0f : value)));
    }
  }

  @Override
  public void writeNumber(String encoded) throws IOException {
    if (encoded == null) {
      writeNull();
      return;
    }
    BigDecimal value;
    try {
      value = new BigDecimal(encoded);
    } catch (NumberFormatException e) {
      switch (encoded) {
        case "NaN", "Infinity", "-Infinity" -> super.writeString(encoded);
        default ->
            throw refused(
                "the number \"" + StorableText.abbreviated(encoded) + "\"", "is not a JSON number");
      }
      return;
    }
    super.writeNumber(plain(value));
  }

  @Override
  public void writeNumber(char[] encoded, int offset, int length) throws IOException {
    writeNumber(new String(encoded, offset, length));
  }

  /**
   * Parses {@code json} and writes it again through a new generator of this kind, which checks
   * every token; for JSON that held raw values.
   */
  static void copy(JsonParser json, StorableJsonGenerator copy) throws IOException {
    for (var token = json.nextToken(); token != null; token = json.nextToken()) {
      switch (token) {
        case START_OBJECT -> copy.writeStartObject();
        case END_OBJECT -> copy.writeEndObject();
        case START_ARRAY -> copy.writeStartArray();
        case END_ARRAY -> copy.writeEndArray();
        case FIELD_NAME -> copy.writeFieldName(json.currentName());
        case VALUE_STRING -> copy.writeString(json.getText());
        // The exact value as written, which jsonb would also keep.
        case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> copy.writeNumber(json.getDecimalValue());
        case VALUE_TRUE -> copy.writeBoolean(true);
        case VALUE_FALSE -> copy.writeBoolean(false);
        case VALUE_NULL -> copy.writeNull();
        default -> throw new IllegalStateException("unexpected JSON token " + token);
      }
    }
  }

  private void enter() {
    written(1);
    depth++;
    if (depth - levelsAbove > Event.MAX_NESTING_DEPTH) {
      throw refused(
          "the value",
          String.format(
              "is nested deeper than %,d levels of maps and lists (a cycle?)",
              Event.MAX_NESTING_DEPTH));
    }
  }

  private void checkText(String text, String what) {
    if (!StorableText.isStorable(text)) {
      try {
        StorableText.requireStorable(text, what + " \"" + StorableText.abbreviated(text) + "\"");
      } catch (IllegalArgumentException e) {
        throw new Refused(location() + e.getMessage());
      }
    }
  }

  /** {@code value} written out in full, as jsonb's numeric prints it. */
  private String plain(BigDecimal value) {
    written(1);
    int scale = value.scale();
    int sign = value.signum() < 0 ? 1 : 0;
    long length;
    if (value.signum() == 0) {
      length = scale <= 0 ? 1 : 2L + scale;
    } else if (scale <= 0) {
      length = sign + (long) value.precision() - scale;
    } else if (value.precision() > scale) {
      length = sign + value.precision() + 1L;
    } else {
      length = sign + 2L + scale;
    }
    if (length > Event.MAX_NUMBER_LENGTH) {
      throw numberTooLong(String.format("%,d", length));
    }
    return value.toPlainString();
  }

  /**
   * A double or float written out in full and keeping a fraction, so that it reads back as a
   * double: jsonb would print {@code 1.0E20} as {@code 100000000000000000000}, an integer.
   */
  private String withFraction(String shortest) {
    if (shortest.indexOf('E') < 0) {
      return shortest;
    }
    String plain = plain(new BigDecimal(shortest));
    return plain.indexOf('.') < 0 ? plain + ".0" : plain;
  }

  private void written(long chars) {
    atLeastWritten += chars;
    if (atLeastWritten > Event.MAX_JSON_LENGTH) {
      throw tooLong();
    }
  }

  /** The refusal of JSON longer than {@link Event#MAX_JSON_LENGTH}. */
  static Refused tooLong() {
    return new Refused(
        String.format(
            ": takes more than %,d characters as JSON, the most an event may take",
            Event.MAX_JSON_LENGTH));
  }

  private void requireNumberLength(int length) {
    if (length > Event.MAX_NUMBER_LENGTH) {
      throw numberTooLong(String.format("%,d", length));
    }
  }

  private Refused numberTooLong(String length) {
    return refused(
        "a number",
        String.format(
            "takes %s characters written out in full; at most %,d are allowed (store larger"
                + " numbers as strings, or as BigDecimal or BigInteger values of the top-level map)",
            length, Event.MAX_NUMBER_LENGTH));
  }

  private Refused refused(String what, String why) {
    return new Refused(location() + what + " " + why);
  }

  /** Where the generator is, as a JSON pointer below the user's value, for messages. */
  private String location() {
    String pointer = getOutputContext().pathAsPointer().toString();
    for (int level = 0; level < levelsAbove && !pointer.isEmpty(); level++) {
      int next = pointer.indexOf('/', 1);
      pointer = next < 0 ? "" : pointer.substring(next);
    }
    if (pointer.isEmpty()) {
      return ": ";
    }
    if (pointer.length() > SHOWN_POINTER) {
      pointer = pointer.substring(0, SHOWN_POINTER) + "…";
    }
    return " at " + pointer + ": ";
  }

  private String utf8(byte[] text, int offset, int length) {
    try {
      return StandardCharsets.UTF_8
          .newDecoder()
          .decode(ByteBuffer.wrap(text, offset, length))
          .toString();
    } catch (CharacterCodingException e) {
      throw refused("a string", "is not valid UTF-8");
    }
  }
}
