package io.en57.bench;

import static io.en57.bench.Report.count;
import static io.en57.bench.Report.ms;
import static io.en57.bench.Report.rate;
import static io.en57.bench.Report.ratio;

import com.zaxxer.hikari.HikariDataSource;
import io.en57.AppendCondition;
import io.en57.AppendResult;
import io.en57.Event;
import io.en57.EventStore;
import io.en57.Read;
import io.en57.SequencedEvent;
import io.en57.bench.Measure.Outcome;
import io.en57.bench.Results.Better;
import io.en57.bench.Results.Figure;
import io.en57.bench.Results.ScenarioResult;
import io.en57.bench.Results.Table;
import io.en57.bench.Results.Target;
import io.en57.decisions.Decision;
import io.en57.decisions.DecisionModel;
import io.en57.decisions.DecisionProjection;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

/**
 * The DCB course-subscription decision through {@link DecisionModel#execute}, next to the same loop
 * written by hand, in fresh copies of the same seeded log ({@link Seeds#courses}): the overhead of
 * the decision-model API. Both read the same two criteria (the course's definition and
 * subscriptions, the student's subscriptions), fold the same state, decide the same way and append
 * under the same condition; the hand-written loop retries at once after a conflict, the model with
 * its default jittered back-off (conflicts are rare here: random courses of a large log).
 */
final class DecisionModelLoop implements Scenario {

  static final double TARGET_RATIO = 0.90;

  /** The course's state as both loops fold it. */
  record CourseState(int capacity, int seats, boolean studentSubscribed) {
    static final CourseState NONE = new CourseState(0, 0, false);
  }

  @Override
  public String name() {
    return "decision-model-loop";
  }

  @Override
  public String description() {
    return "course subscription through DecisionModel.execute, next to the same loop by hand;"
        + " 1 and 16 threads";
  }

  @Override
  public ScenarioResult run(Context context) throws Exception {
    long started = System.nanoTime();
    var rows = new ArrayList<List<String>>();
    var figures = new ArrayList<Figure>();
    var targets = new ArrayList<Target>();
    for (int threads : context.threadsOr(ReadWorkloads.LOOP_THREADS)) {
      var handRejected = new AtomicLong();
      Outcome hand =
          measure(context, threads, store -> byHand(store, context.events(), handRejected));
      var modelRejected = new AtomicLong();
      Outcome model =
          measure(context, threads, store -> throughModel(store, context.events(), modelRejected));
      String label = Report.threads(threads);
      double rateRatio = model.callsPerSecond() / hand.callsPerSecond();
      rows.add(
          List.of(
              label,
              "decisions/s",
              rate(model.callsPerSecond()),
              rate(hand.callsPerSecond()),
              ratio(rateRatio)));
      rows.add(
          List.of(
              label,
              "p50 ms",
              ms(model.latency().median()),
              ms(hand.latency().median()),
              ratio(model.latency().median() / hand.latency().median())));
      rows.add(
          List.of(
              label,
              "p99 ms",
              ms(model.latency().p99()),
              ms(hand.latency().p99()),
              ratio(model.latency().p99() / hand.latency().p99())));
      rows.add(
          List.of(
              label,
              "conflicts retried / rejected",
              count(model.retries()) + " / " + count(modelRejected.get()),
              count(hand.retries()) + " / " + count(handRejected.get()),
              "—"));
      context.progress("%s", String.join(" | ", rows.get(rows.size() - 4)));
      String key = label + ": ";
      figures.add(
          new Figure(key + "model decisions/s", model.callsPerSecond(), "ops/s", Better.HIGHER));
      figures.add(
          new Figure(key + "hand decisions/s", hand.callsPerSecond(), "ops/s", Better.NEITHER));
      figures.add(new Figure(key + "model p50", model.latency().median(), "ms", Better.LOWER));
      figures.add(new Figure(key + "model p99", model.latency().p99(), "ms", Better.LOWER));
      figures.add(new Figure(key + "model ÷ hand", rateRatio, "×", Better.HIGHER));
      targets.add(
          new Target(
              "decision model, "
                  + label
                  + ": ≥ "
                  + ratio(TARGET_RATIO)
                  + " × the hand-written loop's decisions/s",
              ratio(rateRatio) + " ×",
              rateRatio >= TARGET_RATIO));
    }
    return new ScenarioResult(
        name(), Table.DECISIONS, (System.nanoTime() - started) / 1e9, rows, figures, targets);
  }

