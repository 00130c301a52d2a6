package io.en57.decisions;

import static org.assertj.core.api.Assertions.assertThat;

import io.en57.Event;
import io.en57.EventStore;
import io.en57.SequencedEvent;
import io.en57.testing.TestDatabases;
import io.en57.testing.TestDatabases.TestDatabase;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Deciders on two application nodes (store instances with pools of their own) race through {@link
 * DecisionModel#execute} for course seats, per-student course limits, course capacity changes and
 * unique usernames; afterwards the final log is replayed, independently of the library, and every
 * rule must have held after every event. The same workload appending without the condition must
 * break the rules, or the check proves nothing. The seed is printed; {@code
 * -Den57.decisions.seed=N} replays another, {@code -Den57.decisions.seconds=N} runs longer.
 */
@Tag("postgres")
@Tag("slow")
class DecisionHistoryTest {

  private static final long SEED = Long.getLong("en57.decisions.seed", 57L);
  private static final Duration DURATION =
      Duration.ofSeconds(Long.getLong("en57.decisions.seconds", 10));

  static final int COURSES = 4;
  static final int STUDENTS = 10;
  static final int USERNAMES = 4;
  static final int MAX_COURSES_PER_STUDENT = 2;
  static final int THREADS_PER_NODE = 4;

  /** What one execute call decided and did. */
  record Attempt(String decider, List<UUID> eventIds, Outcome<String> outcome) {}

  @Test
  void decisionsMadeThroughExecuteKeepEveryRuleUnderConcurrentDecidersOnTwoNodes()
      throws Exception {
    System.out.printf(
        "Decision history: seed %d, %s (replay with -Den57.decisions.seed=%d)%n",
        SEED, DURATION, SEED);
    try (TestDatabase database = TestDatabases.createMigrated()) {
      List<Attempt> attempts = run(database, DURATION, true);
      List<SequencedEvent> log = readLog(database);
      List<String> violations = new ArrayList<>(Rules.check(log));
      violations.addAll(checkOutcomes(attempts, log));
      long appended = count(attempts, Outcome.Appended.class);
      long rejected = count(attempts, Outcome.Rejected.class);
      long gaveUp = count(attempts, Outcome.GaveUp.class);
      long conflicts = attempts.stream().mapToLong(a -> a.outcome().conflicts()).sum();
      System.out.printf(
          "Decision history: %d decisions (%d appended, %d rejected, %d gave up),"
              + " %d conflicts retried, %d events%n",
          attempts.size(), appended, rejected, gaveUp, conflicts, log.size());

      assertThat(violations).as("seed %d", SEED).isEmpty();
      // The run must have raced, or it proves nothing (modest bounds: CI machines are slow).
      assertThat(appended).isGreaterThan(100);
      assertThat(rejected).isGreaterThan(100);
      assertThat(conflicts).isGreaterThan(10);
    }
  }

  @Test
  void theSameDecisionsAppendedWithoutTheirConditionBreakTheRules() throws Exception {
    try (TestDatabase database = TestDatabases.createMigrated()) {
      List<String> violations = List.of();
      for (int round = 0; round < 6 && violations.isEmpty(); round++) {
        run(database, Duration.ofSeconds(3), false);
        violations = Rules.check(readLog(database));
      }
      System.out.printf(
          "Decision history without conditions: %d violations, e.g. %s%n",
          violations.size(), violations.stream().limit(2).toList());
      assertThat(violations).isNotEmpty();
    }
  }

  private static long count(List<Attempt> attempts, Class<?> kind) {
    return attempts.stream().filter(a -> kind.isInstance(a.outcome())).count();
  }

  private static List<SequencedEvent> readLog(TestDatabase database) {
    try (EventStore store = EventStore.forUrl(database.jdbcUrl())) {
      return store.read().sequenced().toList();
    }
  }

  /** Runs the deciders on two nodes for {@code duration}; with conditions or, broken, without. */
  private static List<Attempt> run(TestDatabase database, Duration duration, boolean conditional)
      throws Exception {
    var attempts = new ConcurrentLinkedQueue<Attempt>();
    var running = new AtomicBoolean(true);
    var nodes = new ArrayList<EventStore>();
    var threads = new ArrayList<Thread>();
    var failures = new ConcurrentLinkedQueue<Throwable>();
    try {
      for (int node = 0; node < 2; node++) {
        nodes.add(EventStore.builder().maxPoolSize(6).forUrl(database.jdbcUrl()));
      }
      defineCourses(nodes.get(0));
      for (int t = 0; t < 2 * THREADS_PER_NODE; t++) {
        var deciding =
            new DecidingThread(nodes.get(t % 2), "decider-" + t, new Random(SEED * 100 + t));
        threads.add(
            new Thread(
                () -> {
                  try {
                    while (running.get()) {
                      attempts.add(deciding.decideOnce(conditional));
                    }
                  } catch (Throwable e) {
                    failures.add(e);
                  }
                },
                deciding.name));
      }
      threads.forEach(Thread::start);
      Thread.sleep(duration.toMillis());
      running.set(false);
      for (Thread thread : threads) {
        thread.join(TimeUnit.MINUTES.toMillis(2));
      }
    } finally {
      nodes.forEach(EventStore::close);
    }
    assertThat(failures).isEmpty();
    return List.copyOf(attempts);
  }

  private static void defineCourses(EventStore store) {
    for (int c = 0; c < COURSES; c++) {
      String course = "c" + c;
      DecisionProjection<Boolean> exists =
          DecisionProjection.startingWith(false)
              .on("CourseDefined", (defined, event) -> true)
              .withTag("course:" + course);
      DecisionModel.of(exists)
          .execute(
              store,
              state ->
                  state.get(exists)
                      ? Decision.nothing()
                      : Decision.append(
                          Event.of("CourseDefined", Map.of("course", course, "capacity", 3))
                              .withTags("course:" + course)));
    }
  }

  /** Every Appended outcome's events are stored at its position; every other's are not. */
  private static List<String> checkOutcomes(List<Attempt> attempts, List<SequencedEvent> log) {
    var positionById = new HashMap<UUID, Long>();
    log.forEach(e -> positionById.put(e.event().id(), e.position()));
    var violations = new ArrayList<String>();
    for (Attempt attempt : attempts) {
      List<UUID> ids = attempt.eventIds();
      if (attempt.outcome() instanceof Outcome.Appended<String> appended) {
        Long last = positionById.get(ids.get(ids.size() - 1));
        if (last == null || last != appended.position()) {
          violations.add(attempt.decider() + ": " + appended + " but its events are not there");
        }
      } else {
        for (UUID id : ids) {
          if (positionById.containsKey(id)) {
            violations.add(attempt.decider() + ": " + attempt.outcome() + " yet " + id + " stored");
          }
        }
      }
    }
    return violations;
  }

  /** One thread's decisions: random commands on a small universe of courses, students, names. */
  private static final class DecidingThread {
    private final EventStore store;
    private final String name;
    private final Random random;
    private final RetryPolicy retry =
        RetryPolicy.defaults().withBackoff(Duration.ofMillis(1), Duration.ofMillis(20));

    DecidingThread(EventStore store, String name, Random random) {
      this.store = store;
      this.name = name;
      this.random = random;
    }

    Attempt decideOnce(boolean conditional) {
      String course = "c" + random.nextInt(COURSES);
      String student = "s" + random.nextInt(STUDENTS);
      String username = "u" + random.nextInt(USERNAMES);
      int command = random.nextInt(10);
      var decided = new ArrayList<UUID>();
      DecisionModel model;
      Decider<String> decider;
      DecisionProjection<Integer> capacity = capacity(course);
      DecisionProjection<Set<String>> subscribers = subscribers(course);
      if (command < 5) {
        DecisionProjection<Integer> coursesOfStudent = coursesOf(student);
        model = DecisionModel.of(capacity, subscribers, coursesOfStudent);
        decider =
            state -> {
              Set<String> subscribed = state.get(subscribers);
              if (state.get(capacity) == 0) {
                return Decision.reject("no such course");
              } else if (subscribed.contains(student)) {
                return Decision.reject("already subscribed");
              } else if (subscribed.size() >= state.get(capacity)) {
                return Decision.reject("course full");
              } else if (state.get(coursesOfStudent) >= MAX_COURSES_PER_STUDENT) {
                return Decision.reject("too many courses");
              }
              return Decision.append(enrolment("StudentSubscribed", course, student));
            };
      } else if (command < 7) {
        model = DecisionModel.of(subscribers);
        decider =
            state ->
                state.get(subscribers).contains(student)
                    ? Decision.append(enrolment("StudentUnsubscribed", course, student))
                    : Decision.reject("not subscribed");
      } else if (command < 8) {
        int newCapacity = 1 + random.nextInt(5);
        model = DecisionModel.of(capacity, subscribers);
        decider =
            state -> {
              if (state.get(capacity) == newCapacity) {
                return Decision.nothing();
              } else if (state.get(subscribers).size() > newCapacity) {
                return Decision.reject("more subscribers than " + newCapacity);
              }
              return Decision.append(
                  Event.of(
                          "CourseCapacityChanged",
                          Map.of("course", course, "capacity", newCapacity))
                      .withTags("course:" + course));
            };
      } else {
        DecisionProjection<Optional<String>> owner = owner(username);
        String account = "a" + random.nextInt(STUDENTS);
        model = DecisionModel.of(owner);
        decider =
            state -> {
              Optional<String> current = state.get(owner);
              if (current.isEmpty()) {
                return Decision.append(usernameEvent("UsernameClaimed", username, account));
              } else if (current.get().equals(account)) {
                return Decision.append(usernameEvent("UsernameReleased", username, account));
              }
              return Decision.reject("username taken");
            };
      }
      Decider<String> recording =
          state -> {
            Decision<String> decision = decider.decide(state);
            decided.clear();
            if (decision instanceof Decision.Append<String> append) {
              append.events().forEach(e -> decided.add(e.id()));
            }
            return decision;
          };
      Outcome<String> outcome =
          conditional ? model.execute(store, retry, recording) : withoutCondition(model, recording);
      return new Attempt(name, List.copyOf(decided), outcome);
    }

    /** The broken loop: read and decide as execute does, but append unconditionally. */
    private Outcome<String> withoutCondition(DecisionModel model, Decider<String> decider) {
      Decision<String> decision = decider.decide(model.read(store));
      if (decision instanceof Decision.Append<String> append) {
        return new Outcome.Appended<>(store.append(append.events()).position(), false, 0);
      }
      return decision instanceof Decision.Reject<String> reject
          ? new Outcome.Rejected<>(reject.reason(), 0)
          : new Outcome.NothingToAppend<>(0);
    }

    private static DecisionProjection<Integer> capacity(String course) {
      return DecisionProjection.startingWith(0)
          .on("CourseDefined", (capacity, event) -> number(event, "capacity"))
          .on("CourseCapacityChanged", (capacity, event) -> number(event, "capacity"))
          .withTag("course:" + course)
          .lastEventOnly();
    }

    private static DecisionProjection<Set<String>> subscribers(String course) {
      return DecisionProjection.<Set<String>>startingWith(Set.of())
          .on("StudentSubscribed", (students, event) -> with(students, text(event, "student")))
          .on("StudentUnsubscribed", (students, event) -> without(students, text(event, "student")))
          .withTag("course:" + course);
    }

    private static DecisionProjection<Integer> coursesOf(String student) {
      return DecisionProjection.startingWith(0)
          .on("StudentSubscribed", (courses, event) -> courses + 1)
          .on("StudentUnsubscribed", (courses, event) -> courses - 1)
          .withTag("student:" + student);
    }

    private static DecisionProjection<Optional<String>> owner(String username) {
      return DecisionProjection.<Optional<String>>startingWith(Optional.empty())
          .on("UsernameClaimed", (owner, event) -> Optional.of(text(event, "account")))
          .on("UsernameReleased", (owner, event) -> Optional.empty())
          .withTag("username:" + username);
    }

    private static Event enrolment(String type, String course, String student) {
      return Event.of(type, Map.of("course", course, "student", student))
          .withTags("course:" + course, "student:" + student);
    }

    private static Event usernameEvent(String type, String username, String account) {
      return Event.of(type, Map.of("username", username, "account", account))
          .withTags("username:" + username);
    }
  }

  /** The rules, checked by replaying the log, written again here without the library's help. */
  static final class Rules {
    private final Map<String, Integer> capacities = new HashMap<>();
    private final Map<String, Set<String>> subscribers = new HashMap<>();
    private final Map<String, Integer> coursesOfStudent = new HashMap<>();
    private final Map<String, String> owners = new HashMap<>();
    private final List<String> violations = new ArrayList<>();

    static List<String> check(List<SequencedEvent> log) {
      var rules = new Rules();
      log.forEach(rules::replay);
      return rules.violations;
    }

    private void replay(SequencedEvent sequenced) {
      Event event = sequenced.event();
      String at = "#" + sequenced.position() + " " + event.type() + " " + event.data() + ": ";
      switch (event.type()) {
        case "CourseDefined" -> {
          if (capacities.put(text(event, "course"), number(event, "capacity")) != null) {
            violations.add(at + "the course was defined before");
          }
        }
        case "CourseCapacityChanged" -> {
          String course = text(event, "course");
          int subscribed = subscribers.getOrDefault(course, Set.of()).size();
          if (capacities.put(course, number(event, "capacity")) == null) {
            violations.add(at + "no such course");
          } else if (subscribed > number(event, "capacity")) {
            violations.add(at + "below the " + subscribed + " subscribers");
          }
        }
        case "StudentSubscribed" -> {
          String course = text(event, "course");
          String student = text(event, "student");
          Set<String> students = subscribers.computeIfAbsent(course, c -> new HashSet<>());
          int courses = coursesOfStudent.merge(student, 1, Integer::sum);
          if (!students.add(student)) {
            violations.add(at + "already subscribed");
          } else if (students.size() > capacities.getOrDefault(course, 0)) {
            violations.add(at + "capacity " + capacities.get(course) + " exceeded");
          } else if (courses > MAX_COURSES_PER_STUDENT) {
            violations.add(at + "the student now holds " + courses + " courses");
          }
        }
        case "StudentUnsubscribed" -> {
          String student = text(event, "student");
          coursesOfStudent.merge(student, -1, Integer::sum);
          if (!subscribers.getOrDefault(text(event, "course"), new HashSet<>()).remove(student)) {
            violations.add(at + "was not subscribed");
          }
        }
        case "UsernameClaimed" -> {
          String previous = owners.put(text(event, "username"), text(event, "account"));
          if (previous != null) {
            violations.add(at + "the username belongs to " + previous);
          }
        }
        case "UsernameReleased" -> {
          String previous = owners.remove(text(event, "username"));
          if (!text(event, "account").equals(previous)) {
            violations.add(at + "the username belongs to " + previous);
          }
        }
        default -> violations.add(at + "unexpected event type");
      }
    }
  }

  static int number(Event event, String field) {
    return ((Number) ((Map<?, ?>) event.data()).get(field)).intValue();
  }

  static String text(Event event, String field) {
    return (String) ((Map<?, ?>) event.data()).get(field);
  }

  static Set<String> with(Set<String> set, String element) {
    var copy = new HashSet<>(set);
    copy.add(element);
    return Set.copyOf(copy);
  }

  static Set<String> without(Set<String> set, String element) {
    var copy = new HashSet<>(set);
    copy.remove(element);
    return Set.copyOf(copy);
  }
}
