package io.en57.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.Callable;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;

/**
 * Runs timed operations on threads started together behind a barrier, discards the warm-up runs and
 * summarises the measured ones. Each call is timed alone; a rate is calls (or events) divided by
 * the wall time of the measured runs.
 */
final class Measure {

  private static final long BARRIER_TIMEOUT_SECONDS = 120;

  private Measure() {}

  /** One timed operation; returns how often it had to retry. */
  interface Call {
    int call() throws Exception;
  }

  /** Prepares, untimed, the call one writer makes in one round. */
  interface RoundTask {
    Call prepare(int writer, long round) throws Exception;
  }

  /**
   * What the measured runs did.
   *
   * @param calls timed calls
   * @param retries retries summed over all calls
   * @param seconds wall time of the measured runs
   * @param cpuSeconds CPU time this JVM spent in the measured runs, on every thread (the JIT
   *     compiler's and the garbage collector's too, not a database server's); NaN where the JVM
   *     does not tell
   * @param machineCpuSeconds CPU time the whole machine spent busy in the measured runs, every
   *     process's (a local database server's too, and anything else running); NaN but on Linux
   */
  record Outcome(
      Stats latency,
      long calls,
      long retries,
      double seconds,
      double cpuSeconds,
      double machineCpuSeconds) {
    double callsPerSecond() {
      return calls / seconds;
    }

    /** This JVM's CPU time per call, in microseconds. */
    double cpuMicrosPerCall() {
      return cpuSeconds * 1e6 / calls;
    }

    /** The machine's busy CPU time per call, in microseconds. */
    double machineCpuMicrosPerCall() {
      return machineCpuSeconds * 1e6 / calls;
    }
  }

  /** The unit of {@code /proc/stat}: Linux reports in hundredths of a second on every platform. */
  private static final int CLOCK_TICKS_PER_SECOND = 100;

  private static final Path PROC_STAT = Path.of("/proc/stat");

  /**
   * The machine's busy CPU time so far, in clock ticks (user, nice, system, irq and softirq time of
   * all CPUs; not idle, I/O wait or time stolen by other virtual machines); -1 but on Linux.
   */
  private static long machineBusyTicks() {
    try {
      String[] cpu = Files.readAllLines(PROC_STAT).get(0).trim().split("\\s+");
      long busy = 0;
      for (int field : new int[] {1, 2, 3, 6, 7}) {
        busy += Long.parseLong(cpu[field]);
      }
      return busy;
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }

  private static long machineBusySince(long start, long total) {
    long now = machineBusyTicks();
    return start < 0 || now < 0 || total < 0 ? -1 : total + now - start;
  }

  /** {@code total} plus the CPU time used since {@code start}; -1 where the JVM does not tell. */
  private static long cpuSince(long start, long total) {
    long now = processCpuNanos();
    return start < 0 || now < 0 || total < 0 ? -1 : total + now - start;
  }

  /** CPU time this JVM has used so far, in nanoseconds; -1 where it does not tell. */
  private static long processCpuNanos() {
    return ManagementFactory.getOperatingSystemMXBean()
            instanceof com.sun.management.OperatingSystemMXBean os
        ? os.getProcessCpuTime()
        : -1;
  }

  /**
   * Latencies of single calls in milliseconds: population standard deviation, interpolated median
   * (as the original computes them), nearest-rank 99th percentile.
   */
  record Stats(double mean, double stddev, double min, double max, double median, double p99) {

    static Stats of(long[] nanos) {
      if (nanos.length == 0) {
        throw new IllegalArgumentException("no calls were measured");
      }
      long[] sorted = nanos.clone();
      Arrays.sort(sorted);
      int n = sorted.length;
      double mean = Arrays.stream(sorted).average().orElseThrow();
      double variance = Arrays.stream(sorted).mapToDouble(x -> (x - mean) * (x - mean)).sum() / n;
      double median = n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + (double) sorted[n / 2]) / 2;
      double p99 = sorted[(int) Math.ceil(0.99 * n) - 1];
      return new Stats(
          mean / 1e6,
          Math.sqrt(variance) / 1e6,
          sorted[0] / 1e6,
          sorted[n - 1] / 1e6,
          median / 1e6,
          p99 / 1e6);
    }
  }

