package io.en57.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RunQueueWaitTest {

  @Test
  void aThreadInBothReadingsCountsItsDifferenceAndANewOneAllOfItsWait() {
    var before = Map.of("1/1", 100L, "1/2", 50L, "1/3", 70L);
    var after = Map.of("1/1", 130L, "1/2", 50L, "1/4", 9L);

    assertThat(RunQueueWait.between(before, after)).isEqualTo(30 + 0 + 9);
  }

  @Test
  void readsTheWaitOfThisThreadOnLinux() throws Exception {
    // /proc/thread-self links to <pid>/task/<tid>.
    String tid = Files.readSymbolicLink(Path.of("/proc/thread-self")).getFileName().toString();

    assertThat(RunQueueWait.jvm())
        .containsKey("self/" + tid)
        .allSatisfy((thread, wait) -> assertThat(wait).isNotNegative());
  }
}
