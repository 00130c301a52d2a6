package io.en57.demo;

import io.en57.AppendCondition;
import io.en57.AppendResult;
import io.en57.Event;
import io.en57.EventStore;
import io.en57.Migrator;
import io.en57.Read;
import io.en57.SequencedEvent;
import io.en57.decisions.Decision;
import io.en57.decisions.DecisionModel;
import io.en57.decisions.DecisionProjection;
import io.en57.decisions.DecisionState;
import io.en57.decisions.Outcome;
import io.en57.subscriptions.Projection;
import io.en57.subscriptions.ProjectionRunner;
import io.en57.subscriptions.ProjectionStatus;
import io.en57.subscriptions.Projections;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import javax.sql.DataSource;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * Students racing for the last seats of a course: the En57 demo.
 *
 * <p>A course with {@value #CAPACITY} seats is defined, then {@link #STUDENTS ten students} try to
 * subscribe at the same moment, each on its own thread. Nothing locks the course. Each booking is
 * one call of a {@link DecisionModel}: its projections read the events the decision depends on (its
 * <em>consistency boundary</em>: the course's definition and subscriptions, plus the student's own
 * subscriptions), the booking decides, and the model appends its {@code StudentSubscribedToCourse}
 * event on condition that no event of that boundary was stored since the read. A student who loses
 * the race has the model read and decide again, until the course is full. The course never holds
 * more than {@value #CAPACITY} students, however the threads interleave.
 *
 * <p>{@link #main} uses the database named by {@code DATABASE_URL}, or else starts an embedded
 * PostgreSQL for the run; {@link #run} runs the scenario on a given database.
 */
public final class CourseBookingDemo {

  /** Seats in the course. */
  public static final int CAPACITY = 3;

  /** Courses one student may hold: the rule that puts the student's events in the boundary. */
  public static final int MAX_COURSES_PER_STUDENT = 2;

  /** The students who race for the seats. */
  public static final List<String> STUDENTS =
      List.of(
          "ada",
          "alan",
          "barbara",
          "donald",
          "edsger",
          "grace",
          "john",
          "ken",
          "margaret",
          "niklaus");

  static final String COURSE_DEFINED = "CourseDefined";
  static final String STUDENT_SUBSCRIBED = "StudentSubscribedToCourse";

  /** A course was opened with a number of seats. Tagged {@code course:<id>}. */
  public record CourseDefined(String courseId, String title, int capacity) {}

  /** A student took a seat. Tagged {@code course:<id>} and {@code student:<id>}. */
  public record StudentSubscribedToCourse(String courseId, String studentId) {}

  /**
   * What a run did.
   *
   * @param courseId the course this run defined
   * @param subscribed the students holding a seat, in the order they got it (read back)
   * @param rejections why each other student was turned away, by student
   * @param conflicts appends that lost a race and were decided again after re-reading
   * @param head the store's head after the run
   * @param seatsLeft the seats left in the course, as the read model kept by the projection says
   */
  public record Summary(
      String courseId,
      List<String> subscribed,
      Map<String, String> rejections,
      int conflicts,
      long head,
      int seatsLeft) {}

  private CourseBookingDemo() {}

  /** Runs the demo on {@code DATABASE_URL}, or on an embedded PostgreSQL when it is not set. */
  public static void main(String[] args) throws IOException, InterruptedException {
    String url = System.getenv("DATABASE_URL");
    if (url != null && !url.isBlank()) {
      run(url, System.out);
      return;
    }
    System.out.println("DATABASE_URL is not set: starting an embedded PostgreSQL for this run");
    try (EmbeddedPostgres postgres = EmbeddedPostgres.builder().start()) {
      run(postgres.getJdbcUrl("postgres", "postgres"), System.out);
    }
  }

  /**
   * Migrates the database at {@code databaseUrl}, runs the booking race on a fresh course and
   * prints what happens to {@code out}.
   */
  public static Summary run(String databaseUrl, PrintStream out) throws InterruptedException {
    var console = new Console(out);
    console.say("Database: %s", describe(databaseUrl));
    List<String> applied = Migrator.forUrl(databaseUrl).migrate();
    console.say(
        applied.isEmpty()
            ? "Schema en57 is up to date, nothing to migrate"
            : "Migrated schema en57: " + String.join(", ", applied));

    DataSource database = dataSource(databaseUrl);
    SeatsLeft.createTable(database);
    try (EventStore store =
            EventStore.builder()
                .register(COURSE_DEFINED, CourseDefined.class)
                .register(STUDENT_SUBSCRIBED, StudentSubscribedToCourse.class)
                .forUrl(databaseUrl);
        ProjectionRunner runner =
            ProjectionRunner.start(store, database, SeatsLeft.projection(store))) {
      console.say(
          "Projection %s keeps the read model table seats_left, live, as events are appended",
          SeatsLeft.NAME);
      // Fresh ids per run, so that the demo can run again and again on the same database.
      String runId = UUID.randomUUID().toString().substring(0, 6);
      String courseId = "dcb-101-" + runId;
      defineCourse(store, courseId, console);
      var seatsLeft = new SeatsLeft(runner, database);
      console.say("  read model: %d seats left", seatsLeft.after(store.head(), courseId));

      var desk = new BookingDesk(store, courseId, runId, console, seatsLeft);
      Map<String, Optional<String>> outcomes = race(desk, console);

      // A winner who books again is turned away by the same decision, without any race.
      String winner =
          outcomes.entrySet().stream()
              .filter(outcome -> outcome.getValue().isEmpty())
              .map(Map.Entry::getKey)
              .findFirst()
              .orElseThrow();
      console.say("%s books again:", winner);
      desk.book(winner, () -> {});

      Summary summary = report(store, courseId, outcomes, desk.conflicts.get(), console);
      int left = seatsLeft.after(summary.head(), courseId);
      console.say("Read model seats_left: %d seats left in %s", left, courseId);
      for (ProjectionStatus status : Projections.forDataSource(database).status(SeatsLeft.NAME)) {
        console.say(
            "Projection %s: %s at position %d of %d (lag %d), owner %s",
            status.name(),
            status.state(),
            status.checkpoint(),
            status.head(),
            status.head() - status.checkpoint(),
            status.owner().orElse("none"));
      }
      return new Summary(
          summary.courseId(),
          summary.subscribed(),
          summary.rejections(),
          summary.conflicts(),
          summary.head(),
          left);
    }
  }

  private static void defineCourse(EventStore store, String courseId, Console console) {
    Read course = store.read().ofType(COURSE_DEFINED).withTag(courseTag(courseId));
    Event defined =
        Event.of(
                COURSE_DEFINED,
                new CourseDefined(courseId, "Dynamic Consistency Boundaries", CAPACITY))
            .withTags(courseTag(courseId));
    // A condition without after(): fail if the course exists at all (ids are unique).
    AppendResult result = store.append(List.of(defined), AppendCondition.failIf(course));
    if (!(result instanceof AppendResult.Success)) {
      throw new IllegalStateException("course " + courseId + " already exists");
    }
    console.say(
        "Defined course %s with %d seats (position %d)", courseId, CAPACITY, result.position());
  }

  /** Every student books on a thread of their own, all at once; returns each one's outcome. */
  private static Map<String, Optional<String>> race(BookingDesk desk, Console console)
      throws InterruptedException {
    console.say("%d students race for %d seats:", STUDENTS.size(), CAPACITY);
    // Every student has read and decided before anyone appends, so the race is real even on a
    // machine that happens to run the threads one after another.
    var everyoneHasDecided = new CyclicBarrier(STUDENTS.size());
    ExecutorService threads = Executors.newFixedThreadPool(STUDENTS.size());
    try {
      var bookings = new LinkedHashMap<String, Future<Optional<String>>>();
      for (String student : STUDENTS) {
        bookings.put(
            student, threads.submit(() -> desk.book(student, () -> await(everyoneHasDecided))));
      }
      var outcomes = new LinkedHashMap<String, Optional<String>>();
      for (var booking : bookings.entrySet()) {
        outcomes.put(booking.getKey(), booking.getValue().get());
      }
      return outcomes;
    } catch (ExecutionException e) {
      throw new IllegalStateException("a booking failed: " + e.getCause(), e.getCause());
    } finally {
      threads.shutdownNow();
    }
  }

  /** Books the seats of one course, and counts the appends that lost a race. */
  private static final class BookingDesk {
    private final EventStore store;
    private final String courseId;
    private final String runId;
    private final Console console;
    private final SeatsLeft seatsLeft;
    private final AtomicInteger conflicts = new AtomicInteger();

    BookingDesk(
        EventStore store, String courseId, String runId, Console console, SeatsLeft seatsLeft) {
      this.store = store;
      this.courseId = courseId;
      this.runId = runId;
      this.console = console;
      this.seatsLeft = seatsLeft;
    }

    /**
     * One student's booking, in one call of the decision model: read the boundary, decide, and
     * append on condition that the boundary did not change since it was read; after a conflict the
     * model reads and decides again.
     *
     * @param afterFirstDecision runs once, between the first decision and its append
     * @return why the student was turned away, or empty when they got a seat
     */
    Optional<String> book(String student, Runnable afterFirstDecision) {
      String studentId = student + "-" + runId;
      // The consistency boundary is what these projections read: the course's capacity and
      // subscriptions give the seats left, the student's subscriptions the per-student limit.
      DecisionProjection<Integer> capacity =
          DecisionProjection.startingWith(0)
              .on(COURSE_DEFINED, CourseDefined.class, (seats, course) -> course.capacity())
              .withTag(courseTag(courseId));
      DecisionProjection<Integer> seatsTaken = subscriptions(courseTag(courseId));
      DecisionProjection<Integer> coursesOfStudent = subscriptions(studentTag(studentId));
      DecisionProjection<Boolean> alreadySubscribed =
          DecisionProjection.startingWith(false)
              .on(STUDENT_SUBSCRIBED, (subscribed, event) -> true)
              .withTag(courseTag(courseId), studentTag(studentId));
      DecisionModel model =
          DecisionModel.of(capacity, seatsTaken, coursesOfStudent, alreadySubscribed);

      var attempts = new AtomicInteger();
      var decidedOn = new AtomicReference<DecisionState>();
      Outcome<String> outcome =
          model.execute(
              store,
              state -> {
                if (attempts.incrementAndGet() > 1) {
                  console.say(
                      "  %-9s lost the race: re-reading (now up to position %d) and deciding again",
                      student, state.position());
                }
                decidedOn.set(state);
                Decision<String> decision;
                if (state.get(capacity) == 0) {
                  decision = Decision.reject("no such course");
                } else if (state.get(alreadySubscribed)) {
                  decision = Decision.reject("already subscribed");
                } else if (state.get(seatsTaken) >= state.get(capacity)) {
                  decision =
                      Decision.reject(
                          String.format(
                              Locale.ROOT,
                              "course full (%d/%d)",
                              state.get(seatsTaken),
                              state.get(capacity)));
                } else if (state.get(coursesOfStudent) >= MAX_COURSES_PER_STUDENT) {
                  decision =
                      Decision.reject("already in " + state.get(coursesOfStudent) + " courses");
                } else {
                  decision =
                      Decision.append(
                          Event.of(
                                  STUDENT_SUBSCRIBED,
                                  new StudentSubscribedToCourse(courseId, studentId))
                              .withTags(courseTag(courseId), studentTag(studentId)));
                }
                if (attempts.get() == 1) {
                  afterFirstDecision.run();
                }
                return decision;
              });
      conflicts.addAndGet(outcome.conflicts());
      DecisionState state = decidedOn.get();
      if (outcome instanceof Outcome.Appended<String> appended) {
        console.say(
            "  %-9s subscribed: seat %d of %d (position %d); read model: %d seats left",
            student,
            state.get(seatsTaken) + 1,
            state.get(capacity),
            appended.position(),
            seatsLeft.after(appended.position(), courseId));
        return Optional.empty();
      }
      if (outcome instanceof Outcome.Rejected<String> rejected) {
        console.say("  %-9s rejected: %s", student, rejected.reason());
        return Optional.of(rejected.reason());
      }
      throw new IllegalStateException(student + "'s booking ended without a decision: " + outcome);
    }

    private static DecisionProjection<Integer> subscriptions(String tag) {
      return DecisionProjection.startingWith(0)
          .on(STUDENT_SUBSCRIBED, (count, event) -> count + 1)
          .withTag(tag);
    }
  }

  /** Reads the course back and prints the final state. */
  private static Summary report(
      EventStore store,
      String courseId,
      Map<String, Optional<String>> outcomes,
      int conflicts,
      Console console) {
    console.say("Course %s read back:", courseId);
    var subscribed = new ArrayList<String>();
    store
        .read()
        .withTag(courseTag(courseId))
        .sequenced()
        .forEach(
            sequenced -> {
              Event event = sequenced.event();
              console.say("  #%-4d %-26s %s", sequenced.position(), event.type(), event.tags());
              if (event.data() instanceof StudentSubscribedToCourse subscription) {
                String studentId = subscription.studentId();
                subscribed.add(studentId.substring(0, studentId.lastIndexOf('-')));
              }
            });
    var rejections = new LinkedHashMap<String, String>();
    outcomes.forEach((student, rejection) -> rejection.ifPresent(r -> rejections.put(student, r)));
    long head = store.head();
    console.say(
        "Subscribed: %d of %d seats %s; turned away: %d",
        subscribed.size(), CAPACITY, subscribed, rejections.size());
    console.say("Conflicts: %d appends lost a race and were retried after re-reading", conflicts);
    console.say("Store head: position %d", head);
    return new Summary(
        courseId, List.copyOf(subscribed), Map.copyOf(rejections), conflicts, head, -1);
  }

  /**
   * The read model: seats left per course, in table {@code seats_left}, kept by a projection whose
   * every batch commits together with its checkpoint (each event applied exactly once).
   */
  private static final class SeatsLeft {
    static final String NAME = "seats-left";

    private final ProjectionRunner runner;
    private final DataSource database;

    SeatsLeft(ProjectionRunner runner, DataSource database) {
      this.runner = runner;
      this.database = database;
    }

    static void createTable(DataSource database) {
      try (Connection connection = database.getConnection();
          Statement statement = connection.createStatement()) {
        statement.execute(
            "CREATE TABLE IF NOT EXISTS seats_left"
                + " (course_id text PRIMARY KEY, seats int NOT NULL)");
      } catch (SQLException e) {
        throw new IllegalStateException("cannot create the read model table: " + e, e);
      }
    }

    static Projection projection(EventStore store) {
      return Projection.of(
          NAME,
          store.read().ofType(COURSE_DEFINED, STUDENT_SUBSCRIBED),
          (batch, connection) -> {
            try (PreparedStatement open =
                    connection.prepareStatement(
                        "INSERT INTO seats_left (course_id, seats) VALUES (?, ?)");
                PreparedStatement take =
                    connection.prepareStatement(
                        "UPDATE seats_left SET seats = seats - 1 WHERE course_id = ?")) {
              for (SequencedEvent sequenced : batch.events()) {
                if (sequenced.event().data() instanceof CourseDefined course) {
                  open.setString(1, course.courseId());
                  open.setInt(2, course.capacity());
                  open.executeUpdate();
                } else if (sequenced.event().data()
                    instanceof StudentSubscribedToCourse subscription) {
                  take.setString(1, subscription.courseId());
                  take.executeUpdate();
                }
              }
            }
          });
    }

    /** The seats left in the course once the projection has applied the log up to position. */
    int after(long position, String courseId) {
      try {
        if (!runner.await(NAME, position, Duration.ofSeconds(10))) {
          throw new IllegalStateException("the read model did not catch up within 10 s");
        }
        try (Connection connection = database.getConnection();
            PreparedStatement query =
                connection.prepareStatement("SELECT seats FROM seats_left WHERE course_id = ?")) {
          query.setString(1, courseId);
          try (ResultSet row = query.executeQuery()) {
            return row.next() ? row.getInt(1) : -1;
          }
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while waiting for the read model", e);
      } catch (SQLException e) {
        throw new IllegalStateException("cannot read the read model: " + e, e);
      }
    }
  }

  /** A data source for {@code url}: {@code postgres://user:password@host:port/db} or JDBC. */
  private static DataSource dataSource(String url) {
    var dataSource = new PGSimpleDataSource();
    if (url.startsWith("jdbc:")) {
      dataSource.setURL(url);
      return dataSource;
    }
    URI uri = URI.create(url);
    dataSource.setServerNames(new String[] {uri.getHost()});
    if (uri.getPort() != -1) {
      dataSource.setPortNumbers(new int[] {uri.getPort()});
    }
    dataSource.setDatabaseName(uri.getPath().substring(1));
    if (uri.getUserInfo() != null) {
      String[] userAndPassword = uri.getUserInfo().split(":", 2);
      dataSource.setUser(userAndPassword[0]);
      if (userAndPassword.length > 1) {
        dataSource.setPassword(userAndPassword[1]);
      }
    }
    return dataSource;
  }

  private static void await(CyclicBarrier barrier) {
    try {
      barrier.await(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting for the other students", e);
    } catch (Exception e) {
      throw new IllegalStateException("the other students did not get ready: " + e, e);
    }
  }

  private static String courseTag(String courseId) {
    return "course:" + courseId;
  }

  private static String studentTag(String studentId) {
    return "student:" + studentId;
  }

  /** Where {@code url} points, as {@code user@host:port/database}: never with its password. */
  static String describe(String url) {
    try {
      URI uri = URI.create(url.startsWith("jdbc:") ? url.substring("jdbc:".length()) : url);
      String user = uri.getUserInfo() != null ? uri.getUserInfo().split(":", 2)[0] : null;
      if (user == null && uri.getQuery() != null) {
        for (String parameter : uri.getQuery().split("&")) {
          if (parameter.startsWith("user=")) {
            user = parameter.substring("user=".length());
          }
        }
      }
      return (user == null ? "" : user + "@")
          + uri.getHost()
          + (uri.getPort() == -1 ? "" : ":" + uri.getPort())
          + uri.getPath();
    } catch (IllegalArgumentException e) {
      return "(a URL that cannot be shown)";
    }
  }

  /** Prints whole lines from any thread, in the order they happen. */
  private record Console(PrintStream out) {
    void say(String format, Object... args) {
      String line = String.format(Locale.ROOT, format, args);
      synchronized (out) {
        out.println(line);
        out.flush();
      }
    }
  }
}
