package io.en57.examples;

import io.en57.Event;
import io.en57.EventStore;
import io.en57.EventStoreBuilder;
import io.en57.decisions.Decision;
import io.en57.decisions.DecisionModel;
import io.en57.decisions.DecisionProjection;
import io.en57.decisions.Outcome;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Preventing record duplication: a client sends each order with an idempotency token of its own
 * choosing, and sends it again when it did not hear back. The order is placed once per token: the
 * order event carries the token as a tag, and the append's condition is that no order with that tag
 * exists. A repeated request learns the id of the order the first one placed.
 *
 * <p>Thread-safe.
 */
public final class IdempotentOrders {

  /** An order was placed. Tagged {@code order:<id>} and {@code idempotency:<token>}. */
  public record OrderPlaced(String orderId, String idempotencyToken, String item) {}

  /**
   * The answer to a request.
   *
   * @param orderId the order the token placed
   * @param repeated true when an earlier request with the token placed it
   */
  public record Placed(String orderId, boolean repeated) {}

  private final EventStore store;

  /** Handles the commands on {@code store}, made with {@link #registerEvents}. */
  public IdempotentOrders(EventStore store) {
    this.store = Objects.requireNonNull(store, "store must not be null");
  }

  /** Registers this example's payload classes. */
  public static EventStoreBuilder registerEvents(EventStoreBuilder builder) {
    return builder.register("OrderPlaced", OrderPlaced.class);
  }

  /**
   * Places an order for {@code item}, unless a request with {@code idempotencyToken} already did.
   *
   * @throws IllegalStateException if the store kept conflicting (it does not for one token)
   */
  public Placed placeOrder(String idempotencyToken, String item) {
    DecisionProjection<Optional<String>> placedOrder =
        DecisionProjection.<Optional<String>>startingWith(Optional.empty())
            .on("OrderPlaced", OrderPlaced.class, (order, placed) -> Optional.of(placed.orderId()))
            .withTag("idempotency:" + idempotencyToken);
    var decided = new AtomicReference<Placed>();
    Outcome<Void> outcome =
        DecisionModel.of(placedOrder)
            .execute(
                store,
                state -> {
                  Optional<String> earlier = state.get(placedOrder);
                  if (earlier.isPresent()) {
                    decided.set(new Placed(earlier.get(), true));
                    return Decision.nothing();
                  }
                  String orderId = UUID.randomUUID().toString();
                  decided.set(new Placed(orderId, false));
                  return Decision.append(
                      Event.of("OrderPlaced", new OrderPlaced(orderId, idempotencyToken, item))
                          .withTags("order:" + orderId, "idempotency:" + idempotencyToken));
                });
    if (outcome instanceof Outcome.GaveUp<Void>) {
      throw new IllegalStateException("the order was not placed: " + outcome);
    }
    return decided.get();
  }
}
