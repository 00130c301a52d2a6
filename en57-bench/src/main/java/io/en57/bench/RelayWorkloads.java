package io.en57.bench;

import static io.en57.bench.Report.count;
import static io.en57.bench.Report.ms;
import static io.en57.bench.Report.rate;
import static io.en57.bench.Report.ratio;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.zaxxer.hikari.HikariDataSource;
import io.en57.Event;
import io.en57.EventStore;
import io.en57.bench.Results.Better;
import io.en57.bench.Results.Figure;
import io.en57.bench.Results.ScenarioResult;
import io.en57.bench.Results.Table;
import io.en57.bench.Results.Target;
import io.en57.bench.Scenario.Context;
import io.en57.nats.JetStreamRelay;
import io.nats.client.Connection;
import io.nats.client.IterableConsumer;
import io.nats.client.JetStream;
import io.nats.client.Message;
import io.nats.client.Nats;
import io.nats.client.Options;
import io.nats.client.PublishOptions;
import io.nats.client.api.OrderedConsumerConfiguration;
import io.nats.client.api.PublishAck;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import io.nats.client.impl.Headers;
import io.nats.client.impl.NatsMessage;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

/**
 * The relay to NATS JetStream (issue 12, item 4), on a {@code nats-server -js} of its own (skipped,
 * saying so, when there is no binary): the relay catching up with a backlog, next to raw {@code
 * publishAsync} of the same messages in batches of the same size; then, while 16 threads append
 * single events, the rate the relay publishes at next to the append rate, and the lag from an
 * append's acknowledgement to a JetStream consumer receiving its message, next to the lag of a
 * message published straight to the broker every 5 ms during the same runs.
 */
final class RelayWorkloads implements Scenario {

  static final double TARGET_EVENTS_PER_SECOND = 50_000;
  private static final int APPEND_THREADS = FollowWorkloads.APPEND_THREADS;
  private static final int MAX_BACKLOG = 200_000;
  private static final int BATCH = 5_000; // the relay's default batch size
  private static final Duration PATIENCE = Duration.ofMinutes(5);

  @Override
  public String name() {
    return "relay-jetstream";
  }

  @Override
  public String description() {
    return "relay to NATS JetStream: catch-up rate next to raw publishAsync; rate and lag while 16"
        + " threads append";
  }

  @Override
  public ScenarioResult run(Context context) throws Exception {
    long started = System.nanoTime();
    Path binary = Broker.binary();
    if (!Files.isExecutable(binary)) {
      context.progress(
          "skipped: no nats-server at %s (install nats-server, or set %s)",
          binary, Broker.BINARY_VARIABLE);
      return new ScenarioResult(
          name(),
          Table.FOLLOW,
          0,
          List.of(
              row(
                  "relay-jetstream: skipped",
                  "",
                  "",
                  "",
                  "",
                  "no nats-server at " + binary,
                  "",
                  "")),
          List.of(),
          List.of());
    }
    try (Broker broker = Broker.start(binary);
        Connection nats = connect(broker.url())) {
      int backlog = Math.min(context.events(), MAX_BACKLOG);
      double relayed = catchUp(context, nats, backlog);
      context.progress("relay catch-up: %s events/s", rate(relayed));
      double raw = rawPublish(context, nats, backlog);
      context.progress("raw publishAsync: %s events/s", rate(raw));
      Live live = live(context, nats);
      context.progress(
          "while appending: relay %s events/s, append %s events/s, lag p99 %s ms",
          rate(live.relayedPerSecond()), rate(live.appendedPerSecond()), ms(live.lags()[99]));
      var rows =
          List.of(
              row(
                  "relay-jetstream: catch-up",
                  count(backlog),
                  "events/s",
                  rate(relayed),
                  rate(raw),
                  "publishAsync, batches of 5,000",
                  ratio(relayed / raw),
                  "≥ 50,000"),
              row(
                  "relay-jetstream: 16 threads appending",
                  count(live.appended()) + " appended",
                  "events/s",
                  rate(live.relayedPerSecond()),
                  rate(live.appendedPerSecond()),
                  "the append rate",
                  ratio(live.relayedPerSecond() / live.appendedPerSecond()),
                  ""),
              row(
                  "relay-jetstream: 16 threads appending",
                  count(live.appended()) + " appended",
                  "lag p50 ms",
                  ms(live.lags()[50]),
                  ms(live.rawLags()[50]),
                  "publish→consumer, every 5 ms",
                  ratio(live.lags()[50] / live.rawLags()[50]),
                  ""),
              row(
                  "relay-jetstream: 16 threads appending",
                  count(live.appended()) + " appended",
                  "lag p99 ms",
                  ms(live.lags()[99]),
                  ms(live.rawLags()[99]),
                  "publish→consumer, every 5 ms",
                  ratio(live.lags()[99] / live.rawLags()[99]),
                  ""));
      var figures =
          List.of(
              new Figure("relay catch-up events/s", relayed, "events/s", Better.HIGHER),
              new Figure("raw publishAsync events/s", raw, "events/s", Better.NEITHER),
              new Figure("relay ÷ raw", relayed / raw, "×", Better.HIGHER),
              new Figure(
                  "relay events/s while appending",
                  live.relayedPerSecond(),
                  "events/s",
                  Better.HIGHER),
              new Figure("append events/s", live.appendedPerSecond(), "events/s", Better.NEITHER),
              new Figure("relay lag p50", live.lags()[50], "ms", Better.LOWER),
              new Figure("relay lag p99", live.lags()[99], "ms", Better.LOWER),
              new Figure("raw publish lag p50", live.rawLags()[50], "ms", Better.NEITHER),
              new Figure("raw publish lag p99", live.rawLags()[99], "ms", Better.NEITHER));
      var targets =
          List.of(
              new Target(
                  "relay to JetStream ≥ 50,000 events/s (published and acknowledged)",
                  rate(relayed) + " events/s",
                  relayed >= TARGET_EVENTS_PER_SECOND));
      return new ScenarioResult(
          name(), Table.FOLLOW, (System.nanoTime() - started) / 1e9, rows, figures, targets);
    }
  }

