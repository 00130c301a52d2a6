package io.en57;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.util.Iterator;

/**
 * Streams a store's whole log and prints what it saw; {@link StreamingMemoryTest} runs it in a JVM
 * with a small heap. Arguments: the database URL.
 */
public final class StreamAllEvents {

  private StreamAllEvents() {}

  public static void main(String[] args) {
    long count = 0;
    long previous = 0;
    long started = System.nanoTime();
    try (EventStore store = EventStore.forUrl(args[0])) {
      Iterator<SequencedEvent> events = store.read().sequenced().iterator();
      while (events.hasNext()) {
        long position = events.next().position();
        if (position <= previous) {
          throw new IllegalStateException("position " + position + " after " + previous);
        }
        previous = position;
        count++;
      }
    }
    double seconds = (System.nanoTime() - started) / 1e9;
    long peakHeap = 0;
    for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
      if (pool.getType() == MemoryType.HEAP) {
        peakHeap += pool.getPeakUsage().getUsed();
      }
    }
    System.out.printf(
        "events=%d last=%d maxHeap=%d peakHeap=%d seconds=%.1f%n",
        count, previous, Runtime.getRuntime().maxMemory(), peakHeap, seconds);
  }
}
