package io.en57.internal;

import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BooleanSupplier;

/**
 * A counter that moves whenever the log may have grown, and the wait for it to move. A waiter reads
 * the generation before it reads the log and then waits for a different one, so a signal between
 * its read and its wait is never lost. It also keeps the highest position this process's own
 * appends signalled as committed: every position up to it is committed, since positions are dense
 * and follow commit order. Thread-safe.
 */
final class LogSignal {

  /** Where {@link #sleep} waits: apart from the waiters for signals, which would wake it. */
  private final ReentrantLock sleepers = new ReentrantLock();

  private final Condition nudged = sleepers.newCondition();

  private long generation;
  private long committed;
  private long unannounced;

  synchronized long generation() {
    return generation;
  }

  /** How many signals came without a position (from other processes, or on reconnecting). */
  synchronized long unannounced() {
    return unannounced;
  }

  /** The highest position signalled as committed; 0 if none. */
  synchronized long committed() {
    return committed;
  }

  /** The log may have grown, up to where is unknown: wakes every waiter. */
  synchronized void signal() {
    unannounced++;
    generation++;
    notifyAll();
  }

  /** The log grew up to {@code position}, committed: wakes every waiter. */
  synchronized void signal(long position) {
    committed = Math.max(committed, position);
    generation++;
    notifyAll();
  }

  /**
   * Wakes every waiter and sleeper without moving the generation, so that each checks its stop
   * condition.
   */
  void nudge() {
    synchronized (this) {
      notifyAll();
    }
    sleepers.lock();
    try {
      nudged.signalAll();
    } finally {
      sleepers.unlock();
    }
  }

  /**
   * Waits {@code timeoutNanos}, whatever is signalled, unless {@code stop} is true after a nudge.
   * Signals do not wake it: a live subscription lingering between reads would otherwise wake at
   * every group commit only to wait again (with four subscriptions and 16 threads appending, that
   * was about a sixth of the JVM's time per append). A condition's wait, not {@code Object.wait}:
   * that one rounds a timeout up to the next millisecond, which made a linger of 2 ms last up to 3.
   */
  void sleep(long timeoutNanos, BooleanSupplier stop) throws InterruptedException {
    long remaining = timeoutNanos;
    sleepers.lock();
    try {
      while (remaining > 0 && !stop.getAsBoolean()) {
        remaining = nudged.awaitNanos(remaining);
      }
    } finally {
      sleepers.unlock();
    }
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
