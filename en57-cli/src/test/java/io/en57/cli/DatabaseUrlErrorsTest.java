package io.en57.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.en57.cli.Cli.Result;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** What the commands say when the database URL is missing, malformed or unreachable. */
class DatabaseUrlErrorsTest {

  @ParameterizedTest
  @ValueSource(strings = {"migrate", "status"})
  void aMissingUrlIsAUsageErrorNamingBothWaysToGiveIt(String command) {
    Result result = Cli.runInNewJvm(Map.of(), command);

    assertThat(result.exitCode()).isEqualTo(2);
    assertThat(result.out()).isEmpty();
    assertThat(result.err())
        .startsWith("No database URL: set the environment variable DATABASE_URL or pass --url.")
        .contains("Usage: en57 " + command);
  }

  @ParameterizedTest
  @ValueSource(strings = {"migrate", "status"})
  void aBlankUrlCountsAsMissing(String command) {
    Result result = Cli.run(command, "--url", " ");

    assertThat(result.exitCode()).isEqualTo(2);
    assertThat(result.err()).contains("DATABASE_URL").contains("--url");
  }

  @ParameterizedTest
  @ValueSource(strings = {"migrate", "status"})
  void anUnsupportedUrlIsAOneLineErrorWithoutThePassword(String command) {
    Result result = Cli.run(command, "--url", "mysql://admin:s3cret@x/db");

    assertThat(result.exitCode()).isEqualTo(1);
    assertThat(result.out()).isEmpty();
    assertThat(result.err())
        .isEqualToIgnoringNewLines(
            "en57 "
                + command
                + ": unsupported database URL: expected jdbc:postgresql://, postgres:// or"
                + " postgresql://");
  }

  @ParameterizedTest
  @ValueSource(strings = {"mysql://x", "postgres:///db", "not a url"})
  void malformedUrlsFailWithoutAStackTrace(String url) {
    Result result = Cli.run("status", "--url", url);

    assertThat(result.exitCode()).isEqualTo(1);
    assertThat(result.err())
        .startsWith("en57 status: unsupported database URL")
        .doesNotContain("Exception")
        .doesNotContain("\tat ")
        .hasLineCount(1);
  }

  @ParameterizedTest
  @ValueSource(strings = {"migrate", "status"})
  void aJdbcUrlThatPgjdbcRejectsIsReportedWithoutThePassword(String command) {
    Result result = Cli.run(command, "--url", "jdbc:postgresql://h:port/db?password=s3cret");

    assertThat(result.exitCode()).isEqualTo(1);
    assertThat(result.err())
        .isEqualToIgnoringNewLines(
            "en57 "
                + command
                + ": unsupported database URL: the PostgreSQL driver cannot parse this"
                + " jdbc:postgresql: URL");
  }

  @ParameterizedTest
  @ValueSource(strings = {"migrate", "status"})
  void anUnreachableServerIsAOneLineError(String command) {
    // Port 1 on the loopback interface refuses at once: nothing listens there.
    Result result = Cli.run(command, "--url", "postgres://admin:s3cret@127.0.0.1:1/db");

    assertThat(result.exitCode()).isEqualTo(1);
    assertThat(result.out()).isEmpty();
    assertThat(result.err())
        .startsWith("en57 " + command + ": ")
        .contains("Connection to 127.0.0.1:1 refused")
        .doesNotContain("s3cret")
        .hasLineCount(1);
  }

  @ParameterizedTest
  @ValueSource(strings = {"--help", "status --help", "migrate --help"})
  void helpNeverShowsTheUrlFromTheEnvironment(String args) {
    Result result =
        Cli.runInNewJvm(
            Map.of("DATABASE_URL", "postgres://admin:s3cret@db.example:5432/app"), args.split(" "));

    assertThat(result.exitCode()).isZero();
    assertThat(result.out()).contains("Usage: en57").doesNotContain("s3cret");
  }
}
