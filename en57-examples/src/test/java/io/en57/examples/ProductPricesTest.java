package io.en57.examples;

import static org.assertj.core.api.Assertions.assertThat;

import io.en57.EventStore;
import io.en57.SequencedEvent;
import io.en57.decisions.Outcome;
import io.en57.examples.ProductPrices.Item;
import io.en57.examples.ProductPrices.ProductDefined;
import io.en57.examples.ProductPrices.ProductPriceChanged;
import io.en57.examples.ProductPrices.ProductsOrdered;
import io.en57.examples.ProductPrices.Rejection;
import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

@Tag("postgres")
class ProductPricesTest {

  private static final Duration GRACE = Duration.ofMinutes(10);
  private static final BigDecimal TEN = new BigDecimal("10.00");
  private static final BigDecimal TWELVE = new BigDecimal("12.00");

  private static ExampleStore database;
  private final TestClock clock = new TestClock(Instant.parse("2026-11-30T10:00:00Z"));
  private EventStore store;
  private ProductPrices shop;

  @BeforeAll
  static void createDatabase() {
    database = new ExampleStore();
  }

  @AfterAll
  static void dropDatabase() {
    database.close();
  }

  @BeforeEach
  void emptyStore() {
    store = database.emptyStore(ProductPrices::registerEvents);
    shop = new ProductPrices(store, clock, GRACE);
  }

  @Test
  void anOrderIsAcceptedAtTheCurrentPriceOnly() {
    shop.defineProduct("p1", TEN);

    assertThat(shop.order("o1", Map.of("p1", new BigDecimal("10"))))
        .isInstanceOf(Outcome.Appended.class);
    assertThat(shop.order("o2", Map.of("p1", new BigDecimal("9.99"))))
        .isEqualTo(new Outcome.Rejected<>(new Rejection("p1", "the price is now 10.00"), 0));
    assertThat(shop.order("o3", Map.of("p9", TEN)))
        .isEqualTo(new Outcome.Rejected<>(new Rejection("p9", "no such product"), 0));
  }

  @Test
  void theFormerPriceStaysValidForTheGracePeriod() {
    shop.defineProduct("p1", TEN);
    shop.changePrice("p1", TWELVE);

    clock.advance(GRACE.minusSeconds(1));
    assertThat(shop.order("o1", Map.of("p1", TEN))).isInstanceOf(Outcome.Appended.class);
    assertThat(shop.order("o2", Map.of("p1", TWELVE))).isInstanceOf(Outcome.Appended.class);
    clock.advance(Duration.ofSeconds(1));
    assertThat(shop.order("o3", Map.of("p1", TEN)))
        .isEqualTo(new Outcome.Rejected<>(new Rejection("p1", "the price is now 12.00"), 0));
  }

  @Test
  void onlyThePriceJustBeforeTheChangeHasAGracePeriod() {
    shop.defineProduct("p1", TEN);
    shop.changePrice("p1", TWELVE);
    shop.changePrice("p1", new BigDecimal("11.00"));

    assertThat(shop.order("o1", Map.of("p1", TWELVE))).isInstanceOf(Outcome.Appended.class);
    assertThat(shop.order("o2", Map.of("p1", TEN))).isInstanceOf(Outcome.Rejected.class);
  }

  @Test
  void anOrderOfSeveralProductsChecksEachOfThem() {
    shop.defineProduct("p1", TEN);
    shop.defineProduct("p2", TWELVE);
    var shown = new LinkedHashMap<String, BigDecimal>();
    shown.put("p1", TEN);
    shown.put("p2", TEN);

    assertThat(shop.order("o1", shown))
        .isEqualTo(new Outcome.Rejected<>(new Rejection("p2", "the price is now 12.00"), 0));
    shown.put("p2", TWELVE);
    assertThat(shop.order("o1", shown)).isInstanceOf(Outcome.Appended.class);
    assertThat(
            ((ProductsOrdered) store.read().ofType("ProductsOrdered").toList().get(0).data())
                .items())
        .containsExactly(new Item("p1", TEN), new Item("p2", TWELVE));
    assertThat(store.read().withTag("product:p2").ofType("ProductsOrdered").toList()).hasSize(1);
  }

  @Test
  void ordersRacingPriceChangesOnTwoNodesAreNeverAcceptedAtAnInvalidPrice() throws Exception {
    var strict = new ProductPrices(store, clock, Duration.ZERO);
    var nodes = List.of(store, database.node(ProductPrices::registerEvents));
    strict.defineProduct("p1", TEN);
    var tasks = new ArrayList<Callable<Integer>>();
    tasks.add(
        () -> {
          for (int change = 0; change < 30; change++) {
            strict.changePrice("p1", change % 2 == 0 ? TWELVE : TEN);
          }
          return 0;
        });
    for (int t = 0; t < 7; t++) {
      var desk = new ProductPrices(nodes.get(t % 2), clock, Duration.ZERO);
      String customer = "k" + t;
      tasks.add(
          () -> {
            int conflicts = 0;
            for (int o = 0; o < 15; o++) {
              // The customer orders at the price shown a moment ago, which may have changed.
              BigDecimal shown = o % 2 == 0 ? TEN : TWELVE;
              conflicts += desk.order(customer + "-" + o, Map.of("p1", shown)).conflicts();
            }
            return conflicts;
          });
    }
    int conflicts = ExampleStore.race(tasks).stream().mapToInt(Integer::intValue).sum();

    // Replayed, every order carries the price of its moment.
    var price = new HashMap<String, BigDecimal>();
    int orders = 0;
    for (SequencedEvent sequenced : store.read().sequenced().toList()) {
      Object data = sequenced.event().data();
      if (data instanceof ProductDefined defined) {
        price.put(defined.productId(), defined.price());
      } else if (data instanceof ProductPriceChanged changed) {
        price.put(changed.productId(), changed.newPrice());
      } else if (data instanceof ProductsOrdered ordered) {
        orders++;
        for (Item item : ordered.items()) {
          assertThat(item.price())
              .as("order %s at position %d", ordered.orderId(), sequenced.position())
              .isEqualByComparingTo(price.get(item.productId()));
        }
      }
    }
    System.out.printf("Product price race: %d orders accepted, %d conflicts%n", orders, conflicts);
    assertThat(orders).isPositive();
    assertThat(conflicts).isPositive();
  }
}
