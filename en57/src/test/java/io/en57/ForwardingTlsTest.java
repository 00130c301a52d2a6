package io.en57;

import static io.en57.AppendCondition.failIf;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.en57.AppendResult.Success;
import io.en57.testing.AppendsWritten;
import io.en57.testing.SelfSignedKeys;
import io.en57.testing.TestDatabases;
import io.en57.testing.TestDatabases.TestDatabase;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Forwarding over TLS: nodes holding the cluster's certificate forward to each other, and nothing
 * is forwarded to or taken from a node without it, however it got into the database.
 */
@Tag("postgres")
class ForwardingTlsTest {

  @TempDir static Path keys;
  private static TestDatabase database;
  private static SSLContext cluster;
  private static SSLContext rogue;
  private final List<EventStore> nodes = new ArrayList<>();

  @BeforeAll
  static void createDatabaseAndKeys() throws Exception {
    database = TestDatabases.createMigrated();
    cluster = SelfSignedKeys.context(SelfSignedKeys.keystore(keys, "cluster"));
    rogue = SelfSignedKeys.context(SelfSignedKeys.keystore(keys, "rogue"));
  }

  @AfterAll
  static void dropDatabase() {
    database.close();
  }

  @BeforeEach
  void emptyLog() {
    database.emptyLog();
  }

  @AfterEach
  void closeNodes() {
    nodes.forEach(EventStore::close);
  }

  /** A node forwarding appends, over TLS with {@code tls} unless null, counting what it writes. */
  private EventStore node(SSLContext tls, AtomicInteger written) {
    EventStoreBuilder builder =
        EventStore.builder()
            .maxPoolSize(3)
            .listener(new AppendsWritten(written))
            .forwardAppends("127.0.0.1", 0);
    if (tls != null) {
      builder.forwardingTls(tls);
    }
    EventStore node = builder.forUrl(database.jdbcUrl());
    nodes.add(node);
    return node;
  }

  private static void registerTen(EventStore node) {
    for (int i = 0; i < 10; i++) {
      String user = "u" + i;
      Event event = Event.of("UserRegistered", Map.of("user", user)).withTags("user:" + user);
      assertThat(node.append(List.of(event), failIf(node.read().withTag("user:" + user))))
          .isInstanceOf(Success.class);
    }
  }

  @Test
  void nodesHoldingTheClustersCertificateForwardOverTls() {
    var leaderWrote = new AtomicInteger();
    var followerWrote = new AtomicInteger();
    node(cluster, leaderWrote); // the first node leads
    EventStore follower = node(cluster, followerWrote);

    registerTen(follower);

    assertThat(leaderWrote).hasValue(10);
    assertThat(followerWrote).hasValue(0);
  }

  @Test
  void aLeaderWithoutTheClustersCertificateGetsNothingAndTheNodeAppendsDirectly() {
    var rogueWrote = new AtomicInteger();
    var followerWrote = new AtomicInteger();
    node(rogue, rogueWrote); // leads, as any session of the application's role could
    EventStore follower = node(cluster, followerWrote);

    registerTen(follower);

    assertThat(rogueWrote).hasValue(0);
    assertThat(followerWrote).hasValue(10);
    assertThat(follower.read().toList()).hasSize(10);
  }

  @Test
  void aLeaderOverTlsTakesNoAppendsFromANodeWithoutACertificate() {
    var leaderWrote = new AtomicInteger();
    var plainWrote = new AtomicInteger();
    node(cluster, leaderWrote);
    EventStore plain = node(null, plainWrote);

    registerTen(plain);

    assertThat(leaderWrote).hasValue(0);
    assertThat(plainWrote).hasValue(10);
  }

  @Test
  void theReadmeExample() {
    String nodeAddress = "127.0.0.1";
    String databaseUrl = database.jdbcUrl();
    SSLContext nodesTls = cluster;
    var leaderWrote = new AtomicInteger();
    node(cluster, leaderWrote);
    EventStore store =
        EventStore.builder()
            .forwardAppends(nodeAddress, 0)
            .forwardingTls(
                nodesTls) // an SSLContext with the nodes' key, trusting the nodes' certificate
            .forUrl(databaseUrl);
    nodes.add(store);

    store.append(List.of(Event.of("Forwarded")));

    assertThat(leaderWrote).hasValue(1);
  }

  @Test
  void tlsWithoutForwardingIsRefused() {
    assertThatThrownBy(() -> EventStore.builder().forwardingTls(cluster).forUrl(database.jdbcUrl()))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("forwardAppends");
  }
}
