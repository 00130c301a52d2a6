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

  /** Told when each run starts, and when a measured run ends (not after a warm-up run). */
  interface RunProbe {
    /** A probe told of nothing. */
    RunProbe NONE =
        new RunProbe() {
          @Override
          public void runStarts() {}

          @Override
          public void runMeasured() {}
        };

    void runStarts();

    void runMeasured();
  }

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
   * @param waitSeconds time this JVM's threads spent ready to run but waiting for a core in the
   *     measured runs ({@link RunQueueWait}); NaN but on Linux
   * @param databaseWaitSeconds the same for the PostgreSQL processes on this machine (the
   *     database's, when it runs here); NaN but on Linux
   */
  record Outcome(
      Stats latency,
      long calls,
      long retries,
      double seconds,
      double cpuSeconds,
      double machineCpuSeconds,
      double waitSeconds,
      double databaseWaitSeconds) {
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

    /** This JVM's threads' wait for a core per call, in microseconds. */
    double waitMicrosPerCall() {
      return waitSeconds * 1e6 / calls;
    }

    /** This machine's PostgreSQL processes' wait for a core per call, in microseconds. */
    double databaseWaitMicrosPerCall() {
      return databaseWaitSeconds * 1e6 / calls;
    }
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

  private static Outcome outcome(Samples samples, long retries, long wallNanos, CpuTime cpu) {
    return new Outcome(
        Stats.of(samples.toArray()),
        samples.size(),
        retries,
        wallNanos / 1e9,
        cpu.jvmSeconds(),
        cpu.machineSeconds(),
        cpu.jvmWait.seconds(),
        cpu.databaseWait.seconds());
  }

  /**
   * The CPU time of the measured runs: this JVM's, and the whole machine's busy time (user, nice,
   * system, irq and softirq time of all CPUs from {@code /proc/stat}; not idle, I/O wait or time
   * stolen by other virtual machines). Either is NaN where it cannot be read. With them, how long
   * this JVM's threads and this machine's PostgreSQL processes waited for a core ({@link
   * RunQueueWait}).
   */
  private static final class CpuTime implements RunProbe {

    /** The unit of {@code /proc/stat}: Linux reports in hundredths of a second everywhere. */
    private static final int CLOCK_TICKS_PER_SECOND = 100;

    private static final Path PROC_STAT = Path.of("/proc/stat");

    private long jvmNanos;
    private long machineTicks;
    private long jvmAtStart;
    private long machineAtStart;
    private final RunQueueWait jvmWait = new RunQueueWait(RunQueueWait::jvm);
    private final RunQueueWait databaseWait = new RunQueueWait(RunQueueWait::database);

    @Override
    public void runStarts() {
      jvmAtStart = jvmNanos();
      machineAtStart = machineBusyTicks();
      jvmWait.runStarts();
      databaseWait.runStarts();
    }

    @Override
    public void runMeasured() {
      jvmNanos = since(jvmAtStart, jvmNanos(), jvmNanos);
      machineTicks = since(machineAtStart, machineBusyTicks(), machineTicks);
      jvmWait.runMeasured();
      databaseWait.runMeasured();
    }

    double jvmSeconds() {
      return jvmNanos < 0 ? Double.NaN : jvmNanos / 1e9;
    }

    double machineSeconds() {
      return machineTicks < 0 ? Double.NaN : machineTicks / (double) CLOCK_TICKS_PER_SECOND;
    }

    /** {@code total} plus {@code now - start}; -1 once either reading failed. */
    private static long since(long start, long now, long total) {
      return start < 0 || now < 0 || total < 0 ? -1 : total + now - start;
    }

    private static long jvmNanos() {
      return ManagementFactory.getOperatingSystemMXBean()
              instanceof com.sun.management.OperatingSystemMXBean os
          ? os.getProcessCpuTime()
          : -1;
    }

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
  }

  /**
   * {@code runs} runs of {@code roundsPerRun} rounds, after the warm-up runs {@link JitWarmup} asks
   * for; in each round every writer prepares its call, waits at the barrier, and makes the call. A
   * round's wall time runs from the first call starting to the last one ending.
   */
  static Outcome rounds(int writers, int roundsPerRun, int warmups, int runs, RoundTask task)
      throws Exception {
    ExecutorService threads = Executors.newFixedThreadPool(writers);
    try {
      var samples = new Samples();
      long retries = 0;
      long wallNanos = 0;
      var cpu = new CpuTime();
      var warmup = new JitWarmup(warmups);
      int measured = 0;
      long round = 0;
      while (measured < runs) {
        boolean warmingUp = warmup.continues();
        cpu.runStarts();
        long compiledBefore = JitWarmup.compileMillis();
        long runStarted = System.nanoTime();
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
            if (!warmingUp) {
              samples.add(timing[1] - timing[0]);
              retries += timing[2];
            }
          }
          if (!warmingUp) {
            wallNanos += last - first;
          }
        }
        if (warmingUp) {
          warmup.ran(JitWarmup.compileMillis() - compiledBefore, System.nanoTime() - runStarted);
        } else {
          cpu.runMeasured();
          measured++;
        }
      }
      return outcome(samples, retries, wallNanos, cpu);
    } finally {
      threads.shutdownNow();
    }
  }

  /**
   * {@code runs} runs of {@code perRun} each, after the warm-up runs {@link JitWarmup} asks for, in
   * which every thread makes its calls back to back until the time is up. {@code calls} gives each
   * thread its call, once, before the first run.
   */
  static Outcome forDuration(
      int threadCount, Duration perRun, int warmups, int runs, IntFunction<Call> calls)
      throws Exception {
    return forDuration(threadCount, perRun, warmups, runs, RunProbe.NONE, calls);
  }

  /** As {@link #forDuration(int, Duration, int, int, IntFunction)}, telling {@code probe}. */
  static Outcome forDuration(
      int threadCount,
      Duration perRun,
      int warmups,
      int runs,
      RunProbe probe,
      IntFunction<Call> calls)
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
      var cpu = new CpuTime();
      var warmup = new JitWarmup(warmups);
      int measured = 0;
      while (measured < runs) {
        boolean warmingUp = warmup.continues();
        cpu.runStarts();
        probe.runStarts();
        long compiledBefore = JitWarmup.compileMillis();
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
          if (!warmingUp) {
            samples.addAll(thread.samples());
            retries += thread.retries();
          }
        }
        if (warmingUp) {
          warmup.ran(JitWarmup.compileMillis() - compiledBefore, last - first);
        } else {
          wallNanos += last - first;
          cpu.runMeasured();
          probe.runMeasured();
          measured++;
        }
      }
      return outcome(samples, retries, wallNanos, cpu);
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
