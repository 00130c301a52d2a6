package io.en57.examples;

import static org.assertj.core.api.Assertions.assertThat;

import io.en57.EventStore;
import io.en57.decisions.Outcome;
import io.en57.examples.CourseAggregates.Course;
import io.en57.examples.CourseAggregates.Rejection;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

@Tag("postgres")
class CourseAggregatesTest {

  private static ExampleStore database;
  private EventStore store;
  private CourseAggregates courses;

  @BeforeAll
  static void createDatabase() {
    database = new ExampleStore();
  }

  @AfterAll
  static void dropDatabase() {
    database.close();
  }

  @BeforeEach
  void emptyStore() {
    store = database.emptyStore(CourseAggregates::registerEvents);
    courses = new CourseAggregates(store);
  }

  @Test
  void theAggregateIsFoldedFromItsEvents() {
    courses.define("c1", "DCB", 2);
    courses.rename("c1", "Dynamic Consistency Boundaries");
    courses.join("c1", "s1");
    courses.changeCapacity("c1", 5);

    assertThat(courses.load("c1"))
        .contains(new Course("c1", "Dynamic Consistency Boundaries", 5, Set.of("s1")));
    assertThat(courses.load("c2")).isEmpty();
  }

  @Test
  void commandsKeepTheAggregatesRules() {
    assertThat(courses.join("c1", "s1"))
        .isEqualTo(new Outcome.Rejected<>(Rejection.COURSE_NOT_FOUND, 0));
    courses.define("c1", "DCB", 1);
    assertThat(courses.define("c1", "DCB", 1))
        .isEqualTo(new Outcome.Rejected<>(Rejection.COURSE_ALREADY_EXISTS, 0));
    assertThat(courses.join("c1", "s1")).isInstanceOf(Outcome.Appended.class);
    assertThat(courses.join("c1", "s1"))
        .isEqualTo(new Outcome.Rejected<>(Rejection.ALREADY_JOINED, 0));
    assertThat(courses.join("c1", "s2"))
        .isEqualTo(new Outcome.Rejected<>(Rejection.COURSE_FULL, 0));
    assertThat(courses.changeCapacity("c1", 0))
        .isEqualTo(new Outcome.Rejected<>(Rejection.CAPACITY_BELOW_STUDENTS, 0));
    assertThat(courses.rename("c1", "DCB")).isInstanceOf(Outcome.NothingToAppend.class);
  }

  @Test
  void concurrentCommandsOnTwoNodesRunOneAfterTheOtherOnTheAggregate() throws Exception {
    var nodes = List.of(store, database.node(CourseAggregates::registerEvents));
    courses.define("c1", "DCB", 3);
    var tasks = new ArrayList<Callable<Outcome<Rejection>>>();
    for (int s = 0; s < 10; s++) {
      var desk = new CourseAggregates(nodes.get(s % 2));
      String student = "s" + s;
      tasks.add(() -> desk.join("c1", student));
    }
    var renamer = new CourseAggregates(nodes.get(1));
    tasks.add(() -> renamer.rename("c1", "Dynamic Consistency Boundaries"));
    List<Outcome<Rejection>> outcomes = ExampleStore.race(tasks);

    Course course = courses.load("c1").orElseThrow();
    assertThat(course.students()).hasSize(3);
    assertThat(course.title()).isEqualTo("Dynamic Consistency Boundaries");
    assertThat(outcomes.subList(0, 10))
        .filteredOn(o -> o instanceof Outcome.Rejected)
        .extracting(o -> ((Outcome.Rejected<Rejection>) o).reason())
        .containsOnly(Rejection.COURSE_FULL)
        .hasSize(7);
    assertThat(outcomes.get(10)).isInstanceOf(Outcome.Appended.class);
    // Every command conflicts with every other on the aggregate: they did race, and retried.
    assertThat(outcomes.stream().mapToInt(Outcome::conflicts).sum()).isPositive();
  }
}
