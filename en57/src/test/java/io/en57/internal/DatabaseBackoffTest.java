package io.en57.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class DatabaseBackoffTest {

  @Test
  void waitsOneHundredMillisecondsThenTwiceAsLongEachTimeUpToFiveSeconds() {
    assertThat(DatabaseBackoff.after(1)).isEqualTo(Duration.ofMillis(100));
    assertThat(DatabaseBackoff.after(2)).isEqualTo(Duration.ofMillis(200));
    assertThat(DatabaseBackoff.after(6)).isEqualTo(Duration.ofMillis(3_200));
    assertThat(DatabaseBackoff.after(7)).isEqualTo(Duration.ofSeconds(5));
    assertThat(DatabaseBackoff.after(Integer.MAX_VALUE)).isEqualTo(Duration.ofSeconds(5));
  }
}
