package io.en57;

import static org.assertj.core.api.Assertions.assertThat;

import io.en57.testing.TestDatabases;
import io.en57.testing.TestDatabases.TestDatabase;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Reading never holds the log in memory: a JVM with a 64 MB heap streams 1,000,000 events of about
 * 150 bytes each (more than twice its heap in payload alone).
 */
@Tag("postgres")
@Tag("slow")
class StreamingMemoryTest {

  private static final int EVENTS = 1_000_000;

  @Test
  void aMillionEventsStreamThroughA64MegabyteHeap() throws IOException, InterruptedException {
    try (TestDatabase database = TestDatabases.createMigrated()) {
      // Rows exactly as appends write them, inserted in bulk so that the test spends its time
      // reading.
      database.execute(
          "INSERT INTO en57.events (position, id, type, data, tags)"
              + " SELECT g, gen_random_uuid(), 'Seeded',"
              + " jsonb_build_object('n', g, 'text', repeat('x', 120)), ARRAY['stream:' || g % 1000]"
              + " FROM generate_series(1, "
              + EVENTS
              + ") g;"
              + " INSERT INTO en57.event_tags (tag, position)"
              + " SELECT 'stream:' || g % 1000, g FROM generate_series(1, "
              + EVENTS
              + ") g");

      String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
      Process child =
          new ProcessBuilder(
                  java,
                  "-Xmx64m",
                  "-cp",
                  System.getProperty("java.class.path"),
                  StreamAllEvents.class.getName(),
                  database.jdbcUrl())
              .redirectErrorStream(true)
              .start();
      String output = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(child.waitFor(5, TimeUnit.MINUTES)).isTrue();
      assertThat(child.exitValue()).as(output).isZero();

      Matcher result =
          Pattern.compile("events=(\\d+) last=(\\d+) maxHeap=(\\d+) peakHeap=(\\d+)")
              .matcher(output);
      assertThat(result.find()).as(output).isTrue();
      assertThat(Long.parseLong(result.group(1))).isEqualTo(EVENTS);
      assertThat(Long.parseLong(result.group(2))).isEqualTo(EVENTS);
      assertThat(Long.parseLong(result.group(3))).isLessThanOrEqualTo(64L * 1024 * 1024);
      System.out.println("StreamingMemoryTest: " + output.strip());
    }
  }
}
