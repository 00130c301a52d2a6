package io.en57;

import static org.assertj.core.api.Assertions.assertThat;

import io.en57.AppendResult.Failure;
import io.en57.AppendResult.Success;
import io.en57.testing.TestDatabases;
import io.en57.testing.TestDatabases.TestDatabase;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * A seeded fuzz test of the public API on PostgreSQL. Several threads append hostile events through
 * two store instances (as two application nodes would): text with every kind of character (SQL and
 * JSON metacharacters, control characters, emoji, combining marks, U+0000, halves of surrogate
 * pairs), types and tags around their byte limits, deep nesting, extreme numbers, maps with keys of
 * every type, conditions and reads with hostile and very many criteria, ids already stored.
 *
 * <p>Every call must succeed, end in a {@link Failure} whose events really match, or be refused
 * with an {@link IllegalArgumentException} exactly when the input breaks a documented rule (or with
 * a {@link DuplicateEventIdException} for a stored id). Afterwards the log must read end to end,
 * hold every acknowledged append whole at its positions and nothing else (no half-written append,
 * by event ids), show no write skew, read the same on the in-memory engine, and every event must
 * read back as the README says: what was appended, with nested values as JSON types.
 *
 * <p>It runs for a few seconds with a fixed seed. {@code -Den57.fuzz.seconds=600} runs longer,
 * {@code -Den57.fuzz.seed=N} replays a seed (printed at the start).
 */
@Tag("postgres")
class FuzzTest {

  private static final int THREADS = 4;

  /** The tags and types conditions are made of, so that they meet each other's events. */
  private static final List<String> BOUNDARIES =
      List.of("b:1", "b:2", "b:3", "b:4", "b:5", "b:'; DROP TABLE en57.events; --", "b:😀", "?");

  /**
   * Pieces of hostile text; the last four cannot be stored, but glued together they may make a
   * valid pair, so validity is judged on the whole text.
   */
  private static final List<String> PIECES =
      List.of(
          "a",
          "Z",
          " ",
          "'",
          "\"",
          "\\",
          "\\u0000",
          "%",
          "_",
          "$$",
          ";",
          "--",
          "/*",
          "DROP TABLE en57.events;",
          "{\"k\":[1]}",
          "\n",
          "\t",
          "\r",
          "\u0001",
          "\u001F",
          "\u007F",
          "\u0085",
          "\u00A0",
          "é",
          "ß",
          "€",
          "\u2028",
          "\uFEFF",
          "\uFFFD",
          "\uFFFF",
          "😀",
          "👩‍👩‍👧",
          "e\u0301",
          "\u202E",
          "𝔘",
          "\uDBFF\uDFFF",
          "null",
          "1e999",
          "NaN",
          "?",
          "\u0000",
          "\uD800",
          "\uDC00",
          "\uDC00\uD800");

  /** A payload class, to fuzz typed events too. */
  record Payload(
      String text,
      double number,
      BigDecimal amount,
      List<Object> items,
      Map<String, Object> attributes) {}

  private enum Colour {
    RED,
    GREEN
  }

  /** One attempted append and what came of it. */
  private record Attempt(
      List<Event> events,
      List<Event> expected,
      boolean valid,
      boolean reusesStoredId,
      Query condition,
      Object outcome) {}

  private final ConcurrentLinkedQueue<String> problems = new ConcurrentLinkedQueue<>();
  private final List<Attempt> attempts = new CopyOnWriteArrayList<>();
  private final List<UUID> storedIds = new CopyOnWriteArrayList<>();
  private final AtomicInteger reads = new AtomicInteger();

