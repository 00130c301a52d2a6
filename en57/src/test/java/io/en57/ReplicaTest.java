package io.en57;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.en57.decisions.Decision;
import io.en57.decisions.DecisionModel;
import io.en57.decisions.DecisionProjection;
import io.en57.decisions.DecisionState;
import io.en57.decisions.Outcome;
import io.en57.decisions.RetryPolicy;
import io.en57.subscriptions.Batch;
import io.en57.subscriptions.Projection;
import io.en57.subscriptions.ProjectionRunner;
import io.en57.subscriptions.Subscription;
import io.en57.testing.StreamingReplica;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.UnaryOperator;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Read replicas against a real streaming replica: a PostgreSQL primary and a hot standby made from
 * it with {@code pg_basebackup}, replaying its WAL (see {@link StreamingReplica}). Each test has a
 * database of its own, created on the primary and replayed by the standby.
 */
@Tag("replica")
class ReplicaTest {

  private static StreamingReplica servers;
  private final List<AutoCloseable> closing = new ArrayList<>();
  private String database;

  @BeforeAll
  static void startServers() {
    servers = StreamingReplica.start();
  }

  @AfterAll
  static void stopServers() {
    servers.close();
  }

  @BeforeEach
  void createDatabase() {
    database = servers.createMigratedDatabase();
  }

  @AfterEach
  void closeStoresAndResume() throws Exception {
    Collections.reverse(closing);
    for (AutoCloseable closeable : closing) {
      closeable.close();
    }
    servers.startStandbyIfStopped();
    servers.resumeReplay();
  }

  /**
   * A store whose reads at a position wait up to 10 seconds for a replica to reach it, then fail
   * rather than read the primary.
   */
  private EventStore storeFailingWhenBehind() {
    return storeReadingYourWrites(Duration.ofSeconds(10), ReplicaFallback.FAIL);
  }

  /** A store whose reads at a position wait up to {@code wait} for a replica to reach it. */
  private EventStore storeReadingYourWrites(Duration wait, ReplicaFallback fallback) {
    return store(
        options -> options.replicaMaxLag(Duration.ofMinutes(5)).readYourWrites(wait, fallback));
  }

  private EventStore store(UnaryOperator<EventStoreBuilder> options) {
    EventStore store =
        options
            .apply(EventStore.builder().maxPoolSize(4))
            .replica(servers.standbyUrl(database))
            .forUrl(servers.primaryUrl(database));
    closing.add(store);
    return store;
  }

  @Test
  void aReplicaReadReturnsEventsAppendedOnThePrimaryOnceReplayed() {
    EventStore store = store(options -> options);
    long position =
        ((AppendResult.Success)
                store.append(List.of(Event.of("CourseDefined", Map.of("capacity", 10)))))
            .position();

    eventually(() -> store.read().toList().size() == 1);
    assertThat(store.read().sequenced().toList())
        .extracting(SequencedEvent::position)
        .containsExactly(position);
    assertThat(servedByReplica(store)).isTrue();
  }

  @Test
  void theConfigurationOfTheReadme() {
    String primaryUrl = servers.primaryUrl(database);
    String replicaUrl = servers.standbyUrl(database);
    EventStore store =
        EventStore.builder()
            .replica(replicaUrl) // one or more streaming replicas of the primary
            .replicaMaxLag(Duration.ofSeconds(5)) // skip a replica lagging more than this
            .readYourWrites(Duration.ofSeconds(1), ReplicaFallback.PRIMARY)
            .forUrl(primaryUrl);
    closing.add(store);

    var success = (AppendResult.Success) store.append(List.of(Event.of("StudentRegistered")));
    List<Event> mine = store.read().atLeast(success.position()).toList(); // sees the append
    List<Event> fresh = store.read().fromPrimary().toList(); // the primary, always

    assertThat(mine).hasSize(1);
    assertThat(fresh).hasSize(1);
  }

