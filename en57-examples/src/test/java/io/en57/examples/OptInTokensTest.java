package io.en57.examples;

import static org.assertj.core.api.Assertions.assertThat;

import io.en57.EventStore;
import io.en57.decisions.Outcome;
import io.en57.examples.OptInTokens.Rejection;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

@Tag("postgres")
class OptInTokensTest {

  private static ExampleStore database;
  private final TestClock clock = new TestClock(Instant.parse("2026-11-30T10:00:00Z"));
  private EventStore store;
  private OptInTokens signUps;

  @BeforeAll
  static void createDatabase() {
    database = new ExampleStore();
  }

  @AfterAll
  static void dropDatabase() {
    database.close();
  }

  @BeforeEach
  void emptyStore() {
    store = database.emptyStore(OptInTokens::registerEvents);
    signUps = new OptInTokens(store, clock);
  }

  @Test
  void aSignUpIsConfirmedOnceWithItsPassword() {
    String otp = signUps.initiateSignUp("ada@example.com", "Ada");

    assertThat(signUps.confirmSignUp("ada@example.com", otp)).isInstanceOf(Outcome.Appended.class);
    assertThat(signUps.confirmSignUp("ada@example.com", otp))
        .isEqualTo(new Outcome.Rejected<>(Rejection.OTP_ALREADY_USED, 0));
  }

  @Test
  void aPasswordOnlyConfirmsTheSignUpItWasSentFor() {
    String otp = signUps.initiateSignUp("ada@example.com", "Ada");
    signUps.initiateSignUp("alan@example.com", "Alan");

    assertThat(signUps.confirmSignUp("alan@example.com", otp))
        .isEqualTo(new Outcome.Rejected<>(Rejection.NO_PENDING_SIGN_UP, 0));
    assertThat(signUps.confirmSignUp("ada@example.com", "0000000000000000"))
        .isEqualTo(new Outcome.Rejected<>(Rejection.NO_PENDING_SIGN_UP, 0));
  }

  @Test
  void aPasswordExpiresAfterAnHour() {
    String otp = signUps.initiateSignUp("ada@example.com", "Ada");
    clock.advance(OptInTokens.VALIDITY);

    assertThat(signUps.confirmSignUp("ada@example.com", otp))
        .isEqualTo(new Outcome.Rejected<>(Rejection.OTP_EXPIRED, 0));
  }

  @Test
  void aPasswordUsedAlmostAnHourLaterStillWorks() {
    String otp = signUps.initiateSignUp("ada@example.com", "Ada");
    clock.advance(OptInTokens.VALIDITY.minus(Duration.ofSeconds(1)));

    assertThat(signUps.confirmSignUp("ada@example.com", otp)).isInstanceOf(Outcome.Appended.class);
  }

  @Test
  void confirmationsRacingWithOnePasswordOnTwoNodesSucceedOnce() throws Exception {
    var nodes = List.of(store, database.node(OptInTokens::registerEvents));
    int conflicts = 0;
    for (int round = 0; round < 5; round++) {
      String email = "user" + round + "@example.com";
      String otp = signUps.initiateSignUp(email, "User " + round);
      var tasks = new ArrayList<Callable<Outcome<Rejection>>>();
      for (int t = 0; t < 8; t++) {
        var desk = new OptInTokens(nodes.get(t % 2), clock);
        tasks.add(() -> desk.confirmSignUp(email, otp));
      }
      List<Outcome<Rejection>> outcomes = ExampleStore.race(tasks);

      assertThat(outcomes).filteredOn(o -> o instanceof Outcome.Appended).hasSize(1);
      assertThat(outcomes)
          .filteredOn(o -> o instanceof Outcome.Rejected)
          .extracting(o -> ((Outcome.Rejected<Rejection>) o).reason())
          .containsOnly(Rejection.OTP_ALREADY_USED)
          .hasSize(7);
      assertThat(store.read().ofType("SignUpConfirmed").withTag("otp:" + otp)).hasSize(1);
      conflicts += outcomes.stream().mapToInt(Outcome::conflicts).sum();
    }
    assertThat(conflicts).isPositive();
  }
}