  @Test
  void theLogStaysWholeAndReadableWhateverIsThrownAtIt() throws Exception {
    long seed = Long.getLong("en57.fuzz.seed", 5757L);
    long seconds = Long.getLong("en57.fuzz.seconds", 8L);
    System.out.printf("FuzzTest: seed %d, %d s (-Den57.fuzz.seed=N to replay)%n", seed, seconds);
    try (TestDatabase database = TestDatabases.createMigrated();
        EventStore first = open(database);
        EventStore second = open(database)) {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
      ExecutorService threads = Executors.newFixedThreadPool(THREADS);
      try {
        var running = new ArrayList<Future<?>>();
        for (int t = 0; t < THREADS; t++) {
          var random = new Random(seed * 31 + t);
          EventStore[] stores = {first, second};
          running.add(threads.submit(() -> run(random, stores, deadline)));
        }
        for (Future<?> thread : running) {
          thread.get(seconds + 120, TimeUnit.SECONDS);
        }
      } finally {
        threads.shutdownNow();
      }
      long verifying = System.nanoTime();
      int events = verify(first);
      System.out.printf(
          "FuzzTest: %d appends (%d succeeded, %d met a conflict, %d refused, %d deep), %d reads;"
              + " the log of %d events checked in %d ms%n",
          attempts.size(),
          attempts.stream().filter(a -> a.outcome() instanceof Success).count(),
          attempts.stream().filter(a -> a.outcome() instanceof Failure).count(),
          attempts.stream().filter(a -> a.outcome() instanceof RuntimeException).count(),
          attempts.stream()
              .filter(a -> a.outcome() instanceof Success)
              .filter(a -> a.events().stream().anyMatch(e -> levels(e.data()) > 990))
              .count(),
          reads.get(),
          events,
          (System.nanoTime() - verifying) / 1_000_000);
    }
    assertThat(problems).as("seed %d", seed).isEmpty();
    assertThat(attempts.stream().filter(a -> a.outcome() instanceof Success).count())
        .as("seed %d: appends that succeeded", seed)
        .isPositive();
    assertThat(attempts.stream().filter(a -> a.outcome() instanceof Failure).count())
        .as("seed %d: appends that met a conflict", seed)
        .isPositive();
    assertThat(attempts.stream().filter(a -> !a.valid()).count())
        .as("seed %d: appends refused", seed)
        .isPositive();
  }

  private static EventStore open(TestDatabase database) {
    return EventStore.builder()
        .register("Typed", Payload.class)
        .maxPoolSize(3)
        .readBatchSize(97)
        .forUrl(database.jdbcUrl());
  }

  private void run(Random random, EventStore[] stores, long deadline) {
    while (System.nanoTime() < deadline && problems.size() < 20) {
      EventStore store = stores[random.nextInt(stores.length)];
      try {
        if (random.nextInt(4) == 0) {
          read(random, store);
        } else {
          append(random, store);
        }
      } catch (RuntimeException | AssertionError e) {
        problems.add("unexpected " + e + " " + stackOf(e));
      }
    }
  }

  // ---- appends

  private void append(Random random, EventStore store) {
    var generator = new Generator(random);
    var events = new ArrayList<Event>();
    var expected = new ArrayList<Event>();
    boolean reusesStoredId = !storedIds.isEmpty() && random.nextInt(30) == 0;
    for (int i = random.nextInt(4) + 1; i > 0; i--) {
      generator.event(events, expected);
    }
    if (reusesStoredId) {
      int index = random.nextInt(events.size());
      UUID stored = storedIds.get(random.nextInt(storedIds.size()));
      events.set(index, events.get(index).withId(stored));
      expected.set(index, expected.get(index).withId(stored));
    }
    Query condition = null;
    if (random.nextBoolean()) {
      Read scope = new Generator(random).scope(store);
      if (scope == null) {
        return; // the query itself was refused, as it had to be
      }
      long head = store.head();
      condition =
          random.nextInt(3) == 0 ? scope.query() : scope.after(random.nextLong(head + 1)).query();
    }
    boolean valid = generator.valid;
    Object outcome;
    try {
      outcome =
          condition == null
              ? store.append(events)
              : store.append(events, AppendCondition.failIf(condition));
    } catch (IllegalArgumentException | DuplicateEventIdException e) {
      outcome = e;
    }
    attempts.add(new Attempt(events, expected, valid, reusesStoredId, condition, outcome));
    String what = "append of " + describe(events) + ": ";
    if (!valid) {
      if (!(outcome instanceof IllegalArgumentException)) {
        problems.add(what + "breaks a rule (" + generator.broken + ") but ended in " + outcome);
      }
    } else if (outcome instanceof IllegalArgumentException e) {
      problems.add(what + "breaks no rule but was refused: " + e.getMessage());
    } else if (reusesStoredId != outcome instanceof DuplicateEventIdException) {
      problems.add(
          what + (reusesStoredId ? "reuses a stored id" : "has fresh ids") + ": " + outcome);
    } else if (outcome instanceof Success) {
      events.forEach(e -> storedIds.add(e.id()));
    } else if (outcome instanceof Failure failure) {
      for (SequencedEvent conflict : failure.conflictingEvents()) {
        if (!condition.matches(conflict)) {
          problems.add(what + "failed on " + conflict + ", which does not match " + condition);
        }
      }
    }
  }

