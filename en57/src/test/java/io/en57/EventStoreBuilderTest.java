package io.en57;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** What the builder refuses before anything connects. */
class EventStoreBuilderTest {

  @Test
  void aLockTimeoutPostgresqlWouldReadAsNoLimitOrCouldNotTakeIsRefused() {
    // Below a millisecond the database would read 0: no limit at all.
    assertThatThrownBy(() -> EventStore.builder().lockTimeout(Duration.ofNanos(500_000)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("lockTimeout must be from 1 ms to 2147483647 ms");
    assertThatThrownBy(() -> EventStore.builder().lockTimeout(Duration.ofDays(25)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("lockTimeout must be from 1 ms");
    assertThatThrownBy(() -> EventStore.builder().lockTimeout(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class);
    EventStore.builder().lockTimeout(Duration.ofMillis(1)).lockTimeout(Duration.ofDays(24));
  }

  @Test
  void forwardingNeedsAnAddressOtherNodesReachAndAPortAndAPostgresqlStore() {
    assertThatThrownBy(() -> EventStore.builder().forwardAppends("0.0.0.0", 0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("must not be the wildcard 0.0.0.0");
    assertThatThrownBy(() -> EventStore.builder().forwardAppends("::", 0))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> EventStore.builder().forwardAppends(" ", 0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("host must not be blank");
    assertThatThrownBy(() -> EventStore.builder().forwardAppends(null, 0))
        .isInstanceOf(NullPointerException.class)
        .hasMessageContaining("host");
    assertThatThrownBy(() -> EventStore.builder().forwardAppends("10.0.0.5", 65_536))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("port must be within 0 and 65535, got 65536");
    assertThatThrownBy(() -> EventStore.builder().forwardAppends("10.0.0.5", 5757).inMemory())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("forwarding appends is for PostgreSQL stores");
  }
}
