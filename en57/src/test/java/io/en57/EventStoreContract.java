package io.en57;

import static io.en57.AppendCondition.failIf;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import com.fasterxml.jackson.databind.deser.std.StdDeserializer;
import com.fasterxml.jackson.databind.jsontype.BasicPolymorphicTypeValidator;
import io.en57.AppendResult.Failure;
import io.en57.AppendResult.Success;
import java.io.IOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.Year;
import java.time.YearMonth;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.UUID;
import java.util.function.UnaryOperator;
import java.util.stream.IntStream;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/**
 * The semantics every engine shares (DESIGN.md §3, invariant I5). Each engine's test class extends
 * this and supplies fresh stores.
 */
abstract class EventStoreContract {

  /** A store on an empty log, configured by {@code options}. Called once or more per test. */
  protected abstract EventStore newStore(UnaryOperator<EventStoreBuilder> options);

  /** Empties the log before each test. */
  protected abstract void emptyLog();

  private final List<EventStore> opened = new ArrayList<>();
  protected EventStore store;

  @BeforeEach
  void openStore() {
    emptyLog();
    store = open(options -> options);
  }

  @AfterEach
  void closeStores() {
    opened.forEach(EventStore::close);
  }

  protected EventStore open(UnaryOperator<EventStoreBuilder> options) {
    EventStore opened = newStore(options);
    this.opened.add(opened);
    return opened;
  }

  static Event event(String type, String... tags) {
    return Event.of(type, Map.of("type", type)).withTags(tags);
  }

  private List<String> types(Read read) {
    return read.stream().map(Event::type).toList();
  }

  @Nested
  class Appending {

    @Test
    void anUnconditionalAppendStoresAllEventsContiguouslyAndReturnsTheLastPosition() {
      assertThat(store.append(List.of(event("A"), event("B"), event("C"))))
          .isEqualTo(new Success(3));
      assertThat(store.append(List.of(event("D")))).isEqualTo(new Success(4));
      assertThat(store.read().sequenced().map(SequencedEvent::position))
          .containsExactly(1L, 2L, 3L, 4L);
      assertThat(store.head()).isEqualTo(4);
    }

    @Test
    void aClosedStoreRefusesAppendsReadsAndTheHead() {
      store.append(List.of(event("Early")));
      store.close();
      assertThatThrownBy(() -> store.append(List.of(event("Late"))))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageStartingWith("the store is closed");
      // At once, whatever pool the store used: a projection runner outliving it stops on this.
      assertThatThrownBy(() -> store.read().toList())
          .isInstanceOf(IllegalStateException.class)
          .hasMessageStartingWith("the store is closed");
      assertThatThrownBy(() -> store.head())
          .isInstanceOf(IllegalStateException.class)
          .hasMessageStartingWith("the store is closed");
      store.close(); // closing again does no harm
    }

    @Test
    void anEmptyStoreHasHeadZeroAndReadsNothing() {
      assertThat(store.head()).isZero();
      assertThat(store.read().toList()).isEmpty();
      assertThat(store.read().last()).isEmpty();
    }

    @Test
    void whatIsAppendedIsWhatIsRead() {
      List<Event> events =
          List.of(
              Event.of("Registered", Map.of("name", "Ada", "age", 36)).withTags("user:1", "org:7"),
              Event.of("Renamed", Map.of("name", "Ada L."))
                  .withTags("user:1")
                  .withMetadata(Map.of("causation", "cmd-1")),
              Event.of("Pinged"));
      store.append(events);
      assertThat(store.read().toList()).isEqualTo(events);
    }

    @Test
    void tagsAreASet() {
      Event event = Event.of("Tagged").withTags("b", "a", "b");
      store.append(List.of(event));
      assertThat(store.read().toList().get(0).tags()).containsExactlyInAnyOrder("a", "b");
    }
  }

  @Nested
  class Reading {

    @BeforeEach
    void appendLog() {
      store.append(
          List.of(
              event("OrderPlaced", "order:1", "customer:a"),
              event("PriceChanged", "product:x"),
              event("OrderPlaced", "order:2", "customer:b"),
              event("OrderShipped", "order:1", "customer:a"),
              event("PriceChanged", "product:y"),
              event("OrderPlaced", "order:3", "customer:a")));
    }

    @Test
    void readsAllInPositionOrder() {
      assertThat(types(store.read()))
          .containsExactly(
              "OrderPlaced",
              "PriceChanged",
              "OrderPlaced",
              "OrderShipped",
              "PriceChanged",
              "OrderPlaced");
    }

    @Test
    void readsWithPositions() {
      assertThat(store.read().withTag("customer:a").sequenced().map(SequencedEvent::position))
          .containsExactly(1L, 4L, 6L);
    }

    @Test
    void withTagRequiresAllTags() {
      assertThat(
              store
                  .read()
                  .withTag("customer:a", "order:1")
                  .sequenced()
                  .map(SequencedEvent::position))
          .containsExactly(1L, 4L);
      assertThat(
              store
                  .read()
                  .withTag("customer:a")
                  .withTag("order:3")
                  .sequenced()
                  .map(SequencedEvent::position))
          .containsExactly(6L);
      assertThat(store.read().withTag("customer:b", "order:1").toList()).isEmpty();
    }

    @Test
    void ofTypeAcceptsAnyOfTheTypes() {
      assertThat(
              store
                  .read()
                  .ofType("OrderShipped", "PriceChanged")
                  .sequenced()
                  .map(SequencedEvent::position))
          .containsExactly(2L, 4L, 5L);
    }

    @Test
    void typeAndTagCombine() {
      assertThat(
              store
                  .read()
                  .ofType("OrderPlaced")
                  .withTag("customer:a")
                  .sequenced()
                  .map(SequencedEvent::position))
          .containsExactly(1L, 6L);
    }

    @Test
    void afterSkipsEarlierPositions() {
      assertThat(store.read().after(3).sequenced().map(SequencedEvent::position))
          .containsExactly(4L, 5L, 6L);
      assertThat(
              store.read().withTag("customer:a").after(1).sequenced().map(SequencedEvent::position))
          .containsExactly(4L, 6L);
      assertThat(store.read().after(6).toList()).isEmpty();
      assertThat(store.read().after(1_000).toList()).isEmpty();
    }

    @Test
    void orIsTheUnionInPositionOrderWithoutDuplicates() {
      Read orders = store.read().withTag("customer:a");
      Read priceChanges = store.read().ofType("PriceChanged");
      assertThat(orders.or(priceChanges).sequenced().map(SequencedEvent::position))
          .containsExactly(1L, 2L, 4L, 5L, 6L);
      assertThat(
              orders.or(store.read().withTag("order:1")).sequenced().map(SequencedEvent::position))
          .containsExactly(1L, 4L, 6L);
    }

    @Test
    void refinementsAfterOrRefineTheLastCriterion() {
      Read union =
          store
              .read()
              .withTag("customer:b")
              .or(store.read().ofType("PriceChanged"))
              .withTag("product:y");
      assertThat(union.sequenced().map(SequencedEvent::position)).containsExactly(3L, 5L);
    }

    @Test
    void afterOnAUnionAppliesToEveryCriterion() {
      Read union =
          store.read().withTag("customer:a").or(store.read().ofType("PriceChanged")).after(2);
      assertThat(union.sequenced().map(SequencedEvent::position)).containsExactly(4L, 5L, 6L);
    }

