package io.en57.decisions;

import static io.en57.AppendCondition.failIf;
import static org.assertj.core.api.Assertions.assertThat;

import io.en57.AppendResult;
import io.en57.Event;
import io.en57.EventStore;
import io.en57.Query;
import io.en57.SequencedEvent;
import io.en57.testing.TestDatabases;
import io.en57.testing.TestDatabases.TestDatabase;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The README's "Decisions" examples, run against PostgreSQL. {@code ReadmeExamplesAreTestedTest}
 * checks that each of them appears here verbatim.
 */
@Tag("postgres")
class DecisionsReadmeExamplesTest {

  record CourseDefined(String courseId, int capacity) {}

  record CourseCapacityChanged(String courseId, int capacity) {}

  private static TestDatabase database;
  private EventStore store;

  @BeforeAll
  static void createDatabase() {
    database = TestDatabases.createMigrated();
  }

  @AfterAll
  static void dropDatabase() {
    database.close();
  }

  @BeforeEach
  void openStore() {
    database.emptyLog();
    store =
        EventStore.builder()
            .register("CourseDefined", CourseDefined.class)
            .register("CourseCapacityChanged", CourseCapacityChanged.class)
            .forUrl(database.jdbcUrl());
    store.append(
        List.of(Event.of("CourseDefined", new CourseDefined("c1", 2)).withTags("course:c1")));
  }

  @AfterEach
  void closeStore() {
    store.close();
  }

  @Test
  void readByQuery() {
    Query course =
        store.read().ofType("CourseDefined", "StudentSubscribed").withTag("course:c1").query();

    List<SequencedEvent> events;
    try (Stream<SequencedEvent> read = store.read(course).sequenced()) {
      events = read.toList();
    }
    long lastSeen = events.isEmpty() ? 0 : events.get(events.size() - 1).position();
    AppendResult result =
        store.append(
            List.of(Event.of("StudentSubscribed").withTags("course:c1", "student:s1")),
            failIf(course).after(lastSeen));

    assertThat(events).hasSize(1);
    assertThat(result).isInstanceOf(AppendResult.Success.class);
  }

  /** The projections of the course-subscription decision, as the README defines them. */
  private final class CourseDecision {
    DecisionProjection<Integer> capacity =
        DecisionProjection.startingWith(0)
            .on("CourseDefined", CourseDefined.class, (seats, defined) -> defined.capacity())
            .on(
                "CourseCapacityChanged",
                CourseCapacityChanged.class,
                (seats, changed) -> changed.capacity())
            .withTag("course:c1");
    DecisionProjection<Integer> subscriptions =
        DecisionProjection.startingWith(0)
            .on("StudentSubscribed", (count, event) -> count + 1)
            .withTag("course:c1");
    DecisionProjection<Integer> coursesOfStudent =
        DecisionProjection.startingWith(0)
            .on("StudentSubscribed", (count, event) -> count + 1)
            .withTag("student:s1");
  }

  @Test
  void projectionsAndADecisionModel() {
    var decision = new CourseDecision();
    var capacity = decision.capacity;
    var subscriptions = decision.subscriptions;
    var coursesOfStudent = decision.coursesOfStudent;
    Event subscribed = Event.of("StudentSubscribed").withTags("course:c1", "student:s1");

    DecisionModel model = DecisionModel.of(capacity, subscriptions, coursesOfStudent);
    DecisionState state = model.read(store);
    if (state.get(subscriptions) < state.get(capacity) && state.get(coursesOfStudent) < 5) {
      store.append(List.of(subscribed), state.condition());
    }

    assertThat(state.position()).isEqualTo(1);
    assertThat(store.read().withTag("student:s1").toList()).hasSize(1);
    assertThat(model.query().criteria()).hasSize(3);
  }

  @Test
  void lastEventOnly() {
    store.append(List.of(Event.of("InvoiceCreated", Map.of("number", 41))));
    store.append(List.of(Event.of("InvoiceCreated", Map.of("number", 42))));

    DecisionProjection<Integer> nextInvoiceNumber =
        DecisionProjection.startingWith(1)
            .on(
                "InvoiceCreated",
                (next, event) -> (Integer) ((Map<?, ?>) event.data()).get("number") + 1)
            .lastEventOnly();

    assertThat(DecisionModel.of(nextInvoiceNumber).read(store).get(nextInvoiceNumber))
        .isEqualTo(43);
  }

  @Test
  void executeWithRetry() {
    var decision = new CourseDecision();
    var capacity = decision.capacity;
    var subscriptions = decision.subscriptions;
    var coursesOfStudent = decision.coursesOfStudent;
    DecisionModel model = DecisionModel.of(capacity, subscriptions, coursesOfStudent);
    store.append(List.of(Event.of("StudentSubscribed").withTags("course:c1", "student:s0")));

    Outcome<String> outcome =
        model.execute(
            store,
            state -> {
              if (state.get(subscriptions) >= state.get(capacity)) {
                return Decision.reject("course full");
              }
              if (state.get(coursesOfStudent) >= 5) {
                return Decision.reject("too many courses");
              }
              return Decision.append(
                  Event.of("StudentSubscribed").withTags("course:c1", "student:s1"));
            });

    if (outcome instanceof Outcome.Rejected<String> rejected) {
      System.out.println("not subscribed: " + rejected.reason());
    }

    assertThat(outcome).isEqualTo(new Outcome.Appended<String>(3, false, 0));
  }

  @Test
  void executeWithARetryPolicy() {
    var decision = new CourseDecision();
    DecisionModel model = DecisionModel.of(decision.capacity, decision.subscriptions);
    Decider<String> decider =
        state ->
            state.get(decision.subscriptions) < state.get(decision.capacity)
                ? Decision.append(Event.of("StudentSubscribed").withTags("course:c1", "student:s1"))
                : Decision.reject("course full");

    RetryPolicy patient =
        RetryPolicy.defaults()
            .withMaxAttempts(5)
            .withBackoff(Duration.ofMillis(2), Duration.ofMillis(50));
    Outcome<String> outcome = model.execute(store, patient, decider);

    assertThat(outcome).isEqualTo(new Outcome.Appended<String>(2, false, 0));
  }
}
