package io.en57.internal;

import java.util.function.BooleanSupplier;

/**
 * A counter that moves whenever the log may have grown, and the wait for it to move. A waiter reads
 * the generation before it reads the log and then waits for a different one, so a signal between
 * its read and its wait is never lost. Thread-safe.
 */
final class LogSignal {

  private long generation;

  synchronized long generation() {
    return generation;
  }

  /** The log may have grown: wakes every waiter. */
  synchronized void signal() {
    generation++;
    notifyAll();
  }

  /** Wakes every waiter without moving the generation, so that each checks its stop condition. */
  synchronized void nudge() {
    notifyAll();
  }

  /**
   * Waits until the generation differs from {@code seen}, {@code stop} is true after a {@link
   * #nudge()}, or {@code timeoutNanos} passed.
   */
  synchronized void awaitChange(long seen, long timeoutNanos, BooleanSupplier stop)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeoutNanos;
    while (generation == seen && !stop.getAsBoolean()) {
      long remaining = deadline - System.nanoTime();
      if (remaining <= 0) {
        return;
      }
      long millis = remaining / 1_000_000;
      wait(millis, (int) (remaining % 1_000_000));
    }
  }
}
