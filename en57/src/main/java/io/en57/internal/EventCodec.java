package io.en57.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.ObjectWriter;
import io.en57.En57Exception;
import io.en57.Event;
import io.en57.SequencedEvent;
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
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
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
 * <p>Thread-safe once built.
 */
public final class EventCodec {

  private static final TypeReference<LinkedHashMap<String, Object>> MAP = new TypeReference<>() {};
  private static final String METADATA = "metadata";
  private static final String DATA_TYPES = "dataTypes";
  private static final String METADATA_TYPES = "metadataTypes";
  private static final String ENUM_PREFIX = "enum:";

  private final ObjectMapper mapper;
  private final ObjectReader mapReader;
  private final ObjectWriter writer;
  private final Map<String, Class<?>> payloadClasses;

  /**
   * A codec using {@code mapper} (which must handle the registered payload classes, including
   * java.time fields) and the given payload class per event type.
   */
  public EventCodec(ObjectMapper mapper, Map<String, Class<?>> payloadClasses) {
    this.mapper = mapper;
    this.mapReader = mapper.readerFor(MAP);
    this.writer = mapper.writer();
    this.payloadClasses = Map.copyOf(payloadClasses);
  }

  /**
   * Encodes one event for storage.
   *
   * @param field how to name the event in error messages, such as {@code events[2]}
   * @throws IllegalArgumentException naming the field when the event cannot be stored exactly
   */
  public EncodedEvent encode(Event event, String field) {
    requireStorableText(event.type(), field + ".type");
    for (String tag : event.tags()) {
      requireStorableText(tag, field + ".tags");
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
      data = toJson(event.data(), field + ".data");
    } else if (event.data() instanceof Map<?, ?> map) {
      var hints = new LinkedHashMap<String, String>();
      data = toJson(withHints(map, hints, field + ".data"), field + ".data");
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
    String metaJson = meta.isEmpty() ? null : toJson(meta, field + ".metadata");
    return new EncodedEvent(event.id(), event.type(), data, metaJson, event.tags());
  }

  /** Decodes a stored event. */
  public SequencedEvent decode(StoredEvent stored) {
    EncodedEvent encoded = stored.event();
    try {
      Map<String, Object> meta =
          encoded.meta() == null ? Map.of() : mapReader.readValue(encoded.meta());
      Class<?> payloadClass = payloadClasses.get(encoded.type());
      // Everything decoded here is fresh and held by nobody else, so the event need not copy it.
      Object data =
          payloadClass != null
              ? mapper.readValue(encoded.data(), payloadClass)
              : Frozen.map(applyHints(mapReader.readValue(encoded.data()), meta.get(DATA_TYPES)));
      @SuppressWarnings("unchecked")
      var metadata = (Map<String, Object>) meta.getOrDefault(METADATA, Map.of());
      var event =
          new Event(
              encoded.id(),
              encoded.type(),
              data,
              Frozen.set(encoded.tags()),
              Frozen.map(applyHints(metadata, meta.get(METADATA_TYPES))));
      return new SequencedEvent(stored.position(), event);
    } catch (JsonProcessingException | RuntimeException e) {
      throw new En57Exception(
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

  private String toJson(Object value, String field) {
    String json;
    try {
      json = writer.writeValueAsString(value);
    } catch (JsonProcessingException | RuntimeException e) {
      throw new IllegalArgumentException(
          field + ": cannot be serialized to JSON: " + e.getMessage(), e);
    }
    requireStorableText(json, field);
    if (containsEscapedNul(json)) {
      throw new IllegalArgumentException(
          field + ": contains the character U+0000, which PostgreSQL cannot store");
    }
    return json;
  }

  /**
   * PostgreSQL stores neither U+0000 nor half of a surrogate pair (the driver would turn it into
   * '?', silently changing the data), so both are refused up front.
   */
  private static void requireStorableText(String text, String field) {
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c == '\0') {
        throw new IllegalArgumentException(
            field + ": contains the character U+0000, which PostgreSQL cannot store");
      }
      if (Character.isHighSurrogate(c)
          && i + 1 < text.length()
          && Character.isLowSurrogate(text.charAt(i + 1))) {
        i++;
      } else if (Character.isSurrogate(c)) {
        throw new IllegalArgumentException(
            field + ": contains half of a UTF-16 surrogate pair, which PostgreSQL cannot store");
      }
    }
  }

  /**
   * Jackson writes U+0000 as the escape {@code \u0000}; an escaped backslash before it does not
   * count.
   */
  static boolean containsEscapedNul(String json) {
    for (int at = json.indexOf("\\u0000"); at >= 0; at = json.indexOf("\\u0000", at + 1)) {
      int backslashes = 0;
      for (int i = at; i >= 0 && json.charAt(i) == '\\'; i--) {
        backslashes++;
      }
      if (backslashes % 2 == 1) {
        return true;
      }
    }
    return false;
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
      encoded.put(key, type.encode.apply(value));
      hints.put(key, type == ValueType.ENUM ? ENUM_PREFIX + enumClass(value).getName() : type.code);
    }
    return encoded;
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
    YEAR_MONTH("yearmonth", YearMonth.class, Object::toString, s -> YearMonth.parse((String) s)),
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
}