  /**
   * Positions follow commit order and are dense, and a standby replays commits in WAL order: every
   * read of the replica, taken while writers append, is positions 1 to n of the final log, event
   * for event.
   */
  @Test
  void everyReplicaReadIsADensePrefixOfThePrimaryLog() throws Exception {
    EventStore store = store(options -> options.groupCommit(16, Duration.ofSeconds(30)));
    EventStore standbyOnly =
        EventStore.builder().withoutListen().forUrl(servers.standbyUrl(database));
    closing.add(standbyOnly);
    var writing = new AtomicBoolean(true);
    ExecutorService writers = Executors.newFixedThreadPool(4);
    var done = new ArrayList<Future<?>>();
    for (int writer = 0; writer < 4; writer++) {
      int id = writer;
      done.add(
          writers.submit(
              () -> {
                for (int batch = 0; batch < 300; batch++) {
                  var events = new ArrayList<Event>();
                  int size = 1 + ThreadLocalRandom.current().nextInt(4);
                  for (int i = 0; i < size; i++) {
                    events.add(
                        Event.of("Written", Map.of("writer", id, "batch", batch, "i", i))
                            .withTags("writer:" + id));
                  }
                  store.append(events);
                }
                return null;
              }));
    }
    Thread stopper =
        new Thread(
            () -> {
              for (Future<?> writer : done) {
                try {
                  writer.get();
                } catch (Exception e) {
                  // Surfaces below.
                }
              }
              writing.set(false);
            });
    stopper.start();
    // Replay stops and starts again now and then, so that reads see the replica well behind.
    Thread pauser = pauseReplayNowAndThen(writing, 50);
    var snapshots = new ArrayList<List<SequencedEvent>>();
    int behind = 0;
    while (writing.get() || snapshots.size() < 100) {
      long primaryHeadBefore = store.head();
      List<SequencedEvent> read =
          (snapshots.size() % 2 == 0 ? standbyOnly : store).read().sequenced().toList();
      assertThat(read)
          .extracting(SequencedEvent::position)
          .as("a replica read is dense from position 1")
          .containsExactlyElementsOf(LongStream.rangeClosed(1, read.size()).boxed().toList());
      if (read.size() < primaryHeadBefore) {
        behind++;
      }
      snapshots.add(read);
    }
    for (Future<?> writer : done) {
      writer.get();
    }
    writers.shutdown();
    stopper.join();
    pauser.join();

    List<SequencedEvent> log = store.read().fromPrimary().sequenced().toList();
    assertThat(log).hasSizeGreaterThan(600);
    assertThat(behind).as("reads that saw the replica behind the primary").isPositive();
    for (List<SequencedEvent> snapshot : snapshots) {
      assertThat(snapshot).isEqualTo(log.subList(0, snapshot.size()));
    }
    System.out.printf(
        "prefix check: %d replica reads while writing, %d of them behind the primary%n",
        snapshots.size(), behind);
  }

  @Test
  void aReadAtAPositionWaitsForTheReplicaThenFallsBackToThePrimary() {
    EventStore store = storeReadingYourWrites(Duration.ofMillis(500), ReplicaFallback.PRIMARY);
    long first = append(store, "First");
    assertThat(store.read().atLeast(first).toList()).hasSize(1);

    servers.pauseReplay();
    long second = append(store, "Second");
    assertThat(store.read().toList()).as("a plain read is served by the paused replica").hasSize(1);
    long started = System.nanoTime();
    assertThat(store.read().atLeast(second).sequenced().toList())
        .extracting(SequencedEvent::position)
        .containsExactly(first, second);
    assertThat(Duration.ofNanos(System.nanoTime() - started))
        .isGreaterThanOrEqualTo(Duration.ofMillis(500));

    servers.resumeReplay();
    assertThat(store.read().atLeast(second).toList()).hasSize(2);
  }

