package io.en57.internal;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamWriteConstraints;
import com.fasterxml.jackson.core.StreamWriteFeature;
import com.fasterxml.jackson.core.io.SegmentedStringWriter;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.core.util.BufferRecycler;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.en57.Event;
import io.en57.SequencedEvent;
import java.io.IOException;
import java.io.InputStream;
import java.io.StringWriter;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.MonthDay;
import java.time.OffsetDateTime;
import java.time.OffsetTime;
import java.time.Period;
import java.time.Year;
import java.time.YearMonth;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeFormatterBuilder;
import java.time.format.SignStyle;
import java.time.temporal.ChronoField;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.function.Function;

/**
 * Turns events into JSON and back with Jackson. Typed payloads (a class registered per event type)
 * are plain Jackson documents. Untyped data and metadata are JSON objects whose top-level values
 * keep their Java type: values JSON cannot tell apart (a {@code Long} from an {@code Integer}, an
 * {@code Instant} from a {@code String}...) get a type hint, stored in the event's {@code meta}
 * document so that {@code data} stays plain JSON for SQL users.
 *
 * <p>The JSON is written as PostgreSQL's jsonb prints it back ({@link StorableJsonGenerator}), so
 * both engines read the same values, and within the limits of {@link Event}, so whatever is
 * accepted reads back. The reader is more permissive than the writer: it also reads events written
 * before those limits existed.
 *
 * <p>Thread-safe once built.
 */
public final class EventCodec {

  private static final TypeReference<LinkedHashMap<String, Object>> MAP = new TypeReference<>() {};
  private static final String METADATA = "metadata";
  private static final String DATA_TYPES = "dataTypes";
  private static final String METADATA_TYPES = "metadataTypes";
  private static final String ENUM_PREFIX = "enum:";

  /**
   * Everything the writer accepts, with room to spare, and what earlier versions wrote without
   * limits of their own (numbers, keys and strings of any length, nesting one level deeper).
   */
  static final StreamReadConstraints READ_LIMITS =
      StreamReadConstraints.builder()
          .maxNestingDepth(2 * Event.MAX_NESTING_DEPTH)
          .maxNumberLength(Integer.MAX_VALUE)
          .maxNameLength(Integer.MAX_VALUE)
          .maxStringLength(Integer.MAX_VALUE)
          .build();

  /** Jackson's own check must never come first: the codec's names the field and the limit. */
  static final StreamWriteConstraints WRITE_LIMITS =
      StreamWriteConstraints.builder().maxNestingDepth(2 * Event.MAX_NESTING_DEPTH).build();

  /**
   * Year-months as ISO writes them, as {@link YearMonth#parse} reads them: a year beyond four
   * digits with its sign ({@code +10000-01}), which {@code toString()} leaves out. The reader also
   * takes it without: earlier versions wrote such years so.
   */
  private static final DateTimeFormatter ISO_YEAR_MONTH =
      new DateTimeFormatterBuilder()
          .parseLenient()
          .appendValue(ChronoField.YEAR, 4, 10, SignStyle.EXCEEDS_PAD)
          .parseStrict()
          .appendLiteral('-')
          .appendValue(ChronoField.MONTH_OF_YEAR, 2)
          .toFormatter();

  private final JsonFactory json;
  private final ObjectReader mapReader;
  private final ObjectWriter payloadWriter;
  private final ObjectWriter mapWriter;
  private final Map<String, Class<?>> payloadClasses;
  private final Map<String, ObjectReader> payloadReaders = new HashMap<>();

  /**
   * A codec using {@code mapper} (which must handle the registered payload classes, including
   * java.time fields) and the given payload class per event type. The mapper's serializers and
   * deserializers do the work; the JSON itself is always standard JSON, written and parsed with the
   * codec's own limits.
   */
  public EventCodec(ObjectMapper mapper, Map<String, Class<?>> payloadClasses) {
    this.json =
        JsonFactory.builder()
            .streamReadConstraints(READ_LIMITS)
            .streamWriteConstraints(WRITE_LIMITS)
            // jsonb keeps only the last of repeated keys, so what it stored would not read back.
            .enable(StreamWriteFeature.STRICT_DUPLICATE_DETECTION)
            .build()
            .setCodec(mapper);
    // Untyped data and the meta document read back as plain JSON types whatever the mapper's
    // deserialization features (big decimals for floats, longs for ints, arrays for lists).
    this.mapReader = new ObjectMapper().readerFor(MAP);
    this.payloadWriter = mapper.writer();
    this.mapWriter = mapWriter(mapper);
    this.payloadClasses = Map.copyOf(payloadClasses);
    this.payloadClasses.forEach(
        (type, payload) ->
            payloadReaders.put(
                type,
                // Several events' data are read from one parser (decodeAll): each one's reading
                // must end with its value, whatever the mapper says.
                mapper.readerFor(payload).without(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)));
  }

