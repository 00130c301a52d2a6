package io.en57.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

/**
 * One versioned schema migration shipped in the jar.
 *
 * @param version 1, 2, 3... in the order they apply
 * @param name the file name without extension, such as {@code 0001_create_events}
 * @param checksum SHA-256 of the SQL, to notice an applied migration that was edited afterwards
 */
public record Migration(int version, String name, String sql, String checksum) {

  /** The migrations this library ships, in order. Add new files here, never edit applied ones. */
  private static final List<String> SHIPPED =
      List.of(
          "0001_create_events",
          "0002_append_only_history",
          "0003_projections",
          "0004_append_across_nodes",
          "0005_drain_what_queues_meanwhile",
          "0006_repartition_keeps_a_pending_reset",
          "0007_append_leader",
          "0008_projection_fail_says_whether_it_stopped",
          "0009_drain_the_queue_in_parts",
          "0010_projection_lock_waits_end",
          "0011_drain_reads_then_deletes",
          "0012_projection_release_and_fail_wait_briefly",
          "0013_drain_claims_in_one_statement",
          "0014_write_single_appends");

  /** The shipped migrations, loaded from the class path. */
  public static List<Migration> shipped() {
    return SHIPPED.stream().map(Migration::load).toList();
  }

  /** A migration with the given SQL; its checksum is computed. */
  public static Migration of(int version, String name, String sql) {
    return new Migration(version, name, sql, sha256(sql));
  }

  private static Migration load(String name) {
    String resource = "/io/en57/migrations/" + name + ".sql";
    try (InputStream in = Migration.class.getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalStateException("migration " + resource + " is missing from the jar");
      }
      return of(
          Integer.parseInt(name.substring(0, 4)),
          name,
          new String(in.readAllBytes(), StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read migration " + resource, e);
    }
  }

  private static String sha256(String text) {
    try {
      return HexFormat.of()
          .formatHex(
              MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
  }
}