    @Test
    void limitCapsTheResult() {
      assertThat(store.read().limit(2).sequenced().map(SequencedEvent::position))
          .containsExactly(1L, 2L);
      assertThat(store.read().ofType("OrderPlaced").limit(0).toList()).isEmpty();
      assertThat(store.read().limit(100).toList()).hasSize(6);
    }

    @Test
    void backwardsReadsNewestFirst() {
      assertThat(
              store
                  .read()
                  .withTag("customer:a")
                  .backwards()
                  .sequenced()
                  .map(SequencedEvent::position))
          .containsExactly(6L, 4L, 1L);
      assertThat(
              store.read().backwards().limit(2).after(1).sequenced().map(SequencedEvent::position))
          .containsExactly(6L, 5L);
      assertThat(
              store
                  .read()
                  .withTag("customer:a")
                  .or(store.read().ofType("PriceChanged"))
                  .backwards()
                  .sequenced()
                  .map(SequencedEvent::position))
          .containsExactly(6L, 5L, 4L, 2L, 1L);
    }

    @Test
    void lastIsTheNewestMatchingEvent() {
      assertThat(store.read().ofType("OrderPlaced").last())
          .map(SequencedEvent::position)
          .contains(6L);
      assertThat(store.read().ofType("Nothing").last()).isEmpty();
    }

    @Test
    void aScopeIsIterableAndReadsAfreshEachTime() {
      Read placed = store.read().ofType("OrderPlaced");
      int count = 0;
      for (Event event : placed) {
        assertThat(event.type()).isEqualTo("OrderPlaced");
        count++;
      }
      assertThat(count).isEqualTo(3);
      store.append(List.of(event("OrderPlaced")));
      assertThat(placed.toList()).hasSize(4);
    }

    @Test
    void badRefinementsAreRejected() {
      assertThatThrownBy(() -> store.read().withTag()).hasMessageContaining("at least one tag");
      assertThatThrownBy(() -> store.read().withTag("a", null))
          .hasMessageContaining("tag must not be null");
      assertThatThrownBy(() -> store.read().withTag(" "))
          .hasMessageContaining("tag must not be blank");
      assertThatThrownBy(() -> store.read().ofType(""))
          .hasMessageContaining("type must not be blank");
      assertThatThrownBy(() -> store.read().after(-1))
          .hasMessageContaining("after must not be negative");
      assertThatThrownBy(() -> store.read().limit(-1))
          .hasMessageContaining("limit must not be negative");
      assertThatThrownBy(() -> store.read().or(store.read().limit(1))).hasMessageContaining("or()");
    }
  }

  @Nested
  class Batching {

    @Test
    void readsEveryEventWhateverTheBatchSize() {
      store.append(
          IntStream.range(0, 23)
              .mapToObj(i -> event(i % 2 == 0 ? "Even" : "Odd", "n:" + i % 3))
              .toList());
      for (int batchSize : new int[] {1, 2, 5, 7, 22, 23, 24, 1_000}) {
        EventStore batched = open(options -> options.readBatchSize(batchSize));
        assertThat(batched.read().sequenced().map(SequencedEvent::position))
            .containsExactlyElementsOf(LongStream.rangeClosed(1, 23).boxed().toList());
        assertThat(batched.read().backwards().sequenced().map(SequencedEvent::position))
            .containsExactlyElementsOf(
                LongStream.rangeClosed(1, 23).map(p -> 24 - p).boxed().toList());
        assertThat(batched.read().ofType("Even").withTag("n:0").toList()).hasSize(4);
        assertThat(batched.read().ofType("Odd").or(batched.read().withTag("n:0")).limit(9).toList())
            .hasSize(9);
      }
    }

    @Test
    void aStreamReadsOnlyTheBatchesItConsumes() {
      store.append(IntStream.range(0, 10).mapToObj(i -> event("E")).toList());
      EventStore batched = open(options -> options.readBatchSize(3));
      var stream = batched.read().sequenced().iterator();
      assertThat(stream.next().position()).isEqualTo(1);
      // Events appended after the first batch was fetched are seen by the later batches.
      batched.append(List.of(event("Late")));
      var rest = new ArrayList<Long>();
      stream.forEachRemaining(e -> rest.add(e.position()));
      assertThat(rest).containsExactly(2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L, 10L, 11L);
    }
  }

  @Nested
  class Conditions {

    @Test
    void succeedsWhenNoEventMatches() {
      store.append(List.of(event("CourseDefined", "course:1")));
      var result =
          store.append(
              List.of(event("StudentSubscribed", "course:2")),
              failIf(store.read().withTag("course:2")));
      assertThat(result).isEqualTo(new Success(2));
    }

    @Test
    void failsWithTheConflictingEventsAndTheLatestPosition() {
      store.append(
          List.of(
              event("Subscribed", "course:1"), event("Other"), event("Subscribed", "course:1")));
      Event attempt = event("Subscribed", "course:1");
      AppendResult result =
          store.append(List.of(attempt), failIf(store.read().withTag("course:1")));
      assertThat(result).isInstanceOf(Failure.class);
      Failure failure = (Failure) result;
      assertThat(failure.position()).isEqualTo(3);
      assertThat(failure.conflictingEvents())
          .extracting(SequencedEvent::position)
          .containsExactly(1L, 3L);
      assertThat(failure.conflictingEvents().get(0).event())
          .isEqualTo(store.read().limit(1).toList().get(0));
      assertThat(store.head()).isEqualTo(3);
      assertThat(store.read().toList()).doesNotContain(attempt);
    }

    @Test
    void afterIgnoresEventsUpToThePositionAlreadySeen() {
      store.append(List.of(event("Subscribed", "course:1")));
      Read scope = store.read().withTag("course:1");
      long seen = scope.last().orElseThrow().position();
      assertThat(store.append(List.of(event("Subscribed", "course:1")), failIf(scope).after(seen)))
          .isEqualTo(new Success(2));
      var failure =
          (Failure)
              store.append(List.of(event("Subscribed", "course:1")), failIf(scope).after(seen));
      assertThat(failure.position()).isEqualTo(2);
      assertThat(failure.conflictingEvents())
          .extracting(SequencedEvent::position)
          .containsExactly(2L);
      assertThat(
              store.append(
                  List.of(event("Subscribed", "course:1")),
                  failIf(scope).after(failure.position())))
          .isEqualTo(new Success(3));
    }

    @Test
    void aConditionFromAnUnrefinedScopeFailsIfAnyEventExists() {
      assertThat(store.append(List.of(event("First")), failIf(store.read())))
          .isEqualTo(new Success(1));
      assertThat(store.append(List.of(event("Second")), failIf(store.read())))
          .isInstanceOf(Failure.class);
      assertThat(store.append(List.of(event("Second")), failIf(store.read()).after(1)))
          .isEqualTo(new Success(2));
    }

    @Test
    void aConditionMatchesOnTypeAndTagsAndUnions() {
      store.append(List.of(event("A", "x"), event("B", "x", "y")));
      assertThat(store.append(List.of(event("C")), failIf(store.read().ofType("A").withTag("y"))))
          .isInstanceOf(Success.class);
      assertThat(store.append(List.of(event("C")), failIf(store.read().withTag("x", "y"))))
          .isInstanceOf(Failure.class);
      var union = store.read().ofType("Z").or(store.read().ofType("B"));
      assertThat(((Failure) store.append(List.of(event("C")), failIf(union))).conflictingEvents())
          .extracting(SequencedEvent::position)
          .containsExactly(2L);
    }

