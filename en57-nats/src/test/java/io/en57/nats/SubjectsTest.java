package io.en57.nats;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Which subjects a stream's subject filters take, as NATS matches them. */
class SubjectsTest {

  @Test
  void aFilterTakesItsSubjectsTokenByTokenWithStarForOneTokenAndAFinalGreaterThanForTheRest() {
    assertThat(Subjects.matches("en57.OrderPlaced", "en57.OrderPlaced")).isTrue();
    assertThat(Subjects.matches("en57.OrderPlaced", "en57.OrderShipped")).isFalse();
    assertThat(Subjects.matches("en57.*", "en57.OrderPlaced")).isTrue();
    assertThat(Subjects.matches("en57.*", "en57.a.b")).isFalse();
    assertThat(Subjects.matches("en57.*", "en57")).isFalse();
    assertThat(Subjects.matches("en57.>", "en57.a.b")).isTrue();
    assertThat(Subjects.matches("en57.>", "en57")).isFalse();
    assertThat(Subjects.matches(">", "anything.at.all")).isTrue();
    assertThat(Subjects.matches("*.orders.>", "shop.orders.placed")).isTrue();
    assertThat(Subjects.matches("*.orders.>", "shop.invoices.placed")).isFalse();
    assertThat(Subjects.matches("shop", "shop.orders")).isFalse();
    assertThat(Subjects.matches("en57", "en570")).isFalse();
  }
}
