package io.en57.examples;

import io.en57.Event;
import io.en57.EventStore;
import io.en57.EventStoreBuilder;
import io.en57.decisions.Decision;
import io.en57.decisions.DecisionModel;
import io.en57.decisions.DecisionProjection;
import io.en57.decisions.Outcome;
import java.util.HashSet;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;

/**
 * An event-sourced aggregate on DCB: a course whose state is folded from every event tagged with
 * it, and whose commands are methods of that state. The aggregate is one projection, its tag is the
 * consistency boundary, and the position of its last event is its version: the append fails if any
 * event of the course was stored since, and the command runs again on the new state. (The other
 * examples show where a boundary narrower or wider than an aggregate serves better.)
 *
 * <p>Thread-safe.
 */
public final class CourseAggregates {

  /** A course was defined. Tagged {@code course:<id>}. */
  public record CourseDefined(String courseId, String title, int capacity) {}

  /** A course was renamed. Tagged {@code course:<id>}. */
  public record CourseRenamed(String courseId, String title) {}

  /** A course's capacity changed. Tagged {@code course:<id>}. */
  public record CourseCapacityChanged(String courseId, int capacity) {}

  /** A student joined a course. Tagged {@code course:<id>}. */
  public record StudentJoinedCourse(String courseId, String studentId) {}

  /** Why a command was turned down. */
  public enum Rejection {
    COURSE_ALREADY_EXISTS,
    COURSE_NOT_FOUND,
    CAPACITY_BELOW_STUDENTS,
    COURSE_FULL,
    ALREADY_JOINED
  }

  /**
   * The aggregate: a course as its events left it. Its command methods decide; they never change
   * it.
   */
  public record Course(String courseId, String title, int capacity, Set<String> students) {

    /** Copies the students. */
    public Course {
      students = Set.copyOf(students);
    }

    /** Renames the course; nothing to do under the same title. */
    Decision<Rejection> rename(String newTitle) {
      return title.equals(newTitle)
          ? Decision.nothing()
          : Decision.append(event("CourseRenamed", new CourseRenamed(courseId, newTitle)));
    }

    /** Changes the capacity, never below the students already in. */
    Decision<Rejection> changeCapacity(int newCapacity) {
      if (newCapacity < students.size()) {
        return Decision.reject(Rejection.CAPACITY_BELOW_STUDENTS);
      }
      return newCapacity == capacity
          ? Decision.nothing()
          : Decision.append(
              event("CourseCapacityChanged", new CourseCapacityChanged(courseId, newCapacity)));
    }

    /** Lets a student join, if there is a seat. */
    Decision<Rejection> join(String studentId) {
      if (students.contains(studentId)) {
        return Decision.reject(Rejection.ALREADY_JOINED);
      }
      if (students.size() >= capacity) {
        return Decision.reject(Rejection.COURSE_FULL);
      }
      return Decision.append(
          event("StudentJoinedCourse", new StudentJoinedCourse(courseId, studentId)));
    }

    private Course renamed(CourseRenamed renamed) {
      return new Course(courseId, renamed.title(), capacity, students);
    }

    private Course resized(CourseCapacityChanged changed) {
      return new Course(courseId, title, changed.capacity(), students);
    }

    private Course joined(StudentJoinedCourse joined) {
      var more = new HashSet<>(students);
      more.add(joined.studentId());
      return new Course(courseId, title, capacity, more);
    }

    private Event event(String type, Object data) {
      return Event.of(type, data).withTags(courseTag(courseId));
    }
  }

  private final EventStore store;

  /** Handles the commands on {@code store}, made with {@link #registerEvents}. */
  public CourseAggregates(EventStore store) {
    this.store = Objects.requireNonNull(store, "store must not be null");
  }

  /** Registers this example's payload classes. */
  public static EventStoreBuilder registerEvents(EventStoreBuilder builder) {
    return builder
        .register("CourseDefined", CourseDefined.class)
        .register("CourseRenamed", CourseRenamed.class)
        .register("CourseCapacityChanged", CourseCapacityChanged.class)
        .register("StudentJoinedCourse", StudentJoinedCourse.class);
  }

  /** Loads the course, if it exists: the aggregate's state after all its events. */
  public Optional<Course> load(String courseId) {
    DecisionProjection<Optional<Course>> course = aggregate(courseId);
    return DecisionModel.of(course).read(store).get(course);
  }

  /** Defines a course, unless it exists. */
  public Outcome<Rejection> define(String courseId, String title, int capacity) {
    DecisionProjection<Optional<Course>> course = aggregate(courseId);
    return DecisionModel.of(course)
        .execute(
            store,
            state ->
                state.get(course).isPresent()
                    ? Decision.reject(Rejection.COURSE_ALREADY_EXISTS)
                    : Decision.append(
                        Event.of("CourseDefined", new CourseDefined(courseId, title, capacity))
                            .withTags(courseTag(courseId))));
  }

  /** Renames a course. */
  public Outcome<Rejection> rename(String courseId, String title) {
    return update(courseId, course -> course.rename(title));
  }

  /** Changes a course's capacity. */
  public Outcome<Rejection> changeCapacity(String courseId, int capacity) {
    return update(courseId, course -> course.changeCapacity(capacity));
  }

  /** Lets a student join a course. */
  public Outcome<Rejection> join(String courseId, String studentId) {
    return update(courseId, course -> course.join(studentId));
  }

  /** Loads the aggregate, runs the command on it, appends its events at the aggregate's version. */
  private Outcome<Rejection> update(
      String courseId, Function<Course, Decision<Rejection>> command) {
    DecisionProjection<Optional<Course>> course = aggregate(courseId);
    return DecisionModel.of(course)
        .execute(
            store,
            state ->
                state
                    .get(course)
                    .map(command)
                    .orElseGet(() -> Decision.reject(Rejection.COURSE_NOT_FOUND)));
  }

  /** Every event of the course, folded into the aggregate. */
  private static DecisionProjection<Optional<Course>> aggregate(String courseId) {
    return DecisionProjection.<Optional<Course>>startingWith(Optional.empty())
        .on(
            "CourseDefined",
            CourseDefined.class,
            (course, defined) ->
                Optional.of(new Course(courseId, defined.title(), defined.capacity(), Set.of())))
        .on("CourseRenamed", CourseRenamed.class, (course, e) -> course.map(c -> c.renamed(e)))
        .on(
            "CourseCapacityChanged",
            CourseCapacityChanged.class,
            (course, e) -> course.map(c -> c.resized(e)))
        .on(
            "StudentJoinedCourse",
            StudentJoinedCourse.class,
            (course, e) -> course.map(c -> c.joined(e)))
        .withTag(courseTag(courseId));
  }

  private static String courseTag(String courseId) {
    return "course:" + courseId;
  }
}