  /**
   * The writer of untyped data and the meta document: {@code mapper}, whose serializers write the
   * values nested in them, without the settings that change how maps and lists are written. An
   * entry left out (a null, an empty string or byte array whose type hint stays) or a list written
   * as its single element would not read back as what was appended, and type ids (default typing)
   * not at all.
   */
  private static ObjectWriter mapWriter(ObjectMapper mapper) {
    ObjectMapper copy;
    try {
      copy = mapper.copy();
    } catch (IllegalStateException e) {
      throw new IllegalArgumentException(
          "objectMapper: the store writes maps with a copy of it, and "
              + mapper.getClass().getName()
              + " does not override copy(); pass an ObjectMapper (or JsonMapper) configured"
              + " without subclassing it",
          e);
    }
    copy.disable(SerializationFeature.WRITE_SINGLE_ELEM_ARRAYS_UNWRAPPED).deactivateDefaultTyping();
    // Maps take their inclusion from here before the mapper's defaults.
    copy.configOverride(Map.class)
        .setInclude(
            JsonInclude.Value.construct(JsonInclude.Include.ALWAYS, JsonInclude.Include.ALWAYS));
    return copy.writer();
  }

  /**
   * Encodes one event for storage.
   *
   * @param field how to name the event in error messages, such as {@code events[2]}
   * @throws IllegalArgumentException naming the field when the event cannot be stored exactly
   */
  public EncodedEvent encode(Event event, String field) {
    StorableText.requireIndexable(event.type(), field + ".type", Event.MAX_TYPE_BYTES);
    for (String tag : event.tags()) {
      StorableText.requireIndexable(tag, field + ".tags", Event.MAX_TAG_BYTES);
    }
    Class<?> payloadClass = payloadClasses.get(event.type());
    String data;
    var meta = new LinkedHashMap<String, Object>();
    if (payloadClass != null) {
      if (!payloadClass.isInstance(event.data())) {
        throw new IllegalArgumentException(
            field
                + ".data: event type '"
                + event.type()
                + "' is registered to "
                + payloadClass.getName()
                + ", got "
                + event.data().getClass().getName());
      }
      data = toJson(payloadWriter, event.data(), field + ".data", 0);
      requireReadBack(data, event, payloadClass, field + ".data");
    } else if (event.data() instanceof Map<?, ?> map) {
      var hints = new LinkedHashMap<String, String>();
      data = toJson(mapWriter, withHints(map, hints, field + ".data"), field + ".data", 0);
      putIfNotEmpty(meta, DATA_TYPES, hints);
    } else {
      throw new IllegalArgumentException(
          field
              + ".data: a "
              + event.data().getClass().getName()
              + " is not a Map, and event type '"
              + event.type()
              + "' has no registered payload class; register it with "
              + "EventStoreBuilder.register(\""
              + event.type()
              + "\", "
              + event.data().getClass().getSimpleName()
              + ".class)");
    }
    if (!event.metadata().isEmpty()) {
      var hints = new LinkedHashMap<String, String>();
      meta.put(METADATA, withHints(event.metadata(), hints, field + ".metadata"));
      putIfNotEmpty(meta, METADATA_TYPES, hints);
    }
    // The metadata sit one level down in the meta document, under "metadata".
    String metaJson = meta.isEmpty() ? null : toJson(mapWriter, meta, field + ".metadata", 1);
    return new EncodedEvent(event.id(), event.type(), data, metaJson, event.tags());
  }