  // ---- reads

  private void read(Random random, EventStore store) {
    var generator = new Generator(random);
    Read scope = generator.scope(store);
    if (scope == null) {
      return;
    }
    reads.incrementAndGet();
    boolean backwards = random.nextBoolean();
    int limit = random.nextInt(3) == 0 ? random.nextInt(50) : -1;
    Read read = backwards ? scope.backwards() : scope;
    read = limit >= 0 ? read.limit(limit) : read;
    long previous = backwards ? Long.MAX_VALUE : 0;
    int count = 0;
    for (var it = read.sequenced().iterator(); it.hasNext() && count < 5_000; count++) {
      SequencedEvent event = it.next();
      if (backwards ? event.position() >= previous : event.position() <= previous) {
        problems.add(read + " read position " + event.position() + " after " + previous);
      }
      if (!scope.query().matches(event)) {
        problems.add(read + " read " + event + ", which does not match");
      }
      previous = event.position();
    }
    if (limit >= 0 && count > limit) {
      problems.add(read + " read " + count + " events");
    }
  }

  // ---- afterwards

  /** Checks the log against the attempts and returns its length. */
  private int verify(EventStore store) {
    List<SequencedEvent> log = store.read().sequenced().toList();
    var byId = new HashMap<UUID, SequencedEvent>();
    for (int i = 0; i < log.size(); i++) {
      SequencedEvent stored = log.get(i);
      if (stored.position() != i + 1) {
        problems.add("position " + stored.position() + " at index " + i + ": the log has a gap");
      }
      byId.put(stored.event().id(), stored);
    }
    assertThat(store.head()).isEqualTo(log.size());
    var acknowledged = new HashSet<UUID>();
    var appended = new HashMap<UUID, Event>();
    var reusable = new HashSet<>(storedIds);
    for (Attempt attempt : attempts) {
      if (attempt.outcome() instanceof Success success) {
        long first = success.position() - attempt.events().size() + 1;
        for (int i = 0; i < attempt.events().size(); i++) {
          Event event = attempt.events().get(i);
          acknowledged.add(event.id());
          appended.put(event.id(), event);
          SequencedEvent stored = byId.get(event.id());
          if (stored == null || stored.position() != first + i) {
            problems.add("acknowledged " + event.id() + " at " + (first + i) + " is " + stored);
          } else if (!stored.event().equals(attempt.expected().get(i))) {
            problems.add(
                "at "
                    + stored.position()
                    + " read "
                    + abbreviated(stored.event())
                    + "\n expected "
                    + abbreviated(attempt.expected().get(i)));
          }
        }
        if (attempt.condition() != null) {
          requireNoWriteSkew(log, attempt.condition(), first);
        }
      } else {
        for (Event event : attempt.events()) {
          // An id reused on purpose is stored: by the earlier append that acknowledged it.
          if (byId.containsKey(event.id()) && !reusable.contains(event.id())) {
            problems.add("an append that ended in " + attempt.outcome() + " left " + event.id());
          }
        }
      }
    }
    for (SequencedEvent stored : log) {
      if (!acknowledged.contains(stored.event().id())) {
        problems.add("position " + stored.position() + " holds an event nobody appended");
      }
    }
    // The in-memory engine, given the same events in the same order, reads back the same log.
    try (EventStore reference = EventStore.builder().register("Typed", Payload.class).inMemory()) {
      for (SequencedEvent stored : log) {
        reference.append(List.of(appended.getOrDefault(stored.event().id(), stored.event())));
      }
      assertThat(reference.read().sequenced().toList()).isEqualTo(log);
    }
    return log.size();
  }

