package io.en57.bench;

import io.en57.observation.GroupWritten;
import io.en57.observation.StoreListener;
import java.util.concurrent.atomic.LongAdder;

/**
 * The group commits of the measured runs, told by the stores' listener: how many appends a group
 * held and how long writing it took. They show where an append's time goes that CPU figures do not:
 * the appends a group catches when it starts, and the time the database holds the append lock for
 * it. Only the node writing to the database tells of groups, so with forwarding these are the
 * leader's. Thread-safe.
 */
final class GroupCounts implements StoreListener, Measure.RunProbe {

  private final LongAdder groups = new LongAdder();
  private final LongAdder appends = new LongAdder();
  private final LongAdder writeNanos = new LongAdder();
  private long[] atRunStart = new long[3];
  private final long[] measured = new long[3];

  @Override
  public void groupWritten(GroupWritten group) {
    groups.increment();
    appends.add(group.appends());
    writeNanos.add(group.duration().toNanos());
  }

  @Override
  public synchronized void runStarts() {
    atRunStart = now();
  }

  @Override
  public synchronized void runMeasured() {
    long[] now = now();
    for (int i = 0; i < measured.length; i++) {
      measured[i] += now[i] - atRunStart[i];
    }
  }

  /** Appends per group in the measured runs; NaN without groups. */
  synchronized double appendsPerGroup() {
    return measured[0] == 0 ? Double.NaN : measured[1] / (double) measured[0];
  }

  /** Milliseconds a group took to write, on average in the measured runs; NaN without groups. */
  synchronized double writeMillisPerGroup() {
    return measured[0] == 0 ? Double.NaN : measured[2] / 1e6 / measured[0];
  }

  private long[] now() {
    return new long[] {groups.sum(), appends.sum(), writeNanos.sum()};
  }
}
