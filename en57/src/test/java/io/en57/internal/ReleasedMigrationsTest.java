package io.en57.internal;

import static java.util.Map.entry;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Released migrations never change: a database migrated with one would report drift against a jar
 * holding another. The checksums are those of the files as released (LF line endings, which {@code
 * .gitattributes} keeps on every checkout); a new migration adds its line here.
 */
class ReleasedMigrationsTest {

  private static final Map<String, String> RELEASED =
      Map.ofEntries(
          entry(
              "0001_create_events",
              "15adb62db00a61c09e3ce833207f2f89df0cf18dadaab187fcc1ce6de8b57c32"),
          entry(
              "0002_append_only_history",
              "78a7e4b287efab67050025f0d32370874ea2fa6981319b494eb0c0a01fbb2644"),
          entry(
              "0003_projections",
              "d7ccdcb510f40eaa4f51643ac2a891801f05b2a3ff4fa30cc9ec204ea62b2b0a"),
          entry(
              "0004_append_across_nodes",
              "fc93224928800bb23a8ac2bf6594425344869e4f3f64c77b78eef308fa56e40f"),
          entry(
              "0005_drain_what_queues_meanwhile",
              "ddd8de59e3b2e70cf25a39614ae1c6ca714d67de3dba30f8481479605669440c"),
          entry(
              "0006_repartition_keeps_a_pending_reset",
              "26500c1e6883cc8d16f7bcf7d1ec6a09a39949662ec5e0aadcf4773a7ad8866a"),
          entry(
              "0007_append_leader",
              "de9a3a67ac81f4498119a25c26f1ec8470c6af07a913913ff96f67c0a7f2ba4d"),
          entry(
              "0008_projection_fail_says_whether_it_stopped",
              "a7cfb2f118dd9886ce1493830288ad0c5ea5449669e12aa6d600771fa15919ef"),
          entry(
              "0009_drain_the_queue_in_parts",
              "25c92be9d9400037fba89b70a0f88493f32e5163d2c871446ddcf140f2531dd3"),
          entry(
              "0010_projection_lock_waits_end",
              "2aea951fd69e5764840d6c030c475498692e564552c7d5a0314ee1444785ee8b"),
          entry(
              "0011_drain_reads_then_deletes",
              "27ae90a5e8c1a8a791a72f92a558c7abc52c137eefa0dbd8b9570721f7d5e70e"),
          entry(
              "0012_projection_release_and_fail_wait_briefly",
              "7d03e849a8a5b272df4b46f1f0e9d8c96a8c79f149bed643d30a07b69b73994a"),
          entry(
              "0013_drain_claims_in_one_statement",
              "cc5eeceff754d011f54aa0e608bbbca3e00b5d020d63dba3dc692eff4bfc125e"),
          entry(
              "0014_write_single_appends",
              "eb6cbe57a770fa1e395b3e62524d234c2034ee69cfbad39544cd363e903b94e8"));

  @Test
  void everyReleasedMigrationIsShippedUnchanged() {
    var shipped = new LinkedHashMap<String, String>();
    for (Migration migration : Migration.shipped()) {
      shipped.put(migration.name(), migration.checksum());
    }
    assertThat(shipped).containsAllEntriesOf(RELEASED);
  }
}
