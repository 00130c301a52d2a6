package io.en57.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.en57.EventStore;
import io.en57.SequencedEvent;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Streams the whole log, started by {@code stream-log} in a JVM with a small heap: through the
 * store ({@code --mode=en57}, default read batch of 1,000 events) or as the same keyset-paginated
 * SELECT through plain JDBC ({@code --mode=raw}). Checks that every position arrives once, in
 * order, and prints its {@link Result} as one line of JSON. The database comes from the
 * environment.
 */
@Command(name = "stream-worker", hidden = true, description = "Used by stream-log.")
final class StreamWorker implements Callable<Integer> {

  static final String URL = "BENCH_JDBC_URL";
  static final String USER = "BENCH_USER";
  static final String PASSWORD = "BENCH_PASSWORD";
  private static final int PAGE = 1_000;

  @Option(names = "--mode", required = true)
  String mode;

  @Option(names = "--warmups", required = true)
  int warmups;

  @Option(names = "--runs", required = true)
  int runs;

  @Option(names = "--expect", required = true)
  long expect;

  /**
   * What the measured runs did.
   *
   * @param seconds each measured run's duration
   * @param peakHeapBytes the heap pools' peak use during the measured runs
   */
  record Result(long events, List<Double> seconds, long peakHeapBytes, long maxHeapBytes) {
    double eventsPerSecond() {
      return events * seconds.size() / seconds.stream().mapToDouble(Double::doubleValue).sum();
    }

    double peakHeapMegabytes() {
      return peakHeapBytes / (1024.0 * 1024.0);
    }
  }

  @Override
  public Integer call() throws Exception {
    var config = new HikariConfig();
    config.setJdbcUrl(System.getenv(URL));
    config.setUsername(System.getenv(USER));
    config.setPassword(System.getenv(PASSWORD));
    config.setMaximumPoolSize(2);
    var seconds = new ArrayList<Double>();
    try (HikariDataSource pool = new HikariDataSource(config);
        EventStore store = Database.store(pool)) {
      for (int run = 0; run < warmups + runs; run++) {
        if (run == warmups) {
          System.gc();
          ManagementFactory.getMemoryPoolMXBeans().forEach(MemoryPoolMXBean::resetPeakUsage);
        }
        long started = System.nanoTime();
        long events = mode.equals("raw") ? streamRaw(pool) : streamStore(store);
        double elapsed = (System.nanoTime() - started) / 1e9;
        if (events != expect) {
          throw new IllegalStateException("streamed " + events + " events, expected " + expect);
        }
        if (run >= warmups) {
          seconds.add(elapsed);
        }
      }
    }
    long peak =
        ManagementFactory.getMemoryPoolMXBeans().stream()
            .filter(pool -> pool.getType() == MemoryType.HEAP)
            .mapToLong(pool -> pool.getPeakUsage().getUsed())
            .sum();
    var result = new Result(expect, seconds, peak, Runtime.getRuntime().maxMemory());
    System.out.println(new ObjectMapper().writeValueAsString(result));
    return 0;
  }

  private static long streamStore(EventStore store) {
    long count = 0;
    long previous = 0;
    Iterator<SequencedEvent> events = store.read().sequenced().iterator();
    while (events.hasNext()) {
      previous = checkNext(previous, events.next().position());
      count++;
    }
    return count;
  }

  /** The store's own full-log page query, on one held connection, columns read as text. */
  private static long streamRaw(HikariDataSource pool) throws SQLException {
    long count = 0;
    long previous = 0;
    try (Connection connection = pool.getConnection();
        PreparedStatement page =
            connection.prepareStatement(
                "SELECT e.position, e.id, e.type, e.data, e.meta, e.tags FROM en57.events e"
                    + " WHERE true AND e.position > ? ORDER BY e.position LIMIT ?")) {
      page.setInt(2, PAGE);
      int rows;
      do {
        page.setLong(1, previous);
        rows = 0;
        try (ResultSet result = page.executeQuery()) {
          while (result.next()) {
            previous = checkNext(previous, result.getLong(1));
            result.getObject(2);
            result.getString(3);
            result.getString(4);
            result.getString(5);
            result.getArray(6).getArray();
            rows++;
          }
        }
        count += rows;
      } while (rows == PAGE);
    }
    return count;
  }

  private static long checkNext(long previous, long position) {
    if (position <= previous) {
      throw new IllegalStateException("position " + position + " after " + previous);
    }
    return position;
  }
}
