package io.en57.internal;

import io.en57.AppendLockTimeoutException;
import io.en57.En57Exception;
import io.en57.En57StorageException;
import io.en57.Event;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Coalesces concurrent appends of one store into groups written with one statement and one commit.
 * There is no writer thread for a store's own appends: the first caller to find a free slot leads,
 * drains the queue into a group and writes it, so a lone append goes straight through on its own
 * thread. Callers arriving while a group is being written queue up; when the leader is done it
 * hands the slot to the oldest waiting caller, who leads the next group with everything that
 * queued.
 *
 * <p>Appends may also be submitted without a waiting caller ({@link #submit}), as other nodes'
 * forwarded appends are: the thread that writes their group hands each its completion, and when
 * only such appends are queued a thread of the committer's own leads their group, woken once per
 * group rather than once per append.
 *
 * <p>Groups hold at most {@code maxGroupSize} appends, at most {@link #MAX_GROUP_JSON_LENGTH}
 * characters of data and metadata and {@link #MAX_GROUP_INDEXED_LENGTH} of types and tags unless
 * one append alone carries more, and never two appends sharing an event id (the later one waits for
 * the next group, so each is decided on its own). An append waits at most {@code maxWait} for its
 * group to start, then fails with nothing written.
 */
final class GroupCommitter {

  private static final Logger LOG = LoggerFactory.getLogger(GroupCommitter.class);

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
  private final Condition submissionsTurn = lock.newCondition();
  private int freeSlots;
  private boolean closed;

  /** Leads groups of submitted appends when no caller waits to; started with the first. */
  private Thread submissionsLeader;

  /** Whether {@link #submissionsLeader} holds a slot, handed to it to lead the next group. */
  private boolean submissionsHaveSlot;

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
    var pending = new Pending(request, Thread.currentThread(), System.nanoTime() + maxWaitNanos);
    lock.lock();
    try {
      if (closed) {
        throw storeClosed("the store is closed");
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
        long left = pending.deadline - System.nanoTime();
        if (left <= 0 && abandon(pending)) {
          throw tookTooLong();
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

  /**
   * Queues an append without waiting for it: {@code onDone} gets its completion on the thread that
   * writes its group, which is this one when no group is being written. {@code onDone} must be
   * quick and must not block, since the rest of the group waits for it. An append not taken into a
   * group within the store's {@code maxWait} fails with nothing written, as a waiting one does.
   */
  void submit(AppendRequest request, Consumer<Completion> onDone) {
    var pending = new Pending(request, onDone, System.nanoTime() + maxWaitNanos);
    boolean refused;
    boolean lead = false;
    lock.lock();
    try {
      refused = closed;
      if (!refused) {
        queue.add(pending);
        lead = freeSlots > 0;
        if (lead) {
          freeSlots--;
        }
      }
    } finally {
      lock.unlock();
    }
    if (refused) {
      pending.complete(new Completion.Failed(storeClosed("the store is closed")));
    } else if (lead) {
      lead();
    }
  }

  /** Fails every queued append and waits for the groups being written; none hangs. */
  void close(Duration patience) {
    List<Pending> failed;
    lock.lock();
    try {
      closed = true;
      failed = new ArrayList<>(queue);
      queue.clear();
      submissionsTurn.signalAll();
    } finally {
      lock.unlock();
    }
    failed.forEach(
        pending ->
            pending.complete(
                new Completion.Failed(
                    storeClosed("the store was closed before this append was written"))));
    lock.lock();
    try {
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
    List<Pending> expired = new ArrayList<>();
    lock.lock();
    try {
      group = drain(expired);
    } finally {
      lock.unlock();
    }
    expired.forEach(pending -> pending.complete(new Completion.Failed(tookTooLong())));
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
      handOver();
    }
  }

  /**
   * Hands the slot of the group just written to the oldest caller still waiting in the queue; else,
   * when submitted appends are queued, to the committer's own thread, unless it holds a slot
   * already; else frees it.
   */
  private void handOver() {
    lock.lock();
    try {
      Pending next = null;
      boolean submissionsQueued = false;
      for (Pending pending : queue) {
        if (pending.thread == null) {
          submissionsQueued = true;
        } else if (!pending.hasSlot) {
          next = pending;
          break;
        }
      }
      if (next != null) {
        next.hasSlot = true;
        LockSupport.unpark(next.thread);
      } else if (submissionsQueued && !closed && !submissionsHaveSlot) {
        submissionsHaveSlot = true;
        if (submissionsLeader == null) {
          submissionsLeader = new Thread(this::leadSubmissions, "en57-group-commit");
          submissionsLeader.setDaemon(true);
          submissionsLeader.start();
        }
        submissionsTurn.signal();
      } else {
        freeSlots++;
        idle.signalAll();
      }
    } finally {
      lock.unlock();
    }
  }

  /** The committer's own thread: leads a group whenever it is handed a slot. */
  private void leadSubmissions() {
    while (true) {
      lock.lock();
      try {
        while (!submissionsHaveSlot) {
          if (closed) {
            submissionsLeader = null;
            return;
          }
          submissionsTurn.awaitUninterruptibly();
        }
        submissionsHaveSlot = false;
      } finally {
        lock.unlock();
      }
      try {
        lead();
      } catch (Error e) {
        // This thread dies with it; a slot handed back to it would die too, so it goes on to
        // whoever is next, a new thread of the committer's own if need be.
        lock.lock();
        try {
          submissionsLeader = null;
          if (submissionsHaveSlot) {
            submissionsHaveSlot = false;
            handOver();
          }
        } finally {
          lock.unlock();
        }
        throw e;
      }
    }
  }

  /**
   * The oldest queued appends, up to the group's size and length, skipping any that repeat an event
   * id. Submitted appends queued for longer than the store's wait are taken out into {@code
   * expired}; waiting callers give up by themselves.
   */
  private List<Pending> drain(List<Pending> expired) {
    long now = System.nanoTime();
    var group = new ArrayList<Pending>();
    Set<UUID> ids = new HashSet<>();
    long jsonLength = 0;
    long indexedLength = 0;
    for (Iterator<Pending> queued = queue.iterator();
        queued.hasNext() && group.size() < maxGroupSize; ) {
      Pending pending = queued.next();
      if (pending.thread == null && now - pending.deadline > 0) {
        expired.add(pending);
        queued.remove();
        continue;
      }
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
    List<Completion> completions;
    Error error = null;
    try {
      completions = writer.write(group.stream().map(p -> p.request).toList());
    } catch (RuntimeException e) {
      completions = Collections.nCopies(group.size(), new Completion.Failed(e));
    } catch (Error e) {
      error = e;
      completions =
          Collections.nCopies(
              group.size(),
              new Completion.Failed(new En57StorageException("append failed: " + e, e)));
    }
    // Listeners hear of a group before its appends return, here or on another node.
    listening.groupWritten(group, pending -> pending.queuedAt, started);
    for (int i = 0; i < group.size(); i++) {
      group.get(i).complete(completions.get(i));
    }
    if (error != null) {
      throw error;
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

  private AppendLockTimeoutException tookTooLong() {
    return new AppendLockTimeoutException(
        "waited longer than "
            + Duration.ofNanos(maxWaitNanos)
            + " for a group commit to take this append; nothing was written",
        null);
  }

  private static IllegalStateException storeClosed(String why) {
    return new IllegalStateException(why + "; nothing was written");
  }

  /**
   * A queued append: of a caller waiting for it on {@code thread}, or submitted, with {@code
   * onDone} to hand its completion to.
   */
  private static final class Pending {
    final AppendRequest request;
    final long jsonLength;
    final long indexedLength;
    final Thread thread;
    final Consumer<Completion> onDone;
    final long deadline;
    final long queuedAt = System.nanoTime();

    /** Set, under the lock, when this append's thread must lead the next group. */
    volatile boolean hasSlot;

    volatile boolean done;
    private Completion completion;

    Pending(AppendRequest request, Thread thread, long deadline) {
      this(request, thread, null, deadline);
    }

    Pending(AppendRequest request, Consumer<Completion> onDone, long deadline) {
      this(request, null, onDone, deadline);
    }

    private Pending(
        AppendRequest request, Thread thread, Consumer<Completion> onDone, long deadline) {
      this.request = request;
      this.jsonLength = request.jsonLength();
      this.indexedLength = request.indexedLength();
      this.thread = thread;
      this.onDone = onDone;
      this.deadline = deadline;
    }

    void complete(Completion completion) {
      if (onDone != null) {
        try {
          onDone.accept(completion);
        } catch (RuntimeException e) {
          LOG.warn("En57 could not hand over an append's completion ({})", e.toString());
        }
        return;
      }
      this.completion = completion;
      done = true;
      LockSupport.unpark(thread);
    }
  }
}
