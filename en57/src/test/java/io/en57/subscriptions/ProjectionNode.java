package io.en57.subscriptions;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.en57.EventStore;
import java.time.Duration;

/**
 * An application node in a process of its own, for {@link ProjectionProofTest}: runs the proof
 * projection until the process is killed. Arguments: the database's JDBC URL, the lease in
 * milliseconds, the node's name.
 */
final class ProjectionNode {

  private ProjectionNode() {}

  public static void main(String[] args) throws Exception {
    String url = args[0];
    Duration lease = Duration.ofMillis(Long.parseLong(args[1]));
    String node = args[2];
    var config = new HikariConfig();
    config.setJdbcUrl(url);
    config.setMaximumPoolSize(4);
    var pool = new HikariDataSource(config);
    EventStore store =
        EventStore.builder().pollInterval(Duration.ofMillis(100)).forDataSource(pool);
    ProjectionRunner.start(
        store,
        pool,
        RunnerOptions.defaults().withLease(lease).withNodeName(node),
        ProjectionProofTest.journalled(store, node, pool));
    System.out.println("started " + node);
    System.out.flush();
    Thread.sleep(Long.MAX_VALUE);
  }
}
