package io.en57;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.en57.testing.TestDatabases;
import io.en57.testing.TestDatabases.TestDatabase;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * A store is quiet at INFO: opening and closing one logs nothing (its pool's start and shutdown
 * included), however many an application or a test suite opens. Reads the log file the test logging
 * configuration writes.
 */
@Tag("postgres")
class QuietLoggingTest {

  private static final Path LOG = Path.of("target/test.log");
  private static TestDatabase database;

  @BeforeAll
  static void createDatabase() {
    database = TestDatabases.createMigrated();
  }

  @AfterAll
  static void dropDatabase() {
    database.close();
  }

  @Test
  void openingAndClosingStoresLogsNothing() throws IOException {
    // Starts the embedded server (which logs) before the measured part.
    EventStore.forDataSource(database.dataSource()).close();
    long before = Files.exists(LOG) ? Files.size(LOG) : 0;
    for (int i = 0; i < 3; i++) {
      try (EventStore store = EventStore.forUrl(database.jdbcUrl())) {
        store.append(List.of(Event.of("Logged")));
        assertThat(store.read().toList()).isNotEmpty();
      }
    }
    assertThat(linesAfter(before)).filteredOn(line -> line.contains(" INFO ")).isEmpty();
  }

  @Test
  void anUnreachableServerFailsAtOnceNamingNoPassword() {
    assertThatThrownBy(() -> EventStore.forUrl("postgres://someone:secret@127.0.0.1:1/nowhere"))
        .isInstanceOf(En57StorageException.class)
        .hasMessageStartingWith("cannot connect to the database: ")
        .hasMessageNotContaining("secret");
  }

  private static List<String> linesAfter(long offset) throws IOException {
    if (!Files.exists(LOG)) {
      return List.of();
    }
    try (var file = new RandomAccessFile(LOG.toFile(), "r")) {
      file.seek(offset);
      byte[] rest = new byte[(int) (file.length() - offset)];
      file.readFully(rest);
      return new String(rest, StandardCharsets.UTF_8).lines().toList();
    }
  }
}
