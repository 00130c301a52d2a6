package io.en57.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.en57.MigrationState;
import io.en57.MigrationStatus;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class StatusReportTest {

  @ParameterizedTest
  @CsvSource({
    "FRESH, fresh, 0",
    "PENDING, pending, 0",
    "UP_TO_DATE, up to date, 0",
    "PARTIAL, partial, 1",
    "UNVERSIONED, unversioned, 1",
    "AHEAD, ahead, 1"
  })
  void eachStateHasItsWordsAndExitCode(MigrationState state, String words, int exitCode) {
    var status = new MigrationStatus(state, 1, 2, List.of(), Optional.empty());

    assertThat(StatusReport.describe(state)).isEqualTo(words);
    assertThat(StatusReport.exitCode(status)).isEqualTo(exitCode);
  }

  @Test
  void aWarningMakesAnyStateTrouble() {
    var status =
        new MigrationStatus(
            MigrationState.PENDING, 1, 2, List.of("0002_b"), Optional.of("changed. Repair: x"));

    assertThat(StatusReport.exitCode(status)).isEqualTo(1);
  }

  @Test
  void aPendingReportListsEveryPendingMigrationInOrder() {
    var status =
        new MigrationStatus(
            MigrationState.PENDING, 1, 3, List.of("0002_b", "0003_c"), Optional.empty());
    var out = new StringWriter();

    StatusReport.print("en57", status, new PrintWriter(out, true));

    assertThat(out.toString().lines())
        .containsExactly(
            "Schema en57: pending",
            "Current version: 1",
            "Target version: 3",
            "Pending migrations:",
            "  0002_b",
            "  0003_c");
  }
}
