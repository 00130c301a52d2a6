package io.en57.decisions;

import io.en57.EventStore;
import io.en57.EventStoreBuilder;
import java.util.function.UnaryOperator;

/** The decision contract on the in-memory engine; its assertions are in the contract. */
class InMemoryDecisionModelTest extends DecisionModelContract {

  @Override
  protected EventStore newStore(UnaryOperator<EventStoreBuilder> options) {
    return options.apply(EventStore.builder()).inMemory();
  }

  @Override
  protected void emptyLog() {
    // Every store made by newStore starts on an empty log of its own.
  }
}
