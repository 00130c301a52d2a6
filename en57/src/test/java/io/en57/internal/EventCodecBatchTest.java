package io.en57.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.en57.Event;
import io.en57.SequencedEvent;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * {@link EventCodec#decodeAll} reads a batch's data with one parser: it must decode every event as
 * {@link EventCodec#decode} does alone, whatever mix of payloads the batch holds, without falling
 * back to one by one, and fail on an undecodable event as {@code decode} does.
 */
class EventCodecBatchTest {

  private static final long SEED = 5758;

  record Booking(String course, int seats) {}

  /** A payload whose JSON is a bare number: nothing but the separator ends it. */
  record Cents(int value) {
    @JsonCreator
    Cents {}

    @JsonValue
    int json() {
      return value;
    }
  }

  private final EventCodec codec =
      new EventCodec(new ObjectMapper(), Map.of("Booked", Booking.class, "Paid", Cents.class));

  @Test
  void aBatchDecodesAsEachEventDoesAlone() {
    var random = new Random(SEED);
    for (int round = 0; round < 200; round++) {
      var stored = new ArrayList<StoredEvent>();
      for (int i = random.nextInt(40); i >= 0; i--) {
        stored.add(new StoredEvent(stored.size() + 1, codec.encode(randomEvent(random), "event")));
      }

      assertThat(joined(stored)).as("seed %d round %d", SEED, round).isEqualTo(oneByOne(stored));
      assertThat(codec.decodeAll(stored)).isEqualTo(oneByOne(stored));
    }
  }

  @Test
  void dataLongerThanTheParsersBufferDecodes() {
    var stored =
        List.of(
            new StoredEvent(1, codec.encode(Event.of("Paid", new Cents(7)), "e")),
            new StoredEvent(
                2, codec.encode(Event.of("Note", Map.of("text", "x".repeat(100_000))), "e")),
            new StoredEvent(3, codec.encode(Event.of("Paid", new Cents(8)), "e")));

    assertThat(joined(stored)).isEqualTo(oneByOne(stored)).hasSize(3);
    assertThat(joined(stored).get(2).event().data()).isEqualTo(new Cents(8));
  }

  @Test
  void anUndecodableEventFailsTheBatchAsItFailsAlone() {
    var fine = codec.encode(Event.of("Booked", new Booking("c1", 2)), "e");
    var broken =
        new EncodedEvent(
            UUID.randomUUID(),
            "Booked",
            "{\"course\": \"c1\", \"seats\": \"many\"}",
            null,
            fine.tags());
    var stored =
        List.of(new StoredEvent(1, fine), new StoredEvent(2, broken), new StoredEvent(3, fine));

    Throwable alone = catchThrowable(() -> codec.decode(stored.get(1)));
    assertThat(alone)
        .isInstanceOf(UndecodableEventException.class)
        .hasMessageContaining("position 2");

    assertThatThrownBy(() -> codec.decodeAll(stored))
        .isInstanceOf(UndecodableEventException.class)
        .hasMessage(alone.getMessage());
  }

  @Test
  void anEmptyBatchDecodesToNothing() {
    assertThat(codec.decodeAll(List.of())).isEmpty();
  }

  /** The batch decoded with one parser, without {@code decodeAll}'s fallback to one by one. */
  private List<SequencedEvent> joined(List<StoredEvent> stored) {
    var events = new ArrayList<SequencedEvent>();
    try {
      codec.decodeJoined(stored, events);
    } catch (IOException e) {
      throw new AssertionError(e);
    }
    return events;
  }

  private List<SequencedEvent> oneByOne(List<StoredEvent> stored) {
    return stored.stream().map(codec::decode).toList();
  }

  private static Event randomEvent(Random random) {
    Event event =
        switch (random.nextInt(3)) {
          case 0 -> Event.of("Booked", new Booking("c" + random.nextInt(9), random.nextInt(5)));
          case 1 -> Event.of("Paid", new Cents(random.nextInt()));
          default ->
              Event.of(
                  "Noted",
                  Map.of("n", random.nextLong(), "at", Instant.ofEpochSecond(random.nextInt())));
        };
    return random.nextBoolean() ? event.withMetadata(Map.of("by", "u" + random.nextInt(3))) : event;
  }
}
