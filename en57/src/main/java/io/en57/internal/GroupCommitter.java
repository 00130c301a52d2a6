package io.en57.internal;

import io.en57.AppendLockTimeoutException;
import io.en57.En57Exception;
import io.en57.En57StorageException;
import io.en57.Event;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Coalesces concurrent appends of one store into groups written with one statement and one commit.
 * There is no writer thread: the first caller to find a free slot leads, drains the queue into a
 * group and writes it, so a lone append goes straight through on its own thread. Callers arriving
 * while a group is being written queue up; when the leader is done it hands the slot to the oldest
 * waiting caller, who leads the next group with everything that queued.
 *
 * <p>Groups hold at most {@code maxGroupSize} appends, at most {@link #MAX_GROUP_JSON_LENGTH}
 * characters of data and metadata and {@link #MAX_GROUP_INDEXED_LENGTH} of types and tags unless
 * one append alone carries more, and never two appends sharing an event id (the later one waits for
 * the next group, so each is decided on its own). An append waits at most {@code maxWait} for its
 * group to start, then fails with nothing written.
 */
final class GroupCommitter {

  /**
   * The most characters of data and metadata a group gathers from several appends: two of the
   * largest appends. A group travels as one statement, and PostgreSQL takes no message over 1 GB
   * (up to three bytes a character in UTF-8), so many large appends queued together would otherwise
   * fail together; large appends gain little from sharing a commit anyway.
   */
  static final long MAX_GROUP_JSON_LENGTH = 2L * Event.MAX_APPEND_JSON_LENGTH;

  /**
   * The most characters of types and tags, conditions' included, a group gathers from several
   * appends: two of the largest appends, for the same reason.
   */
  static final long MAX_GROUP_INDEXED_LENGTH = 2L * Event.MAX_APPEND_INDEXED_LENGTH;

  /** Writes one group and returns each append's completion, in order. */
  interface GroupWriter {
    List<Completion> write(List<AppendRequest> group);
  }

  private final GroupWriter writer;
  private final int maxGroupSize;
  private final long maxWaitNanos;
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition idle = lock.newCondition();
  private final ArrayDeque<Pending> queue = new ArrayDeque<>();
  private final int slots;
  private final Listening listening;
  private int freeSlots;
  private boolean closed;

  GroupCommitter(
      GroupWriter writer,
      int maxGroupSize,
      Duration maxWait,
      int groupsInFlight,
      Listening listening) {
    this.writer = writer;
    this.maxGroupSize = maxGroupSize;
    this.maxWaitNanos = maxWait.toNanos();
    this.slots = groupsInFlight;
    this.freeSlots = groupsInFlight;
    this.listening = listening;
  }

  /** Appends through a group and returns its outcome, or throws the exception it ended with. */
  AppendOutcome append(AppendRequest request) {
    if (Thread.currentThread().isInterrupted()) {
      throw new En57Exception(
          "the appending thread is interrupted; nothing was written", new InterruptedException());
    }
    var pending = new Pending(request, Thread.currentThread());
    long deadline = System.nanoTime() + maxWaitNanos;
    lock.lock();
    try {
      if (closed) {
        throw new IllegalStateException("the store is closed; nothing was written");
      }
      queue.add(pending);
      if (freeSlots > 0) {
        freeSlots--;
        pending.hasSlot = true;
      }
    } finally {
      lock.unlock();
    }
    boolean interrupted = false;
    try {
      while (true) {
        // Read done before hasSlot: a slot is only ever handed to a queued append, before its group
        // takes it, so an append seen done has its slot visible too and must not return holding it.
        boolean done = pending.done;
        if (pending.hasSlot) {
          pending.hasSlot = false;
          lead();
          continue;
        }
        if (done) {
          return pending.completion.outcome();
        }
        if (Thread.interrupted()) {
          interrupted = true;
          if (abandon(pending)) {
            throw new En57Exception(
                "interrupted while waiting for a group commit to take this append; nothing was"
                    + " written",
                new InterruptedException());
          }
          // Its group is being written: wait for the outcome (parking with the interrupt flag
          // cleared, so that the wait does not spin), and raise the flag again afterwards.
        }
        long left = deadline - System.nanoTime();
        if (left <= 0 && abandon(pending)) {
          throw new AppendLockTimeoutException(
              "waited longer than "
                  + Duration.ofNanos(maxWaitNanos)
                  + " for a group commit to take this append; nothing was written",
              null);
        }
        // An append already in a group is waited for whatever the deadline: its outcome is coming,
        // bounded by the network timeout of the group's connection.
        LockSupport.parkNanos(this, Math.max(left, TimeUnit.MILLISECONDS.toNanos(10)));
      }
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** Fails every queued append and waits for the groups being written; none hangs. */
  void close(Duration patience) {
    lock.lock();
    try {
      closed = true;
      for (Pending pending : queue) {
        pending.complete(
            new Completion.Failed(
                new IllegalStateException(
                    "the store was closed before this append was written; nothing was written")));
      }
      queue.clear();
      long left = patience.toNanos();
      while (freeSlots < slots && left > 0) {
        left = idle.awaitNanos(left);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      lock.unlock();
    }
  }

  /**
   * Leads one group: drains the queue, writes the group, completes its appends, and hands the slot
   * to the oldest append still queued, or frees it.
   */
  private void lead() {
    List<Pending> group;
    lock.lock();
    try {
      group = drain();
    } finally {
      lock.unlock();
    }
    // The group carries other callers' appends: an interrupt of this thread must not abort the
    // database work (a pool would refuse the connection), so it waits until the group is written.
    boolean interrupted = Thread.interrupted();
    try {
      if (!group.isEmpty()) {
        write(group);
      }
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
      lock.lock();
      try {
        Pending next = queue.stream().filter(p -> !p.hasSlot).findFirst().orElse(null);
        if (next != null) {
          next.hasSlot = true;
          LockSupport.unpark(next.thread);
        } else {
          freeSlots++;
          idle.signalAll();
        }
      } finally {
        lock.unlock();
      }
    }
  }

  /**
   * The oldest queued appends, up to the group's size and length, skipping any that repeat an event
   * id.
   */
  private List<Pending> drain() {
    var group = new ArrayList<Pending>();
    Set<UUID> ids = new HashSet<>();
    long jsonLength = 0;
    long indexedLength = 0;
    for (Iterator<Pending> queued = queue.iterator();
        queued.hasNext() && group.size() < maxGroupSize; ) {
      Pending pending = queued.next();
      if (!group.isEmpty()
          && (jsonLength + pending.jsonLength > MAX_GROUP_JSON_LENGTH
              || indexedLength + pending.indexedLength > MAX_GROUP_INDEXED_LENGTH)) {
        break;
      }
      if (pending.request.events().stream().map(EncodedEvent::id).noneMatch(ids::contains)) {
        pending.request.events().forEach(e -> ids.add(e.id()));
        group.add(pending);
        jsonLength += pending.jsonLength;
        indexedLength += pending.indexedLength;
        queued.remove();
      }
    }
    return group;
  }

  private void write(List<Pending> group) {
    long started = System.nanoTime();
    try {
      writeGroup(group);
    } finally {
      listening.groupWritten(group, pending -> pending.queuedAt, started);
    }
  }

  private void writeGroup(List<Pending> group) {
    List<Completion> completions;
    try {
      completions = writer.write(group.stream().map(p -> p.request).toList());
    } catch (RuntimeException e) {
      group.forEach(p -> p.complete(new Completion.Failed(e)));
      return;
    } catch (Error e) {
      group.forEach(
          p ->
              p.complete(
                  new Completion.Failed(new En57StorageException("append failed: " + e, e))));
      throw e;
    }
    for (int i = 0; i < group.size(); i++) {
      group.get(i).complete(completions.get(i));
    }
  }

  /**
   * Takes a still-queued append out of the queue; false if a group already holds it, or if it was
   * just handed a slot (then it leads, and its group takes it).
   */
  private boolean abandon(Pending pending) {
    lock.lock();
    try {
      return !pending.hasSlot && queue.remove(pending);
    } finally {
      lock.unlock();
    }
  }

  private static final class Pending {
    final AppendRequest request;
    final long jsonLength;
    final long indexedLength;
    final Thread thread;
    final long queuedAt = System.nanoTime();

    /** Set, under the lock, when this append's thread must lead the next group. */
    volatile boolean hasSlot;

    volatile boolean done;
    private Completion completion;

    Pending(AppendRequest request, Thread thread) {
      this.request = request;
      this.jsonLength = request.jsonLength();
      this.indexedLength = request.indexedLength();
      this.thread = thread;
    }

    void complete(Completion completion) {
      this.completion = completion;
      done = true;
      LockSupport.unpark(thread);
    }
  }
}
