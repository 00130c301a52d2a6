package io.en57.examples;

import static org.assertj.core.api.Assertions.assertThat;

import io.en57.EventStore;
import io.en57.examples.InvoiceNumbers.Invoice;
import io.en57.examples.InvoiceNumbers.InvoiceCreated;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

@Tag("postgres")
class InvoiceNumbersTest {

  private static ExampleStore database;
  private EventStore store;
  private InvoiceNumbers invoices;

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
    store = database.emptyStore(InvoiceNumbers::registerEvents);
    invoices = new InvoiceNumbers(store);
  }

  @Test
  void invoicesAreNumberedFromOneWithoutGaps() {
    assertThat(invoices.create("k1", BigDecimal.TEN).number()).isEqualTo(1);
    store.append(List.of(io.en57.Event.of("SomethingElse")));
    assertThat(invoices.create("k2", BigDecimal.ONE).number()).isEqualTo(2);
    assertThat(invoices.create("k1", BigDecimal.ONE)).isEqualTo(new Invoice(3, store.head()));
  }

  @Test
  void creatorsRacingOnTwoNodesGetConsecutiveNumbersWithoutGapsOrDuplicates() throws Exception {
    var nodes = List.of(store, database.node(InvoiceNumbers::registerEvents));
    var tasks = new ArrayList<Callable<List<Long>>>();
    for (int t = 0; t < 8; t++) {
      var desk = new InvoiceNumbers(nodes.get(t % 2));
      String customer = "k" + t;
      tasks.add(
          () -> {
            var numbers = new ArrayList<Long>();
            for (int i = 0; i < 5; i++) {
              numbers.add(desk.create(customer, BigDecimal.ONE).number());
            }
            return numbers;
          });
    }
    List<Long> numbers = ExampleStore.race(tasks).stream().flatMap(List::stream).toList();

    List<Long> expected = LongStream.rangeClosed(1, 40).boxed().toList();
    assertThat(numbers).containsExactlyInAnyOrderElementsOf(expected);
    assertThat(store.read().ofType("InvoiceCreated").stream())
        .extracting(e -> ((InvoiceCreated) e.data()).invoiceNumber())
        .containsExactlyElementsOf(expected);
  }
}
