package io.en57.spring.example;

import io.en57.decisions.Outcome;
import org.springframework.dao.DuplicateKeyException;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/**
 * {@code POST /courses/{course}?seats=N} and {@code POST
 * /courses/{course}/seats?student=&payment=}.
 */
@RestController
public class SeatController {

  private final SeatBookings bookings;

  SeatController(SeatBookings bookings) {
    this.bookings = bookings;
  }

  /** Defines a course. */
  @PostMapping("/courses/{course}")
  public ResponseEntity<String> define(@PathVariable String course, @RequestParam int seats) {
    bookings.defineCourse(course, seats);
    return ResponseEntity.status(HttpStatus.CREATED).body("defined");
  }

  /** Books a seat: 201 when booked, 409 when the course is full. */
  @PostMapping("/courses/{course}/seats")
  public ResponseEntity<String> book(
      @PathVariable String course, @RequestParam String student, @RequestParam String payment) {
    Outcome<String> outcome = bookings.book(course, student, payment);
    if (outcome instanceof Outcome.Appended<String>) {
      return ResponseEntity.status(HttpStatus.CREATED).body("booked");
    }
    if (outcome instanceof Outcome.Rejected<String> rejected) {
      return ResponseEntity.status(HttpStatus.CONFLICT).body(rejected.reason());
    }
    return ResponseEntity.status(HttpStatus.SERVICE_UNAVAILABLE).body("try again");
  }

  /** A payment reference used twice: the booking was rolled back, event included. */
  @ExceptionHandler(DuplicateKeyException.class)
  public ResponseEntity<String> paymentReused() {
    return ResponseEntity.status(HttpStatus.CONFLICT).body("payment reference already used");
  }
}