  /**
   * Refuses a typed payload the mapper writes but cannot read back as its own class (an interface
   * or abstract class without type information, a class it cannot construct, a subclass of the
   * registered class): stored, it could never be read, and the log keeps it for good. It is read
   * back with its keys in the order jsonb keeps them, as every read will get it.
   */
  private void requireReadBack(String json, Event event, Class<?> payloadClass, String field) {
    Object readBack;
    try {
      readBack = read(payloadReaders.get(event.type()), JsonbKeyOrder.of(json));
    } catch (IOException | RuntimeException e) {
      throw new IllegalArgumentException(
          field
              + ": the "
              + event.data().getClass().getName()
              + " written as JSON does not read back into "
              + payloadClass.getName()
              + " ("
              + e.getMessage()
              + "); a record, a class with a @JsonCreator constructor, or type information on a"
              + " polymorphic class reads back",
          e);
    }
    if (readBack == null || readBack.getClass() != event.data().getClass()) {
      throw new IllegalArgumentException(
          field
              + ": the "
              + event.data().getClass().getName()
              + " reads back as "
              + (readBack == null ? "null" : "a " + readBack.getClass().getName())
              + ", not as itself; register its own class for its event type, or give "
              + payloadClass.getName()
              + " type information");
    }
  }

  /** Decodes a stored event. */
  public SequencedEvent decode(StoredEvent stored) {
    return decode(stored, reader -> read(reader, stored.event().data()));
  }

  /**
   * Decodes stored events, in order. One parser reads the data of them all: a parser per event cost
   * half of the time spent decoding when streaming the log. If one does not decode, it and those
   * after it are decoded one by one, so that its error is the same as {@link #decode(StoredEvent)}
   * gives.
   */
  public List<SequencedEvent> decodeAll(List<StoredEvent> stored) {
    var events = new ArrayList<SequencedEvent>(stored.size());
    try {
      decodeJoined(stored, events);
    } catch (IOException | RuntimeException e) {
      for (int i = events.size(); i < stored.size(); i++) {
        events.add(decode(stored.get(i)));
      }
    }
    return events;
  }

  /** Adds {@code stored} to {@code events} decoded, reading their data with one parser. */
  void decodeJoined(List<StoredEvent> stored, List<SequencedEvent> events) throws IOException {
    try (JsonParser parser = json.createParser(new JoinedData(stored))) {
      // One iterator of values per reader, all on the one parser, each reading the parser's next
      // value when asked: an iterator keeps one deserialization context for the batch, where
      // reading each value alone made one (7% of the bytes allocated when streaming the log).
      var iterators = new HashMap<ObjectReader, MappingIterator<Object>>();
      DataReader next =
          reader -> {
            MappingIterator<Object> values = iterators.get(reader);
            if (values == null) {
              values = reader.readValues(parser);
              iterators.put(reader, values);
            }
            return values.nextValue();
          };
      for (StoredEvent event : stored) {
        events.add(decode(event, next));
      }
    }
  }

  /** Reads an event's data with the reader for its type. */
  private interface DataReader {
    Object read(ObjectReader reader) throws IOException;
  }

  private SequencedEvent decode(StoredEvent stored, DataReader data) {
    EncodedEvent encoded = stored.event();
    try {
      Map<String, Object> meta =
          encoded.meta() == null ? Map.of() : read(mapReader, encoded.meta());
      ObjectReader payloadReader = payloadReaders.get(encoded.type());
      Object value = data.read(payloadReader != null ? payloadReader : mapReader);
      // Everything decoded here is fresh and held by nobody else, so the event need not copy it.
      @SuppressWarnings("unchecked")
      Object decoded =
          payloadReader != null
              ? value
              : Frozen.map(applyHints((Map<String, Object>) value, meta.get(DATA_TYPES)));
      @SuppressWarnings("unchecked")
      var metadata = (Map<String, Object>) meta.getOrDefault(METADATA, Map.of());
      var event =
          new Event(
              encoded.id(),
              encoded.type(),
              decoded,
              Frozen.set(encoded.tags()),
              Frozen.map(applyHints(metadata, meta.get(METADATA_TYPES))));
      return new SequencedEvent(stored.position(), event);
    } catch (IOException | RuntimeException e) {
      throw new UndecodableEventException(
          "cannot decode the event at position "
              + stored.position()
              + " (type '"
              + encoded.type()
              + "')"
              + (payloadClasses.containsKey(encoded.type())
                  ? " into " + payloadClasses.get(encoded.type()).getName()
                  : "")
              + ": "
              + e.getMessage(),
          e);
    }
  }