  /**
   * {@code warmups + runs} runs of {@code roundsPerRun} rounds; in each round every writer prepares
   * its call, waits at the barrier, and makes the call. A round's wall time runs from the first
   * call starting to the last one ending.
   */
  static Outcome rounds(int writers, int roundsPerRun, int warmups, int runs, RoundTask task)
      throws Exception {
    ExecutorService threads = Executors.newFixedThreadPool(writers);
    try {
      var samples = new Samples();
      long retries = 0;
      long wallNanos = 0;
      long cpuNanos = 0;
      long machineTicks = 0;
      long round = 0;
      for (int run = 0; run < warmups + runs; run++) {
        long cpuAtStart = processCpuNanos();
        long machineAtStart = machineBusyTicks();
        for (int r = 0; r < roundsPerRun; r++, round++) {
          var barrier = new CyclicBarrier(writers);
          var calls = new ArrayList<Future<long[]>>();
          for (int w = 0; w < writers; w++) {
            int writer = w;
            long id = round;
            calls.add(
                threads.submit(
                    () -> {
                      Call call;
                      try {
                        call = task.prepare(writer, id);
                      } catch (Exception | Error e) {
                        barrier.reset(); // the others stop waiting
                        throw e;
                      }
                      barrier.await(BARRIER_TIMEOUT_SECONDS, TimeUnit.SECONDS);
                      long start = System.nanoTime();
                      int retried = call.call();
                      return new long[] {start, System.nanoTime(), retried};
                    }));
          }
          long first = Long.MAX_VALUE;
          long last = Long.MIN_VALUE;
          for (long[] timing : collect(calls)) {
            first = Math.min(first, timing[0]);
            last = Math.max(last, timing[1]);
            if (run >= warmups) {
              samples.add(timing[1] - timing[0]);
              retries += timing[2];
            }
          }
          if (run >= warmups) {
            wallNanos += last - first;
          }
        }
        if (run >= warmups) {
          cpuNanos = cpuSince(cpuAtStart, cpuNanos);
          machineTicks = machineBusySince(machineAtStart, machineTicks);
        }
      }
      return new Outcome(
          Stats.of(samples.toArray()),
          samples.size(),
          retries,
          wallNanos / 1e9,
          cpuNanos < 0 ? Double.NaN : cpuNanos / 1e9,
          machineTicks < 0 ? Double.NaN : machineTicks / (double) CLOCK_TICKS_PER_SECOND);
    } finally {
      threads.shutdownNow();
    }
  }

  /**
   * {@code warmups + runs} runs of {@code perRun} each, in which every thread makes its calls back
   * to back until the time is up. {@code calls} gives each thread its call, once, before the first
   * run.
   */
  static Outcome forDuration(
      int threadCount, Duration perRun, int warmups, int runs, IntFunction<Call> calls)
      throws Exception {
    List<Call> perThread = new ArrayList<>();
    for (int i = 0; i < threadCount; i++) {
      perThread.add(calls.apply(i));
    }
    ExecutorService threads = Executors.newFixedThreadPool(threadCount);
    try {
      var samples = new Samples();
      long retries = 0;
      long wallNanos = 0;
      long cpuNanos = 0;
      long machineTicks = 0;
      for (int run = 0; run < warmups + runs; run++) {
        long cpuAtStart = processCpuNanos();
        long machineAtStart = machineBusyTicks();
        var barrier = new CyclicBarrier(threadCount);
        var results = new ArrayList<Future<ThreadRun>>();
        for (Call call : perThread) {
          results.add(threads.submit(timedLoop(call, barrier, perRun.toNanos())));
        }
        long first = Long.MAX_VALUE;
        long last = Long.MIN_VALUE;
        for (ThreadRun thread : collect(results)) {
          first = Math.min(first, thread.start());
          last = Math.max(last, thread.end());
          if (run >= warmups) {
            samples.addAll(thread.samples());
            retries += thread.retries();
          }
        }
        if (run >= warmups) {
          wallNanos += last - first;
          cpuNanos = cpuSince(cpuAtStart, cpuNanos);
          machineTicks = machineBusySince(machineAtStart, machineTicks);
        }
      }
      return new Outcome(
          Stats.of(samples.toArray()),
          samples.size(),
          retries,
          wallNanos / 1e9,
          cpuNanos < 0 ? Double.NaN : cpuNanos / 1e9,
          machineTicks < 0 ? Double.NaN : machineTicks / (double) CLOCK_TICKS_PER_SECOND);
    } finally {
      threads.shutdownNow();
    }
  }

  private record ThreadRun(Samples samples, long start, long end, long retries) {}

  private static Callable<ThreadRun> timedLoop(Call call, CyclicBarrier barrier, long nanos) {
    return () -> {
      var samples = new Samples();
      long retries = 0;
      barrier.await(BARRIER_TIMEOUT_SECONDS, TimeUnit.SECONDS);
      long start = System.nanoTime();
      long deadline = start + nanos;
      long now = start;
      while (now < deadline) {
        retries += call.call();
        long done = System.nanoTime();
        samples.add(done - now);
        now = done;
      }
      return new ThreadRun(samples, start, now, retries);
    };
  }

  /** The futures' values, or the first failure that is not just a broken barrier. */
  private static <T> List<T> collect(List<Future<T>> futures) throws Exception {
    var values = new ArrayList<T>();
    Exception failure = null;
    for (Future<T> future : futures) {
      try {
        values.add(future.get());
      } catch (ExecutionException e) {
        Exception cause = e.getCause() instanceof Exception c ? c : e;
        if (failure == null || failure instanceof BrokenBarrierException) {
          failure = cause;
        }
      }
    }
    if (failure != null) {
      throw failure;
    }
    return values;
  }

  /** A growable array of nanosecond samples. */
  private static final class Samples {
    private long[] values = new long[1024];
    private int size;

    void add(long value) {
      if (size == values.length) {
        values = Arrays.copyOf(values, size * 2);
      }
      values[size++] = value;
    }

    void addAll(Samples other) {
      for (int i = 0; i < other.size; i++) {
        add(other.values[i]);
      }
    }

    int size() {
      return size;
    }

    long[] toArray() {
      return Arrays.copyOf(values, size);
    }
  }
}
