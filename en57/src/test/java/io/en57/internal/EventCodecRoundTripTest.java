package io.en57.internal;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.en57.Event;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.Instant;
import java.time.LocalDate;
import java.time.YearMonth;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.UUID;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * Untyped data round-trips exactly, whatever mix of supported top-level values it holds: random
 * maps from a fixed seed, so a failure replays.
 */
class EventCodecRoundTripTest {

  private static final long SEED = 5757;

  private final EventCodec codec = new EventCodec(new ObjectMapper(), Map.of());

  enum Colour {
    RED,
    GREEN
  }

  private static final List<Function<Random, Object>> VALUES =
      List.of(
          EventCodecRoundTripTest::text,
          Random::nextInt,
          Random::nextLong,
          r -> r.nextDouble() * Math.pow(10, r.nextInt(40) - 20),
          r ->
              List.of(Double.NaN, Double.NEGATIVE_INFINITY, -0.0, 1e300, Double.MIN_VALUE)
                  .get(r.nextInt(5)),
          Random::nextFloat,
          r -> new BigInteger(r.nextInt(200) + 1, r),
          r -> new BigDecimal(new BigInteger(r.nextInt(100) + 1, r), r.nextInt(40) - 20),
          r -> Instant.ofEpochSecond(r.nextInt(), r.nextInt(1_000_000_000)),
          r -> LocalDate.ofEpochDay(r.nextInt(200_000) - 100_000),
          r -> new UUID(r.nextLong(), r.nextLong()),
          r -> Colour.values()[r.nextInt(2)],
          Random::nextBoolean,
          r -> null);

  @Test
  void randomUntypedDataAndMetadataRoundTrip() {
    var random = new Random(SEED);
    for (int round = 0; round < 2_000; round++) {
      Map<String, Object> data = randomMap(random);
      Map<String, Object> metadata = randomMap(random);
      Event event = Event.of("Anything", data).withMetadata(metadata).withTags("t");

      Event decoded = codec.decode(new StoredEvent(1, codec.encode(event, "event"))).event();

      assertThat(decoded).as("seed %d round %d: %s", SEED, round, data).isEqualTo(event);
      @SuppressWarnings("unchecked")
      var decodedData = (Map<String, Object>) decoded.data();
      for (var entry : data.entrySet()) {
        if (entry.getValue() != null) {
          assertThat(decodedData.get(entry.getKey()))
              .as(entry.getKey())
              .hasSameClassAs(entry.getValue());
        }
      }
    }
  }

  @Test
  void yearMonthsAreWrittenAsIsoSoEarlierVersionsReadThemToo() throws Exception {
    var data = new LinkedHashMap<String, Object>();
    data.put("fiveDigits", YearMonth.of(10000, 1));
    data.put("last", YearMonth.of(999_999_999, 12));
    data.put("negative", YearMonth.of(-5, 3));
    data.put("fourDigits", YearMonth.of(2024, 5));
    String json = codec.encode(Event.of("Dated", data), "e").data();
    Map<?, ?> written = new ObjectMapper().readValue(json, Map.class);
    assertThat(written.get("fiveDigits")).isEqualTo("+10000-01");
    assertThat(written.get("fourDigits")).isEqualTo("2024-05");
    // What earlier versions decode with.
    data.forEach(
        (key, month) ->
            assertThat(YearMonth.parse((String) written.get(key))).as(key).isEqualTo(month));
  }

  @Test
  void yearMonthsWrittenByEarlierVersionsStillRead() {
    // Years beyond four digits went without their sign, which YearMonth.parse requires.
    var stored =
        new EncodedEvent(
            UUID.randomUUID(),
            "Dated",
            "{\"a\": \"2024-05\", \"b\": \"-0001-01\", \"c\": \"10000-01\"}",
            "{\"dataTypes\": {\"a\": \"yearmonth\", \"b\": \"yearmonth\", \"c\": \"yearmonth\"}}",
            Set.of());
    assertThat(codec.decode(new StoredEvent(1, stored)).event().data())
        .isEqualTo(
            Map.of(
                "a", YearMonth.of(2024, 5), "b", YearMonth.of(-1, 1), "c", YearMonth.of(10000, 1)));
  }

  @Test
  void theTextOfAnEscapeIsNotMistakenForTheCharacter() {
    Event event = Event.of("T", Map.of("text", "a\\u0000", "\\u0000", "\\\\u0000"));
    Event decoded = codec.decode(new StoredEvent(1, codec.encode(event, "e"))).event();
    assertThat(decoded).isEqualTo(event);
  }

  private static Map<String, Object> randomMap(Random random) {
    var map = new LinkedHashMap<String, Object>();
    for (int i = random.nextInt(8); i > 0; i--) {
      map.put("k" + random.nextInt(100), VALUES.get(random.nextInt(VALUES.size())).apply(random));
    }
    return map;
  }

  /** Any text PostgreSQL can store: no U+0000, no lone surrogates. */
  private static String text(Random random) {
    var text = new StringBuilder();
    for (int i = random.nextInt(12); i > 0; i--) {
      int codePoint =
          random.nextInt(4) == 0 ? random.nextInt(0x10FFFF) + 1 : random.nextInt(0x7F) + 1;
      if (codePoint < 0xD800 || codePoint > 0xDFFF) {
        text.appendCodePoint(codePoint);
      }
    }
    return text.toString();
  }
}