  private <T> T read(ObjectReader reader, String text) throws IOException {
    try (JsonParser parser = json.createParser(text)) {
      return reader.readValue(parser);
    }
  }

  /**
   * The JSON of {@code value} written by {@code writer}, as jsonb prints it back.
   *
   * @param levelsAbove levels of the document that wrap the user's value
   * @throws IllegalArgumentException naming the field, if the value cannot be stored and read back
   */
  private String toJson(ObjectWriter writer, Object value, String field, int levelsAbove) {
    try {
      boolean wroteRaw;
      String text;
      // What writeValueAsString uses: far cheaper than a StringWriter for small documents.
      BufferRecycler buffers = json._getBufferRecycler();
      try (var out = new SegmentedStringWriter(buffers);
          var generator = new StorableJsonGenerator(json.createGenerator(out), levelsAbove)) {
        writer.writeValue(generator, value);
        generator.flush();
        wroteRaw = generator.wroteRaw();
        text = out.getAndClear();
      } finally {
        buffers.releaseToPool();
      }
      if (wroteRaw) {
        // Raw JSON could hold anything: write it again, token by token, through the checks.
        var copy = new StringWriter();
        try (JsonParser parser = json.createParser(text);
            var generator = new StorableJsonGenerator(json.createGenerator(copy), levelsAbove)) {
          StorableJsonGenerator.copy(parser, generator);
        }
        text = copy.toString();
      }
      if (text.length() > Event.MAX_JSON_LENGTH) {
        throw StorableJsonGenerator.tooLong();
      }
      return text;
    } catch (IOException | RuntimeException e) {
      throw refusal(field, e);
    }
  }

  /** The exception for a value that cannot be stored, saying why as precisely as it is known. */
  private static IllegalArgumentException refusal(String field, Exception e) {
    for (Throwable cause = e; cause != null; cause = cause.getCause()) {
      if (cause instanceof StorableJsonGenerator.Refused refused) {
        return new IllegalArgumentException(field + refused.getMessage(), e);
      }
    }
    return new IllegalArgumentException(
        field + ": cannot be serialized to JSON: " + e.getMessage(), e);
  }

  private static void putIfNotEmpty(
      Map<String, Object> meta, String key, Map<String, String> hints) {
    if (!hints.isEmpty()) {
      meta.put(key, hints);
    }
  }

  /** The map with top-level values JSON cannot round-trip replaced, and their hints collected. */
  private static Map<String, Object> withHints(
      Map<?, ?> map, Map<String, String> hints, String field) {
    var encoded = new LinkedHashMap<String, Object>();
    for (var entry : map.entrySet()) {
      String key = (String) entry.getKey();
      Object value = entry.getValue();
      if (isJsonNatural(value)) {
        if (isContainer(value)) {
          requireStringKeys(value, field + "." + key, 2);
        }
        encoded.put(key, value);
        continue;
      }
      ValueType type = ValueType.of(value);
      if (type == null) {
        throw new IllegalArgumentException(
            field
                + "."
                + key
                + ": a "
                + value.getClass().getName()
                + " cannot be stored in an "
                + "untyped map and read back as itself; register a payload class for the event "
                + "type, or use a JSON value or one of the types listed in the README");
      }
      if (type == ValueType.SET) {
        requireStringKeys(value, field + "." + key, 2);
      }
      encoded.put(key, type.encode.apply(value));
      hints.put(key, type == ValueType.ENUM ? ENUM_PREFIX + enumClass(value).getName() : type.code);
    }
    return encoded;
  }

