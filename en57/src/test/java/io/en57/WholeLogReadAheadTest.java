package io.en57;

import static org.assertj.core.api.Assertions.assertThat;

import io.en57.testing.TestDatabases;
import io.en57.testing.TestDatabases.TestDatabase;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;
import java.util.stream.LongStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * A read of the whole log fetches the batch after next from where next should end, before next
 * arrives. These tests show that it reads what keyset paging reads where the guess is wrong (a gap
 * in positions, which appends never leave but rows written otherwise may) and at the head while
 * appends go on.
 */
@Tag("postgres")
class WholeLogReadAheadTest {

  private static TestDatabase database;

  @BeforeAll
  static void createDatabase() {
    database = TestDatabases.createMigrated();
  }

  @AfterAll
  static void dropDatabase() {
    database.close();
  }

  @BeforeEach
  void emptyLog() {
    database.emptyLog();
  }

  @Test
  void aLogWithGapsReadsWholeForwardsAndBackwardsInBatchesOfEverySize() {
    var random = new Random(57);
    for (int round = 0; round < 20; round++) {
      emptyLog();
      var positions = new TreeSet<Long>();
      long position = 0;
      while (positions.size() < 200) {
        // Mostly consecutive, with gaps of one and of many positions here and there.
        int roll = random.nextInt(20);
        position += roll == 0 ? 2 + random.nextInt(30) : roll == 1 ? 2 : 1;
        positions.add(position);
      }
      insertAt(positions);
      int batchSize = 1 + random.nextInt(12);
      long after = random.nextBoolean() ? 0 : positions.first() + random.nextInt(20);
      try (EventStore store = storeReadingBatchesOf(batchSize)) {
        List<Long> expected = positions.tailSet(after, false).stream().toList();
        assertThat(positionsOf(store.read().after(after).sequenced()))
            .as("forwards, batches of %d, after %d", batchSize, after)
            .isEqualTo(expected);
        var newestFirst = new ArrayList<>(expected);
        Collections.reverse(newestFirst);
        assertThat(positionsOf(store.read().after(after).backwards().sequenced()))
            .as("backwards, batches of %d, after %d", batchSize, after)
            .isEqualTo(newestFirst);
        int limit = 1 + random.nextInt(150);
        assertThat(positionsOf(store.read().after(after).limit(limit).sequenced()))
            .as("forwards, batches of %d, after %d, at most %d", batchSize, after, limit)
            .isEqualTo(expected.subList(0, Math.min(limit, expected.size())));
      }
    }
  }

  @Test
  void readsWhileAppendsGoOnSeeTheLogFromItsStartWithoutSkippingOrRepeating() throws Exception {
    try (EventStore store = storeReadingBatchesOf(3)) {
      var writer =
          new Thread(
              () -> {
                for (int i = 0; i < 300; i++) {
                  store.append(List.of(Event.of("A"), Event.of("B")));
                }
              });
      writer.start();
      int reads = 0;
      do {
        List<Long> seen = positionsOf(store.read().sequenced());
        assertThat(seen).isEqualTo(LongStream.rangeClosed(1, seen.size()).boxed().toList());
        reads++;
      } while (writer.isAlive());
      writer.join();
      assertThat(reads).isGreaterThan(1);
      assertThat(positionsOf(store.read().sequenced())).hasSize(600);
    }
  }

  private static EventStore storeReadingBatchesOf(int size) {
    return EventStore.builder().readBatchSize(size).forDataSource(database.dataSource());
  }

  private static List<Long> positionsOf(Stream<SequencedEvent> events) {
    try (events) {
      return events.map(SequencedEvent::position).toList();
    }
  }

  /** Events stored at {@code positions}, as a bulk load might leave them. */
  private static void insertAt(TreeSet<Long> positions) {
    var values = new ArrayList<String>();
    for (long position : positions) {
      values.add("(" + position + ")");
    }
    database.execute(
        "INSERT INTO en57.events (position, id, type, data, tags)"
            + " SELECT p, gen_random_uuid(), 'Loaded', '{}', '{}' FROM (VALUES "
            + String.join(", ", values)
            + ") v(p)");
  }
}
