package io.en57.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.en57.Query;
import io.en57.Query.Criterion;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * A large union reads with one statement whose text does not depend on its criteria, so it is
 * planned once per connection and never needs more bind parameters than PostgreSQL allows (65,535);
 * a small one, and a single criterion, get statements of their own.
 */
class ReadSqlTest {

  private static Query union(int criteria) {
    var union = new ArrayList<Criterion>();
    for (int i = 0; i < criteria; i++) {
      union.add(
          switch (i % 4) {
            case 0 -> new Criterion(Set.of(), Set.of("tag:" + i), 0);
            case 1 -> new Criterion(Set.of("Type" + i), Set.of("tag:" + i, "other:" + i), i);
            case 2 -> new Criterion(Set.of("Type" + i, "Else" + i), Set.of(), 0);
            default -> new Criterion(Set.of(), Set.of(), i);
          });
    }
    return new Query(union);
  }

  @Test
  void aLargeUnionIsOneStatementWhateverItsCriteria() {
    for (boolean backwards : new boolean[] {false, true}) {
      String large = ReadSql.of(union(20), 0, backwards, 1_000).sql();
      String larger = ReadSql.of(union(100_000), 7, backwards, 10).sql();
      assertThat(larger).isEqualTo(large);
      assertThat(large.chars().filter(c -> c == '?').count()).isLessThan(20);
    }
    assertThat(ReadSql.of(union(30), 0, true, 1).sql())
        .isNotEqualTo(ReadSql.of(union(30), 0, false, 1).sql());
  }

  @Test
  void aSmallUnionHasAStatementOfItsOwn() {
    String large = ReadSql.of(union(100), 0, false, 1_000).sql();
    assertThat(ReadSql.of(union(4), 0, false, 1_000).sql())
        .isNotEqualTo(large)
        .doesNotContain("unnest")
        .contains("UNION");
  }

  @Test
  void aSingleCriterionThatOneIndexAnswersHasAStatementOfItsOwn() {
    String union = ReadSql.of(union(100), 0, false, 1_000).sql();
    for (Criterion criterion :
        List.of(
            new Criterion(Set.of(), Set.of("tag"), 0),
            new Criterion(Set.of("A", "B"), Set.of("tag"), 0),
            new Criterion(Set.of("A"), Set.of(), 0),
            new Criterion(Set.of(), Set.of(), 5))) {
      assertThat(ReadSql.of(new Query(List.of(criterion)), 0, false, 1_000).sql())
          .isNotEqualTo(union)
          .doesNotContain("unnest");
    }
  }
}