    @Test
    void aFailureCarriesTheNewestConflictsUpToTheCap() {
      int stored = EventStore.MAX_CONFLICTING_EVENTS + 5;
      store.append(IntStream.range(0, stored).mapToObj(i -> event("Tick", "clock")).toList());
      var failure =
          (Failure)
              store.append(List.of(event("Tick", "clock")), failIf(store.read().withTag("clock")));
      assertThat(failure.conflictingEvents()).hasSize(EventStore.MAX_CONFLICTING_EVENTS);
      assertThat(failure.conflictingEvents().get(0).position()).isEqualTo(6);
      assertThat(failure.position()).isEqualTo(stored);
    }

    @Test
    void aConditionAfterBeyondTheHeadIsRejected() {
      store.append(List.of(event("A")));
      assertThatThrownBy(
              () -> store.append(List.of(event("B")), failIf(store.read().withTag("x")).after(5)))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("after position 5 is beyond the store's head 1");
      assertThat(store.head()).isEqualTo(1);
    }

    @Test
    void anAppendFromAnInterruptedThreadIsRefusedWithNothingWrittenAndTheFlagKept() {
      Thread.currentThread().interrupt();
      try {
        assertThatThrownBy(() -> store.append(List.of(event("A"))))
            .isExactlyInstanceOf(En57Exception.class)
            .hasMessageContaining("interrupted; nothing was written");
        assertThat(Thread.currentThread().isInterrupted()).isTrue();
      } finally {
        Thread.interrupted();
      }
      assertThat(store.head()).isZero();
    }

    @Test
    void aConditionWithSeveralCriteriaBeyondTheHeadNamesTheLargestAfter() {
      store.append(List.of(event("A")));
      Read x = store.read().withTag("x").after(5);
      Read y = store.read().withTag("y").after(7);
      assertThatThrownBy(() -> store.append(List.of(event("B")), failIf(x.or(y))))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("after position 7 is beyond the store's head 1");
      assertThat(store.head()).isEqualTo(1);
    }

    @Test
    void aScopeWithReadOptionsCannotBeACondition() {
      assertThatThrownBy(() -> failIf(store.read().limit(1)))
          .hasMessageContaining("without limit() or backwards()");
      assertThatThrownBy(() -> failIf(store.read().backwards()))
          .hasMessageContaining("without limit() or backwards()");
    }
  }

  @Nested
  class Data {

    record CourseDefined(
        String courseId, int capacity, Instant at, BigDecimal fee, List<String> teachers) {}

    enum Level {
      BEGINNER,
      ADVANCED {
        @Override
        public String toString() {
          return "advanced";
        }
      }
    }

    @Test
    void typedPayloadsComeBackAsTheirClass() {
      EventStore typed = open(options -> options.register("CourseDefined", CourseDefined.class));
      var payload =
          new CourseDefined(
              "c1",
              30,
              Instant.parse("2026-11-26T10:15:30.123456789Z"),
              new BigDecimal("12.50"),
              List.of("Ann"));
      Event event = Event.of("CourseDefined", payload).withTags("course:c1");
      typed.append(List.of(event));
      Event read = typed.read().toList().get(0);
      assertThat(read).isEqualTo(event);
      assertThat(read.data()).isInstanceOf(CourseDefined.class);
    }

    @Test
    void mapsReadBackWithTheirKeysInTheOrderJsonbKeepsThem() {
      var nested = new LinkedHashMap<String, Object>();
      nested.put("zz", 1);
      nested.put("b", List.of(Map.of("yy", 1, "x", 2)));
      var data = new LinkedHashMap<String, Object>();
      for (String key : List.of("zeta", "\u00e9", "ab", "z", "nested", "a")) {
        data.put(key, key.equals("nested") ? nested : key.length());
      }
      store.append(List.of(Event.of("Keyed", data).withMetadata(Map.of("by", "me", "at", 1))));
      Event read = store.read().toList().get(0);
      @SuppressWarnings("unchecked")
      var readData = (Map<String, Object>) read.data();
      // Shorter keys first (in UTF-8 bytes: "\u00e9" takes two), keys of one length by their bytes.
      assertThat(readData.keySet()).containsExactly("a", "z", "ab", "\u00e9", "zeta", "nested");
      @SuppressWarnings("unchecked")
      var readNested = (Map<String, Object>) readData.get("nested");
      assertThat(readNested.keySet()).containsExactly("b", "zz");
      @SuppressWarnings("unchecked")
      var inList = (Map<String, Object>) ((List<?>) readNested.get("b")).get(0);
      assertThat(inList.keySet()).containsExactly("x", "yy");
      assertThat(read.metadata().keySet()).containsExactly("at", "by");
      assertThat(read.data()).isEqualTo(data);
    }

    @Test
    void untypedTopLevelValuesKeepTheirJavaType() {
      var data = new LinkedHashMap<String, Object>();
      data.put("string", "text");
      data.put("int", 7);
      data.put("long", 7L);
      data.put("bigLong", Long.MAX_VALUE);
      data.put("short", (short) 3);
      data.put("byte", (byte) 2);
      data.put("double", 1.5);
      data.put("hugeDouble", 1e20);
      data.put("negativeZero", -0.0);
      data.put("nan", Double.NaN);
      data.put("float", 0.1f);
      data.put("char", 'x');
      data.put("boolean", true);
      data.put("null", null);
      data.put("bigInteger", new BigInteger("123456789012345678901234567890"));
      data.put("bigDecimal", new BigDecimal("1.10"));
      data.put("scientific", new BigDecimal("1E+3"));
      data.put("instant", Instant.parse("2026-11-26T10:15:30.123456789Z"));
      data.put("localDate", LocalDate.of(2026, 11, 26));
      data.put("localDateTime", LocalDateTime.of(2026, 11, 26, 10, 15, 30, 5));
      data.put("offsetDateTime", OffsetDateTime.parse("2026-11-26T10:15:30+02:00"));
      data.put(
          "zonedDateTime",
          ZonedDateTime.of(2026, 11, 26, 10, 15, 0, 0, ZoneId.of("Europe/Warsaw")));
      data.put("duration", Duration.ofMillis(1500));
      data.put("uuid", UUID.fromString("0192f3a4-1b2c-7d3e-8f40-123456789abc"));
      data.put("enum", Level.BEGINNER);
      data.put("enumWithBody", Level.ADVANCED);
      data.put("set", Set.of("a", "b"));
      data.put("list", List.of("x", 1, true));
      data.put("map", Map.of("nested", "value"));
      Event event =
          Event.of("Everything", data)
              .withMetadata(Map.of("at", Instant.EPOCH, "by", "me", "n", 1L));
      store.append(List.of(event));
      Event read = store.read().toList().get(0);
      assertThat(read).isEqualTo(event);
      @SuppressWarnings("unchecked")
      var readData = (Map<String, Object>) read.data();
      data.forEach(
          (key, value) -> {
            Object back = readData.get(key);
            assertThat(back).as(key).isEqualTo(value);
            if (value instanceof Set) {
              assertThat(back).as(key).isInstanceOf(Set.class);
            } else if (value != null && !(value instanceof List) && !(value instanceof Map)) {
              assertThat(back).as(key).hasSameClassAs(value);
            }
          });
    }

