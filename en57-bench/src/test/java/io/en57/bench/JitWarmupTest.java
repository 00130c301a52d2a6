package io.en57.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

class JitWarmupTest {

  private static final long RUN_NANOS = 3_000_000_000L;

  /** Warm-up runs made before the measured ones, the compiler busy for {@code compileMillis}. */
  private static int warmupRuns(int asked, long... compileMillis) {
    var warmup = new JitWarmup(asked);
    int runs = 0;
    while (warmup.continues()) {
      warmup.ran(runs < compileMillis.length ? compileMillis[runs] : 0, RUN_NANOS);
      runs++;
    }
    return runs;
  }

  @Test
  void warmsUpForTheRunsAskedWhenTheCompilerHasSettled() {
    assertThat(warmupRuns(2, 900, 30)).isEqualTo(2);
  }

  @Test
  void warmsUpOnWhileTheCompilerTakesMoreThanOnePercentOfARun() {
    assertThat(warmupRuns(2, 900, 400, 200, 31, 30)).isEqualTo(5);
  }

  @Test
  void addsAtMostTheLimitWhenTheCompilerNeverSettles() {
    long[] busy = new long[100];
    Arrays.fill(busy, 500);

    assertThat(warmupRuns(2, busy)).isEqualTo(2 + JitWarmup.MAX_EXTRA_RUNS);
  }

  @Test
  void noWarmupAskedMeansNone() {
    assertThat(warmupRuns(0, 900)).isZero();
  }

  @Test
  void theCompilersTimeIsReadFromThisJvm() {
    assertThat(JitWarmup.compileMillis()).isPositive();
  }
}
