package io.en57.decisions;

/**
 * The decision contract in memory with every model {@link DecisionModel#readingFromReplicas()}: a
 * store without replicas, where the option changes nothing.
 */
class InMemoryReplicaReadingDecisionModelTest extends InMemoryDecisionModelTest {

  @Override
  protected DecisionModel modelOf(DecisionProjection<?>... projections) {
    return DecisionModel.of(projections).readingFromReplicas();
  }
}