  /** One decision loop per thread, in a fresh copy of the seeded log. */
  private static Outcome measure(Context context, int threads, Loop loop) throws Exception {
    try (Database database = ReadWorkloads.courses(context);
        HikariDataSource pool = database.pool(threads + 2);
        EventStore store = Database.store(pool)) {
      return Measure.forDuration(
          threads,
          context.duration(),
          context.warmups(),
          context.runs(),
          thread -> () -> loop.decide(store));
    }
  }

  /** One decision; returns the conflicts it retried after. */
  private interface Loop {
    int decide(EventStore store);
  }

  /** The loop by hand: read the scope, fold, decide, append after the last position seen. */
  static int byHand(EventStore store, int events, AtomicLong rejected) {
    String course = "course:c" + random(Seeds.courses(events));
    String student = "student:s" + random(Seeds.students(events));
    Read scope =
        store
            .read()
            .ofType(Seeds.COURSE_DEFINED, Seeds.SUBSCRIBED)
            .withTag(course)
            .or(store.read().ofType(Seeds.SUBSCRIBED).withTag(student));
    for (int conflicts = 0; ; conflicts++) {
      CourseState state = CourseState.NONE;
      int studentCourses = 0;
      long after = 0;
      try (Stream<SequencedEvent> read = scope.sequenced()) {
        Iterator<SequencedEvent> iterator = read.iterator();
        while (iterator.hasNext()) {
          SequencedEvent sequenced = iterator.next();
          Event event = sequenced.event();
          if (event.tags().contains(course)) {
            state = fold(state, event, student);
          }
          if (event.type().equals(Seeds.SUBSCRIBED) && event.tags().contains(student)) {
            studentCourses++;
          }
          after = sequenced.position();
        }
      }
      if (!allowed(state, studentCourses)) {
        rejected.incrementAndGet();
        return conflicts;
      }
      AppendResult result =
          store.append(
              List.of(subscription(course, student)), AppendCondition.failIf(scope).after(after));
      if (result instanceof AppendResult.Success) {
        return conflicts;
      }
    }
  }

  /** The same decision through the decision-model API. */
  static int throughModel(EventStore store, int events, AtomicLong rejected) {
    String course = "course:c" + random(Seeds.courses(events));
    String student = "student:s" + random(Seeds.students(events));
    DecisionProjection<CourseState> courseState =
        DecisionProjection.startingWith(CourseState.NONE)
            .on(Seeds.COURSE_DEFINED, (state, event) -> fold(state, event, student))
            .on(Seeds.SUBSCRIBED, (state, event) -> fold(state, event, student))
            .withTag(course);
    DecisionProjection<Integer> studentCourses =
        DecisionProjection.startingWith(0)
            .on(Seeds.SUBSCRIBED, (courses, event) -> courses + 1)
            .withTag(student);
    io.en57.decisions.Outcome<Boolean> outcome =
        DecisionModel.of(courseState, studentCourses)
            .execute(
                store,
                state ->
                    allowed(state.get(courseState), state.get(studentCourses))
                        ? Decision.append(subscription(course, student))
                        : Decision.reject(true));
    if (outcome instanceof io.en57.decisions.Outcome.Rejected) {
      rejected.incrementAndGet();
    } else if (!(outcome instanceof io.en57.decisions.Outcome.Appended)) {
      throw new IllegalStateException("a decision ended without an append: " + outcome);
    }
    return outcome.conflicts();
  }

  private static CourseState fold(CourseState state, Event event, String student) {
    if (event.type().equals(Seeds.COURSE_DEFINED)) {
      int capacity = ((Number) ((Map<?, ?>) event.data()).get("capacity")).intValue();
      return new CourseState(capacity, state.seats(), state.studentSubscribed());
    }
    return new CourseState(
        state.capacity(),
        state.seats() + 1,
        state.studentSubscribed() || event.tags().contains(student));
  }

  private static boolean allowed(CourseState course, int studentCourses) {
    return !course.studentSubscribed()
        && course.seats() < course.capacity()
        && studentCourses < ReadWorkloads.MAX_COURSES_PER_STUDENT;
  }

  private static Event subscription(String course, String student) {
    return Event.of(
            Seeds.SUBSCRIBED,
            Map.of(
                "courseId", course.substring("course:".length()),
                "studentId", student.substring("student:".length()),
                "at", Instant.now().toString()))
        .withTags(course, student);
  }

  private static int random(int bound) {
    return ThreadLocalRandom.current().nextInt(bound);
  }
}
