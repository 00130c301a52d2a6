package io.en57.testing;

import io.en57.observation.GroupWritten;
import io.en57.observation.StoreListener;
import java.util.concurrent.atomic.AtomicInteger;

/** Counts the appends a store writes itself, in its group commits. Thread-safe. */
public final class AppendsWritten implements StoreListener {

  private final AtomicInteger count;

  /** Counting from 0. */
  public AppendsWritten() {
    this(new AtomicInteger());
  }

  /** Counting into {@code count}. */
  public AppendsWritten(AtomicInteger count) {
    this.count = count;
  }

  @Override
  public void groupWritten(GroupWritten group) {
    count.addAndGet(group.appends());
  }

  /** The appends written so far. */
  public int count() {
    return count.get();
  }
}
