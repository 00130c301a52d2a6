package io.en57.nats;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.en57.EventStore;
import io.en57.subscriptions.RunnerOptions;
import java.time.Duration;

/**
 * A relay in a process of its own, for {@link RelayProofTest} to kill: relays the proof scope until
 * the process is killed. Arguments: the database's JDBC URL, the NATS URL, the stream, the lease in
 * milliseconds, the node's name.
 */
final class RelayNode {

  private RelayNode() {}

  public static void main(String[] args) throws Exception {
    var config = new HikariConfig();
    config.setJdbcUrl(args[0]);
    config.setMaximumPoolSize(4);
    var pool = new HikariDataSource(config);
    EventStore store =
        EventStore.builder().pollInterval(Duration.ofMillis(100)).forDataSource(pool);
    RelayProofTest.relay(Streams.connect(args[1]), args[2], store)
        .runnerOptions(
            RunnerOptions.defaults()
                .withLease(Duration.ofMillis(Long.parseLong(args[3])))
                .withNodeName(args[4]))
        .start(store, pool);
    System.out.println("started " + args[4]);
    System.out.flush();
    Thread.sleep(Long.MAX_VALUE);
  }
}