  /**
   * Refuses maps with keys other than strings inside {@code value} (at nesting {@code level}, the
   * data map being level 1): JSON would turn the keys into strings, so the map would not read back
   * as itself. Stops at the nesting limit, which the JSON writer enforces anyway, so that a cycle
   * fails here instead of overflowing the stack.
   */
  private static void requireStringKeys(Object value, String field, int level) {
    if (value instanceof Map<?, ?> map) {
      requireLevel(field, level);
      for (var entry : map.entrySet()) {
        if (!(entry.getKey() instanceof String key)) {
          throw new IllegalArgumentException(
              shortened(field)
                  + ": map keys must be strings (JSON would turn them into strings), got "
                  + (entry.getKey() == null ? "null" : "a " + entry.getKey().getClass().getName()));
        }
        if (isContainer(entry.getValue())) {
          requireStringKeys(entry.getValue(), field + "." + key, level + 1);
        }
      }
    } else if (value instanceof Collection<?> collection) {
      requireLevel(field, level);
      int index = 0;
      for (Object element : collection) {
        if (isContainer(element)) {
          requireStringKeys(element, field + "[" + index + "]", level + 1);
        }
        index++;
      }
    } else if (value instanceof Object[] array) {
      requireLevel(field, level);
      for (int i = 0; i < array.length; i++) {
        if (isContainer(array[i])) {
          requireStringKeys(array[i], field + "[" + i + "]", level + 1);
        }
      }
    }
  }

  private static boolean isContainer(Object value) {
    return value instanceof Map || value instanceof Collection || value instanceof Object[];
  }

  private static void requireLevel(String field, int level) {
    if (level > Event.MAX_NESTING_DEPTH) {
      throw new IllegalArgumentException(
          String.format(
              "%s: the value is nested deeper than %,d levels of maps and lists (a cycle?)",
              shortened(field), Event.MAX_NESTING_DEPTH));
    }
  }

  /** A field path for a message; deep ones are cut. */
  private static String shortened(String field) {
    return field.length() <= 160 ? field : field.substring(0, 160) + "…";
  }

  /** Values Jackson reads back as the same class (and so equal), with no hint. */
  private static boolean isJsonNatural(Object value) {
    return value == null
        || value instanceof String
        || value instanceof Boolean
        || value instanceof Integer
        || value instanceof List
        || value instanceof Map
        || (value instanceof Double d && isPlainDouble(d));
  }

  /** A double JSON keeps as a double: finite, written without exponent, not negative zero. */
  private static boolean isPlainDouble(double d) {
    return Double.isFinite(d)
        && !Double.toString(d).contains("E")
        && Double.doubleToRawLongBits(d) != Double.doubleToRawLongBits(-0.0);
  }

  private static Map<String, Object> applyHints(Map<String, Object> map, Object hints) {
    if (!(hints instanceof Map<?, ?> hintMap) || hintMap.isEmpty()) {
      return map;
    }
    var decoded = new LinkedHashMap<>(map);
    for (var hint : hintMap.entrySet()) {
      String key = (String) hint.getKey();
      String code = (String) hint.getValue();
      Object value = map.get(key);
      decoded.put(
          key,
          code.startsWith(ENUM_PREFIX)
              ? toEnum(code.substring(ENUM_PREFIX.length()), value)
              : ValueType.ofCode(code).decode.apply(value));
    }
    return decoded;
  }

  private static Class<?> enumClass(Object value) {
    return ((Enum<?>) value).getDeclaringClass();
  }

  @SuppressWarnings({"unchecked", "rawtypes"})
  private static Object toEnum(String className, Object name) {
    try {
      ClassLoader loader = Thread.currentThread().getContextClassLoader();
      Class<?> type =
          Class.forName(
              className, false, loader != null ? loader : EventCodec.class.getClassLoader());
      if (!type.isEnum()) {
        throw new IllegalStateException(className + " is not an enum");
      }
      return Enum.valueOf((Class) type, (String) name);
    } catch (ClassNotFoundException e) {
      throw new IllegalStateException("enum class " + className + " is not on the class path", e);
    }
  }