  private static List<String> row(
      String scenario,
      String events,
      String figure,
      String ours,
      String baseline,
      String baselineIs,
      String ratio,
      String target) {
    return List.of(scenario, events, figure, ours, baseline, baselineIs, ratio, target);
  }

  private static Event event(long n) {
    return Event.of(
            "OrderPlaced",
            Map.of("orderId", "order-" + n, "customer", "customer-" + (n % 997), "total", n % 500))
        .withTags("order:order-" + n, "customer:customer-" + (n % 997));
  }

  /**
   * The relay publishing a stored backlog of {@code backlog} events to an empty stream, from its
   * start to the broker's last acknowledgement, per run.
   */
  private static double catchUp(Context context, Connection nats, int backlog) throws Exception {
    try (Database database = context.server().create();
        HikariDataSource pool = database.pool(6);
        EventStore store = Database.store(pool)) {
      for (int n = 0; n < backlog; n += 100) {
        var events = new ArrayList<Event>(100);
        for (int i = n; i < Math.min(backlog, n + 100); i++) {
          events.add(event(i));
        }
        store.append(events);
      }
      long head = store.head();
      long measured = 0;
      for (int run = 0; run < context.warmups() + context.runs(); run++) {
        String stream = "BENCH_CATCH_UP_" + run;
        createStream(nats, stream, "relay.>");
        long start = System.nanoTime();
        try (JetStreamRelay relay =
            JetStreamRelay.builder(nats, stream)
                .name("bench-catch-up-" + run)
                .subjectPrefix("relay")
                .start(store, pool)) {
          if (!relay.await(head, PATIENCE)) {
            throw new IllegalStateException("the relay did not catch up within " + PATIENCE);
          }
        }
        long elapsed = System.nanoTime() - start;
        requireMessages(nats, stream, backlog);
        nats.jetStreamManagement().deleteStream(stream);
        if (run >= context.warmups()) {
          measured += elapsed;
        }
      }
      return (double) backlog * context.runs() / (measured / 1e9);
    }
  }

  /**
   * The same events as messages (data JSON, position, type and tags headers, event id as message
   * id) published straight from memory with publishAsync, each batch of 5,000 awaited whole.
   */
  private static double rawPublish(Context context, Connection nats, int backlog) throws Exception {
    var json = new ObjectMapper();
    var messages = new ArrayList<Message>(backlog);
    var ids = new ArrayList<String>(backlog);
    for (int n = 0; n < backlog; n++) {
      Event event = event(n);
      var headers = new Headers();
      headers.put(JetStreamRelay.POSITION_HEADER, Long.toString(n + 1));
      headers.put(JetStreamRelay.TYPE_HEADER, event.type());
      headers.put(JetStreamRelay.TAGS_HEADER, List.copyOf(event.tags()));
      messages.add(
          NatsMessage.builder()
              .subject("raw." + event.type())
              .headers(headers)
              .data(json.writeValueAsBytes(event.data()))
              .build());
      ids.add(event.id().toString());
    }
    JetStream jetStream = nats.jetStream();
    long measured = 0;
    for (int run = 0; run < context.warmups() + context.runs(); run++) {
      String stream = "BENCH_RAW_" + run;
      createStream(nats, stream, "raw.>");
      long start = System.nanoTime();
      for (int from = 0; from < backlog; from += BATCH) {
        var acks = new ArrayList<java.util.concurrent.CompletableFuture<PublishAck>>(BATCH);
        for (int i = from; i < Math.min(backlog, from + BATCH); i++) {
          acks.add(
              jetStream.publishAsync(
                  messages.get(i), PublishOptions.builder().messageId(ids.get(i)).build()));
        }
        for (var ack : acks) {
          ack.get(PATIENCE.toSeconds(), TimeUnit.SECONDS);
        }
      }
      long elapsed = System.nanoTime() - start;
      requireMessages(nats, stream, backlog);
      nats.jetStreamManagement().deleteStream(stream);
      if (run >= context.warmups()) {
        measured += elapsed;
      }
    }
    return (double) backlog * context.runs() / (measured / 1e9);
  }

