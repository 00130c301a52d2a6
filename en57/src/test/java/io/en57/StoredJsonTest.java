package io.en57;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.en57.testing.TestDatabases;
import io.en57.testing.TestDatabases.TestDatabase;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * What PostgreSQL's jsonb makes of the JSON the store writes, at the edges: the largest data an
 * event may have fits even in the shape jsonb stores least compactly, and events written before the
 * store had limits of its own read back, so that a log holding them is not stuck. (The other limits
 * are in {@link EventStoreContract.Limits}, on both engines.)
 */
@Tag("postgres")
class StoredJsonTest {

  private static TestDatabase database;
  private static EventStore store;

  @BeforeAll
  static void createDatabase() {
    database = TestDatabases.createMigrated();
    store = EventStore.builder().maxPoolSize(2).forUrl(database.jdbcUrl());
  }

  @AfterAll
  static void dropDatabase() {
    store.close();
    database.close();
  }

  @BeforeEach
  void emptyLog() {
    database.emptyLog();
  }

  /** Data of a list of zeros (and one ten) taking exactly {@code length} characters as JSON. */
  private static Map<String, Object> zeros(int length) {
    // {"l":[0,0,...,0]} takes 2k + 7 characters for k zeros; a ten takes one more.
    var list = new ArrayList<Integer>(Collections.nCopies((length - 7) / 2, 0));
    if ((length - 7) % 2 == 1) {
      list.set(0, 10);
    }
    return Map.of("l", list);
  }

  @Test
  void theLargestDataInTheShapeJsonbStoresLeastCompactlyReadsBack() {
    // A one-digit number in a list takes two characters of JSON and twelve bytes of jsonb (about
    // 100 MB here, measured on PostgreSQL 15), and a jsonb array may take at most 268,435,455.
    assertThatThrownBy(
            () -> store.append(List.of(Event.of("Zeros", zeros(Event.MAX_JSON_LENGTH + 1)))))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("events[0].data: takes more than 16,777,216 characters");
    Event largest = Event.of("Zeros", zeros(Event.MAX_JSON_LENGTH));
    store.append(List.of(largest));
    assertThat(store.read().toList()).containsExactly(largest);
  }

  @Test
  void eventsWrittenBeforeTheLimitsReadBack() {
    // Each was accepted by earlier versions, whose reader then refused it: 1E+1000 nested (jsonb
    // writes it out in 1,001 digits), nesting one level deeper than Jackson reads by default, a key
    // of more than 50,000 and a string of more than 20,000,000 characters.
    database.execute(
        "INSERT INTO en57.events (position, id, type, data, meta, tags) VALUES"
            + " (1, gen_random_uuid(), 'Number', '{\"n\": [1E+1000]}', NULL, '{}'),"
            + " (2, gen_random_uuid(), 'Deep', ('{\"v\": ' || repeat('[', 1000) || '1'"
            + "   || repeat(']', 1000) || '}')::jsonb,"
            + "   ('{\"metadata\": {\"v\": ' || repeat('[', 1000) || '1' || repeat(']', 1000)"
            + "   || '}}')::jsonb, '{}'),"
            + " (3, gen_random_uuid(), 'Key', jsonb_build_object(repeat('k', 50001), 1), NULL, '{}'),"
            + " (4, gen_random_uuid(), 'Text', jsonb_build_object('s', repeat('x', 20000001)),"
            + "   NULL, '{}')");
    List<Event> events = store.read().toList();
    assertThat(events).extracting(Event::type).containsExactly("Number", "Deep", "Key", "Text");
    assertThat(events.get(0).data()).isEqualTo(Map.of("n", List.of(BigInteger.TEN.pow(1000))));
    assertThat(depth(((Map<?, ?>) events.get(1).data()).get("v"))).isEqualTo(1000);
    assertThat(depth(events.get(1).metadata().get("v"))).isEqualTo(1000);
    assertThat(events.get(2).data()).isEqualTo(Map.of("k".repeat(50_001), 1));
    assertThat(events.get(3).data()).isEqualTo(Map.of("s", "x".repeat(20_000_001)));
  }

  private static int depth(Object value) {
    int depth = 0;
    while (value instanceof List<?> list) {
      depth++;
      value = list.get(0);
    }
    return depth;
  }
}
