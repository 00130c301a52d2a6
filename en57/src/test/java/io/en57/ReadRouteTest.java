package io.en57;

import static org.assertj.core.api.Assertions.assertThat;

import io.en57.internal.ReadRoute;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Where a scope's reads go on a store with replicas ({@link Read#fromPrimary()}, {@link
 * Read#atLeast}), as the scope carries it; {@code ReplicaTest} reads a real replica with it.
 */
class ReadRouteTest {

  private final EventStore store = EventStore.inMemory();

  @AfterEach
  void close() {
    store.close();
  }

  @Test
  void aUnionReadsThePrimaryWhenEitherScopeDoes() {
    Read replica = store.read().ofType("A");
    Read primary = store.read().ofType("B").fromPrimary();

    assertThat(replica.or(primary).route()).isEqualTo(ReadRoute.PRIMARY);
    assertThat(primary.or(replica).route()).isEqualTo(ReadRoute.PRIMARY);
    assertThat(replica.atLeast(5).or(primary).route()).isEqualTo(ReadRoute.PRIMARY);
    assertThat(replica.or(replica).route()).isEqualTo(ReadRoute.REPLICA);
  }

  @Test
  void aUnionWaitsForTheFurtherPositionOfItsScopes() {
    Read three = store.read().ofType("A").atLeast(3);
    Read seven = store.read().ofType("B").atLeast(7);

    assertThat(three.or(seven).route()).isEqualTo(new ReadRoute(false, 7));
    assertThat(seven.or(three).route()).isEqualTo(new ReadRoute(false, 7));
    assertThat(store.read().or(seven).route()).isEqualTo(new ReadRoute(false, 7));
  }
}
