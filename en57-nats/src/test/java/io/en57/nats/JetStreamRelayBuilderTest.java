package io.en57.nats;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.en57.subscriptions.Retry;
import io.nats.client.Connection;
import java.lang.reflect.Proxy;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Bad configuration is refused at once, naming what is wrong (no broker needed). */
class JetStreamRelayBuilderTest {

  /** A connection the builder must not use before it starts: every call fails. */
  private static final Connection UNUSED =
      (Connection)
          Proxy.newProxyInstance(
              Connection.class.getClassLoader(),
              new Class<?>[] {Connection.class},
              (proxy, method, args) -> {
                throw new AssertionError("the builder called " + method.getName());
              });

  @Test
  void theConnectionAndTheStreamAreRequired() {
    assertThatThrownBy(() -> JetStreamRelay.builder(null, "S"))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("nats must not be null");
    assertThatThrownBy(() -> JetStreamRelay.builder(UNUSED, null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("stream must not be null");
    assertThatThrownBy(() -> JetStreamRelay.builder(UNUSED, " "))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("stream must not be blank");
  }

  @Test
  void optionsAreChecked() {
    JetStreamRelay.Builder builder = JetStreamRelay.builder(UNUSED, "S");

    assertThatThrownBy(() -> builder.name(""))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("name must not be blank");
    assertThatThrownBy(() -> builder.subjectPrefix("shop.*"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("prefix 'shop.*' is not a NATS subject to publish to: it has a wildcard");
    assertThatThrownBy(() -> builder.subjectPrefix("shop."))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("prefix 'shop.' is not a NATS subject to publish to: it has an empty token");
    assertThatThrownBy(() -> builder.batchSize(0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("batchSize must be positive, got 0");
    assertThatThrownBy(() -> builder.ackTimeout(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("ackTimeout must be positive, got PT0S");
    assertThatThrownBy(() -> builder.subjects(null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("subjects must not be null");
    assertThatThrownBy(() -> builder.scope(null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("scope must not be null");
    assertThatThrownBy(() -> builder.retry(null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("retry must not be null");
    assertThatThrownBy(() -> builder.start(null, null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("store must not be null");
  }

  @Test
  void deadLettersNeedRetriesWithoutEndSoThatAnOutageSendsNothingToThem() {
    var bounded = new Retry(3, Duration.ofMillis(1), Duration.ofMillis(1));
    assertThatThrownBy(
            () ->
                JetStreamRelay.builder(UNUSED, "S").retry(bounded).deadLetters().start(null, null))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("deadLetters() needs retries without end");
  }
}
