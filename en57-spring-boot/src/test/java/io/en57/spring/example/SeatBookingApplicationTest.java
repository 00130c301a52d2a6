package io.en57.spring.example;

import static org.assertj.core.api.Assertions.assertThat;

import io.en57.Event;
import io.en57.EventStore;
import io.en57.testing.TestDatabases;
import io.en57.testing.TestDatabases.TestDatabase;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * The example application started on a fresh embedded PostgreSQL database (migrated at start-up by
 * the starter), driven over HTTP: bookings, a full course, and a booking whose own write fails,
 * which must leave no event.
 */
@Tag("postgres")
class SeatBookingApplicationTest {

  private static TestDatabase database;
  private static ConfigurableApplicationContext application;
  private static final HttpClient http = HttpClient.newHttpClient();

  @BeforeAll
  static void startApplication() {
    database = TestDatabases.create();
    database.execute(
        "CREATE TABLE payments (reference text PRIMARY KEY, course text NOT NULL, student text"
            + " NOT NULL)");
    application =
        SpringApplication.run(
            SeatBookingApplication.class,
            "--server.port=0",
            "--spring.main.banner-mode=off",
            "--spring.datasource.url=" + database.jdbcUrl(),
            "--en57.schema=migrate",
            "--management.endpoint.health.show-details=always",
            "--management.endpoints.web.exposure.include=health,metrics");
  }

  @AfterAll
  static void stopApplication() {
    application.close();
    database.close();
  }

  @Test
  void booksSeatsUntilTheCourseIsFullAndRollsBackABookingWhoseOwnWriteFails() throws Exception {
    assertThat(post("/courses/c1?seats=2").statusCode()).isEqualTo(201);
    assertThat(post("/courses/c1/seats?student=s1&payment=p1").statusCode()).isEqualTo(201);

    HttpResponse<String> reused = post("/courses/c1/seats?student=s2&payment=p1");
    assertThat(reused.statusCode()).isEqualTo(409);
    assertThat(reused.body()).isEqualTo("payment reference already used");
    EventStore store = application.getBean(EventStore.class);
    assertThat(store.read().withTag("student:s2").toList()).isEmpty(); // rolled back with the row

    assertThat(post("/courses/c1/seats?student=s2&payment=p2").statusCode()).isEqualTo(201);
    HttpResponse<String> full = post("/courses/c1/seats?student=s3&payment=p3");
    assertThat(full.statusCode()).isEqualTo(409);
    assertThat(full.body()).isEqualTo("course full");

    assertThat(store.read().ofType("SeatBooked").toList())
        .extracting(Event::tags)
        .containsExactly(
            java.util.Set.of("course:c1", "student:s1"),
            java.util.Set.of("course:c1", "student:s2"));
    assertThat(database.dataSource().getConnection().createStatement())
        .satisfies(
            statement -> {
              try (var rows = statement.executeQuery("SELECT count(*) FROM payments")) {
                rows.next();
                assertThat(rows.getInt(1)).isEqualTo(2);
              } finally {
                statement.getConnection().close();
              }
            });
  }

  @Test
  void reportsHealthAndMetrics() throws Exception {
    post("/courses/c2?seats=1");
    HttpResponse<String> health = get("/actuator/health/en57");
    assertThat(health.statusCode()).isEqualTo(200);
    assertThat(health.body()).contains("\"status\":\"UP\"").contains("\"state\":\"UP_TO_DATE\"");
    HttpResponse<String> appends = get("/actuator/metrics/en57.append");
    assertThat(appends.statusCode()).isEqualTo(200);
    assertThat(appends.body()).contains("\"outcome\"").contains("success");
  }

  private static HttpResponse<String> post(String path) throws Exception {
    return http.send(
        HttpRequest.newBuilder(uri(path)).POST(HttpRequest.BodyPublishers.noBody()).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static HttpResponse<String> get(String path) throws Exception {
    return http.send(
        HttpRequest.newBuilder(uri(path)).GET().build(), HttpResponse.BodyHandlers.ofString());
  }

  private static URI uri(String path) {
    int port = ((WebServerApplicationContext) application).getWebServer().getPort();
    return URI.create("http://localhost:" + port + path);
  }
}
