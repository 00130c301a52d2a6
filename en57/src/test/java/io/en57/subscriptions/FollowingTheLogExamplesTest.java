package io.en57.subscriptions;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.en57.Event;
import io.en57.EventStore;
import io.en57.SequencedEvent;
import io.en57.testing.TestDatabases;
import io.en57.testing.TestDatabases.TestDatabase;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The Java examples of the README's section "Following the log", compiled and run against
 * PostgreSQL. {@code ReadmeExamplesAreTestedTest} checks that each appears here verbatim.
 */
@Tag("postgres")
class FollowingTheLogExamplesTest {

  private static TestDatabase database;
  private static HikariDataSource pool;
  private static DataSource dataSource;
  private static DataSource unpooledDataSource;
  private EventStore store;

  @BeforeAll
  static void createDatabase() {
    database = TestDatabases.createMigrated();
    var config = new HikariConfig();
    config.setDataSource(database.dataSource());
    config.setMaximumPoolSize(6);
    pool = new HikariDataSource(config);
    dataSource = pool;
    unpooledDataSource = database.dataSource();
  }

  @AfterAll
  static void dropDatabase() {
    pool.close();
    database.close();
  }

  @BeforeEach
  void openStore() {
    database.emptyLog("en57.projections", "en57.projection_dead_letters");
    database.execute(
        "DROP TABLE IF EXISTS seats_left;"
            + " CREATE TABLE seats_left (course_id text PRIMARY KEY, seats int NOT NULL)");
    store = EventStore.builder().pollInterval(Duration.ofMillis(200)).forDataSource(pool);
  }

  @AfterEach
  void closeStore() {
    store.close();
  }

  private void placeOrders() {
    store.append(List.of(Event.of("OrderPlaced", Map.of("orderId", "o1")).withTags("order:o1")));
    store.append(List.of(Event.of("OrderShipped", Map.of("orderId", "o1")).withTags("order:o1")));
    store.append(List.of(Event.of("OrderPlaced", Map.of("orderId", "o2")).withTags("order:o2")));
  }

  @Test
  void pullFromASubscription() throws Exception {
    placeOrders();
    long checkpoint;
    boolean live;

    try (Subscription orders = store.subscribe(store.read().ofType("OrderPlaced"), 0)) {
      Batch batch = orders.poll(Duration.ofSeconds(1)); // waits at most 1 s for something new
      batch.events().forEach(event -> System.out.println(event.position() + " " + event.event()));
      checkpoint = batch.position(); // every match up to here was delivered: resume from here
      live = batch.caughtUp(); // this batch reached the head of the log
    }

    assertThat(checkpoint).isEqualTo(3);
    assertThat(live).isTrue();
  }

  @Test
  void pushToAHandler() throws Exception {
    placeOrders();

    Subscription printer =
        store
            .subscribe(store.read().ofType("OrderPlaced"), 0)
            .start(batch -> batch.events().forEach(event -> System.out.println(event.event())));
    while (printer.position() < 3) {
      Thread.sleep(5);
    }
    printer.close(); // waits for the batch being handled

    assertThat(printer.failure()).isEmpty();
  }

  @Test
  void wakeUpOptions() throws Exception {
    EventStore store =
        EventStore.builder()
            .pollInterval(Duration.ofMillis(500)) // the longest a subscription waits unwoken
            .listenConnection(unpooledDataSource::getConnection) // dedicated, not from the pool
            .forDataSource(pool);

    try (store;
        Subscription subscription = store.subscribe(store.read(), 0)) {
      this.store.append(List.of(Event.of("Appended")));
      assertThat(subscription.poll(Duration.ofSeconds(30)).events()).hasSize(1);
    }
  }

  private static Projection seatsLeftProjection(EventStore store) {
    Projection seatsLeft =
        Projection.of(
                "seats-left",
                store.read().ofType("CourseDefined", "StudentSubscribed"),
                (batch, connection) -> {
                  try (PreparedStatement define =
                          connection.prepareStatement(
                              "INSERT INTO seats_left (course_id, seats) VALUES (?, ?)");
                      PreparedStatement take =
                          connection.prepareStatement(
                              "UPDATE seats_left SET seats = seats - 1 WHERE course_id = ?")) {
                    for (SequencedEvent e : batch.events()) {
                      Map<?, ?> data = (Map<?, ?>) e.event().data();
                      if (e.event().type().equals("CourseDefined")) {
                        define.setString(1, (String) data.get("courseId"));
                        define.setInt(2, ((Number) data.get("capacity")).intValue());
                        define.executeUpdate();
                      } else {
                        take.setString(1, (String) data.get("courseId"));
                        take.executeUpdate();
                      }
                    }
                  }
                })
            .onReset(
                (connection, position) -> {
                  if (position > 0) {
                    throw new IllegalArgumentException("seats_left can only be rebuilt");
                  }
                  try (Statement statement = connection.createStatement()) {
                    statement.execute("DELETE FROM seats_left");
                  }
                });
    return seatsLeft;
  }

