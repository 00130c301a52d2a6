package io.en57.decisions;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * The decision contract on PostgreSQL with every model {@link DecisionModel#readingFromReplicas()}
 * on a store without replicas: the option changes nothing there.
 */
class PostgresReplicaReadingDecisionModelTest extends PostgresDecisionModelTest {

  @Override
  protected DecisionModel modelOf(DecisionProjection<?>... projections) {
    return DecisionModel.of(projections).readingFromReplicas();
  }

  @Test
  void theModelsUnderTestReadFromReplicas() {
    DecisionProjection<Integer> projection = count("A");
    DecisionModel model = modelOf(projection);

    assertThat(model.toString()).endsWith("] reading from replicas");
    assertThat(DecisionModel.of(projection).toString()).doesNotContain("replicas");
    assertThat(model.readingFromReplicas()).isSameAs(model);
  }
}
