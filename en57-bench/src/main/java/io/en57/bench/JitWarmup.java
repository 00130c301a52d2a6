package io.en57.bench;

import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;

/**
 * How many warm-up runs a throughput measurement discards: those asked for, and then more while the
 * JIT compiler is still busy with the code being measured, up to {@value #MAX_EXTRA_RUNS} more. On
 * two cores shared with the database, the compiler takes much longer to reach the steady state a
 * long-running application is in, and its threads take CPU time from the calls measured: 1 node ×
 * 16 threads measured at half its steady rate after the two default runs of 3 s. Not thread-safe.
 */
final class JitWarmup {

  /** The most warm-up runs added to those asked for. */
  static final int MAX_EXTRA_RUNS = 20;

  /** The compiler's share of a warm-up run's wall time below which the code counts as compiled. */
  static final double SETTLED_COMPILE_SHARE = 0.01;

  private static final CompilationMXBean COMPILER = ManagementFactory.getCompilationMXBean();

  private final int asked;
  private int done;
  private boolean settled;

  /** Warm-up for {@code asked} runs at least; none at all when it is 0. */
  JitWarmup(int asked) {
    this.asked = asked;
  }

  /** Whether the next run is a warm-up run. */
  boolean continues() {
    return asked > 0 && (done < asked || (!settled && done < asked + MAX_EXTRA_RUNS));
  }

  /**
   * A warm-up run of {@code wallNanos} ended, during which the compiler worked {@code
   * compileMillis}.
   */
  void ran(long compileMillis, long wallNanos) {
    done++;
    settled = compileMillis * 1e6 <= SETTLED_COMPILE_SHARE * wallNanos;
  }

  /**
   * The compiler's total time so far, in milliseconds, summed over its threads; 0 where the JVM
   * does not tell, which makes every run look settled.
   */
  static long compileMillis() {
    return COMPILER != null && COMPILER.isCompilationTimeMonitoringSupported()
        ? COMPILER.getTotalCompilationTime()
        : 0;
  }
}