    @Test
    void bytesKeepTheirContent() {
      byte[] bytes = {0, 1, -1, 42};
      store.append(List.of(Event.of("Blob", Map.of("bytes", bytes))));
      @SuppressWarnings("unchecked")
      var read = (Map<String, Object>) store.read().toList().get(0).data();
      assertThat((byte[]) read.get("bytes")).containsExactly(bytes);
    }

    @Test
    void idsAreKeptAndDefaultToUuidV7() {
      Event event = Event.of("A");
      assertThat(event.id().version()).isEqualTo(7);
      UUID chosen = UUID.randomUUID();
      store.append(List.of(event, Event.of("B").withId(chosen)));
      assertThat(store.read().toList()).extracting(Event::id).containsExactly(event.id(), chosen);
    }

    @Test
    @SuppressWarnings("unchecked")
    void nestedValuesComeBackAsJsonTypesAlikeOnEveryEngine() {
      var nested =
          List.of(
              1e20,
              -0.0,
              1.5e-7,
              0.1f,
              new BigDecimal("1E+3"),
              new BigDecimal("1.50"),
              new BigDecimal("-0.00"),
              Long.MAX_VALUE,
              5L,
              BigInteger.TEN,
              new BigInteger("123456789012345678901234567890"),
              (short) 3,
              Double.NaN,
              Double.NEGATIVE_INFINITY,
              Double.MIN_VALUE,
              Double.MAX_VALUE);
      Event event =
          Event.of("Nested", Map.of("list", nested, "map", Map.of("zero", -0.0, "huge", 1e20)))
              .withMetadata(Map.of("list", List.of(1e20, -0.0)));
      store.append(List.of(event));
      Event read = store.read().toList().get(0);
      var data = (Map<String, Object>) read.data();
      // equals tells Integer from Long and 0.0 from -0.0.
      assertThat((List<Object>) data.get("list"))
          .containsExactly(
              1e20,
              0.0,
              1.5e-7,
              0.1,
              1000,
              1.5,
              0.0,
              Long.MAX_VALUE,
              5,
              10,
              new BigInteger("123456789012345678901234567890"),
              3,
              "NaN",
              "-Infinity",
              Double.MIN_VALUE,
              Double.MAX_VALUE);
      assertThat(data.get("map")).isEqualTo(Map.of("zero", 0.0, "huge", 1e20));
      assertThat(read.metadata()).isEqualTo(Map.of("list", List.of(1e20, 0.0)));
    }

    record Measured(double value, Double boxed, BigDecimal amount, List<Object> extra) {}

    @Test
    void numbersOfTypedPayloadsReadBackAlikeOnEveryEngine() {
      EventStore typed = open(options -> options.register("Measured", Measured.class));
      typed.append(
          List.of(
              Event.of(
                  "Measured",
                  new Measured(-0.0, 1e20, new BigDecimal("1E+3"), List.of(1e20, -0.0, 7L)))));
      assertThat(typed.read().toList().get(0).data())
          .isEqualTo(new Measured(0.0, 1e20, new BigDecimal("1000"), List.of(1e20, 0.0, 7)));
    }

    @Test
    void aMapperSubclassThatCannotBeCopiedIsRefusedWhenTheStoreIsBuilt() {
      var subclass = new ObjectMapper() {};
      assertThatThrownBy(() -> open(options -> options.objectMapper(subclass)))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("does not override copy()");
    }

    @Test
    void untypedDataReadsBackAsPlainJsonTypesWhateverTheMappersFeatures() {
      var mapper =
          new ObjectMapper()
              .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
              .enable(DeserializationFeature.USE_LONG_FOR_INTS)
              .enable(DeserializationFeature.USE_JAVA_ARRAY_FOR_JSON_ARRAY);
      EventStore withMapper = open(options -> options.objectMapper(mapper));
      Map<String, Object> data = Map.of("amounts", List.of(2.5, 3), "nested", Map.of("n", 7));
      withMapper.append(
          List.of(Event.of("Measured", data).withMetadata(Map.of("tries", List.of(1)))));
      Event read = withMapper.read().toList().get(0);
      assertThat(read.data()).isEqualTo(data);
      assertThat(read.metadata()).isEqualTo(Map.of("tries", List.of(1)));
    }

    @Test
    @SuppressWarnings("deprecation") // WRITE_NULL_MAP_VALUES: still honoured, still used
    void untypedDataAndMetadataAreWrittenWholeWhateverTheMappersSettings() {
      var nested = new HashMap<String, Object>();
      nested.put("null", null);
      nested.put("empty", "");
      nested.put("one", List.of("x"));
      var data = new LinkedHashMap<String, Object>();
      data.put("null", null);
      data.put("number", 1);
      data.put("empty", "");
      data.put("bytes", new byte[0]);
      data.put("set", Set.of());
      data.put("list", List.of());
      data.put("one", List.of(1));
      data.put("long", 7L);
      data.put("map", Map.of());
      data.put("nested", nested);
      var metadata = new HashMap<String, Object>(data);
      // Settings that left entries out (the hint of an empty byte[] or Set stayed, so it no longer
      // read), wrote a list as its only element or wrapped values in type ids.
      var emptyMaps = new ObjectMapper();
      emptyMaps
          .configOverride(Map.class)
          .setInclude(
              JsonInclude.Value.construct(
                  JsonInclude.Include.NON_EMPTY, JsonInclude.Include.NON_EMPTY));
      var mappers =
          List.of(
              emptyMaps,
              new ObjectMapper().setSerializationInclusion(JsonInclude.Include.NON_NULL),
              new ObjectMapper().setSerializationInclusion(JsonInclude.Include.NON_EMPTY),
              new ObjectMapper().disable(SerializationFeature.WRITE_NULL_MAP_VALUES),
              new ObjectMapper().enable(SerializationFeature.WRITE_SINGLE_ELEM_ARRAYS_UNWRAPPED),
              new ObjectMapper()
                  .activateDefaultTyping(
                      BasicPolymorphicTypeValidator.builder().allowIfSubType(Object.class).build(),
                      ObjectMapper.DefaultTyping.EVERYTHING));
      for (int i = 0; i < mappers.size(); i++) {
        ObjectMapper mapper = mappers.get(i);
        EventStore withMapper = open(options -> options.objectMapper(mapper));
        withMapper.append(List.of(Event.of("Whole", data).withMetadata(metadata)));
        Event read = withMapper.read().last().orElseThrow().event();
        // Recursively, to compare the bytes by content.
        assertThat(read.data()).as("mappers[%d]", i).usingRecursiveComparison().isEqualTo(data);
        assertThat(read.metadata())
            .as("mappers[%d]", i)
            .usingRecursiveComparison()
            .isEqualTo(metadata);
      }
    }

