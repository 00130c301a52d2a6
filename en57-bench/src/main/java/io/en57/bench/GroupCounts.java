package io.en57.bench;

import io.en57.observation.GroupWritten;
import io.en57.observation.StoreListener;
import java.util.concurrent.atomic.LongAdder;

/**
 * The group commits of the measured runs, told by the stores' listener: how many appends a group
 * held and how long writing it took (from the group's start to its outcome: building the statement,
 * the round trip, the database's work and the commit). With the rate they show what CPU figures do
 * not: how many appends a group catches when it starts, and how long until the next one starts.
 * Only the node writing to the database tells of groups, so with forwarding these are the leader's.
 * Thread-safe.
 */
final class GroupCounts implements StoreListener, Measure.RunProbe {

  private final LongAdder groups = new LongAdder();
  private final LongAdder appends = new LongAdder();
  private final LongAdder writeNanos = new LongAdder();
  private Totals atRunStart = Totals.NONE;
  private Totals measured = Totals.NONE;

  private record Totals(long groups, long appends, long writeNanos) {
    static final Totals NONE = new Totals(0, 0, 0);

    Totals plus(Totals end, Totals start) {
      return new Totals(
          groups + end.groups - start.groups,
          appends + end.appends - start.appends,
          writeNanos + end.writeNanos - start.writeNanos);
    }
  }

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
    measured = measured.plus(now(), atRunStart);
  }

  /** Appends per group in the measured runs; NaN without groups. */
  synchronized double appendsPerGroup() {
    return measured.groups == 0 ? Double.NaN : measured.appends / (double) measured.groups;
  }

  /** Milliseconds a group took to write, on average in the measured runs; NaN without groups. */
  synchronized double writeMillisPerGroup() {
    return measured.groups == 0 ? Double.NaN : measured.writeNanos / 1e6 / measured.groups;
  }

  private Totals now() {
    return new Totals(groups.sum(), appends.sum(), writeNanos.sum());
  }
}
