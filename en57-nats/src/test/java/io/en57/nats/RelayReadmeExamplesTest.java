package io.en57.nats;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.en57.Event;
import io.en57.EventStore;
import io.en57.testing.TestDatabases;
import io.en57.testing.TestDatabases.TestDatabase;
import io.nats.client.Connection;
import io.nats.client.IterableConsumer;
import io.nats.client.Message;
import io.nats.client.Nats;
import io.nats.client.Options;
import io.nats.client.StreamContext;
import io.nats.client.api.OrderedConsumerConfiguration;
import io.nats.client.api.StreamConfiguration;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The Java examples of the README's section "Relay to NATS JetStream", compiled and run against
 * PostgreSQL and a JetStream server. {@code ReadmeExamplesAreTestedTest} checks that each appears
 * here verbatim.
 */
@Tag("nats")
@Tag("postgres")
class RelayReadmeExamplesTest {

  private static NatsServer server;
  private static TestDatabase database;
  private static HikariDataSource pool;

  @BeforeAll
  static void start() {
    server = NatsServer.shared();
    database = TestDatabases.createMigrated();
    var config = new HikariConfig();
    config.setDataSource(database.dataSource());
    config.setMaximumPoolSize(4);
    pool = new HikariDataSource(config);
  }

  @AfterAll
  static void stop() {
    pool.close();
    database.close();
    server.close();
  }

  @Test
  void relayOrdersToAStreamAndConsumeThem() throws Exception {
    String natsUrl = server.url();
    DataSource dataSource = pool;
    EventStore store = EventStore.forDataSource(pool);
    long position;
    long consumedPosition;
    String eventId;
    Map<?, ?> data;

    Connection nats =
        Nats.connect(
            Options.builder()
                .server(natsUrl)
                .maxReconnects(-1) // a relay outlives broker restarts
                .build());
    nats.jetStreamManagement()
        .addStream(
            StreamConfiguration.builder()
                .name("SHOP")
                .subjects("shop.>")
                .duplicateWindow(Duration.ofMinutes(2))
                .build());

    try (JetStreamRelay relay =
        JetStreamRelay.builder(nats, "SHOP")
            .scope(store.read().ofType("OrderPlaced", "OrderShipped"))
            .subjectPrefix("shop") // subjects shop.OrderPlaced and shop.OrderShipped
            .start(store, dataSource)) {
      position =
          store
              .append(
                  List.of(Event.of("OrderPlaced", Map.of("orderId", "o1")).withTags("order:o1")))
              .position();
      relay.await(position, Duration.ofSeconds(5)); // acknowledged by the broker
    }

    StreamContext shop = nats.getStreamContext("SHOP");
    try (IterableConsumer placed =
        shop.createOrderedConsumer(
                new OrderedConsumerConfiguration().filterSubject("shop.OrderPlaced"))
            .iterate()) {
      Message message = placed.nextMessage(Duration.ofSeconds(1));
      consumedPosition =
          Long.parseLong(message.getHeaders().getFirst(JetStreamRelay.POSITION_HEADER));
      eventId = message.getHeaders().getFirst("Nats-Msg-Id"); // the event id
      data = new ObjectMapper().readValue(message.getData(), Map.class);
    }

    assertThat(consumedPosition).isEqualTo(position);
    assertThat(eventId).isEqualTo(store.read().toList().get(0).id().toString());
    assertThat(data).isEqualTo(Map.of("orderId", "o1"));
    nats.jetStreamManagement().deleteStream("SHOP");
    nats.close();
    store.close();
  }
}
