package io.en57.examples;

import io.en57.Event;
import io.en57.EventStore;
import io.en57.EventStoreBuilder;
import io.en57.decisions.Decision;
import io.en57.decisions.DecisionModel;
import io.en57.decisions.DecisionProjection;
import io.en57.decisions.Outcome;
import io.en57.decisions.RetryPolicy;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Invoice numbers without gaps: each invoice gets the number after the last one issued. The
 * decision needs only the newest invoice, so its projection reads just that one event, while the
 * condition covers every invoice: if another was issued meanwhile, the number is decided again.
 * Every creator competes with every other, so the retry policy allows many attempts.
 *
 * <p>Thread-safe.
 */
public final class InvoiceNumbers {

  /** An invoice was issued. Tagged {@code invoice:<number>}. */
  public record InvoiceCreated(long invoiceNumber, String customer, BigDecimal amount) {}

  /**
   * An issued invoice.
   *
   * @param number its number, one more than the previous invoice's
   * @param position the position of its event
   */
  public record Invoice(long number, long position) {}

  /** All creators contend for the next number: wait longer than for an ordinary conflict. */
  static final RetryPolicy CONTENDED =
      RetryPolicy.defaults()
          .withMaxAttempts(100)
          .withBackoff(Duration.ofMillis(1), Duration.ofMillis(20));

  private static final DecisionProjection<Long> NEXT_NUMBER =
      DecisionProjection.startingWith(1L)
          .on(
              "InvoiceCreated",
              InvoiceCreated.class,
              (next, created) -> created.invoiceNumber() + 1)
          .lastEventOnly();

  private final EventStore store;

  /** Handles the commands on {@code store}, made with {@link #registerEvents}. */
  public InvoiceNumbers(EventStore store) {
    this.store = Objects.requireNonNull(store, "store must not be null");
  }

  /** Registers this example's payload classes. */
  public static EventStoreBuilder registerEvents(EventStoreBuilder builder) {
    return builder.register("InvoiceCreated", InvoiceCreated.class);
  }

  /**
   * Issues an invoice with the next number.
   *
   * @throws IllegalStateException if other creators won every one of the attempts
   */
  public Invoice create(String customer, BigDecimal amount) {
    var number = new AtomicLong();
    Outcome<Void> outcome =
        DecisionModel.of(NEXT_NUMBER)
            .execute(
                store,
                CONTENDED,
                state -> {
                  number.set(state.get(NEXT_NUMBER));
                  return Decision.append(
                      Event.of("InvoiceCreated", new InvoiceCreated(number.get(), customer, amount))
                          .withTags("invoice:" + number.get()));
                });
    if (outcome instanceof Outcome.Appended<Void> appended) {
      return new Invoice(number.get(), appended.position());
    }
    throw new IllegalStateException("no invoice number after " + outcome);
  }
}
