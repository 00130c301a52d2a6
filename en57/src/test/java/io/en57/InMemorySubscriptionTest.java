package io.en57;

import static org.assertj.core.api.Assertions.assertThat;

import io.en57.internal.InMemoryEngine;
import io.en57.subscriptions.BatchHandler;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/**
 * The subscription contract on the in-memory engine; the stores of one test share one log. Its
 * assertions are in {@link SubscriptionContract}, except for one that does not depend on the engine
 * and takes long.
 */
class InMemorySubscriptionTest extends SubscriptionContract {

  private InMemoryEngine log;

  @Override
  protected EventStore newStore(UnaryOperator<EventStoreBuilder> options) {
    return options.apply(EventStore.builder()).build(log);
  }

  @Override
  protected void emptyLog() {
    log = new InMemoryEngine();
  }

  @Test
  void closingTheStoreWaitsForStuckHandlersOnceNotOnceEach() throws Exception {
    EventStore own = EventStore.inMemory();
    own.append(List.of(Event.of("A")));
    var handling = new CountDownLatch(2);
    var interrupted = new CountDownLatch(2);
    BatchHandler stuck =
        batch -> {
          handling.countDown();
          try {
            Thread.sleep(TimeUnit.MINUTES.toMillis(5));
          } catch (InterruptedException e) {
            interrupted.countDown();
          }
        };
    own.subscribe(own.read(), 0).start(stuck);
    own.subscribe(own.read(), 0).start(stuck);
    assertThat(handling.await(10, TimeUnit.SECONDS)).isTrue();

    long started = System.nanoTime();
    own.close();
    Duration closing = Duration.ofNanos(System.nanoTime() - started);

    assertThat(interrupted.await(5, TimeUnit.SECONDS)).isTrue();
    // Each handler may take 30 s to finish; waited for one after the other, they took 60.
    assertThat(closing).isLessThan(Duration.ofSeconds(45));
  }
}
