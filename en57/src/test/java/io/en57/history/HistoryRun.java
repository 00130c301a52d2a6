package io.en57.history;

import static io.en57.AppendCondition.failIf;

import io.en57.AppendResult;
import io.en57.Event;
import io.en57.EventStore;
import io.en57.Read;
import io.en57.SequencedEvent;
import io.en57.subscriptions.Subscription;
import io.en57.subscriptions.SubscriptionOptions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Runs writers and tailing readers against store instances (application nodes) for a while and
 * records the {@link History}. Writers read a random decision scope from a small universe and
 * append with it as the condition, {@code after} the last position they read; some append
 * unconditionally; some only ever touch a tag of their own (disjoint boundaries).
 */
final class HistoryRun {

  static final int TYPES = 10;
  static final int TAGS = 10;

  private final List<EventStore> nodes;
  private final long seed;
  private final int conditionalWriters;
  private final int unconditionalWriters;
  private final int disjointWriters;
  private final int readers;
  private final int subscribers;

  /**
   * @param subscribers subscriptions to random scopes from position 0, half pulling, half pushed to
   */
  HistoryRun(
      List<EventStore> nodes,
      long seed,
      int conditionalWriters,
      int unconditionalWriters,
      int disjointWriters,
      int readers,
      int subscribers) {
    this.nodes = nodes;
    this.seed = seed;
    this.conditionalWriters = conditionalWriters;
    this.unconditionalWriters = unconditionalWriters;
    this.disjointWriters = disjointWriters;
    this.readers = readers;
    this.subscribers = subscribers;
  }

  History run(Duration duration) throws InterruptedException {
    var appends = new ConcurrentLinkedQueue<History.Append>();
    var writing = new AtomicBoolean(true);
    int writers = conditionalWriters + unconditionalWriters + disjointWriters;
    var writersDone = new CountDownLatch(writers);
    var threads = new ArrayList<Thread>();
    for (int w = 0; w < writers; w++) {
      String kind =
          w < conditionalWriters
              ? "conditional"
              : w < conditionalWriters + unconditionalWriters ? "unconditional" : "disjoint";
      String name = kind + "-writer-" + w;
      EventStore node = nodes.get(w % nodes.size());
      var random = new Random(seed * 1_000 + w);
      threads.add(
          new Thread(
              () -> {
                try {
                  while (writing.get()) {
                    appends.add(appendOnce(node, name, kind, random));
                  }
                } finally {
                  writersDone.countDown();
                }
              },
              name));
    }
    var pages = new ArrayList<List<Long>>();
    for (int r = 0; r < readers; r++) {
      List<Long> seen = Collections.synchronizedList(new ArrayList<>());
      pages.add(seen);
      EventStore node = nodes.get(r % nodes.size());
      int pageSize = 1 + new Random(seed + r).nextInt(50);
      threads.add(new Thread(() -> tail(node, pageSize, seen, writersDone), "reader-" + r));
    }
    var followers = new ArrayList<History.Subscriber>();
    for (int s = 0; s < subscribers; s++) {
      EventStore node = nodes.get(s % nodes.size());
      var random = new Random(seed * 7 + s);
      Read scope = randomScope(node, random);
      var options = SubscriptionOptions.defaults().withBatchSize(1 + random.nextInt(50));
      List<Long> delivered = Collections.synchronizedList(new ArrayList<>());
      boolean push = s % 2 == 1;
      String name = s + (push ? " (push)" : " (pull)");
      followers.add(new History.Subscriber(name, scope.query(), delivered));
      threads.add(
          new Thread(
              () -> follow(node, scope, options, push, delivered, writersDone), "subscriber-" + s));
    }
    threads.forEach(Thread::start);
    Thread.sleep(duration.toMillis());
    writing.set(false);
    for (Thread thread : threads) {
      thread.join(TimeUnit.MINUTES.toMillis(2));
    }
    List<SequencedEvent> log = nodes.get(0).read().sequenced().toList();
    return new History(List.copyOf(appends), pages, followers, log);
  }

  /**
   * Subscribes from position 0 while the writers run, and until the subscription reached the head
   * the writers left; records the positions delivered.
   */
  private static void follow(
      EventStore node,
      Read scope,
      SubscriptionOptions options,
      boolean push,
      List<Long> delivered,
      CountDownLatch writersDone) {
    try (Subscription subscription = node.subscribe(scope, 0, options)) {
      if (push) {
        subscription.start(
            batch -> batch.events().forEach(event -> delivered.add(event.position())));
      }
      long finalHead = Long.MAX_VALUE;
      long deadline = Long.MAX_VALUE;
      while (subscription.position() < finalHead && System.nanoTime() < deadline) {
        if (finalHead == Long.MAX_VALUE && writersDone.getCount() == 0) {
          finalHead = node.head();
          deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(1);
        }
        if (push) {
          Thread.sleep(5);
        } else {
          subscription
              .poll(Duration.ofMillis(50))
              .events()
              .forEach(e -> delivered.add(e.position()));
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private History.Append appendOnce(EventStore node, String writer, String kind, Random random) {
    List<Event> events = new ArrayList<>();
    Read scope;
    if (kind.equals("disjoint")) {
      scope = node.read().withTag("own:" + writer);
      events.add(Event.of("Own").withTags("own:" + writer));
    } else {
      scope = randomScope(node, random);
      for (int i = random.nextInt(3); i >= 0; i--) {
        events.add(randomEvent(random));
      }
    }
    List<UUID> ids = events.stream().map(Event::id).toList();
    try {
      if (kind.equals("unconditional")) {
        return new History.Append(writer, ids, null, false, node.append(events), null);
      }
      long after = scope.sequenced().mapToLong(SequencedEvent::position).max().orElse(0);
      AppendResult result = node.append(events, failIf(scope).after(after));
      return new History.Append(
          writer, ids, scope.query().after(after), kind.equals("disjoint"), result, null);
    } catch (RuntimeException e) {
      return new History.Append(writer, ids, scope.query(), false, null, e);
    }
  }

  /** 0 to 3 criteria, each with 0 to 2 types and 0 to 2 tags of the small universe. */
  private static Read randomScope(EventStore node, Random random) {
    int criteria = random.nextInt(4);
    Read scope = node.read();
    for (int c = 0; c < criteria; c++) {
      Read criterion = node.read();
      for (int i = random.nextInt(3); i > 0; i--) {
        criterion = criterion.ofType("T" + random.nextInt(TYPES));
      }
      for (int i = random.nextInt(3); i > 0; i--) {
        criterion = criterion.withTag("g" + random.nextInt(TAGS));
      }
      scope = c == 0 ? criterion : scope.or(criterion);
    }
    return scope;
  }

  private static Event randomEvent(Random random) {
    var tags = new ArrayList<String>();
    for (int i = random.nextInt(3); i >= 0; i--) {
      tags.add("g" + random.nextInt(TAGS));
    }
    return Event.of("T" + random.nextInt(TYPES)).withTags(tags);
  }

  /** Pages through the log with after(lastSeen) until the writers are done and it has caught up. */
  private static void tail(
      EventStore node, int pageSize, List<Long> seen, CountDownLatch writersDone) {
    long lastSeen = 0;
    while (true) {
      boolean writersWereDone = writersDone.getCount() == 0;
      List<SequencedEvent> page = node.read().after(lastSeen).limit(pageSize).sequenced().toList();
      for (SequencedEvent event : page) {
        seen.add(event.position());
        lastSeen = event.position();
      }
      if (page.isEmpty() && writersWereDone) {
        return;
      }
    }
  }
}