  /** I1: no event matching the condition lies between its {@code after} and the append. */
  private void requireNoWriteSkew(List<SequencedEvent> log, Query condition, long first) {
    for (int i = 0; i < first - 1; i++) {
      if (condition.matches(log.get(i))) {
        problems.add(
            "an append at " + first + " succeeded over " + log.get(i) + " matching " + condition);
        return;
      }
    }
  }

  // ---- generation

  /**
   * Makes hostile events, queries and the values they must read back as, and judges whether they
   * break a documented rule (the README's "Event data" and "Errors").
   */
  private static final class Generator {

    private final Random random;
    boolean valid = true;
    String broken = "";

    /** Typed payloads are Jackson's: any map keys, which come back as strings. */
    private boolean typed;

    Generator(Random random) {
      this.random = random;
    }

    private void breaks(boolean broken, String rule) {
      if (broken) {
        valid = false;
        this.broken += rule + " ";
      }
    }

    @SuppressWarnings("unchecked")
    void event(List<Event> events, List<Event> expected) {
      String type = random.nextInt(5) == 0 ? "Typed" : typeOrTag("type", Event.MAX_TYPE_BYTES);
      var tags = new LinkedHashSet<String>();
      for (int i = random.nextInt(4); i > 0; i--) {
        tags.add(
            random.nextBoolean()
                ? BOUNDARIES.get(random.nextInt(BOUNDARIES.size()))
                : typeOrTag("tag", Event.MAX_TAG_BYTES));
      }
      Object data;
      Object expectedData;
      if (type.equals("Typed")) {
        var payload = payload();
        data = payload;
        expectedData = expectedPayload(payload);
        breaks(levels(payload.items()) + 1 > Event.MAX_NESTING_DEPTH, "nesting");
        breaks(levels(payload.attributes()) + 1 > Event.MAX_NESTING_DEPTH, "nesting");
      } else {
        var map = topLevelMap(random.nextInt(6));
        data = map;
        expectedData = expectedTopLevel(map);
        breaks(levels(map) > Event.MAX_NESTING_DEPTH, "nesting");
      }
      Map<String, Object> metadata = random.nextInt(3) == 0 ? topLevelMap(3) : Map.of();
      breaks(levels(metadata) > Event.MAX_NESTING_DEPTH, "nesting");
      Event event = Event.of(type, data).withTags(tags).withMetadata(metadata);
      events.add(event);
      expected.add(
          new Event(
              event.id(),
              type,
              expectedData,
              event.tags(),
              (Map<String, Object>) expectedTopLevel(metadata)));
    }

    /** A scope of hostile criteria, or null when building it was refused (as it had to be). */
    Read scope(EventStore store) {
      int criteria = random.nextInt(50) == 0 ? 300 + random.nextInt(300) : random.nextInt(3) + 1;
      var texts = new ArrayList<String>();
      Read scope = null;
      try {
        for (int c = 0; c < criteria; c++) {
          Read criterion = store.read();
          if (random.nextInt(3) > 0) {
            String tag = criterionText("tag", Event.MAX_TAG_BYTES, texts);
            criterion = criterion.withTag(tag);
            if (random.nextInt(4) == 0) {
              criterion = criterion.withTag(criterionText("tag", Event.MAX_TAG_BYTES, texts));
            }
          }
          if (random.nextInt(3) == 0) {
            criterion = criterion.ofType(criterionText("type", Event.MAX_TYPE_BYTES, texts));
          }
          scope = scope == null ? criterion : scope.or(criterion);
        }
      } catch (IllegalArgumentException e) {
        if (valid) {
          throw new AssertionError("a query of " + texts + " was refused: " + e.getMessage(), e);
        }
        return null;
      }
      if (!valid) {
        throw new AssertionError("a query of " + abbreviated(texts) + " was accepted");
      }
      return scope;
    }

