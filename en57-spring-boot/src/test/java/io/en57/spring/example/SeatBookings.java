package io.en57.spring.example;

import io.en57.Event;
import io.en57.EventStore;
import io.en57.decisions.Decision;
import io.en57.decisions.DecisionModel;
import io.en57.decisions.DecisionProjection;
import io.en57.decisions.Outcome;
import java.util.Map;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Service;
import org.springframework.transaction.annotation.Transactional;

/** Books seats: one decision and the application's own write, in one transaction. */
@Service
public class SeatBookings {

  private final EventStore store;
  private final JdbcTemplate jdbc;

  SeatBookings(EventStore store, JdbcTemplate jdbc) {
    this.store = store;
    this.jdbc = jdbc;
  }

  /** Defines a course with {@code seats} seats. */
  @Transactional
  public void defineCourse(String course, int seats) {
    store.append(
        java.util.List.of(
            Event.of("CourseDefined", Map.of("course", course, "seats", seats))
                .withTags("course:" + course)));
  }

  // README: Spring Boot
  /** Books a seat unless the course is full, and records the payment with it. */
  @Transactional
  public Outcome<String> book(String course, String student, String paymentReference) {
    DecisionProjection<Integer> seats =
        DecisionProjection.startingWith(0)
            .on(
                "CourseDefined",
                (n, e) -> ((Number) ((Map<?, ?>) e.data()).get("seats")).intValue())
            .withTag("course:" + course);
    DecisionProjection<Integer> booked =
        DecisionProjection.startingWith(0)
            .on("SeatBooked", (n, e) -> n + 1)
            .withTag("course:" + course);
    Outcome<String> outcome =
        DecisionModel.of(seats, booked)
            .execute(
                store,
                state ->
                    state.get(booked) >= state.get(seats)
                        ? Decision.reject("course full")
                        : Decision.append(
                            Event.of("SeatBooked", Map.of("student", student))
                                .withTags("course:" + course, "student:" + student)));
    if (outcome instanceof Outcome.Appended<String>) {
      // The application's own write: if it fails, the event is rolled back with it.
      jdbc.update(
          "INSERT INTO payments (reference, course, student) VALUES (?, ?, ?)",
          paymentReference,
          course,
          student);
    }
    return outcome;
  }
}