  private int seatsLeftOf(String courseId) throws SQLException {
    try (Connection connection = dataSource.getConnection();
        PreparedStatement query =
            connection.prepareStatement("SELECT seats FROM seats_left WHERE course_id = ?")) {
      query.setString(1, courseId);
      try (ResultSet row = query.executeQuery()) {
        return row.next() ? row.getInt(1) : -1;
      }
    }
  }

  @Test
  void aReadModelKeptByAProjection() throws Exception {
    store.append(
        List.of(
            Event.of("CourseDefined", Map.of("courseId", "c1", "capacity", 30))
                .withTags("course:c1")));
    Projection seatsLeft = seatsLeftProjection(store);

    int seats;
    try (ProjectionRunner runner = ProjectionRunner.start(store, dataSource, seatsLeft)) {
      long position =
          store
              .append(
                  List.of(
                      Event.of("StudentSubscribed", Map.of("courseId", "c1", "studentId", "s7"))
                          .withTags("course:c1", "student:s7")))
              .position();
      runner.await("seats-left", position, Duration.ofSeconds(5)); // read your own write
      seats = seatsLeftOf("c1"); // 29: the read model shows the subscription
    }
    assertThat(seats).isEqualTo(29);

    try (ProjectionRunner runner = ProjectionRunner.start(store, dataSource, seatsLeft)) {
      Projections projections = Projections.forDataSource(dataSource);
      for (ProjectionStatus segment : projections.list()) {
        System.out.println(
            segment.name()
                + " at "
                + segment.checkpoint()
                + ", lag "
                + segment.lag()
                + ", "
                + segment.state()
                + " on "
                + segment.owner().orElse("no one"));
      }
      projections.rebuild("seats-left"); // the runner deletes the rows, then applies the log again

      assertThat(runner.await("seats-left", store.head(), Duration.ofSeconds(30))).isTrue();
      assertThat(seatsLeftOf("c1")).isEqualTo(29);
    }
  }

  /** Stands for a mail service that drops a message whose id it has seen. */
  static final class Mailer {
    final List<UUID> sent = Collections.synchronizedList(new ArrayList<>());

    void send(UUID messageId, String to, String text) {
      if (!sent.contains(messageId)) {
        sent.add(messageId);
      }
    }
  }

  @Test
  void aReactionThatSendsAMessage() throws Exception {
    var mailer = new Mailer();

    Projection welcome =
        Projection.atLeastOnce(
            "welcome-mails",
            store.read().ofType("UserRegistered"),
            batch -> {
              for (SequencedEvent e : batch.events()) {
                Map<?, ?> user = (Map<?, ?>) e.event().data();
                // The event id is the message id: a message sent again after a crash is dropped.
                mailer.send(e.event().id(), (String) user.get("email"), "Welcome!");
              }
            });

    try (ProjectionRunner runner = ProjectionRunner.start(store, dataSource, welcome)) {
      long position =
          store
              .append(List.of(Event.of("UserRegistered", Map.of("email", "ada@example.com"))))
              .position();
      assertThat(runner.await("welcome-mails", position, Duration.ofSeconds(30))).isTrue();
    }
    assertThat(mailer.sent).hasSize(1);
  }

  @Test
  void partitionsFailuresAndTakeover() throws Exception {
    store.append(
        List.of(
            Event.of("CourseDefined", Map.of("courseId", "c1", "capacity", 30))
                .withTags("course:c1"),
            Event.of("CourseDefined", Map.of("courseId", "c2", "capacity", 20))
                .withTags("course:c2")));
    Projection seatsLeft = seatsLeftProjection(store);

    Projection perCourse =
        seatsLeft
            .partitionedBy("course:", 4) // four segments, each with its own checkpoint and owner
            .withRetry(new Retry(5, Duration.ofMillis(100), Duration.ofSeconds(10)))
            .withDeadLetters(); // skip an event the handler keeps failing on, do not stop
    ProjectionRunner runner =
        ProjectionRunner.start(
            store,
            dataSource,
            RunnerOptions.defaults().withLease(Duration.ofSeconds(10)), // takeover within ~12.5 s
            perCourse);

    try (runner) {
      assertThat(runner.await("seats-left", 2, Duration.ofSeconds(30))).isTrue();
    }
    assertThat(seatsLeftOf("c1")).isEqualTo(30);
    assertThat(seatsLeftOf("c2")).isEqualTo(20);
    assertThat(Projections.forDataSource(dataSource).status("seats-left")).hasSize(4);
  }
}