    @Test
    void javaTimeValuesOfAnyYearKeepTheirType() {
      // YearMonth.toString() leaves out the sign of a year beyond four digits; parse requires it.
      var data = new LinkedHashMap<String, Object>();
      data.put("yearMonth", YearMonth.of(2024, 5));
      data.put("fiveDigitYearMonth", YearMonth.of(10000, 1));
      data.put("lastYearMonth", YearMonth.of(999_999_999, 12));
      data.put("negativeYearMonth", YearMonth.of(-5, 3));
      data.put("firstYearMonth", YearMonth.of(-999_999_999, 1));
      data.put("lastYear", Year.of(Year.MAX_VALUE));
      data.put("firstYear", Year.of(Year.MIN_VALUE));
      data.put("lastDate", LocalDate.MAX);
      data.put("firstDate", LocalDate.MIN);
      data.put("lastDateTime", LocalDateTime.MAX);
      data.put("lastOffsetDateTime", OffsetDateTime.MAX);
      data.put("firstOffsetDateTime", OffsetDateTime.MIN);
      data.put("lastInstant", Instant.MAX);
      data.put("firstInstant", Instant.MIN);
      store.append(List.of(Event.of("Dated", data).withMetadata(data)));
      Event read = store.read().toList().get(0);
      assertThat(read.data()).isEqualTo(data);
      assertThat(read.metadata()).isEqualTo(data);
    }

