package io.en57.examples;

import io.en57.Event;
import io.en57.EventStore;
import io.en57.EventStoreBuilder;
import io.en57.decisions.Decision;
import io.en57.decisions.DecisionModel;
import io.en57.decisions.DecisionProjection;
import io.en57.decisions.Outcome;
import java.util.Objects;
import java.util.Optional;

/**
 * Course subscriptions: a course has a capacity that may change, and a student may hold at most
 * {@value #MAX_COURSES_PER_STUDENT} courses. The decision to subscribe spans two entities, the
 * course and the student, with no aggregate owning both: its consistency boundary is exactly the
 * events its projections read.
 *
 * <p>Thread-safe.
 */
public final class CourseSubscriptions {

  /** Courses one student may hold. */
  public static final int MAX_COURSES_PER_STUDENT = 5;

  /** A course was defined. Tagged {@code course:<id>}. */
  public record CourseDefined(String courseId, int capacity) {}

  /** A course's capacity changed. Tagged {@code course:<id>}. */
  public record CourseCapacityChanged(String courseId, int newCapacity) {}

  /** A student took a seat. Tagged {@code course:<id>} and {@code student:<id>}. */
  public record StudentSubscribedToCourse(String studentId, String courseId) {}

  /** Why a command was turned down. */
  public enum Rejection {
    COURSE_ALREADY_EXISTS,
    COURSE_NOT_FOUND,
    ALREADY_SUBSCRIBED,
    COURSE_FULL,
    TOO_MANY_COURSES
  }

  private final EventStore store;

  /** Handles the commands on {@code store}, made with {@link #registerEvents}. */
  public CourseSubscriptions(EventStore store) {
    this.store = Objects.requireNonNull(store, "store must not be null");
  }

  /** Registers this example's payload classes. */
  public static EventStoreBuilder registerEvents(EventStoreBuilder builder) {
    return builder
        .register("CourseDefined", CourseDefined.class)
        .register("CourseCapacityChanged", CourseCapacityChanged.class)
        .register("StudentSubscribedToCourse", StudentSubscribedToCourse.class);
  }

  /** Defines a course, unless one with that id exists. */
  public Outcome<Rejection> defineCourse(String courseId, int capacity) {
    DecisionProjection<Optional<Integer>> capacityOfCourse = capacity(courseId);
    return DecisionModel.of(capacityOfCourse)
        .execute(
            store,
            state ->
                state.get(capacityOfCourse).isPresent()
                    ? Decision.reject(Rejection.COURSE_ALREADY_EXISTS)
                    : Decision.append(
                        Event.of("CourseDefined", new CourseDefined(courseId, capacity))
                            .withTags(courseTag(courseId))));
  }

  /** Changes the capacity of an existing course; nothing to do if it already has it. */
  public Outcome<Rejection> changeCapacity(String courseId, int newCapacity) {
    DecisionProjection<Optional<Integer>> capacityOfCourse = capacity(courseId);
    return DecisionModel.of(capacityOfCourse)
        .execute(
            store,
            state -> {
              Optional<Integer> capacity = state.get(capacityOfCourse);
              if (capacity.isEmpty()) {
                return Decision.reject(Rejection.COURSE_NOT_FOUND);
              }
              if (capacity.get() == newCapacity) {
                return Decision.nothing();
              }
              return Decision.append(
                  Event.of(
                          "CourseCapacityChanged", new CourseCapacityChanged(courseId, newCapacity))
                      .withTags(courseTag(courseId)));
            });
  }

  /** Subscribes a student to a course with a free seat, within the student's course limit. */
  public Outcome<Rejection> subscribe(String studentId, String courseId) {
    DecisionProjection<Optional<Integer>> capacity = capacity(courseId);
    DecisionProjection<Integer> subscriptionsOfCourse = subscriptions(courseTag(courseId));
    DecisionProjection<Integer> subscriptionsOfStudent = subscriptions(studentTag(studentId));
    DecisionProjection<Boolean> alreadySubscribed =
        DecisionProjection.startingWith(false)
            .on("StudentSubscribedToCourse", (subscribed, event) -> true)
            .withTag(courseTag(courseId), studentTag(studentId));
    DecisionModel model =
        DecisionModel.of(
            capacity, subscriptionsOfCourse, subscriptionsOfStudent, alreadySubscribed);
    return model.execute(
        store,
        state -> {
          if (state.get(capacity).isEmpty()) {
            return Decision.reject(Rejection.COURSE_NOT_FOUND);
          }
          if (state.get(alreadySubscribed)) {
            return Decision.reject(Rejection.ALREADY_SUBSCRIBED);
          }
          if (state.get(subscriptionsOfCourse) >= state.get(capacity).get()) {
            return Decision.reject(Rejection.COURSE_FULL);
          }
          if (state.get(subscriptionsOfStudent) >= MAX_COURSES_PER_STUDENT) {
            return Decision.reject(Rejection.TOO_MANY_COURSES);
          }
          return Decision.append(
              Event.of(
                      "StudentSubscribedToCourse",
                      new StudentSubscribedToCourse(studentId, courseId))
                  .withTags(courseTag(courseId), studentTag(studentId)));
        });
  }

  /** The course's capacity, empty if it was never defined: only its newest event matters. */
  private static DecisionProjection<Optional<Integer>> capacity(String courseId) {
    return DecisionProjection.<Optional<Integer>>startingWith(Optional.empty())
        .on(
            "CourseDefined",
            CourseDefined.class,
            (capacity, defined) -> Optional.of(defined.capacity()))
        .on(
            "CourseCapacityChanged",
            CourseCapacityChanged.class,
            (capacity, changed) -> Optional.of(changed.newCapacity()))
        .withTag(courseTag(courseId))
        .lastEventOnly();
  }

  private static DecisionProjection<Integer> subscriptions(String tag) {
    return DecisionProjection.startingWith(0)
        .on("StudentSubscribedToCourse", (count, event) -> count + 1)
        .withTag(tag);
  }

  static String courseTag(String courseId) {
    return "course:" + courseId;
  }

  static String studentTag(String studentId) {
    return "student:" + studentId;
  }
}