  /**
   * What the live runs measured; {@code lags} and {@code rawLags} hold the percentiles 0 to 100 in
   * ms.
   */
  private record Live(
      long appended,
      double appendedPerSecond,
      double relayedPerSecond,
      double[] lags,
      double[] rawLags) {}

  /**
   * 16 threads append single events for the warm-up and measured runs while the relay publishes; a
   * consumer of the stream records when each message arrived, another the probe messages.
   */
  private static Live live(Context context, Connection nats) throws Exception {
    createStream(nats, "BENCH_LIVE", "live.>");
    createStream(nats, "BENCH_PROBE", "probe.>");
    var acked = new ConcurrentHashMap<String, Long>();
    var received = new ConcurrentHashMap<String, Long>();
    var probeSent = new ConcurrentHashMap<String, Long>();
    var probeReceived = new ConcurrentHashMap<String, Long>();
    var appended = new AtomicLong();
    long perRun = context.duration().toNanos();
    ExecutorService threads = Executors.newCachedThreadPool();
    var consuming = new AtomicBoolean(true);
    try (Database database = context.server().create();
        HikariDataSource pool = database.pool(APPEND_THREADS + 6);
        EventStore store = Database.store(pool);
        JetStreamRelay relay =
            JetStreamRelay.builder(nats, "BENCH_LIVE")
                .name("bench-live")
                .subjectPrefix("live")
                .start(store, pool)) {
      Future<?> consumer = threads.submit(() -> consume(nats, "BENCH_LIVE", received, consuming));
      Future<?> probeConsumer =
          threads.submit(() -> consume(nats, "BENCH_PROBE", probeReceived, consuming));
      long start = System.nanoTime();
      long measureFrom = start + perRun * context.warmups();
      long end = measureFrom + perRun * context.runs();
      var go = new CountDownLatch(1);
      var writers = new ArrayList<Future<?>>();
      for (int t = 0; t < APPEND_THREADS; t++) {
        int thread = t;
        writers.add(
            threads.submit(
                () -> {
                  go.await();
                  long n = 0;
                  while (System.nanoTime() < end) {
                    Event event = event(thread * 1_000_000_000L + n++);
                    store.append(List.of(event));
                    long at = System.nanoTime();
                    appended.incrementAndGet();
                    if (at >= measureFrom) {
                      acked.put(event.id().toString(), at);
                    }
                  }
                  return null;
                }));
      }
      Future<?> probe =
          threads.submit(
              () -> {
                JetStream jetStream = nats.jetStream();
                go.await();
                while (System.nanoTime() < end) {
                  String id = UUID.randomUUID().toString();
                  long sent = System.nanoTime();
                  jetStream.publish(
                      "probe.x",
                      "{}".getBytes(StandardCharsets.UTF_8),
                      PublishOptions.builder().messageId(id).build());
                  if (sent >= measureFrom) {
                    probeSent.put(id, sent);
                  }
                  Thread.sleep(5);
                }
                return null;
              });
      go.countDown();
      for (Future<?> writer : writers) {
        writer.get();
      }
      probe.get();
      if (!relay.await(store.head(), PATIENCE)) {
        throw new IllegalStateException("the relay did not catch up within " + PATIENCE);
      }
      long deadline = System.nanoTime() + PATIENCE.toNanos();
      while ((!received.keySet().containsAll(acked.keySet())
              || !probeReceived.keySet().containsAll(probeSent.keySet()))
          && System.nanoTime() < deadline) {
        Thread.sleep(10);
      }
      consuming.set(false);
      consumer.get();
      probeConsumer.get();
      long relayedInWindow =
          received.values().stream().filter(at -> at >= measureFrom && at < end).count();
      double window = (end - measureFrom) / 1e9;
      return new Live(
          appended.get(),
          acked.size() / window,
          relayedInWindow / window,
          percentiles(acked, received),
          percentiles(probeSent, probeReceived));
    } finally {
      consuming.set(false);
      threads.shutdownNow();
      nats.jetStreamManagement().deleteStream("BENCH_LIVE");
      nats.jetStreamManagement().deleteStream("BENCH_PROBE");
    }
  }