  /** The non-JSON types whose top-level values keep their class, each with its hint code. */
  private enum ValueType {
    LONG("long", Long.class, v -> v, n -> ((Number) n).longValue()),
    SHORT("short", Short.class, v -> v, n -> ((Number) n).shortValue()),
    BYTE("byte", Byte.class, v -> v, n -> ((Number) n).byteValue()),
    FLOAT("float", Float.class, Object::toString, s -> Float.valueOf((String) s)),
    DOUBLE("double", Double.class, Object::toString, s -> Double.valueOf((String) s)),
    CHARACTER("char", Character.class, Object::toString, s -> ((String) s).charAt(0)),
    BIG_INTEGER("biginteger", BigInteger.class, Object::toString, s -> new BigInteger((String) s)),
    BIG_DECIMAL("bigdecimal", BigDecimal.class, Object::toString, s -> new BigDecimal((String) s)),
    INSTANT("instant", Instant.class, Object::toString, s -> Instant.parse((String) s)),
    LOCAL_DATE("localdate", LocalDate.class, Object::toString, s -> LocalDate.parse((String) s)),
    LOCAL_TIME("localtime", LocalTime.class, Object::toString, s -> LocalTime.parse((String) s)),
    LOCAL_DATE_TIME(
        "localdatetime",
        LocalDateTime.class,
        Object::toString,
        s -> LocalDateTime.parse((String) s)),
    OFFSET_DATE_TIME(
        "offsetdatetime",
        OffsetDateTime.class,
        Object::toString,
        s -> OffsetDateTime.parse((String) s)),
    OFFSET_TIME(
        "offsettime", OffsetTime.class, Object::toString, s -> OffsetTime.parse((String) s)),
    ZONED_DATE_TIME(
        "zoneddatetime",
        ZonedDateTime.class,
        Object::toString,
        s -> ZonedDateTime.parse((String) s)),
    DURATION("duration", Duration.class, Object::toString, s -> Duration.parse((String) s)),
    PERIOD("period", Period.class, Object::toString, s -> Period.parse((String) s)),
    YEAR("year", Year.class, Object::toString, s -> Year.parse((String) s)),
    YEAR_MONTH(
        "yearmonth",
        YearMonth.class,
        v -> ((YearMonth) v).format(ISO_YEAR_MONTH),
        s -> YearMonth.parse((String) s, ISO_YEAR_MONTH)),
    MONTH_DAY("monthday", MonthDay.class, Object::toString, s -> MonthDay.parse((String) s)),
    UUID_VALUE("uuid", UUID.class, Object::toString, s -> UUID.fromString((String) s)),
    BYTES(
        "bytes",
        byte[].class,
        v -> Base64.getEncoder().encodeToString((byte[]) v),
        s -> Base64.getDecoder().decode((String) s)),
    SET(
        "set",
        Set.class,
        v -> new ArrayList<>((Collection<?>) v),
        l -> new LinkedHashSet<>((List<?>) l)),
    ENUM("enum", Enum.class, v -> ((Enum<?>) v).name(), null);

    private final String code;
    private final Class<?> javaType;
    private final Function<Object, Object> encode;
    private final Function<Object, Object> decode;

    ValueType(
        String code,
        Class<?> javaType,
        Function<Object, Object> encode,
        Function<Object, Object> decode) {
      this.code = code;
      this.javaType = javaType;
      this.encode = encode;
      this.decode = decode;
    }

    static ValueType of(Object value) {
      for (ValueType type : values()) {
        if (type.javaType.isInstance(value)) {
          return type;
        }
      }
      return null;
    }

    static ValueType ofCode(String code) {
      for (ValueType type : values()) {
        if (type.code.equals(code) && type != ENUM) {
          return type;
        }
      }
      throw new IllegalStateException("unknown type hint '" + code + "'");
    }
  }

  /**
   * The data of stored events in UTF-8, one after the other, a space between each two, for one
   * parser to read them as a sequence of JSON values. Events read from PostgreSQL hold their data
   * as the bytes that came, so it is copied once more and never decoded into a string.
   */
  private static final class JoinedData extends InputStream {
    private final List<StoredEvent> events;
    private int event;
    private byte[] data;
    private int offset;
    private boolean separatorNext;

    JoinedData(List<StoredEvent> events) {
      this.events = events;
    }

    @Override
    public int read() {
      var one = new byte[1];
      return read(one, 0, 1) == -1 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] buffer, int start, int length) {
      int read = 0;
      while (read < length && event < events.size()) {
        if (separatorNext) {
          buffer[start + read++] = ' ';
          separatorNext = false;
          continue;
        }
        if (data == null) {
          data = events.get(event).event().utf8Data();
        }
        int count = Math.min(length - read, data.length - offset);
        System.arraycopy(data, offset, buffer, start + read, count);
        read += count;
        offset += count;
        if (offset == data.length) {
          event++;
          data = null;
          offset = 0;
          separatorNext = true;
        }
      }
      return read == 0 && length > 0 ? -1 : read;
    }
  }
}