    @Test
    void mapsWithKeysOtherThanStringsAreRefusedAtEveryLevel() {
      var refused =
          Map.<String, Object>of(
              "events[0].data.counts",
              Map.of("counts", Map.of(1, "one")),
              "events[0].data.list[1]",
              Map.of("list", List.of("x", Map.of(2L, "two"))),
              "events[0].data.set[0]",
              Map.of("set", Set.of(Map.of(UUID.randomUUID(), "id"))),
              "events[0].data.deep.inner",
              Map.of("deep", Map.of("inner", Map.of(true, "yes"))));
      refused.forEach(
          (field, data) -> {
            assertThatThrownBy(() -> store.append(List.of(Event.of("Keys", (Map<?, ?>) data))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith(field + ": map keys must be strings");
          });
      assertThatThrownBy(
              () ->
                  store.append(
                      List.of(Event.of("Keys").withMetadata(Map.of("m", Map.of(1, "one"))))))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageStartingWith("events[0].metadata.m: map keys must be strings");
      assertThat(store.head()).isZero();
    }
  }

  @Nested
  class Retries {

    private final UUID first = UUID.randomUUID();
    private final UUID second = UUID.randomUUID();

    private List<Event> order(String type, String customer, int amount) {
      return List.of(
          Event.of(type, Map.of("amount", amount)).withTags(customer).withId(first),
          Event.of("OrderLineAdded", Map.of("sku", "A-1")).withTags(customer).withId(second));
    }

    @Test
    void aRetryOfAStoredAppendGetsTheOriginalSuccessMarkedAsAReplayAndStoresNothing() {
      assertThat(store.append(order("OrderPlaced", "customer:1", 100))).isEqualTo(new Success(2));
      store.append(List.of(event("Later")));
      AppendResult retry = store.append(order("OrderPlaced", "customer:1", 100));
      assertThat(retry).isEqualTo(new Success(2, true));
      assertThat(store.read().toList()).hasSize(3);
    }

    @Test
    void aRetryOfAConditionalAppendIsAReplayEvenThoughItsOwnEventsNowMatchTheCondition() {
      AppendCondition condition = failIf(store.read().withTag("customer:1"));
      assertThat(store.append(order("OrderPlaced", "customer:1", 100), condition))
          .isEqualTo(new Success(2));
      assertThat(store.append(order("OrderPlaced", "customer:1", 100), condition))
          .isEqualTo(new Success(2, true));
    }

    @Test
    void anAppendRepeatingStoredIdsWithOtherContentIsADuplicateNamingTheDifference() {
      store.append(order("OrderPlaced", "customer:1", 100));
      assertThatThrownBy(() -> store.append(order("OrderCancelled", "customer:1", 100)))
          .isInstanceOf(DuplicateEventIdException.class)
          .hasMessageContaining("events[0]")
          .hasMessageContaining("with another type")
          .satisfies(e -> assertThat(((DuplicateEventIdException) e).eventId()).isEqualTo(first));
      assertThatThrownBy(() -> store.append(order("OrderPlaced", "customer:2", 100)))
          .hasMessageContaining("with other tags");
      assertThatThrownBy(() -> store.append(order("OrderPlaced", "customer:1", 200)))
          .hasMessageContaining("with other data");
      assertThat(store.read().toList()).hasSize(2);
    }

    @Test
    void aRetryWhoseNestedNumbersEqualTheStoredOnesAsValuesIsAReplayOnEveryEngine() {
      UUID id = UUID.randomUUID();
      assertThat(store.append(List.of(Event.of("Measured", Map.of("l", List.of(1))).withId(id))))
          .isEqualTo(new Success(1));
      // jsonb compares numbers by value: 1.0 inside a list is the stored 1.
      assertThat(store.append(List.of(Event.of("Measured", Map.of("l", List.of(1.0))).withId(id))))
          .isEqualTo(new Success(1, true));
      assertThatThrownBy(
              () ->
                  store.append(List.of(Event.of("Measured", Map.of("l", List.of(1.5))).withId(id))))
          .isInstanceOf(DuplicateEventIdException.class)
          .hasMessageContaining("with other data");
    }

    @Test
    void anAppendRepeatingOnlySomeStoredIdsOrInAnotherOrderIsADuplicate() {
      List<Event> original = order("OrderPlaced", "customer:1", 100);
      store.append(original);
      Event fresh = event("Fresh");
      assertThatThrownBy(() -> store.append(List.of(original.get(0), fresh)))
          .isInstanceOf(DuplicateEventIdException.class)
          .hasMessageContaining("events[1]")
          .hasMessageContaining("is not stored");
      assertThatThrownBy(() -> store.append(List.of(original.get(1), original.get(0))))
          .isInstanceOf(DuplicateEventIdException.class)
          .hasMessageContaining("not right after");
      // The log does not record where one append ends and the next begins: a contiguous part of a
      // stored append, repeated exactly, is answered with where those events are.
      assertThat(store.append(List.of(original.get(0)))).isEqualTo(new Success(1, true));
      assertThat(store.read().toList()).hasSize(2);
    }
  }

  @Nested
  class BadInput {

    private void assertNothingStored() {
      assertThat(store.head()).isEqualTo(1);
    }

    @BeforeEach
    void appendOne() {
      store.append(List.of(event("Existing")));
    }

    @Test
    void anEmptyOrNullListIsRejected() {
      assertThatThrownBy(() -> store.append(List.of()))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("events must not be empty");
      assertThatThrownBy(() -> store.append(null))
          .isInstanceOf(NullPointerException.class)
          .hasMessageContaining("events must not be null");
      assertNothingStored();
    }

    @Test
    void aNullEventIsRejectedWithItsIndex() {
      assertThatThrownBy(() -> store.append(Arrays.asList(event("A"), null)))
          .isInstanceOf(NullPointerException.class)
          .hasMessageContaining("events[1] must not be null");
      assertNothingStored();
    }

    @Test
    void badTypesAndTagsAreRejectedNamingTheField() {
      assertThatThrownBy(() -> Event.of(null)).hasMessageContaining("event type must not be null");
      assertThatThrownBy(() -> Event.of("  ")).hasMessageContaining("event type must not be blank");
      assertThatThrownBy(() -> Event.of("A").withTags("ok", null))
          .hasMessageContaining("event tags must not contain null");
      assertThatThrownBy(() -> Event.of("A").withTags(""))
          .hasMessageContaining("event tags must not contain a blank tag");
      assertThatThrownBy(() -> store.append(List.of(event("A"), Event.of("Bad\0Type"))))
          .hasMessageContaining("events[1].type");
      assertNothingStored();
    }

    @Test
    void aNullConditionIsRejected() {
      assertThatThrownBy(() -> store.append(List.of(event("A")), null))
          .hasMessageContaining("append(events)");
      assertNothingStored();
    }

    @Test
    void repeatedIdsInOneAppendAreRejected() {
      Event a = event("A");
      assertThatThrownBy(() -> store.append(List.of(a, event("B"), a.withTags("x"))))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("events[2].id repeats the id of events[0]");
      assertNothingStored();
    }

    @Test
    void anAlreadyStoredIdIsADuplicateEventIdException() {
      Event existing = store.read().toList().get(0);
      Event fresh = event("Fresh");
      assertThatThrownBy(
              () -> store.append(List.of(fresh, Event.of("Again").withId(existing.id()))))
          .isInstanceOf(DuplicateEventIdException.class)
          .hasMessageContaining(existing.id().toString())
          .satisfies(
              e -> assertThat(((DuplicateEventIdException) e).eventId()).isEqualTo(existing.id()));
      assertThatThrownBy(
              () ->
                  store.append(
                      List.of(Event.of("Again").withId(existing.id())),
                      failIf(store.read().withTag("none"))))
          .isInstanceOf(DuplicateEventIdException.class);
      assertNothingStored();
      assertThat(store.append(List.of(fresh))).isEqualTo(new Success(2));
    }

    @Test
    void dataThatCannotBeStoredIsRejectedNamingTheField() {
      class NotAPayload {
        final Object self = this;
      }
      assertThatThrownBy(
              () -> store.append(List.of(event("A"), Event.of("Odd", new NotAPayload()))))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("events[1].data")
          .hasMessageContaining("no registered payload class");
      assertThatThrownBy(
              () -> store.append(List.of(Event.of("Odd", Map.of("value", new NotAPayload())))))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("events[0].data.value");
      var cyclic = new HashMap<String, Object>();
      cyclic.put("self", List.of(cyclic));
      assertThatThrownBy(() -> store.append(List.of(Event.of("Cyclic", Map.of("nested", cyclic)))))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageStartingWith("events[0].data.nested")
          .hasMessageContaining("nested deeper than 1,000 levels");
      assertThatThrownBy(() -> store.append(List.of(Event.of("Nul", Map.of("text", "a\0b")))))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("U+0000");
      assertThatThrownBy(() -> store.append(List.of(Event.of("Half", Map.of("text", "a\uD800b")))))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("events[0].data")
          .hasMessageContaining("surrogate");
      assertThatThrownBy(() -> store.append(List.of(Event.of("Tagged").withTags("\uDC00"))))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("events[0].tags");
      assertNothingStored();
    }

    @Test
    void aTypedPayloadMustBeOfTheRegisteredClass() {
      EventStore typed =
          open(options -> options.register("CourseDefined", Data.CourseDefined.class));
      assertThatThrownBy(
              () -> typed.append(List.of(Event.of("CourseDefined", Map.of("courseId", "c1")))))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("events[0].data: event type 'CourseDefined' is registered to");
      assertNothingStored();
    }

    /** A shape, registered as the interface, without type information for Jackson. */
    sealed interface Shape permits Circle {}

    record Circle(double radius) implements Shape {}

    /** A class Jackson cannot construct: no default constructor, no creator. */
    static final class Opaque {
      private final int value;

      Opaque(int value, String unused) {
        this.value = value;
      }

      public int getValue() {
        return value;
      }
    }

    @Test
    void anAppendWhoseTypesAndTagsTogetherExceedTheAppendLimitIsRefused() {
      // 34 events of 1,000 tags of 1,000 characters: 34,000,000 characters, just over 32 Mi.
      List<Event> events =
          IntStream.range(0, 34)
              .mapToObj(i -> Event.of("Tagged").withTags(tags(i, 1_000)))
              .toList();
      assertThatThrownBy(() -> store.append(events))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("events: the types and tags of events[0..33] take")
          .hasMessageContaining("at most " + Event.MAX_APPEND_INDEXED_LENGTH);
      assertNothingStored();
      // A condition's types and tags count too.
      var condition = AppendCondition.failIf(store.read().withTag(tags(34, 1_000)));
      assertThatThrownBy(() -> store.append(events.subList(0, 33), condition))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("condition: its types and tags take 1000000 characters")
          .hasMessageContaining("at most " + Event.MAX_APPEND_INDEXED_LENGTH);
      assertNothingStored();
    }

    /** {@code count} distinct tags of 1,000 characters, the {@code set}th such set. */
    private static String[] tags(int set, int count) {
      String padding = "x".repeat(1_000 - 12);
      return IntStream.range(0, count)
          .mapToObj(i -> String.format("%06d%06d", set, i) + padding)
          .toArray(String[]::new);
    }

    @Test
    void anAppendWhoseDataTogetherExceedsTheAppendLimitIsRefused() {
      String text = "x".repeat(Event.MAX_JSON_LENGTH - 100);
      List<Event> events =
          IntStream.range(0, 3).mapToObj(i -> Event.of("Big", Map.of("text", text))).toList();
      assertThatThrownBy(() -> store.append(events))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("events: the data and metadata of events[0..2] take")
          .hasMessageContaining("at most " + Event.MAX_APPEND_JSON_LENGTH);
      assertNothingStored();
      // Two of them fit.
      assertThat(store.append(events.subList(0, 2))).isEqualTo(new Success(3));
    }

    @Test
    void aTypedPayloadThatWouldNotReadBackAsItselfIsRefused() {
      EventStore typed =
          open(
              options ->
                  options.register("ShapeAdded", Shape.class).register("Opaque", Opaque.class));
      assertThatThrownBy(() -> typed.append(List.of(Event.of("ShapeAdded", new Circle(1.0)))))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("events[0].data: the ")
          .hasMessageContaining("does not read back into " + Shape.class.getName());
      assertThatThrownBy(
              () -> typed.append(List.of(Event.of("Fine"), Event.of("Opaque", new Opaque(7, "x")))))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("events[1].data: the ")
          .hasMessageContaining("does not read back into " + Opaque.class.getName());
      assertNothingStored();
    }

    /** Its type id and a property of a subtype share a name: Jackson writes the key twice. */
    @JsonTypeInfo(use = JsonTypeInfo.Id.NAME, include = JsonTypeInfo.As.PROPERTY, property = "type")
    @JsonSubTypes(@JsonSubTypes.Type(value = Card.class, name = "card"))
    interface Payment {}

    record Card(String type, int amount) implements Payment {}

    @Test
    void aTypedPayloadWithARepeatedKeyIsRefused() {
      EventStore typed = open(options -> options.register("Paid", Payment.class));
      // Written {"type":"card","type":"visa","amount":5}; jsonb would keep {"type":"visa",...},
      // which names no subtype, and {"type":"card","amount":5} for the second, a Card(null, 5).
      for (Card card : List.of(new Card("visa", 5), new Card("card", 5))) {
        assertThatThrownBy(() -> typed.append(List.of(Event.of("Paid", card))))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessageStartingWith("events[0].data: ")
            .hasMessageContaining("Duplicate field 'type'");
      }
      assertNothingStored();
    }

    /** Reads its members only in the order they are written, as a hand-written reader may. */
    @JsonDeserialize(using = InWrittenOrder.Reader.class)
    record InWrittenOrder(int later, int a) {

      static final class Reader extends StdDeserializer<InWrittenOrder> {
        Reader() {
          super(InWrittenOrder.class);
        }

        @Override
        public InWrittenOrder deserialize(JsonParser json, DeserializationContext context)
            throws IOException {
          if (!"later".equals(json.nextFieldName())) {
            return context.reportInputMismatch(this, "\"later\" must come first");
          }
          int later = json.nextIntValue(0);
          json.nextFieldName();
          int a = json.nextIntValue(0);
          json.nextToken();
          return new InWrittenOrder(later, a);
        }
      }
    }

    @Test
    void aTypedPayloadThatReadsBackOnlyInItsWrittenKeyOrderIsRefused() {
      EventStore typed = open(options -> options.register("Ordered", InWrittenOrder.class));
      // jsonb keeps "a" before "later".
      assertThatThrownBy(() -> typed.append(List.of(Event.of("Ordered", new InWrittenOrder(1, 2)))))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("events[0].data: the ")
          .hasMessageContaining("does not read back into " + InWrittenOrder.class.getName());
      assertNothingStored();
    }
  }

  /**
   * Every limit of the codec and of PostgreSQL's jsonb and indexes, generated: a value just inside
   * the limit is stored, read back and found by a condition; one just outside is refused with an
   * IllegalArgumentException naming the field, and nothing is written.
   */
  @Nested
  class Limits {

    record Priced(BigDecimal amount) {}

    /**
     * One limit: {@code event} makes the event whose measured size is its argument; {@code
     * expected} is the data it reads back as (nested values come back as JSON types).
     */
    record Limit(
        String name,
        int limit,
        String field,
        java.util.function.IntFunction<Event> event,
        UnaryOperator<Object> expected) {

      Limit(String name, int limit, String field, java.util.function.IntFunction<Event> event) {
        this(name, limit, field, event, data -> data);
      }
    }

    /** Text of exactly {@code bytes} bytes in UTF-8, made of {@code unit} and ASCII to fill up. */
    static String utf8(int bytes, String unit) {
      int unitBytes = unit.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
      String text = unit.repeat(bytes / unitBytes) + "a".repeat(bytes % unitBytes);
      assertThat(text.getBytes(java.nio.charset.StandardCharsets.UTF_8)).hasSize(bytes);
      return text;
    }

    /** {@code value} inside {@code levels} levels of lists (or of maps). */
    static Object nested(int levels, boolean maps) {
      Object value = "leaf";
      for (int i = 0; i < levels; i++) {
        value = maps ? Map.of("k", value) : List.of(value);
      }
      return value;
    }

    static Map<String, Object> numbers(Object number) {
      return Map.of("n", List.of(number));
    }

    static List<Limit> limits() {
      var limits = new ArrayList<Limit>();
      for (String unit : List.of("T", "é", "€", "😀")) {
        limits.add(
            new Limit(
                "type of " + unit,
                Event.MAX_TYPE_BYTES,
                "events[0].type",
                n -> Event.of(utf8(n, unit))));
        limits.add(
            new Limit(
                "tag of " + unit,
                Event.MAX_TAG_BYTES,
                "events[0].tags",
                n -> Event.of("Tagged").withTags(utf8(n, unit))));
      }
      for (boolean maps : new boolean[] {false, true}) {
        String kind = maps ? "maps" : "lists";
        limits.add(
            new Limit(
                "nesting of " + kind + " in data",
                Event.MAX_NESTING_DEPTH,
                "events[0].data",
                n -> Event.of("Deep", Map.of("v", nested(n - 1, maps)))));
        limits.add(
            new Limit(
                "nesting of " + kind + " in metadata",
                Event.MAX_NESTING_DEPTH,
                "events[0].metadata",
                n -> Event.of("Deep").withMetadata(Map.of("v", nested(n - 1, maps)))));
      }
      limits.add(
          new Limit(
              "digits of a nested BigInteger",
              Event.MAX_NUMBER_LENGTH,
              "events[0].data",
              n -> Event.of("Number", numbers(new BigInteger("9".repeat(n))))));
      limits.add(
          new Limit(
              "digits of a nested negative long",
              Event.MAX_NUMBER_LENGTH,
              "events[0].data",
              n -> Event.of("Number", numbers(new BigInteger("-" + "9".repeat(n - 1))))));
      limits.add(
          new Limit(
              "a nested BigDecimal with an exponent, written out",
              Event.MAX_NUMBER_LENGTH,
              "events[0].data",
              n -> Event.of("Number", numbers(new BigDecimal("1E+" + (n - 1)))),
              data -> numbers(BigInteger.TEN.pow(Event.MAX_NUMBER_LENGTH - 1))));
      limits.add(
          new Limit(
              "a nested small BigDecimal, written out",
              Event.MAX_NUMBER_LENGTH,
              "events[0].data",
              n -> Event.of("Number", numbers(new BigDecimal("1E-" + (n - 2)))),
              data -> numbers(0.0)));
      limits.add(
          new Limit(
              "a BigDecimal in a typed payload, written out",
              Event.MAX_NUMBER_LENGTH,
              "events[0].data",
              n -> Event.of("Priced", new Priced(new BigDecimal("1E+" + (n - 1)))),
              data -> new Priced(new BigDecimal(BigInteger.TEN.pow(Event.MAX_NUMBER_LENGTH - 1)))));
      limits.add(
          new Limit(
              "JSON of data",
              Event.MAX_JSON_LENGTH,
              "events[0].data",
              n -> Event.of("Large", Map.of("s", "x".repeat(n - "{\"s\":\"\"}".length())))));
      limits.add(
          new Limit(
              "JSON of metadata",
              Event.MAX_JSON_LENGTH,
              "events[0].metadata",
              n ->
                  Event.of("Large")
                      .withMetadata(
                          Map.of("s", "x".repeat(n - "{\"metadata\":{\"s\":\"\"}}".length())))));
      return limits;
    }

    @Test
    void whatIsInsideEachLimitReadsBackAndWhatIsOutsideIsRefused() {
      EventStore typed = open(options -> options.register("Priced", Priced.class));
      int index = 0;
      for (Limit limit : limits()) {
        String tag = "limit:" + index++;
        long head = typed.head();
        Event outside = limit.event().apply(limit.limit() + 1).withTags(tagsWith(limit, tag, 1));
        assertThatThrownBy(() -> typed.append(List.of(outside)))
            .as(limit.name() + " + 1")
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessageStartingWith(limit.field());
        assertThat(typed.head()).as(limit.name() + " + 1: nothing written").isEqualTo(head);

        Event inside = limit.event().apply(limit.limit()).withTags(tagsWith(limit, tag, 0));
        typed.append(List.of(inside));
        assertThat(typed.append(List.of(inside)))
            .as(limit.name() + ", retried")
            .isEqualTo(new Success(head + 1, true));
        Event expected =
            new Event(
                inside.id(),
                inside.type(),
                limit.expected().apply(inside.data()),
                inside.tags(),
                inside.metadata());
        assertThat(typed.read().after(head).toList()).as(limit.name()).containsExactly(expected);
        var failure =
            (Failure)
                typed.append(
                    List.of(event("Probe")), failIf(typed.read().withTag(tag)).after(head));
        assertThat(failure.conflictingEvents())
            .as(limit.name() + ", as a conflict")
            .extracting(SequencedEvent::event)
            .containsExactly(expected);
      }
    }

    /** The limit's own tag (for the tag limits) plus a tag to find the event by. */
    private static List<String> tagsWith(Limit limit, String tag, int beyond) {
      if (limit.name().startsWith("tag of ")) {
        return List.of(tag, utf8(limit.limit() + beyond, limit.name().substring(7)));
      }
      return List.of(tag);
    }

    @Test
    void typesAndTagsInQueriesFollowTheSameLimits() {
      String longest = utf8(Event.MAX_TAG_BYTES, "€");
      store.append(List.of(event("Tagged", longest)));
      assertThat(store.read().withTag(longest).toList()).hasSize(1);
      assertThat(store.read().ofType(utf8(Event.MAX_TYPE_BYTES, "é")).toList()).isEmpty();
      assertThatThrownBy(() -> store.read().withTag(utf8(Event.MAX_TAG_BYTES + 1, "€")))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("tag")
          .hasMessageContaining("1,001 bytes in UTF-8; at most 1,000");
      assertThatThrownBy(() -> store.read().ofType(utf8(Event.MAX_TYPE_BYTES + 1, "😀")))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("type")
          .hasMessageContaining("1,001 bytes in UTF-8; at most 1,000");
    }

    @Test
    void keysAndStringsOfAnyLengthWithinTheJsonLimitReadBack() {
      // Jackson's reader refused keys over 50,000 and strings over 20,000,000 characters by
      // default.
      String key = "k".repeat(50_001);
      Event event =
          Event.of("Long", Map.of(key, 1, "nested", Map.of(key, List.of(key))))
              .withMetadata(Map.of(key, key));
      store.append(List.of(event));
      assertThat(store.read().toList()).containsExactly(event);
      assertThat(store.append(List.of(event))).isEqualTo(new Success(1, true));
    }
  }

  /** Queries are checked like events, before they reach an engine. */
  @Nested
  class Queries {

    @Test
    void textTheDatabaseCannotCompareIsRefusedInQueries() {
      // Sent to PostgreSQL, half a surrogate pair became '?' and matched this event.
      store.append(List.of(event("Tagged", "?"), event("?")));
      for (String bad : List.of("a\0b", "\uD800", "x\uDC00", "\uDC00\uD800")) {
        assertThatThrownBy(() -> store.read().withTag(bad))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessageStartingWith("tag");
        assertThatThrownBy(() -> store.read().ofType(bad))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessageStartingWith("type");
        assertThatThrownBy(() -> new Query.Criterion(Set.of(), Set.of("ok", bad), 0))
            .isInstanceOf(IllegalArgumentException.class);
      }
      assertThat(store.head()).isEqualTo(2);
    }

    @Test
    void aQueryMayHaveTensOfThousandsOfCriteria() {
      // More criteria than the 65,535 bind parameters one statement may have, three per criterion.
      int criteria = 25_000;
      store.append(
          List.of(
              event("A", "n:7"), event("B", "n:24999"), event("C", "other"), event("A", "n:8")));
      var scopes = new ArrayList<Query.Criterion>();
      for (int i = 0; i < criteria; i++) {
        scopes.add(new Query.Criterion(Set.of(), Set.of("n:" + i), 0));
      }
      Query query = new Query(scopes);
      Read read = union(0, criteria);
      assertThat(read.query()).isEqualTo(query);
      assertThat(read.sequenced().map(SequencedEvent::position)).containsExactly(1L, 2L, 4L);
      assertThat(read.backwards().limit(2).sequenced().map(SequencedEvent::position))
          .containsExactly(4L, 2L);
      var failure = (Failure) store.append(List.of(event("D")), failIf(query));
      assertThat(failure.conflictingEvents())
          .extracting(SequencedEvent::position)
          .containsExactly(1L, 2L, 4L);
      assertThat(store.append(List.of(event("D")), failIf(query).after(4)))
          .isEqualTo(new Success(5));
    }

    /** Scopes of tags n:from to n:to (exclusive), joined with or() in a balanced tree. */
    private Read union(int from, int to) {
      if (to - from == 1) {
        return store.read().withTag("n:" + from);
      }
      int middle = (from + to) >>> 1;
      return union(from, middle).or(union(middle, to));
    }
  }

  /**
   * The store's reads against a reference written straight from the specification, on a random log
   * and random queries (fixed seed, so a failure replays).
   */
  @Test
  void readsAgreeWithTheSpecificationOnRandomQueries() {
    long seed = 5757L;
    var random = new Random(seed);
    String[] types = {"A", "B", "C"};
    String[] tags = {"t1", "t2", "t3", "t4"};
    var log = new ArrayList<SequencedEvent>();
    for (int batch = 0; batch < 30; batch++) {
      var events = new ArrayList<Event>();
      for (int i = random.nextInt(10) + 1; i > 0; i--) {
        var eventTags = new ArrayList<String>();
        for (String tag : tags) {
          if (random.nextInt(3) == 0) {
            eventTags.add(tag);
          }
        }
        events.add(Event.of(types[random.nextInt(types.length)]).withTags(eventTags));
      }
      long last = store.append(events).position();
      for (int i = 0; i < events.size(); i++) {
        log.add(new SequencedEvent(last - events.size() + 1 + i, events.get(i)));
      }
    }
    EventStore batched = open(options -> options.readBatchSize(7));
    for (int round = 0; round < 300; round++) {
      Read read = batched.read();
      var criteria = new ArrayList<Query.Criterion>();
      // Now and then a union larger than the ones the database reads with a statement of their own.
      int criterionCount = round % 10 == 9 ? random.nextInt(30) + 10 : random.nextInt(3) + 1;
      for (int c = 0; c < criterionCount; c++) {
        Read criterion = batched.read();
        var criterionTypes = new ArrayList<String>();
        var criterionTags = new ArrayList<String>();
        for (String type : types) {
          if (random.nextInt(3) == 0) {
            criterionTypes.add(type);
            criterion = criterion.ofType(type);
          }
        }
        for (String tag : tags) {
          if (random.nextInt(4) == 0) {
            criterionTags.add(tag);
            criterion = criterion.withTag(tag);
          }
        }
        long after = random.nextInt(4) == 0 ? random.nextInt(log.size()) : 0;
        criterion = criterion.after(after);
        criteria.add(
            new Query.Criterion(Set.copyOf(criterionTypes), Set.copyOf(criterionTags), after));
        read = c == 0 ? criterion : read.or(criterion);
      }
      boolean backwards = random.nextBoolean();
      int limit = random.nextInt(3) == 0 ? random.nextInt(20) : -1;
      var expected = new ArrayList<Long>();
      for (SequencedEvent stored : log) {
        for (Query.Criterion c : criteria) {
          if (stored.position() > c.after()
              && (c.types().isEmpty() || c.types().contains(stored.event().type()))
              && stored.event().tags().containsAll(c.tags())) {
            expected.add(stored.position());
            break;
          }
        }
      }
      if (backwards) {
        Collections.reverse(expected);
        read = read.backwards();
      }
      if (limit >= 0) {
        read = read.limit(limit);
      }
      List<Long> want =
          limit >= 0 ? expected.subList(0, Math.min(limit, expected.size())) : expected;
      assertThat(read.sequenced().map(SequencedEvent::position).toList())
          .as("seed %d round %d: %s", seed, round, read)
          .containsExactlyElementsOf(want);
    }
  }
}
