package io.en57.spring.example;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;

/**
 * A small application on the starter: a REST endpoint books course seats with a decision model, and
 * records the payment in the application's own table in the same transaction.
 */
@SpringBootApplication
public class SeatBookingApplication {

  /** Starts the application. */
  public static void main(String[] args) {
    SpringApplication.run(SeatBookingApplication.class, args);
  }
}
