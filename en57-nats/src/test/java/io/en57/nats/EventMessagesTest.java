package io.en57.nats;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import io.en57.Event;
import io.en57.SequencedEvent;
import io.nats.client.Message;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/** How an event becomes a message (no broker needed). */
class EventMessagesTest {

  private static final ObjectMapper MAPPER =
      new ObjectMapper().registerModule(new JavaTimeModule());

  private static EventMessages messages(Function<SequencedEvent, String> subjects) {
    return new EventMessages("relay", subjects, MAPPER);
  }

  @Test
  void headerValuesAreThePrintableAsciiTheyHoldAndPercentEncodingOtherwise() {
    assertThat(EventMessages.headerValue("course:c1")).isEqualTo("course:c1");
    assertThat(EventMessages.headerValue("a b%c+d")).isEqualTo("a%20b%25c%2Bd");
    assertThat(EventMessages.headerValue("Zoë\t😀\u007f")).isEqualTo("Zo%C3%AB%09%F0%9F%98%80%7F");
  }

  @Test
  void urlDecoderRestoresEveryHeaderValue() {
    var random = new Random(57);
    for (int i = 0; i < 2_000; i++) {
      var text = new StringBuilder();
      for (int length = 1 + random.nextInt(12); length > 0; length--) {
        int codePoint =
            switch (random.nextInt(4)) {
              case 0 -> random.nextInt(0x80);
              case 1 -> " %+.:".charAt(random.nextInt(5));
              case 2 -> 0x80 + random.nextInt(0xD800 - 0x80);
              default -> 0x10000 + random.nextInt(0x10000);
            };
        text.appendCodePoint(codePoint);
      }
      String value = EventMessages.headerValue(text.toString());

      assertThat(value.chars()).allMatch(c -> c > ' ' && c < 0x7f);
      assertThat(URLDecoder.decode(value, StandardCharsets.UTF_8)).isEqualTo(text.toString());
    }
  }

  @Test
  void typesBecomeSubjectTokensOfLettersDigitsDashesAndUnderscores() {
    assertThat(JetStreamRelay.subjectToken("OrderPlaced")).isEqualTo("OrderPlaced");
    assertThat(JetStreamRelay.subjectToken("order-placed_v2")).isEqualTo("order-placed_v2");
    assertThat(JetStreamRelay.subjectToken("com.acme.Order Placed>*"))
        .isEqualTo("com_acme_Order_Placed__");
    assertThat(JetStreamRelay.subjectToken("Café😀")).isEqualTo("Caf__");
  }

  @Test
  void aMessageCarriesTheSubjectTheHeadersAndTheDataAsJson() throws Exception {
    Event event =
        Event.of("Booked", Map.of("at", Instant.parse("2026-01-02T03:04:05.123456789Z")))
            .withTags("room:1", "guest:Zoë")
            .withMetadata(Map.of("trace", "ü"));

    Message message =
        messages(e -> "hotel." + JetStreamRelay.subjectToken(e.event().type()))
            .of(new SequencedEvent(42, event), "HOTEL", 0);

    assertThat(message.getSubject()).isEqualTo("hotel.Booked");
    assertThat(message.getHeaders().getFirst(JetStreamRelay.POSITION_HEADER)).isEqualTo("42");
    assertThat(message.getHeaders().getFirst(JetStreamRelay.TYPE_HEADER)).isEqualTo("Booked");
    assertThat(message.getHeaders().get(JetStreamRelay.TAGS_HEADER))
        .containsExactly("room:1", "guest:Zo%C3%AB");
    assertThat(message.getHeaders().getFirst(JetStreamRelay.METADATA_HEADER))
        .isEqualTo("{\"trace\":\"\\u00FC\"}");
    assertThat(message.getHeaders().getFirst(JetStreamRelay.RELAY_HEADER)).isEqualTo("relay");
    assertThat(new String(message.getData(), StandardCharsets.UTF_8))
        .isEqualTo("{\"at\":1767323045.123456789}");
  }

  @Test
  void aSubjectThatCannotBePublishedToFailsTheEventWithItsPosition() {
    var event = new SequencedEvent(7, Event.of("Booked"));

    for (String subject : new String[] {"", "a..b", ".a", "a.", "a.*", "a.>", "a b", "a\tb"}) {
      assertThatThrownBy(() -> messages(e -> subject).of(event, "HOTEL", 0))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("the subject for the event at position 7")
          .hasMessageContaining("is not a NATS subject to publish to");
    }
    assertThatThrownBy(() -> messages(e -> null).of(event, "HOTEL", 0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("the subject for the event at position 7 is null");
  }

  @Test
  void dataThatCannotBeWrittenAsJsonFailsTheEventWithItsPosition() {
    var event = new SequencedEvent(9, Event.of("Odd", new Object()));

    assertThatThrownBy(() -> messages(e -> "odd").of(event, "HOTEL", 0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("the event at position 9 cannot be written as JSON");
  }
}
