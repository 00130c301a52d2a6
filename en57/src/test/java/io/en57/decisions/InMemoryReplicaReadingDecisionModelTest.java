package io.en57.decisions;

import static org.assertj.core.api.Assertions.assertThat;

import io.en57.Event;
import io.en57.EventStore;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The decision contract in memory with every model {@link DecisionModel#readingFromReplicas()}: a
 * store without replicas, where the option changes nothing.
 */
class InMemoryReplicaReadingDecisionModelTest extends InMemoryDecisionModelTest {

  @Override
  protected DecisionModel modelOf(DecisionProjection<?>... projections) {
    return DecisionModel.of(projections).readingFromReplicas();
  }

  @Test
  void onAStoreWithoutReplicasItReadsWhatTheDefaultModelReads() {
    DecisionProjection<Integer> subscriptions = count("Subscribed", "course:c1");
    DecisionProjection<Integer> latest = count("Priced").lastEventOnly();
    try (EventStore store = EventStore.builder().inMemory()) {
      store.append(
          List.of(
              Event.of("Subscribed").withTags("course:c1"),
              Event.of("Priced"),
              Event.of("Subscribed").withTags("course:c2"),
              Event.of("Subscribed").withTags("course:c1")));
      DecisionModel byDefault = DecisionModel.of(subscriptions, latest);
      DecisionModel onReplicas = byDefault.readingFromReplicas();

      DecisionState expected = byDefault.read(store);
      DecisionState actual = onReplicas.read(store);

      assertThat(actual.get(subscriptions)).isEqualTo(2).isEqualTo(expected.get(subscriptions));
      assertThat(actual.get(latest)).isEqualTo(1).isEqualTo(expected.get(latest));
      assertThat(actual.position()).isEqualTo(expected.position()).isEqualTo(4);
      assertThat(actual.condition()).isEqualTo(expected.condition());
      assertThat(onReplicas).isNotSameAs(byDefault);
      assertThat(onReplicas.readingFromReplicas()).isSameAs(onReplicas);
    }
  }
}
