package io.en57.examples;

import static org.assertj.core.api.Assertions.assertThat;

import io.en57.EventStore;
import io.en57.examples.IdempotentOrders.Placed;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

@Tag("postgres")
class IdempotentOrdersTest {

  private static ExampleStore database;
  private EventStore store;
  private IdempotentOrders orders;

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
    store = database.emptyStore(IdempotentOrders::registerEvents);
    orders = new IdempotentOrders(store);
  }

  @Test
  void aRepeatedRequestPlacesNoSecondOrderAndLearnsTheFirst() {
    Placed first = orders.placeOrder("token-1", "book");
    Placed again = orders.placeOrder("token-1", "book");

    assertThat(first.repeated()).isFalse();
    assertThat(again).isEqualTo(new Placed(first.orderId(), true));
    assertThat(store.read().ofType("OrderPlaced").toList()).hasSize(1);
  }

  @Test
  void anotherTokenPlacesAnotherOrder() {
    Placed first = orders.placeOrder("token-1", "book");
    Placed second = orders.placeOrder("token-2", "book");

    assertThat(second.repeated()).isFalse();
    assertThat(second.orderId()).isNotEqualTo(first.orderId());
    assertThat(store.read().ofType("OrderPlaced").toList()).hasSize(2);
  }

  @Test
  void requestsWithOneTokenRacingOnTwoNodesPlaceOneOrder() throws Exception {
    var nodes = List.of(store, database.node(IdempotentOrders::registerEvents));
    for (int round = 0; round < 5; round++) {
      String token = "token-" + round;
      var tasks = new ArrayList<Callable<Placed>>();
      for (int t = 0; t < 8; t++) {
        var desk = new IdempotentOrders(nodes.get(t % 2));
        tasks.add(() -> desk.placeOrder(token, "book"));
      }
      List<Placed> answers = ExampleStore.race(tasks);

      assertThat(answers).filteredOn(placed -> !placed.repeated()).hasSize(1);
      String orderId =
          answers.stream().filter(p -> !p.repeated()).findFirst().orElseThrow().orderId();
      assertThat(answers).extracting(Placed::orderId).containsOnly(orderId);
      assertThat(store.read().withTag("idempotency:" + token)).hasSize(1);
    }
  }
}
