package io.en57.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Who wakes whom: signals wake the waiters for a change, never the sleepers. */
class LogSignalTest {

  private final LogSignal signal = new LogSignal();

  @Test
  void signalsDoNotWakeASleeperButANudgeWithItsStopConditionEndsItsSleep() throws Exception {
    var checks = new AtomicInteger();
    var stop = new AtomicBoolean();
    var sleeping =
        CompletableFuture.runAsync(
            () -> {
              try {
                signal.sleep(
                    TimeUnit.SECONDS.toNanos(30),
                    () -> {
                      checks.incrementAndGet();
                      return stop.get();
                    });
              } catch (InterruptedException e) {
                throw new IllegalStateException(e);
              }
            });
    while (checks.get() == 0) {
      Thread.sleep(1); // until it sleeps
    }
    for (int i = 1; i <= 200; i++) {
      signal.signal(i);
      Thread.sleep(1);
    }
    // Every wake-up checks the stop condition once: a sleeper woken by signals would have checked
    // it about 200 times (one more check allows for a spurious wake-up).
    assertThat(checks.get()).isLessThanOrEqualTo(2);
    assertThat(sleeping).isNotDone();

    stop.set(true);
    signal.nudge();

    sleeping.get(10, TimeUnit.SECONDS); // long before its 30 s
    assertThat(signal.committed()).isEqualTo(200);
  }

  @Test
  void aSignalWakesAWaiterForAChange() throws Exception {
    long seen = signal.generation();
    var waiting =
        CompletableFuture.runAsync(
            () -> {
              try {
                signal.awaitChange(seen, TimeUnit.SECONDS.toNanos(30), () -> false);
              } catch (InterruptedException e) {
                throw new IllegalStateException(e);
              }
            });
    Thread.sleep(50);
    assertThat(waiting).isNotDone();

    signal.signal(1);

    waiting.get(10, TimeUnit.SECONDS);
    assertThat(signal.generation()).isNotEqualTo(seen);
  }
}