    private String criterionText(String what, int maxBytes, List<String> texts) {
      String text =
          random.nextBoolean()
              ? BOUNDARIES.get(random.nextInt(BOUNDARIES.size()))
              : typeOrTag(what, maxBytes);
      texts.add(text);
      return text;
    }

    /** A type or tag, now and then around its byte limit. */
    private String typeOrTag(String what, int maxBytes) {
      String text;
      if (random.nextInt(20) == 0) {
        String piece = PIECES.get(random.nextInt(PIECES.size() - 4));
        int bytes = piece.getBytes(StandardCharsets.UTF_8).length;
        text = piece.repeat((maxBytes - 2 + random.nextInt(5)) / bytes);
      } else {
        text = text(6);
      }
      if (text.isBlank()) {
        text = "x" + text;
      }
      breaks(!storable(text), what + " text");
      breaks(storable(text) && text.getBytes(StandardCharsets.UTF_8).length > maxBytes, what);
      return text;
    }

    private String text(int pieces) {
      var text = new StringBuilder();
      for (int i = random.nextInt(pieces + 1); i > 0; i--) {
        // The pieces that cannot be stored, now and then.
        text.append(PIECES.get(random.nextInt(random.nextInt(8) == 0 ? PIECES.size() : 40)));
      }
      if (random.nextInt(2_000) == 0) {
        text.append("x".repeat(random.nextInt(300_000)));
      }
      return text.toString();
    }

    private String storableText(int pieces) {
      String text = text(pieces);
      breaks(!storable(text), "text");
      return text;
    }

    private Map<String, Object> topLevelMap(int entries) {
      var map = new LinkedHashMap<String, Object>();
      for (int i = random.nextInt(entries + 1); i > 0; i--) {
        String key = storableText(3);
        // A value replaced under a repeated key would be judged but never appended.
        if (!map.containsKey(key)) {
          map.put(key, random.nextInt(3) == 0 ? topLevelValue() : nested(0));
        }
      }
      if (random.nextInt(25) == 0) {
        // Nesting around the limit: the data map is level 1, this list level 2.
        map.put("deep", chain(Event.MAX_NESTING_DEPTH - 2 + random.nextInt(3)));
      }
      return map;
    }

    private Object chain(int levels) {
      Object value = 1;
      for (int i = 0; i < levels; i++) {
        value = random.nextBoolean() ? List.of(value) : Map.of(storableText(1), value);
      }
      return value;
    }

    /** Values that keep their Java type at the top level of a map. */
    private Object topLevelValue() {
      return switch (random.nextInt(14)) {
        case 0 -> random.nextLong();
        case 1 -> (short) random.nextInt();
        case 2 -> (byte) random.nextInt();
        case 3 -> random.nextFloat() * (random.nextBoolean() ? 1e30f : -1e-30f);
        case 4 -> List.of(Double.NaN, -0.0, 1e20, Double.MIN_VALUE).get(random.nextInt(4));
        case 5 -> {
          char c = (char) random.nextInt(0x10000);
          breaks(c == 0 || Character.isSurrogate(c), "text");
          yield c;
        }
        case 6 -> new BigInteger(random.nextInt(5_000) + 1, random);
        case 7 -> new BigDecimal(new BigInteger(200, random), random.nextInt(4_000) - 2_000);
        case 8 -> Instant.ofEpochSecond(random.nextInt(), random.nextInt(1_000_000_000));
        case 9 -> LocalDate.ofEpochDay(random.nextInt(1_000_000) - 500_000);
        case 10 -> new UUID(random.nextLong(), random.nextLong());
        case 11 -> Colour.values()[random.nextInt(2)];
        case 12 -> {
          var set = new LinkedHashSet<Object>();
          for (int i = random.nextInt(4); i > 0; i--) {
            set.add(nested(1));
          }
          yield set;
        }
        default -> random.nextDouble();
      };
    }

