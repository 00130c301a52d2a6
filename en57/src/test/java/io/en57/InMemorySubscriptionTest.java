package io.en57;

import io.en57.internal.InMemoryEngine;
import java.util.function.UnaryOperator;

/**
 * The subscription contract on the in-memory engine; the stores of one test share one log. Its
 * assertions are in {@link SubscriptionContract}.
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
}
