package io.en57.decisions;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.HashSet;
import java.util.Random;
import org.junit.jupiter.api.Test;

class RetryPolicyTest {

  private final RetryPolicy policy =
      RetryPolicy.defaults().withBackoff(Duration.ofMillis(2), Duration.ofMillis(20));

  @Test
  void theBoundDoublesPerConflictUpToTheMaximum() {
    assertThat(policy.boundNanos(1)).isEqualTo(2_000_000);
    assertThat(policy.boundNanos(2)).isEqualTo(4_000_000);
    assertThat(policy.boundNanos(4)).isEqualTo(16_000_000);
    assertThat(policy.boundNanos(5)).isEqualTo(20_000_000);
    assertThat(policy.boundNanos(1_000)).isEqualTo(20_000_000);
  }

  @Test
  void pausesAreSpreadBetweenZeroAndTheBound() {
    var random = new Random(57);
    var pauses = new HashSet<Long>();
    for (int i = 0; i < 1_000; i++) {
      long pause = policy.pauseNanos(3, random);
      assertThat(pause).isBetween(0L, 8_000_000L);
      pauses.add(pause);
    }
    assertThat(pauses).hasSizeGreaterThan(900);
    assertThat(pauses.stream().mapToLong(Long::longValue).max().orElseThrow())
        .isGreaterThan(7_000_000);
    assertThat(pauses.stream().mapToLong(Long::longValue).min().orElseThrow())
        .isLessThan(1_000_000);
  }

  @Test
  void noBackoffMeansNoPause() {
    var none = policy.withBackoff(Duration.ZERO, Duration.ZERO);
    assertThat(none.pauseNanos(7, new Random(1))).isZero();
  }

  @Test
  void noInitialBackoffMeansNoPauseHoweverManyConflicts() {
    var none = policy.withMaxAttempts(1_000).withBackoff(Duration.ZERO, Duration.ofSeconds(1));
    for (int conflicts = 1; conflicts < 1_000; conflicts++) {
      assertThat(none.pauseNanos(conflicts, new Random(1))).isZero();
    }
  }

  @Test
  void theLongestBackoffIsADay() {
    var longest = policy.withBackoff(Duration.ofMillis(1), Duration.ofDays(1));
    assertThat(longest.boundNanos(100)).isEqualTo(Duration.ofDays(1).toNanos());
    assertThat(longest.pauseNanos(100, new Random(1))).isBetween(0L, Duration.ofDays(1).toNanos());
    assertThatThrownBy(() -> policy.withBackoff(Duration.ofMillis(1), Duration.ofDays(200_000)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("maxBackoff (PT4800000H) must not be longer than PT24H");
  }

  @Test
  void theDefaultsAreTenAttemptsFromOneToAHundredMilliseconds() {
    assertThat(RetryPolicy.defaults())
        .isEqualTo(new RetryPolicy(10, Duration.ofMillis(1), Duration.ofMillis(100)));
  }

  @Test
  void badSettingsAreRejected() {
    assertThatThrownBy(() -> policy.withMaxAttempts(0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("maxAttempts must be at least 1, got 0");
    assertThatThrownBy(() -> policy.withBackoff(Duration.ofMillis(-1), Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("initialBackoff must not be negative");
    assertThatThrownBy(() -> policy.withBackoff(Duration.ofMillis(5), Duration.ofMillis(1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("must not be less than initialBackoff");
    assertThatThrownBy(() -> policy.withBackoff(null, Duration.ZERO))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("initialBackoff must not be null");
  }
}
