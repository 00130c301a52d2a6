package io.en57;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** Every Java code block of the README appears in a test that compiles and runs it. */
class ReadmeExamplesAreTestedTest {

  private static final Path ROOT = Path.of("..");
  private static final List<Path> EXAMPLE_SOURCES =
      List.of(
          Path.of("en57/src/test/java/io/en57/ReadmeExamplesTest.java"),
          Path.of("en57/src/test/java/io/en57/ReplicaTest.java"),
          Path.of("en57/src/test/java/io/en57/ForwardingTlsTest.java"),
          Path.of("en57/src/test/java/io/en57/decisions/DecisionsReadmeExamplesTest.java"),
          Path.of("en57/src/test/java/io/en57/subscriptions/FollowingTheLogExamplesTest.java"),
          Path.of("en57/src/test/java/io/en57/history/TwoServersRoutingTest.java"),
          Path.of("en57-nats/src/test/java/io/en57/nats/RelayReadmeExamplesTest.java"),
          Path.of("en57-micrometer/src/test/java/io/en57/micrometer/MicrometerListenerTest.java"),
          Path.of("en57-spring-boot/src/test/java/io/en57/spring/En57AutoConfigurationTest.java"),
          Path.of("en57-spring-boot/src/test/java/io/en57/spring/example/SeatBookings.java"),
          Path.of("en57-java21-examples/src/test/java/io/en57/examples/SwitchOnResultTest.java"));

  @Test
  void everyJavaBlockOfTheReadmeIsInATest() throws IOException {
    var tested = new StringBuilder();
    for (Path source : EXAMPLE_SOURCES) {
      tested.append(withoutWhitespace(Files.readString(ROOT.resolve(source))));
    }
    List<String> blocks = javaBlocks(Files.readString(ROOT.resolve("README.md")));
    assertThat(blocks).hasSizeGreaterThan(10);
    for (String block : blocks) {
      assertThat(tested.toString())
          .as("README block not found verbatim in %s:%n%s", EXAMPLE_SOURCES, block)
          .contains(withoutWhitespace(block));
    }
  }

  private static List<String> javaBlocks(String markdown) {
    var blocks = new ArrayList<String>();
    Matcher block = Pattern.compile("```java\\n(.*?)```", Pattern.DOTALL).matcher(markdown);
    while (block.find()) {
      blocks.add(block.group(1));
    }
    return blocks;
  }

  /** Formatting may differ between the README and the formatted test source; tokens may not. */
  private static String withoutWhitespace(String text) {
    return text.replaceAll("\\s+", "");
  }
}
