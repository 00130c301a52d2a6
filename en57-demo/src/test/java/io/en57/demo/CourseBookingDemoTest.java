package io.en57.demo;

import static io.en57.demo.CourseBookingDemo.CAPACITY;
import static io.en57.demo.CourseBookingDemo.STUDENTS;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import io.en57.Event;
import io.en57.EventStore;
import io.en57.demo.CourseBookingDemo.Summary;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Runs the demo on a fresh database: an embedded PostgreSQL's, or one created on the server named
 * by {@code EN57_TEST_DATABASE_URL} (whose user may create databases).
 */
@Tag("postgres")
class CourseBookingDemoTest {

  private static Server server;

  @BeforeAll
  static void startServer() throws IOException {
    server = Server.start();
  }

  @AfterAll
  static void stopServer() throws IOException {
    if (server != null) {
      server.close();
    }
  }

  @Test
  void exactlyTheCapacityGetsASeatAndEveryoneElseIsTurnedAway() throws Exception {
    String database = server.createDatabase();
    try {
      String url = server.url(database);
      var output = new ByteArrayOutputStream();
      Summary summary = CourseBookingDemo.run(url, new PrintStream(output, true, UTF_8));
      String printed = output.toString(UTF_8);

      assertThat(summary.subscribed()).hasSize(CAPACITY).doesNotHaveDuplicates();
      assertThat(summary.rejections())
          .hasSize(STUDENTS.size() - CAPACITY)
          .allSatisfy((student, why) -> assertThat(why).isEqualTo("course full (3/3)"));
      var everyone = new HashSet<>(summary.subscribed());
      everyone.addAll(summary.rejections().keySet());
      assertThat(everyone).containsExactlyInAnyOrderElementsOf(STUDENTS);
      // All students decide on the same state before anyone appends: all but one lose round one.
      assertThat(summary.conflicts()).isGreaterThanOrEqualTo(STUDENTS.size() - 1);
      // A fresh database: the course, then its three subscriptions.
      assertThat(summary.head()).isEqualTo(1 + CAPACITY);
      // The read model kept live by the projection agrees.
      assertThat(summary.seatsLeft()).isZero();

      // The store itself, read without the demo's payload classes, agrees.
      try (EventStore store = EventStore.forUrl(url)) {
        List<Event> course = store.read().withTag("course:" + summary.courseId()).toList();
        assertThat(course)
            .extracting(Event::type)
            .containsExactly(
                "CourseDefined",
                "StudentSubscribedToCourse",
                "StudentSubscribedToCourse",
                "StudentSubscribedToCourse");
        assertThat(course.get(0).data())
            .isEqualTo(
                Map.of(
                    "courseId",
                    summary.courseId(),
                    "title",
                    "Dynamic Consistency Boundaries",
                    "capacity",
                    CAPACITY));
      }

      assertThat(printed)
          .contains("Migrated schema en57: ")
          .contains("Defined course " + summary.courseId() + " with 3 seats (position 1)")
          .contains("rejected: already subscribed")
          .contains("Subscribed: 3 of 3 seats " + summary.subscribed() + "; turned away: 7")
          .contains("Store head: position 4")
          .contains("  read model: 3 seats left")
          .contains("Read model seats_left: 0 seats left in " + summary.courseId())
          .containsPattern("Projection seats-left: RUNNING at position 4 of 4 \\(lag 0\\), owner ")
          .doesNotContain("password");
      assertThat(
              count(
                  printed,
                  "subscribed: seat \\d of 3 \\(position \\d\\); read model: \\d seats left"))
          .isEqualTo(CAPACITY);
      assertThat(count(printed, "rejected: course full")).isEqualTo(STUDENTS.size() - CAPACITY);
      assertThat(count(printed, "lost the race")).isEqualTo(summary.conflicts());
      for (String student : summary.subscribed()) {
        assertThat(printed).containsPattern("  " + student + " +subscribed: seat");
      }
    } finally {
      server.dropDatabase(database);
    }
  }