    /**
     * A value inside data, at nesting {@code level} below the top-level map's values (0 for one of
     * them).
     */
    private Object nested(int level) {
      int kind = random.nextInt(level > 4 ? 11 : 14);
      return switch (kind) {
        case 0 -> null;
        case 1 -> random.nextBoolean();
        case 2 -> storableText(4);
        case 3 -> random.nextInt();
        case 4 -> random.nextBoolean() ? random.nextLong() : (long) random.nextInt(1000);
        case 5 -> {
          var value = new BigInteger(random.nextInt(3_400) + 1, random);
          if (random.nextInt(5) == 0) {
            value = new BigInteger("9".repeat(Event.MAX_NUMBER_LENGTH - 2 + random.nextInt(4)));
          }
          value = random.nextBoolean() ? value : value.negate();
          // A top-level BigInteger is stored as text, with a type hint.
          breaks(level > 0 && value.toString().length() > Event.MAX_NUMBER_LENGTH, "number");
          yield value;
        }
        case 6 ->
            List.of(
                    Double.NaN,
                    Double.POSITIVE_INFINITY,
                    Double.NEGATIVE_INFINITY,
                    -0.0,
                    1e20,
                    Double.MIN_VALUE,
                    Double.MAX_VALUE,
                    random.nextDouble() * Math.pow(10, random.nextInt(600) - 300))
                .get(random.nextInt(8));
        case 7 -> random.nextBoolean() ? random.nextFloat() : -0.0f;
        case 8 -> {
          var value =
              new BigDecimal(
                  new BigInteger(random.nextInt(100) + 1, random), random.nextInt(2_400) - 1_200);
          breaks(level > 0 && plainLength(value) > Event.MAX_NUMBER_LENGTH, "number");
          yield value;
        }
        case 9 -> (short) random.nextInt();
        case 10 -> {
          // A map with a key that is no string, now and then.
          var map = new LinkedHashMap<Object, Object>();
          map.put(random.nextInt(10) == 0 ? (Object) random.nextInt() : storableText(2), 1);
          breaks(!typed && !(map.keySet().iterator().next() instanceof String), "key");
          yield map;
        }
        case 11 -> {
          var list = new ArrayList<Object>();
          for (int i = random.nextInt(4); i > 0; i--) {
            list.add(nested(level + 1));
          }
          yield list;
        }
        case 12 -> {
          var map = new LinkedHashMap<String, Object>();
          for (int i = random.nextInt(4); i > 0; i--) {
            String key = storableText(2);
            if (!map.containsKey(key)) {
              map.put(key, nested(level + 1));
            }
          }
          yield map;
        }
        default -> {
          var set = new LinkedHashSet<Object>();
          for (int i = random.nextInt(3); i > 0; i--) {
            set.add(nested(level + 1));
          }
          yield set;
        }
      };
    }

    private Payload payload() {
      typed = true;
      var items = new ArrayList<Object>();
      for (int i = random.nextInt(3); i > 0; i--) {
        items.add(nested(1));
      }
      var attributes = new LinkedHashMap<String, Object>();
      for (int i = random.nextInt(3); i > 0; i--) {
        String key = storableText(2);
        if (!attributes.containsKey(key)) {
          attributes.put(key, nested(1));
        }
      }
      var amount =
          new BigDecimal(
              new BigInteger(random.nextInt(60) + 1, random), random.nextInt(2_200) - 1_100);
      breaks(plainLength(amount) > Event.MAX_NUMBER_LENGTH, "number");
      double number = List.of(-0.0, Double.NaN, 1e20, random.nextDouble()).get(random.nextInt(4));
      typed = false;
      return new Payload(storableText(3), number, amount, items, attributes);
    }

    /** What a payload reads back as: numbers as jsonb keeps them, untyped parts as JSON types. */
    private Object expectedPayload(Payload payload) {
      @SuppressWarnings("unchecked")
      var attributes = (Map<String, Object>) expectedNested(payload.attributes());
      @SuppressWarnings("unchecked")
      var items = (List<Object>) expectedNested(payload.items());
      return new Payload(
          payload.text(),
          payload.number() == 0 ? 0.0 : payload.number(),
          new BigDecimal(payload.amount().toPlainString()),
          items,
          attributes);
    }
  }

