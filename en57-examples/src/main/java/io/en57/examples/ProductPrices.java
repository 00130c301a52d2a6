package io.en57.examples;

import io.en57.Event;
import io.en57.EventStore;
import io.en57.EventStoreBuilder;
import io.en57.decisions.Decision;
import io.en57.decisions.DecisionModel;
import io.en57.decisions.DecisionProjection;
import io.en57.decisions.DecisionState;
import io.en57.decisions.Outcome;
import java.math.BigDecimal;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Dynamic product prices: an order is accepted only at the prices the customer was shown, if they
 * are still valid; after a price change the previous price stays valid for a grace period, so that
 * a customer who saw it moments ago is not turned away. An order of several products reads one
 * projection per product, all in one decision model.
 *
 * <p>Thread-safe.
 */
public final class ProductPrices {

  /** A product was defined. Tagged {@code product:<id>}. */
  public record ProductDefined(String productId, BigDecimal price, Instant at) {}

  /** A product's price changed. Tagged {@code product:<id>}. */
  public record ProductPriceChanged(String productId, BigDecimal newPrice, Instant at) {}

  /** One product of an order, at the price it was ordered for. */
  public record Item(String productId, BigDecimal price) {}

  /** Products were ordered. Tagged {@code order:<id>} and {@code product:<id>} of each item. */
  public record ProductsOrdered(String orderId, List<Item> items) {}

  /**
   * Why a command was turned down.
   *
   * @param productId the product concerned
   * @param reason what is wrong with it
   */
  public record Rejection(String productId, String reason) {}

  /**
   * What a product costs now and, during the grace period, what it cost before.
   *
   * @param current the price, empty if the product was never defined
   * @param previous the price before the last change, with the change's time
   */
  record Price(Optional<BigDecimal> current, Optional<Previous> previous) {
    static final Price UNDEFINED = new Price(Optional.empty(), Optional.empty());

    Price changedTo(BigDecimal newPrice, Instant at) {
      return new Price(Optional.of(newPrice), current.map(old -> new Previous(old, at)));
    }

    boolean accepts(BigDecimal price, Instant now, Duration grace) {
      return current.map(c -> c.compareTo(price) == 0).orElse(false)
          || previous
              .filter(p -> p.price().compareTo(price) == 0 && now.isBefore(p.until().plus(grace)))
              .isPresent();
    }
  }

  /** A former price and the time it was replaced. */
  record Previous(BigDecimal price, Instant until) {}

  private final EventStore store;
  private final Clock clock;
  private final Duration gracePeriod;

  /**
   * Handles the commands on {@code store}, made with {@link #registerEvents}; a former price stays
   * valid for {@code gracePeriod} after it changed.
   */
  public ProductPrices(EventStore store, Clock clock, Duration gracePeriod) {
    this.store = Objects.requireNonNull(store, "store must not be null");
    this.clock = Objects.requireNonNull(clock, "clock must not be null");
    this.gracePeriod = Objects.requireNonNull(gracePeriod, "gracePeriod must not be null");
  }

  /** Registers this example's payload classes. */
  public static EventStoreBuilder registerEvents(EventStoreBuilder builder) {
    return builder
        .register("ProductDefined", ProductDefined.class)
        .register("ProductPriceChanged", ProductPriceChanged.class)
        .register("ProductsOrdered", ProductsOrdered.class);
  }

  /** Defines a product at a price, unless it exists. */
  public Outcome<Rejection> defineProduct(String productId, BigDecimal price) {
    DecisionProjection<Price> product = price(productId);
    return DecisionModel.of(product)
        .execute(
            store,
            state ->
                state.get(product).current().isPresent()
                    ? Decision.reject(new Rejection(productId, "already defined"))
                    : Decision.append(
                        Event.of(
                                "ProductDefined",
                                new ProductDefined(productId, price, clock.instant()))
                            .withTags(productTag(productId))));
  }

  /** Changes the price of an existing product. */
  public Outcome<Rejection> changePrice(String productId, BigDecimal newPrice) {
    DecisionProjection<Price> product = price(productId);
    return DecisionModel.of(product)
        .execute(
            store,
            state ->
                state.get(product).current().isEmpty()
                    ? Decision.reject(new Rejection(productId, "no such product"))
                    : Decision.append(
                        Event.of(
                                "ProductPriceChanged",
                                new ProductPriceChanged(productId, newPrice, clock.instant()))
                            .withTags(productTag(productId))));
  }

  /** Orders products at the prices shown to the customer, by product id, if all are valid. */
  public Outcome<Rejection> order(String orderId, Map<String, BigDecimal> shownPrices) {
    var products = new LinkedHashMap<String, DecisionProjection<Price>>();
    shownPrices.keySet().forEach(productId -> products.put(productId, price(productId)));
    DecisionModel model = DecisionModel.of(products.values().toArray(new DecisionProjection<?>[0]));
    return model.execute(store, state -> order(state, orderId, shownPrices, products));
  }

  private Decision<Rejection> order(
      DecisionState state,
      String orderId,
      Map<String, BigDecimal> shownPrices,
      Map<String, DecisionProjection<Price>> products) {
    Instant now = clock.instant();
    var items = new ArrayList<Item>();
    var tags = new ArrayList<String>(List.of("order:" + orderId));
    for (var shown : shownPrices.entrySet()) {
      Price price = state.get(products.get(shown.getKey()));
      if (price.current().isEmpty()) {
        return Decision.reject(new Rejection(shown.getKey(), "no such product"));
      }
      if (!price.accepts(shown.getValue(), now, gracePeriod)) {
        return Decision.reject(
            new Rejection(shown.getKey(), "the price is now " + price.current().get()));
      }
      items.add(new Item(shown.getKey(), shown.getValue()));
      tags.add(productTag(shown.getKey()));
    }
    return Decision.append(
        Event.of("ProductsOrdered", new ProductsOrdered(orderId, items)).withTags(tags));
  }

  /** The product's current and previous price. */
  private static DecisionProjection<Price> price(String productId) {
    return DecisionProjection.startingWith(Price.UNDEFINED)
        .on(
            "ProductDefined",
            ProductDefined.class,
            (price, defined) -> new Price(Optional.of(defined.price()), Optional.empty()))
        .on(
            "ProductPriceChanged",
            ProductPriceChanged.class,
            (price, changed) -> price.changedTo(changed.newPrice(), changed.at()))
        .withTag(productTag(productId));
  }

  private static String productTag(String productId) {
    return "product:" + productId;
  }
}
