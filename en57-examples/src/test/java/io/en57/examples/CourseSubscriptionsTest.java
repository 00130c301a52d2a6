package io.en57.examples;

import static io.en57.examples.CourseSubscriptions.MAX_COURSES_PER_STUDENT;
import static org.assertj.core.api.Assertions.assertThat;

import io.en57.EventStore;
import io.en57.decisions.Outcome;
import io.en57.examples.CourseSubscriptions.Rejection;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

@Tag("postgres")
class CourseSubscriptionsTest {

  private static ExampleStore database;
  private EventStore store;
  private CourseSubscriptions courses;

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
    store = database.emptyStore(CourseSubscriptions::registerEvents);
    courses = new CourseSubscriptions(store);
  }

  @Test
  void aCourseIsDefinedOnce() {
    assertThat(courses.defineCourse("c1", 10)).isInstanceOf(Outcome.Appended.class);
    assertThat(courses.defineCourse("c1", 20))
        .isEqualTo(new Outcome.Rejected<>(Rejection.COURSE_ALREADY_EXISTS, 0));
  }

  @Test
  void theCapacityOfAnExistingCourseChanges() {
    assertThat(courses.changeCapacity("c1", 5))
        .isEqualTo(new Outcome.Rejected<>(Rejection.COURSE_NOT_FOUND, 0));
    courses.defineCourse("c1", 10);
    assertThat(courses.changeCapacity("c1", 10)).isInstanceOf(Outcome.NothingToAppend.class);
    assertThat(courses.changeCapacity("c1", 1)).isInstanceOf(Outcome.Appended.class);
    courses.subscribe("s1", "c1");
    assertThat(courses.subscribe("s2", "c1"))
        .isEqualTo(new Outcome.Rejected<>(Rejection.COURSE_FULL, 0));
  }

  @Test
  void aStudentSubscribesToAnExistingCourseOnce() {
    assertThat(courses.subscribe("s1", "c1"))
        .isEqualTo(new Outcome.Rejected<>(Rejection.COURSE_NOT_FOUND, 0));
    courses.defineCourse("c1", 10);
    assertThat(courses.subscribe("s1", "c1")).isInstanceOf(Outcome.Appended.class);
    assertThat(courses.subscribe("s1", "c1"))
        .isEqualTo(new Outcome.Rejected<>(Rejection.ALREADY_SUBSCRIBED, 0));
  }

  @Test
  void aFullCourseTakesNoMoreStudents() {
    courses.defineCourse("c1", 2);
    courses.subscribe("s1", "c1");
    courses.subscribe("s2", "c1");
    assertThat(courses.subscribe("s3", "c1"))
        .isEqualTo(new Outcome.Rejected<>(Rejection.COURSE_FULL, 0));
    courses.changeCapacity("c1", 3);
    assertThat(courses.subscribe("s3", "c1")).isInstanceOf(Outcome.Appended.class);
  }

  @Test
  void aStudentHoldsAtMostFiveCourses() {
    for (int c = 0; c <= MAX_COURSES_PER_STUDENT; c++) {
      courses.defineCourse("c" + c, 10);
    }
    for (int c = 0; c < MAX_COURSES_PER_STUDENT; c++) {
      assertThat(courses.subscribe("s1", "c" + c)).isInstanceOf(Outcome.Appended.class);
    }
    assertThat(courses.subscribe("s1", "c" + MAX_COURSES_PER_STUDENT))
        .isEqualTo(new Outcome.Rejected<>(Rejection.TOO_MANY_COURSES, 0));
  }

  @Test
  void studentsRacingForTheLastSeatsOnTwoNodesNeverOverfillACourse() throws Exception {
    var nodes = List.of(store, database.node(CourseSubscriptions::registerEvents));
    int conflicts = 0;
    for (int round = 0; round < 5; round++) {
      String course = "race" + round;
      courses.defineCourse(course, 3);
      var tasks = new ArrayList<Callable<Outcome<Rejection>>>();
      for (int s = 0; s < 10; s++) {
        var desk = new CourseSubscriptions(nodes.get(s % 2));
        String student = "s" + round + "-" + s;
        tasks.add(() -> desk.subscribe(student, course));
      }
      List<Outcome<Rejection>> outcomes = ExampleStore.race(tasks);

      assertThat(outcomes).filteredOn(o -> o instanceof Outcome.Appended).hasSize(3);
      assertThat(outcomes)
          .filteredOn(o -> o instanceof Outcome.Rejected)
          .extracting(o -> ((Outcome.Rejected<Rejection>) o).reason())
          .containsOnly(Rejection.COURSE_FULL)
          .hasSize(7);
      assertThat(store.read().ofType("StudentSubscribedToCourse").withTag("course:" + course))
          .hasSize(3);
      conflicts += outcomes.stream().mapToInt(Outcome::conflicts).sum();
    }
    // The deciders did race (or this proves nothing).
    assertThat(conflicts).isPositive();
  }

  @Test
  void oneStudentRacingIntoManyCoursesNeverExceedsTheLimit() throws Exception {
    var nodes = List.of(store, database.node(CourseSubscriptions::registerEvents));
    var tasks = new ArrayList<Callable<Outcome<Rejection>>>();
    for (int c = 0; c < 10; c++) {
      courses.defineCourse("c" + c, 10);
      var desk = new CourseSubscriptions(nodes.get(c % 2));
      String course = "c" + c;
      tasks.add(() -> desk.subscribe("s1", course));
    }
    List<Outcome<Rejection>> outcomes = ExampleStore.race(tasks);

    assertThat(outcomes)
        .filteredOn(o -> o instanceof Outcome.Appended)
        .hasSize(MAX_COURSES_PER_STUDENT);
    assertThat(store.read().withTag("student:s1")).hasSize(MAX_COURSES_PER_STUDENT);
  }
}