  /** Records, by message id, when each message of {@code stream} arrived, until told to stop. */
  private static Void consume(
      Connection nats, String stream, Map<String, Long> arrivals, AtomicBoolean consuming)
      throws Exception {
    try (IterableConsumer consumer =
        nats.getStreamContext(stream)
            .createOrderedConsumer(new OrderedConsumerConfiguration())
            .iterate()) {
      while (consuming.get()) {
        Message message = consumer.nextMessage(Duration.ofMillis(100));
        if (message != null) {
          arrivals.put(message.getHeaders().getFirst("Nats-Msg-Id"), System.nanoTime());
        }
      }
    }
    return null;
  }

  /** Percentiles 0..100 of the time from each start to its arrival, in ms (0 if before). */
  private static double[] percentiles(Map<String, Long> starts, Map<String, Long> arrivals) {
    double[] lags = new double[starts.size()];
    int i = 0;
    for (Map.Entry<String, Long> start : starts.entrySet()) {
      Long arrived = arrivals.get(start.getKey());
      if (arrived == null) {
        throw new IllegalStateException("message " + start.getKey() + " never arrived");
      }
      lags[i++] = Math.max(0, arrived - start.getValue()) / 1e6;
    }
    if (lags.length == 0) {
      throw new IllegalStateException("nothing was measured");
    }
    Arrays.sort(lags);
    double[] percentiles = new double[101];
    for (int p = 0; p <= 100; p++) {
      percentiles[p] = lags[Math.max(0, (int) Math.ceil(p / 100.0 * lags.length) - 1)];
    }
    return percentiles;
  }

  private static Connection connect(String url) throws IOException, InterruptedException {
    return Nats.connect(Options.builder().server(url).maxReconnects(-1).build());
  }

  private static void createStream(Connection nats, String name, String subjects) throws Exception {
    nats.jetStreamManagement()
        .addStream(
            StreamConfiguration.builder()
                .name(name)
                .subjects(subjects)
                .storageType(StorageType.File)
                .build());
  }

  private static void requireMessages(Connection nats, String stream, long expected)
      throws Exception {
    long messages = nats.jetStreamManagement().getStreamInfo(stream).getStreamState().getMsgCount();
    if (messages != expected) {
      throw new IllegalStateException(stream + " holds " + messages + " messages, not " + expected);
    }
  }

  /** A {@code nats-server -js} of the benchmark's own, on a free port with a temporary store. */
  private static final class Broker implements AutoCloseable {

    static final String BINARY_VARIABLE = "EN57_NATS_SERVER";

    private final Process process;
    private final Path directory;
    private final int port;

    private Broker(Process process, Path directory, int port) {
      this.process = process;
      this.directory = directory;
      this.port = port;
    }

    static Path binary() {
      String binary = System.getenv(BINARY_VARIABLE);
      return Path.of(binary != null && !binary.isBlank() ? binary : "/usr/sbin/nats-server");
    }

    static Broker start(Path binary) throws Exception {
      Path directory = Files.createTempDirectory("en57-bench-nats-");
      int port;
      try (var socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
        port = socket.getLocalPort();
      }
      Path log = directory.resolve("server.log");
      Process process =
          new ProcessBuilder(
                  binary.toString(),
                  "-js",
                  "-a",
                  "127.0.0.1",
                  "-p",
                  Integer.toString(port),
                  "-sd",
                  directory.resolve("jetstream").toString())
              .redirectErrorStream(true)
              .redirectOutput(log.toFile())
              .start();
      var broker = new Broker(process, directory, port);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (System.nanoTime() < deadline) {
        if (!process.isAlive()) {
          broker.close();
          throw new IllegalStateException("nats-server exited: " + Files.readString(log));
        }
        if (Files.readString(log).contains("Server is ready") && broker.accepts()) {
          return broker;
        }
        Thread.sleep(20);
      }
      broker.close();
      throw new IllegalStateException("nats-server did not start within 30 s");
    }

    String url() {
      return "nats://127.0.0.1:" + port;
    }

    private boolean accepts() {
      try (var socket = new Socket()) {
        socket.connect(new InetSocketAddress("127.0.0.1", port), 200);
        return true;
      } catch (IOException e) {
        return false;
      }
    }

    @Override
    public void close() throws Exception {
      process.destroy();
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
      try (Stream<Path> files = Files.walk(directory)) {
        files.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
      }
    }
  }
}
