package io.en57.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.en57.cli.Cli.Result;
import org.junit.jupiter.api.Test;

class En57CommandTest {

  @Test
  void helpListsTheSubcommands() {
    Result result = Cli.run("--help");

    assertThat(result.exitCode()).isZero();
    assertThat(result.out())
        .startsWith("Usage: en57")
        .containsPattern("(?m)^  migrate ")
        .containsPattern("(?m)^  status ");
  }

  @Test
  void subcommandHelpDocumentsTheUrlOption() {
    Result result = Cli.run("status", "--help");

    assertThat(result.exitCode()).isZero();
    assertThat(result.out()).contains("--url=URL").contains("DATABASE_URL");
  }

  @Test
  void versionIsTheProjectVersion() {
    Result result = Cli.run("--version");

    assertThat(result.exitCode()).isZero();
    assertThat(result.out()).matches("en57 \\d+\\.\\d+\\.\\d+(-SNAPSHOT)?\\R");
  }

  @Test
  void aSubcommandIsRequired() {
    Result result = Cli.run();

    assertThat(result.exitCode()).isEqualTo(2);
    assertThat(result.err()).contains("Missing required subcommand").contains("Usage: en57");
  }

  @Test
  void anUnknownSubcommandIsAUsageError() {
    Result result = Cli.run("rollback");

    assertThat(result.exitCode()).isEqualTo(2);
    assertThat(result.err()).contains("'rollback'");
  }
}
