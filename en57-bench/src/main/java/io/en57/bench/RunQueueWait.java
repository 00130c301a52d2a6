package io.en57.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * How long threads were ready to run but waited for a core, from Linux's scheduler statistics
 * ({@code /proc/<pid>/task/<tid>/schedstat}, second field): this JVM's threads, and the processes
 * of every PostgreSQL server on this machine (those named {@code postgres}; the database's, when it
 * runs here). A wake-up that has to wait for a core delays whatever the woken thread was to do
 * next, which is how a busy machine lengthens latency without being saturated. Readings are empty
 * where Linux does not give them.
 *
 * <p>An instance sums the wait of one set of threads ({@link #jvm} or {@link #database}) over the
 * measured runs.
 */
final class RunQueueWait {

  private static final Path PROC = Path.of("/proc");

  private final Supplier<Map<String, Long>> reading;
  private Map<String, Long> atStart;
  private long totalNanos;

  RunQueueWait(Supplier<Map<String, Long>> reading) {
    this.reading = reading;
  }

  void runStarts() {
    atStart = reading.get();
  }

  /** Adds the wait since {@link #runStarts()}; the total is lost once a reading is empty. */
  void runMeasured() {
    Map<String, Long> now = reading.get();
    totalNanos =
        atStart.isEmpty() || now.isEmpty() || totalNanos < 0
            ? -1
            : totalNanos + between(atStart, now);
  }

  /** The wait of the measured runs; NaN where it could not be read. */
  double seconds() {
    return totalNanos < 0 ? Double.NaN : totalNanos / 1e9;
  }

  /** Waits so far, in nanoseconds, per thread of this JVM. */
  static Map<String, Long> jvm() {
    return waits(Stream.of(Path.of("/proc/self")));
  }

  /** Waits so far, in nanoseconds, per thread of every local process named {@code postgres}. */
  static Map<String, Long> database() {
    try (Stream<Path> processes = Files.list(PROC)) {
      return waits(
          processes
              .filter(p -> p.getFileName().toString().chars().allMatch(Character::isDigit))
              .filter(RunQueueWait::isPostgres));
    } catch (IOException | RuntimeException e) {
      return Map.of();
    }
  }

  /**
   * The wait between two readings: threads in both count their difference, threads only in the
   * later one all of theirs (they started in between); threads that ended in between are lost.
   */
  static long between(Map<String, Long> before, Map<String, Long> after) {
    long wait = 0;
    for (var thread : after.entrySet()) {
      wait += thread.getValue() - before.getOrDefault(thread.getKey(), 0L);
    }
    return wait;
  }

  private static boolean isPostgres(Path process) {
    try {
      return Files.readString(process.resolve("comm")).trim().equals("postgres");
    } catch (IOException e) {
      return false; // ended meanwhile, or not ours to read
    }
  }

  private static Map<String, Long> waits(Stream<Path> processes) {
    var waits = new HashMap<String, Long>();
    processes.forEach(
        process -> {
          try (Stream<Path> tasks = Files.list(process.resolve("task"))) {
            tasks.forEach(
                task -> {
                  try {
                    String[] fields = Files.readString(task.resolve("schedstat")).trim().split(" ");
                    waits.put(
                        process.getFileName() + "/" + task.getFileName(),
                        Long.parseLong(fields[1]));
                  } catch (IOException | RuntimeException e) {
                    // The thread ended meanwhile.
                  }
                });
          } catch (IOException | RuntimeException e) {
            // The process ended meanwhile.
          }
        });
    return waits;
  }
}
