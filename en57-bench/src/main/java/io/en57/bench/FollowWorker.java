package io.en57.bench;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.en57.EventStore;
import io.en57.SequencedEvent;
import io.en57.subscriptions.Subscription;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.sql.DriverManager;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import picocli.CommandLine.Command;

/**
 * The subscriber in another JVM for {@code follow-lag}: subscribes to the whole log from its head,
 * listening on a dedicated connection, and records when its handler saw each event (wall clock,
 * microseconds, which both JVMs share on one machine). Prints {@code ready}; then reads {@code
 * until POSITION} from stdin, waits until it has seen that far, and prints one {@code id micros}
 * line per event and {@code done}. The database comes from the environment, as for {@link
 * StreamWorker}.
 */
@Command(name = "follow-worker", hidden = true, description = "Used by follow-lag.")
final class FollowWorker implements Callable<Integer> {

  @Override
  public Integer call() throws Exception {
    String url = System.getenv(StreamWorker.URL);
    String user = System.getenv(StreamWorker.USER);
    String password = System.getenv(StreamWorker.PASSWORD);
    var config = new HikariConfig();
    config.setJdbcUrl(url);
    config.setUsername(user);
    config.setPassword(password);
    config.setMaximumPoolSize(4);
    Map<UUID, Long> seen = new ConcurrentHashMap<>();
    PrintStream out = System.out;
    try (HikariDataSource pool = new HikariDataSource(config);
        EventStore store =
            EventStore.builder()
                .listenConnection(() -> DriverManager.getConnection(url, user, password))
                .forDataSource(pool);
        Subscription subscription =
            store
                .subscribe(store.read(), store.head())
                .start(
                    batch -> {
                      long now = FollowWorkloads.wallMicros();
                      for (SequencedEvent event : batch.events()) {
                        seen.put(event.event().id(), now);
                      }
                    })) {
      out.println("ready");
      out.flush();
      var in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
      String line = in.readLine();
      long until = Long.parseLong(line.substring("until ".length()));
      long deadline = System.nanoTime() + 600_000_000_000L;
      while (subscription.position() < until && System.nanoTime() < deadline) {
        Thread.sleep(10);
      }
      var dump = new StringBuilder();
      seen.forEach((id, micros) -> dump.append(id).append(' ').append(micros).append('\n'));
      out.print(dump);
      out.println("done");
      out.flush();
    }
    return 0;
  }
}
