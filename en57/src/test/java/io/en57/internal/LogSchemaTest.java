package io.en57.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class LogSchemaTest {

  private final LogSchema billing = LogSchema.of("billing");

  @Test
  void qualifiedNamesAndTheSchemaItselfAreRewritten() {
    assertThat(billing.sql("SELECT e.position FROM en57.events e JOIN en57.event_tags t"))
        .isEqualTo("SELECT e.position FROM \"billing\".events e JOIN \"billing\".event_tags t");
    assertThat(billing.sql("'en57.events'::regclass, setval('en57.append_tenure', 1)"))
        .isEqualTo("'\"billing\".events'::regclass, setval('\"billing\".append_tenure', 1)");
    assertThat(billing.sql("CREATE SCHEMA IF NOT EXISTS en57; GRANT USAGE ON SCHEMA en57 TO x"))
        .isEqualTo(
            "CREATE SCHEMA IF NOT EXISTS \"billing\"; GRANT USAGE ON SCHEMA \"billing\" TO x");
    assertThat(billing.sql("pronamespace = 'en57'::regnamespace AND n.nspname = 'en57'"))
        .isEqualTo("pronamespace = '\"billing\"'::regnamespace AND n.nspname = 'billing'");
  }

  @Test
  void otherMentionsOfEn57StayAsTheyAre() {
    String untouched =
        "current_setting('en57.allow_history_rewrite', true), my_en57.events, 'en57',"
            + " en57_appended, En57 history";
    assertThat(billing.sql(untouched)).isEqualTo(untouched);
  }

  @Test
  void theDefaultSchemaLeavesTheSqlAlone() {
    String sql = "SELECT 1 FROM en57.events WHERE 'en57'::regnamespace IS NOT NULL";
    assertThat(LogSchema.of("en57").sql(sql)).isSameAs(sql);
    assertThat(LogSchema.of("en57")).isSameAs(LogSchema.DEFAULT);
  }

  @Test
  void eachLogHasItsOwnChannel() {
    assertThat(LogSchema.DEFAULT.channel()).isEqualTo("en57_appended");
    assertThat(billing.channel()).isEqualTo("billing_appended");
    assertThat(LogSchema.of("x".repeat(63)).channel()).hasSize(63);
  }

  @Test
  void aNameMustBeAPlainLowerCaseIdentifier() {
    assertThatThrownBy(() -> LogSchema.of("Billing"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("plain lower-case SQL identifier")
        .hasMessageContaining("\"Billing\"");
    assertThatThrownBy(() -> LogSchema.of("pg_billing"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("pg_");
    assertThatThrownBy(() -> LogSchema.of(null)).isInstanceOf(NullPointerException.class);
  }
}