  @Test
  void runsAgainOnTheSameDatabaseWithAFreshCourse() throws Exception {
    String database = server.createDatabase();
    try {
      String url = server.url(database);
      Summary first = CourseBookingDemo.run(url, new PrintStream(new ByteArrayOutputStream()));
      var output = new ByteArrayOutputStream();
      Summary second = CourseBookingDemo.run(url, new PrintStream(output, true, UTF_8));

      assertThat(second.courseId()).isNotEqualTo(first.courseId());
      assertThat(second.subscribed()).hasSize(CAPACITY);
      assertThat(second.head()).isEqualTo(2 * (1 + CAPACITY));
      assertThat(second.seatsLeft()).isZero();
      assertThat(output.toString(UTF_8)).contains("Schema en57 is up to date, nothing to migrate");
    } finally {
      server.dropDatabase(database);
    }
  }

  @Test
  void describesTheDatabaseWithoutItsPassword() {
    assertThat(CourseBookingDemo.describe("postgres://app:s3cret@db.example:5433/shop"))
        .isEqualTo("app@db.example:5433/shop");
    assertThat(
            CourseBookingDemo.describe(
                "jdbc:postgresql://localhost:5432/postgres?user=postgres&password=s3cret"))
        .isEqualTo("postgres@localhost:5432/postgres");
    assertThat(CourseBookingDemo.describe("jdbc:postgresql://localhost/postgres"))
        .isEqualTo("localhost/postgres");
  }

  private static long count(String text, String regex) {
    return Pattern.compile(regex).matcher(text).results().count();
  }

  /** A PostgreSQL server on which the tests create and drop databases. */
  private static final class Server implements AutoCloseable {

    private final EmbeddedPostgres embedded;
    private final URI uri;
    private final boolean jdbc;

    private Server(EmbeddedPostgres embedded, String url) {
      this.embedded = embedded;
      this.jdbc = url.startsWith("jdbc:");
      this.uri = URI.create(jdbc ? url.substring("jdbc:".length()) : url);
    }

    static Server start() throws IOException {
      String url = System.getenv("EN57_TEST_DATABASE_URL");
      if (url != null && !url.isBlank()) {
        return new Server(null, url);
      }
      EmbeddedPostgres embedded = EmbeddedPostgres.builder().start();
      return new Server(
          embedded, "postgres://postgres@localhost:" + embedded.getPort() + "/postgres");
    }

    String createDatabase() throws SQLException {
      String name =
          "en57_demo_test_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
      execute("CREATE DATABASE " + name);
      return name;
    }

    void dropDatabase(String name) throws SQLException {
      execute("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
    }

    /** The server's URL, in the form it was given, naming {@code database}. */
    String url(String database) {
      return (jdbc ? "jdbc:" : "")
          + uri.getScheme()
          + "://"
          + uri.getRawAuthority()
          + "/"
          + database
          + (uri.getRawQuery() == null ? "" : "?" + uri.getRawQuery());
    }

    private void execute(String sql) throws SQLException {
      var properties = new Properties();
      if (uri.getUserInfo() != null) {
        String[] userAndPassword = uri.getUserInfo().split(":", 2);
        properties.setProperty("user", userAndPassword[0]);
        if (userAndPassword.length > 1) {
          properties.setProperty("password", userAndPassword[1]);
        }
      }
      String jdbcUrl =
          "jdbc:postgresql://"
              + uri.getHost()
              + (uri.getPort() == -1 ? "" : ":" + uri.getPort())
              + uri.getRawPath()
              + (uri.getRawQuery() == null ? "" : "?" + uri.getRawQuery());
      try (Connection connection = DriverManager.getConnection(jdbcUrl, properties);
          Statement statement = connection.createStatement()) {
        statement.execute(sql);
      }
    }

    @Override
    public void close() throws IOException {
      if (embedded != null) {
        embedded.close();
      }
    }
  }
}