  @Test
  void aReadAtAPositionWaitsForTheReplicaAndSeesIt() throws Exception {
    EventStore store = storeFailingWhenBehind();
    servers.pauseReplay();
    long position = append(store, "Written");
    Thread resumer = replayResumer(300);
    resumer.start();
    long started = System.nanoTime();
    // FAIL: were it read on the primary instead, nothing would prove the wait.
    assertThat(store.read().atLeast(position).toList()).hasSize(1);
    assertThat(Duration.ofNanos(System.nanoTime() - started))
        .isGreaterThanOrEqualTo(Duration.ofMillis(250));
    resumer.join();
  }

  @Test
  void aReadAtAPositionFailsWhenConfiguredSo() {
    EventStore store = storeReadingYourWrites(Duration.ofMillis(300), ReplicaFallback.FAIL);
    servers.pauseReplay();
    long position = append(store, "Written");

    assertThatThrownBy(() -> store.read().atLeast(position).toList())
        .isInstanceOfSatisfying(
            ReplicaBehindException.class,
            e -> {
              assertThat(e.position()).isEqualTo(position);
              assertThat(e.replicaHead()).isEqualTo(position - 1);
            })
        .hasMessageContaining("fromPrimary()");
    assertThat(store.read().fromPrimary().toList()).hasSize(1);
  }

  @Test
  void aLaggingReplicaIsSkippedAndUsedAgainOnceCaughtUp() {
    EventStore store = store(options -> options.replicaMaxLag(Duration.ofMillis(300)));
    append(store, "Before");
    eventually(() -> store.read().toList().size() == 1);
    servers.pauseReplay();
    append(store, "WhileLagging");
    assertThat(store.read().toList()).as("not lagging beyond the threshold yet").hasSize(1);

    // Past the threshold, reads go to the primary.
    eventually(() -> store.read().toList().size() == 2);

    servers.resumeReplay();
    eventually(() -> servedByReplica(store));
  }

  /**
   * A store that starts while a replica is behind the primary cannot tell the replica's lag yet:
   * the primary's heads it sampled are all younger than the lag it allows. It skips the replica
   * until the replica reaches one of them, rather than read a replica that may be hours behind.
   */
  @Test
  void aStoreStartingWhileAReplicaIsBehindSkipsItUntilItReachesASampledHead() throws Exception {
    EventStore writer = EventStore.forUrl(servers.primaryUrl(database));
    closing.add(writer);
    EventStore standbyOnly =
        EventStore.builder().withoutListen().forUrl(servers.standbyUrl(database));
    closing.add(standbyOnly);
    append(writer, "Before");
    eventually(() -> standbyOnly.read().toList().size() == 1);
    servers.pauseReplay();
    append(writer, "WhileLagging");
    Thread.sleep(500); // the replica now lags by more than the 300 ms allowed below

    EventStore store = store(options -> options.replicaMaxLag(Duration.ofMillis(300)));
    assertThat(store.read().toList()).as("read on the primary").hasSize(2);

    servers.resumeReplay();
    eventually(() -> servedByReplica(store));
  }

  /** A union reads where the stricter of its scopes would: the primary, or the further position. */
  @Test
  void aUnionKeepsTheStricterRouteOfItsScopes() {
    EventStore store = storeReadingYourWrites(Duration.ofMillis(300), ReplicaFallback.FAIL);
    append(store, "First");
    eventually(() -> store.read().toList().size() == 1);
    servers.pauseReplay();
    long second = append(store, "Second");

    assertThat(store.read().ofType("First").or(store.read().ofType("Second")).toList())
        .as("on the paused replica")
        .hasSize(1);
    assertThat(
            store.read().ofType("First").or(store.read().ofType("Second").fromPrimary()).toList())
        .as("on the primary")
        .hasSize(2);
    assertThatThrownBy(
            () ->
                store
                    .read()
                    .ofType("First")
                    .or(store.read().ofType("Second").atLeast(second))
                    .toList())
        .as("waits for the replica to reach the position, then fails as configured")
        .isInstanceOf(ReplicaBehindException.class);
  }

