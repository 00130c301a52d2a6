package io.en57;

import static org.assertj.core.api.Assertions.assertThat;

import io.en57.subscriptions.Batch;
import io.en57.subscriptions.Subscription;
import io.en57.subscriptions.SubscriptionOptions;
import io.en57.testing.StreamingReplica;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * A store reading two real streaming replicas, one of them with replay paused: every read chooses a
 * replica in turn, so a subscription's pages come from both.
 */
@Tag("replica")
class SeveralReplicasTest {

  private static final int EVENTS = 15;

  private static StreamingReplica servers;

  @BeforeAll
  static void startServers() {
    servers = StreamingReplica.start(2);
  }

  @AfterAll
  static void stopServers() {
    servers.close();
  }

  @Test
  void aSubscriptionIsCaughtUpOnlyOnceItReachedTheHeadWhateverReplicaServesItsPages()
      throws Exception {
    String database = servers.createMigratedDatabase();
    // The store starts while both replicas are at the primary's head: a replica behind every head
    // the store sampled would be skipped, its lag unknown.
    try (EventStore store =
        EventStore.builder()
            .replica(servers.standbyUrl(0, database))
            .replica(servers.standbyUrl(1, database))
            .replicaMaxLag(Duration.ofMinutes(5)) // the paused replica stays in use
            .forUrl(servers.primaryUrl(database))) {
      servers.pauseReplay(1);
      try (EventStore writer = EventStore.forUrl(servers.primaryUrl(database))) {
        // Appends of another node: the subscribing store learns the head from the replicas only.
        for (int i = 0; i < EVENTS; i++) {
          writer.append(List.of(Event.of("Ticked")));
        }
      }
      awaitReplayed(0, database, EVENTS);
      assertThat(List.of(store.read().toList().size(), store.read().toList().size()))
          .as("two reads in turn, one on each replica")
          .containsExactlyInAnyOrder(0, EVENTS);
      // Each extra read moves the replicas' turn by one, so the subscriptions' pages meet the
      // paused replica at different points of their catch-up.
      for (int shift = 0; shift < 4; shift++) {
        IntStream.range(0, shift).forEach(i -> store.read().limit(1).toList());
        try (Subscription subscription =
            store.subscribe(store.read(), 0, SubscriptionOptions.defaults().withBatchSize(4))) {
          var delivered = new ArrayList<Long>();
          Batch batch;
          int polls = 0;
          do {
            batch = subscription.poll(Duration.ofSeconds(1));
            batch.events().forEach(e -> delivered.add(e.position()));
            assertThat(++polls).as("polls before caught up (shift %d)", shift).isLessThan(50);
          } while (!batch.caughtUp());
          assertThat(delivered)
              .as("events delivered when first caught up (shift %d)", shift)
              .containsExactlyElementsOf(LongStream.rangeClosed(1, EVENTS).boxed().toList());
          assertThat(subscription.position()).isEqualTo(EVENTS);
          // Nothing new: a poll waits out its timeout, though every other read finds a replica
          // behind.
          long started = System.nanoTime();
          assertThat(subscription.poll(Duration.ofMillis(300)).events()).isEmpty();
          assertThat(Duration.ofNanos(System.nanoTime() - started))
              .as("a poll with nothing new (shift %d)", shift)
              .isGreaterThanOrEqualTo(Duration.ofMillis(300));
        }
      }
    } finally {
      servers.resumeReplay(1);
    }
  }

  @Test
  void aReplicaShowingLessThanBeforeIsNotTrustedWithWhatItShowedBefore() throws Exception {
    String database = servers.createMigratedDatabase();
    try (EventStore writer = EventStore.forUrl(servers.primaryUrl(database))) {
      writer.append(List.of(Event.of("Ticked")));
    }
    awaitReplayed(0, database, 1);
    awaitReplayed(1, database, 1);
    // One name for a replica, which comes to point at another standby, one behind the first.
    PGSimpleDataSource renamed = servers.standby(0, database);
    try (EventStore store =
        EventStore.builder()
            .replica(renamed)
            .replicaMaxLag(Duration.ofMinutes(5))
            .readYourWrites(Duration.ofMillis(500), ReplicaFallback.PRIMARY)
            .forUrl(servers.primaryUrl(database))) {
      servers.pauseReplay(1);
      long second = store.append(List.of(Event.of("Ticked"))).position();
      awaitReplayed(0, database, second);
      // Waiting for the append, the read learns that the replica shows it.
      assertThat(store.read().atLeast(second).toList()).as("read on the first standby").hasSize(2);

      renamed.setPortNumbers(servers.standby(1, database).getPortNumbers());
      Thread.sleep(2_500); // a health check or two: the replica now shows position 1

      assertThat(store.read().atLeast(second).toList())
          .as("read with the append, the replica behind it")
          .hasSize(2);
    } finally {
      servers.resumeReplay(1);
    }
  }

  private static void awaitReplayed(int standby, String database, long position)
      throws SQLException, InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    try (Connection connection = servers.standby(standby, database).getConnection();
        Statement statement = connection.createStatement()) {
      while (true) {
        try (ResultSet head =
            statement.executeQuery("SELECT coalesce(max(position), 0) FROM en57.events")) {
          head.next();
          if (head.getLong(1) >= position) {
            return;
          }
        }
        assertThat(System.nanoTime()).as("replayed within 30 s").isLessThan(deadline);
        Thread.sleep(20);
      }
    }
  }
}