  // ---- the rules of the README, as an oracle

  /** Text PostgreSQL stores: no U+0000, every surrogate paired. */
  private static boolean storable(String text) {
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c == 0) {
        return false;
      }
      if (Character.isHighSurrogate(c)
          && i + 1 < text.length()
          && Character.isLowSurrogate(text.charAt(i + 1))) {
        i++;
      } else if (Character.isSurrogate(c)) {
        return false;
      }
    }
    return true;
  }

  private static int plainLength(BigDecimal value) {
    // Cheap for the scales generated here.
    return value.toPlainString().length();
  }

  /** Levels of maps and lists in {@code value}, itself included. */
  private static int levels(Object value) {
    Collection<?> elements;
    if (value instanceof Map<?, ?> map) {
      elements = map.values();
    } else if (value instanceof Collection<?> collection) {
      elements = collection;
    } else {
      return 0;
    }
    int deepest = 0;
    for (Object element : elements) {
      deepest = Math.max(deepest, levels(element));
    }
    return 1 + deepest;
  }

  /** A top-level map's values keep their Java type; inside lists and maps, JSON types. */
  private static Object expectedTopLevel(Map<String, Object> map) {
    var expected = new LinkedHashMap<String, Object>();
    map.forEach(
        (key, value) -> {
          Object back;
          if (value instanceof Set<?> set) {
            var elements = new LinkedHashSet<Object>();
            set.forEach(element -> elements.add(expectedNested(element)));
            back = elements;
          } else if (value instanceof Collection || value instanceof Map) {
            back = expectedNested(value);
          } else {
            back = value;
          }
          expected.put(key, back);
        });
    return expected;
  }

  /** What Jackson reads back from the JSON the store writes for a nested value. */
  private static Object expectedNested(Object value) {
    if (value instanceof Byte || value instanceof Short || value instanceof Integer) {
      return ((Number) value).intValue();
    }
    if (value instanceof Long number) {
      return smallest(BigInteger.valueOf(number));
    }
    if (value instanceof BigInteger number) {
      return smallest(number);
    }
    if (value instanceof Double number) {
      return asJson(number);
    }
    if (value instanceof Float number) {
      return Float.isFinite(number)
          ? asJson(Double.valueOf(Float.toString(number)))
          : asJson((double) number);
    }
    if (value instanceof BigDecimal number) {
      String plain = number.toPlainString();
      return plain.contains(".") ? Double.valueOf(plain) : smallest(new BigInteger(plain));
    }
    if (value instanceof Collection<?> collection) {
      var list = new ArrayList<Object>();
      for (Object element : collection) {
        list.add(expectedNested(element));
      }
      return list;
    }
    if (value instanceof Map<?, ?> map) {
      var expected = new LinkedHashMap<String, Object>();
      for (var entry : map.entrySet()) {
        expected.put(String.valueOf(entry.getKey()), expectedNested(entry.getValue()));
      }
      return expected;
    }
    if (value instanceof Character c) {
      return c.toString();
    }
    return value;
  }

  private static Object asJson(double number) {
    if (Double.isNaN(number)) {
      return "NaN";
    }
    if (Double.isInfinite(number)) {
      return number > 0 ? "Infinity" : "-Infinity";
    }
    return number == 0 ? 0.0 : number;
  }

  private static Object smallest(BigInteger number) {
    if (number.bitLength() < 32) {
      return number.intValue();
    }
    return number.bitLength() < 64 ? (Object) number.longValue() : number;
  }

  private static String describe(List<Event> events) {
    return abbreviated(events.stream().map(e -> e.id() + " " + e.type()).toList());
  }

  private static String abbreviated(Object value) {
    String text = String.valueOf(value);
    return text.length() <= 600 ? text : text.substring(0, 600) + "…";
  }

  private static String stackOf(Throwable e) {
    var stack = new StringBuilder();
    for (StackTraceElement frame : e.getStackTrace()) {
      if (stack.length() > 1_500) {
        break;
      }
      stack.append("\n  at ").append(frame);
    }
    return stack.toString();
  }
}