  @Test
  void aStoppedReplicaIsSkippedAndUsedAgainWhenBack() {
    EventStore store = store(options -> options);
    append(store, "Before");
    eventually(() -> servedByReplica(store));

    servers.stopStandby();
    long started = System.nanoTime();
    append(store, "WhileStopped");
    assertThat(store.read().toList()).hasSize(servedCount(store));
    for (int i = 0; i < 20; i++) {
      assertThat(store.read().sequenced().toList()).hasSize(servedCount(store));
    }
    assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(10));

    servers.startStandby();
    eventually(() -> servedByReplica(store));
  }

  @Test
  void aSubscriptionReadsTheReplicaAndNeverMovesPastWhatItReplayed() throws Exception {
    EventStore store = store(options -> options.replicaMaxLag(Duration.ofMinutes(5)));
    Subscription subscription = store.subscribe(store.read(), 0);
    closing.add(subscription);
    assertThat(subscription.poll(Duration.ofSeconds(5)).caughtUp()).isTrue();

    servers.pauseReplay();
    long position = append(store, "Written");
    // Not caught up while the replica has not replayed this store's own append, whether the poll
    // returns at once or after its timeout.
    Batch now = subscription.poll(Duration.ZERO);
    assertThat(now.caughtUp()).as("a poll that does not wait").isFalse();
    assertThat(subscription.caughtUp()).isFalse();
    Batch batch = subscription.poll(Duration.ofMillis(500));
    assertThat(batch.events()).isEmpty();
    assertThat(batch.position()).as("the replica has not replayed it").isLessThan(position);
    assertThat(batch.caughtUp()).as("a poll whose timeout ran out").isFalse();
    assertThat(subscription.caughtUp()).isFalse();

    servers.resumeReplay();
    Batch delivered = subscription.poll(Duration.ofSeconds(10));
    assertThat(delivered.events()).extracting(SequencedEvent::position).containsExactly(position);
    assertThat(delivered.caughtUp()).isTrue();
    assertThat(subscription.caughtUp()).isTrue();
  }

  @Test
  void aSubscriptionDeliversEveryEventOnceInOrderAcrossAReplicaStopAndStart() throws Exception {
    EventStore store = store(options -> options.replicaMaxLag(Duration.ofSeconds(1)));
    var delivered = Collections.synchronizedList(new ArrayList<Long>());
    Subscription subscription =
        store
            .subscribe(store.read(), 0)
            .start(batch -> batch.events().forEach(event -> delivered.add(event.position())));
    closing.add(subscription);

    int total = 300;
    for (int i = 1; i <= total; i++) {
      append(store, "Written");
      if (i == 100) {
        servers.stopStandby();
      }
      if (i == 200) {
        servers.startStandby();
      }
      Thread.sleep(2);
    }
    eventually(() -> delivered.size() >= total);
    Thread.sleep(300); // a duplicate delivered late would show now
    assertThat(List.copyOf(delivered))
        .containsExactlyElementsOf(LongStream.rangeClosed(1, total).boxed().toList());
    assertThat(subscription.failure()).isEmpty();
  }

  @Test
  void aProjectionReadingTheReplicaAppliesEveryEventOnceAcrossAReplicaStopAndStart()
      throws Exception {
    EventStore store = store(options -> options.replicaMaxLag(Duration.ofSeconds(1)));
    var primary = servers.primary(database);
    try (Connection connection = primary.getConnection();
        Statement statement = connection.createStatement()) {
      statement.execute("CREATE TABLE applied (position bigint PRIMARY KEY)");
    }
    Projection applied =
        Projection.of(
            "applied",
            store.read(),
            (batch, connection) -> {
              try (PreparedStatement insert =
                  connection.prepareStatement("INSERT INTO applied (position) VALUES (?)")) {
                for (SequencedEvent event : batch.events()) {
                  insert.setLong(1, event.position()); // a position applied twice fails here
                  insert.executeUpdate();
                }
              }
            });
    int total = 200;
    try (ProjectionRunner runner = ProjectionRunner.start(store, primary, applied)) {
      for (int i = 1; i <= total; i++) {
        append(store, "Written");
        if (i == 70) {
          servers.stopStandby();
        }
        if (i == 140) {
          servers.startStandby();
        }
        Thread.sleep(2);
      }
      assertThat(runner.await("applied", total, Duration.ofSeconds(30))).isTrue();
    }
    try (Connection connection = primary.getConnection();
        Statement statement = connection.createStatement();
        ResultSet rows = statement.executeQuery("SELECT position FROM applied ORDER BY position")) {
      var positions = new ArrayList<Long>();
      while (rows.next()) {
        positions.add(rows.getLong(1));
      }
      assertThat(positions)
          .containsExactlyElementsOf(LongStream.rangeClosed(1, total).boxed().toList());
    }
  }

  /** The seats of course c1: only its newest definition counts, read with one lookup. */
  private static final DecisionProjection<Integer> CAPACITY =
      DecisionProjection.startingWith(0)
          .on("CourseDefined", (seats, event) -> (Integer) ((Map<?, ?>) event.data()).get("seats"))
          .withTag("course:c1")
          .lastEventOnly();

  /** The same, folded: a model of it and {@link #SUBSCRIPTIONS} is read in one read. */
  private static final DecisionProjection<Integer> CAPACITY_FOLDED =
      DecisionProjection.startingWith(0)
          .on("CourseDefined", (seats, event) -> (Integer) ((Map<?, ?>) event.data()).get("seats"))
          .withTag("course:c1");

  private static final DecisionProjection<Integer> SUBSCRIPTIONS =
      DecisionProjection.startingWith(0)
          .on("StudentSubscribed", (count, event) -> count + 1)
          .withTag("course:c1");

  /** Two reads, the head first: {@link #CAPACITY}'s lookup and the fold of the subscriptions. */
  private static final DecisionModel COURSE = DecisionModel.of(CAPACITY, SUBSCRIPTIONS);

  private static Decision<String> subscribe(
      DecisionState state, DecisionProjection<Integer> capacity, String student) {
    if (state.get(SUBSCRIPTIONS) >= state.get(capacity)) {
      return Decision.reject("course full");
    }
    return Decision.append(subscribed(student));
  }

  @Test
  void aDecisionModelReadingFromReplicasDecidesOnTheReplicasStateAndItsAppendConflicts() {
    EventStore store = store(options -> options.replicaMaxLag(Duration.ofMinutes(5)));
    DecisionModel model = COURSE;
    store.append(List.of(courseDefined(1)));
    eventually(() -> store.read().toList().size() == 1);
    servers.pauseReplay();
    long rival = appendSubscription(store, "rival");

    DecisionModel onReplicas =
        model.readingFromReplicas(); // a replica behind means a conflict, then a retry
    DecisionState stale = onReplicas.read(store);
    DecisionState fresh = model.read(store);

    assertThat(stale.get(SUBSCRIPTIONS)).as("the replica has not replayed the rival").isZero();
    assertThat(fresh.get(SUBSCRIPTIONS)).as("the default reads the primary").isEqualTo(1);
    // The course is full, but the replica's state says otherwise: the condition refuses.
    assertThat(store.append(List.of(subscribed("s1")), stale.condition()))
        .isInstanceOfSatisfying(
            AppendResult.Failure.class, failure -> assertThat(failure.position()).isEqualTo(rival));
    assertThat(subscriptionsOnThePrimary(store)).isEqualTo(1);
    assertThat(stale.position()).as("the replica's head, not the primary's").isEqualTo(rival - 1);
    assertThat(fresh.position()).isEqualTo(rival);
  }

  @Test
  void executeOnReplicasRetriesOnAReplicaThatHasReplayedTheConflict() throws Exception {
    EventStore store = storeFailingWhenBehind();
    store.append(List.of(courseDefined(1)));
    eventually(() -> store.read().toList().size() == 1);
    servers.pauseReplay();
    appendSubscription(store, "rival");
    Thread resumer = replayResumer(300);
    var seen = new ArrayList<Integer>();

    long started = System.nanoTime();
    Outcome<String> outcome =
        COURSE
            .readingFromReplicas()
            .execute(
                store,
                state -> {
                  seen.add(state.get(SUBSCRIPTIONS));
                  if (seen.size() == 1) {
                    resumer.start(); // the first decision was made on the paused replica
                  }
                  return subscribe(state, CAPACITY, "s1");
                });
    Duration took = Duration.ofNanos(System.nanoTime() - started);
    resumer.join();

    // One conflict, then a decision on the state with the rival in it: not the stale state again
    // (the replica was still paused when the retry began), and not the primary's (the store fails
    // rather than read the primary, and the retry waited for replay to resume).
    assertThat(outcome).isEqualTo(new Outcome.Rejected<>("course full", 1));
    assertThat(seen).containsExactly(0, 1);
    assertThat(took).isGreaterThanOrEqualTo(Duration.ofMillis(250));
    assertThat(subscriptionsOnThePrimary(store)).isEqualTo(1);
  }

  /**
   * Deciders on four threads fill a course through models reading the replica, while its replay
   * stops and starts: many decide on a state that misses subscriptions, and the conditions, checked
   * on the primary, let only decisions made on a state holding every earlier subscription append.
   * So the course never takes more students than it has seats.
   */
  @Test
  void decisionsOnReplicasNeverExceedTheCapacityUnderConcurrency() throws Exception {
    int seats = 12;
    int studentsPerDecider = 8;
    EventStore store = store(options -> options.replicaMaxLag(Duration.ofMinutes(5)));
    store.append(List.of(courseDefined(seats)));
    eventually(() -> store.read().toList().size() == 1);
    // Half the deciders read their model in two reads, half in one.
    List<DecisionModel> models =
        List.of(
            COURSE.readingFromReplicas(),
            DecisionModel.of(CAPACITY_FOLDED, SUBSCRIPTIONS).readingFromReplicas());
    List<DecisionProjection<Integer>> capacities = List.of(CAPACITY, CAPACITY_FOLDED);
    var deciding = new AtomicBoolean(true);
    Thread pauser = pauseReplayNowAndThen(deciding, 20);
    // The subscriptions each student's last decision counted: the decision its outcome came from.
    var decidedOn = new ConcurrentHashMap<String, Integer>();
    var appended = new AtomicInteger();
    var rejected = new AtomicInteger();
    var conflicts = new AtomicInteger();
    var staleDecisions = new AtomicInteger();
    RetryPolicy patient = RetryPolicy.defaults().withMaxAttempts(100);
    ExecutorService deciders = Executors.newFixedThreadPool(4);
    var done = new ArrayList<Future<?>>();
    for (int thread = 0; thread < 4; thread++) {
      DecisionModel model = models.get(thread % 2);
      DecisionProjection<Integer> capacity = capacities.get(thread % 2);
      int id = thread;
      done.add(
          deciders.submit(
              () -> {
                for (int student = 0; student < studentsPerDecider; student++) {
                  Thread.sleep(ThreadLocalRandom.current().nextInt(20));
                  String name = id + "-" + student;
                  Outcome<String> outcome =
                      model.execute(
                          store,
                          patient,
                          state -> {
                            int counted = state.get(SUBSCRIPTIONS);
                            decidedOn.put(name, counted);
                            if (counted < subscriptionsOnThePrimary(store)) {
                              staleDecisions.incrementAndGet();
                            }
                            return subscribe(state, capacity, name);
                          });
                  conflicts.addAndGet(outcome.conflicts());
                  if (outcome instanceof Outcome.Appended<String>) {
                    appended.incrementAndGet();
                  } else if (outcome instanceof Outcome.Rejected<String>) {
                    rejected.incrementAndGet();
                  } else {
                    throw new AssertionError("gave up: " + outcome);
                  }
                }
                return null;
              }));
    }
    try {
      for (Future<?> decider : done) {
        decider.get(2, TimeUnit.MINUTES);
      }
    } finally {
      deciding.set(false);
      pauser.join();
      deciders.shutdownNow();
    }

    List<Event> subscriptions = store.read(SUBSCRIPTIONS.query()).fromPrimary().toList();
    for (int i = 0; i < subscriptions.size(); i++) {
      String student =
          subscriptions.get(i).tags().stream()
              .filter(tag -> tag.startsWith("student:"))
              .findFirst()
              .orElseThrow()
              .substring("student:".length());
      assertThat(decidedOn.get(student))
          .as("the subscriptions counted by the decision that appended subscription %d", i + 1)
          .isEqualTo(i);
    }
    assertThat(subscriptions).hasSize(seats);
    assertThat(appended).hasValue(seats);
    assertThat(rejected).hasValue(4 * studentsPerDecider - seats);
    assertThat(staleDecisions.get())
        .as("decisions made on a state missing subscriptions")
        .isPositive();
    assertThat(conflicts.get()).isPositive();
    System.out.printf(
        "decisions on replicas: %d appended, %d rejected, %d conflicts, %d stale decisions%n",
        appended.get(), rejected.get(), conflicts.get(), staleDecisions.get());
  }

  private static Event courseDefined(int seats) {
    return Event.of("CourseDefined", Map.of("seats", seats)).withTags("course:c1");
  }

  private static Event subscribed(String student) {
    return Event.of("StudentSubscribed").withTags("course:c1", "student:" + student);
  }

  private static long appendSubscription(EventStore store, String student) {
    return ((AppendResult.Success) store.append(List.of(subscribed(student)))).position();
  }

  private static int subscriptionsOnThePrimary(EventStore store) {
    return store.read(SUBSCRIPTIONS.query()).fromPrimary().toList().size();
  }

  private static long append(EventStore store, String type) {
    return ((AppendResult.Success) store.append(List.of(Event.of(type)))).position();
  }

  /** The events the primary holds now. */
  private static int servedCount(EventStore store) {
    return store.read().fromPrimary().toList().size();
  }

  /**
   * Whether a plain read of {@code store} goes to the replica: with replay paused, it misses an
   * event just appended, which the primary would show.
   */
  private static boolean servedByReplica(EventStore store) {
    servers.pauseReplay();
    try {
      long position = append(store, "Marker");
      return store.read().sequenced().noneMatch(event -> event.position() == position);
    } finally {
      servers.resumeReplay();
    }
  }

  private static void eventually(BooleanSupplier condition) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("the condition did not hold within 30 s");
      }
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
    }
  }

  /**
   * A started thread that pauses replay for 100 ms, then lets it run for {@code resumedMillis}, as
   * long as {@code running} holds.
   */
  private static Thread pauseReplayNowAndThen(AtomicBoolean running, long resumedMillis) {
    Thread pauser =
        new Thread(
            () -> {
              try {
                while (running.get()) {
                  servers.pauseReplay();
                  Thread.sleep(100);
                  servers.resumeReplay();
                  Thread.sleep(resumedMillis);
                }
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            });
    pauser.start();
    return pauser;
  }

  /** A thread, not started, that resumes replay {@code millis} after it starts. */
  private static Thread replayResumer(long millis) {
    return new Thread(
        () -> {
          try {
            Thread.sleep(millis);
          } catch (InterruptedException e) {
            return;
          }
          servers.resumeReplay();
        });
  }
}
