package io.en57.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.en57.observation.GroupWritten;
import java.time.Duration;
import java.util.Collections;
import org.junit.jupiter.api.Test;

class GroupCountsTest {

  private static void written(GroupCounts counts, int appends, long writeMillis) {
    counts.groupWritten(
        new GroupWritten(
            Collections.nCopies(appends, Duration.ZERO), Duration.ofMillis(writeMillis)));
  }

  @Test
  void countsOnlyTheGroupsOfMeasuredRuns() {
    var counts = new GroupCounts();
    written(counts, 50, 40); // before any run
    counts.runStarts(); // a warm-up run: started, never measured
    written(counts, 30, 20);
    counts.runStarts();
    written(counts, 10, 2);
    written(counts, 14, 4);
    counts.runMeasured();
    written(counts, 99, 99); // between runs
    counts.runStarts();
    written(counts, 12, 3);
    counts.runMeasured();

    assertThat(counts.appendsPerGroup()).isEqualTo(12.0);
    assertThat(counts.writeMillisPerGroup()).isEqualTo(3.0);
  }

  @Test
  void hasNoFiguresWithoutGroups() {
    var counts = new GroupCounts();
    counts.runStarts();
    counts.runMeasured();

    assertThat(counts.appendsPerGroup()).isNaN();
    assertThat(counts.writeMillisPerGroup()).isNaN();
  }
}
