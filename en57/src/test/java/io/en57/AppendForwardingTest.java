package io.en57;

import static io.en57.AppendCondition.failIf;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.en57.AppendResult.Success;
import io.en57.testing.AppendsWritten;
import io.en57.testing.TestDatabases;
import io.en57.testing.TestDatabases.TestDatabase;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Appends forwarded to the node leading appends: written by the leader's group commit, and never
 * lost or doubled when the leader goes away, whichever way it goes.
 */
@Tag("postgres")
class AppendForwardingTest {

  private static final ObjectMapper JSON = new ObjectMapper();

  private static TestDatabase database;
  private static ExecutorService threads;
  private final List<EventStore> nodes = new ArrayList<>();

  @BeforeAll
  static void createDatabase() {
    database = TestDatabases.createMigrated();
    threads = Executors.newCachedThreadPool();
  }

  @AfterAll
  static void dropDatabase() {
    threads.shutdownNow();
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

  /** A node forwarding appends, on a port of its own, counting the appends it writes itself. */
  private EventStore node(int port, AtomicInteger written) {
    EventStore node =
        EventStore.builder()
            .maxPoolSize(3)
            .listener(new AppendsWritten(written))
            .forwardAppends("127.0.0.1", port)
            .forUrl(database.jdbcUrl());
    nodes.add(node);
    return node;
  }

  private static Event registered(String user) {
    return Event.of("UserRegistered", Map.of("user", user)).withTags("user:" + user);
  }

  private static AppendResult register(EventStore node, String user) {
    return node.append(List.of(registered(user)), failIf(node.read().withTag("user:" + user)));
  }

  @Test
  void aFollowersAppendsAreWrittenByTheLeaderWithTheSameOutcomes() {
    var leaderWrote = new AtomicInteger();
    var followerWrote = new AtomicInteger();
    EventStore leader = node(0, leaderWrote);
    EventStore follower = node(0, followerWrote);

    for (int i = 0; i < 20; i++) {
      assertThat(register(follower, "u" + i)).isInstanceOf(Success.class);
    }
    AppendResult again = register(follower, "u7");

    assertThat(leaderWrote).hasValue(21);
    assertThat(followerWrote).hasValue(0);
    assertThat(again).isInstanceOf(AppendResult.Failure.class);
    assertThat(((AppendResult.Failure) again).conflictingEvents())
        .singleElement()
        .satisfies(e -> assertThat(e.event().data()).isEqualTo(Map.of("user", "u7")));
    assertThat(leader.read().toList()).hasSize(20);
  }

  @Test
  void aConflictTooLargeToAnswerFromTheGroupsThreadIsAnsweredInFull() {
    var leaderWrote = new AtomicInteger();
    var followerWrote = new AtomicInteger();
    EventStore leader = node(0, leaderWrote);
    EventStore follower = node(0, followerWrote);
    String large = "x".repeat(2_000);
    var stored = new ArrayList<Event>();
    for (int i = 0; i < EventStore.MAX_CONFLICTING_EVENTS; i++) {
      stored.add(Event.of("Noted", Map.of("text", large)).withTags("topic"));
    }
    leader.append(stored);
    int wroteBefore = leaderWrote.get();

    AppendResult result =
        follower.append(List.of(Event.of("Noted").withTags("topic")), failIf(follower.read()));

    // About 200 KB of answer: sent by a thread of its own, not by the group's.
    assertThat(result)
        .isInstanceOfSatisfying(
            AppendResult.Failure.class,
            failure ->
                assertThat(failure.conflictingEvents())
                    .extracting(SequencedEvent::event)
                    .isEqualTo(stored));
    assertThat(leaderWrote.get() - wroteBefore).isEqualTo(1);
    assertThat(followerWrote).hasValue(0);
  }

  @Test
  void whenTheLeaderClosesAnotherNodeLeadsAndEveryAppendIsStoredOnce() throws Exception {
    var wrote = List.of(new AtomicInteger(), new AtomicInteger(), new AtomicInteger());
    EventStore leader = node(0, wrote.get(0));
    EventStore second = node(0, wrote.get(1));
    EventStore third = node(0, wrote.get(2));
    int perNode = 300;
    var done = new AtomicInteger();
    var appenders = new ArrayList<Future<List<AppendResult>>>();
    for (EventStore follower : List.of(second, third)) {
      String prefix = follower == second ? "b" : "c";
      appenders.add(
          threads.submit(
              () -> {
                var results = new ArrayList<AppendResult>();
                for (int i = 0; i < perNode; i++) {
                  results.add(register(follower, prefix + i));
                  done.incrementAndGet();
                }
                return results;
              }));
    }
    while (done.get() < perNode / 2) {
      Thread.sleep(1);
    }
    leader.close();
    nodes.remove(leader);
    int leaderWroteWhenClosed = wrote.get(0).get();

    for (Future<List<AppendResult>> appender : appenders) {
      assertThat(appender.get()).hasSize(perNode).allMatch(r -> r instanceof Success);
    }
    List<SequencedEvent> log = second.read().sequenced().toList();
    assertThat(log).hasSize(2 * perNode);
    assertThat(log.stream().map(e -> e.event().id()).distinct()).hasSize(2 * perNode);
    assertThat(leaderWroteWhenClosed).isPositive();
    // One of the others leads now: the other's appends go to it.
    waitUntilALeaderIsElected();
    int secondBefore = wrote.get(1).get();
    int thirdBefore = wrote.get(2).get();
    for (int i = 0; i < 10; i++) {
      register(second, "late-b" + i);
      register(third, "late-c" + i);
    }
    assertThat(Math.max(wrote.get(1).get() - secondBefore, wrote.get(2).get() - thirdBefore))
        .isEqualTo(20);
  }

  @Test
  void aLeaderWhoseDatabaseSessionEndsLosesTheLeadAndAppendsGoOn() throws Exception {
    var leaderWrote = new AtomicInteger();
    var followerWrote = new AtomicInteger();
    node(0, leaderWrote);
    EventStore follower = node(0, followerWrote);
    register(follower, "before");
    assertThat(leaderWrote).hasValue(1);

    try (Connection admin = database.dataSource().getConnection();
        Statement statement = admin.createStatement()) {
      statement.execute("SELECT pg_terminate_backend(pid) FROM en57.append_leader");
    }
    for (int i = 0; i < 50; i++) {
      assertThat(register(follower, "during" + i)).isInstanceOf(Success.class);
      Thread.sleep(20);
    }
    waitUntilALeaderIsElected();
    assertThat(follower.read().toList()).hasSize(51);
  }

  @Test
  void aLeaderThatDoesNotAnswerIsPassedOver() throws Exception {
    int closedPort = freePort();
    // A leader that died without its session noticing: the database names it, nobody listens.
    try (Connection stale = database.dataSource().getConnection();
        Statement statement = stale.createStatement()) {
      statement.execute(
          "SELECT * FROM en57.lead_appends('127.0.0.1:" + closedPort + "', 'stale-token')");
      var wrote = new AtomicInteger();
      EventStore follower = node(0, wrote);
      long started = System.nanoTime();
      for (int i = 0; i < 20; i++) {
        assertThat(register(follower, "u" + i)).isInstanceOf(Success.class);
      }
      assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(5));
      assertThat(wrote).hasValue(20);
    }
  }

  @Test
  void aConnectionWithoutTheLeadersTokenIsTurnedAwayAndStoresNothing() throws Exception {
    int port = freePort();
    node(port, new AtomicInteger());
    try (var socket = new Socket("127.0.0.1", port)) {
      socket.setSoTimeout(10_000);
      var out = new DataOutputStream(socket.getOutputStream());
      frame(out, "{\"version\":1,\"token\":\"guessed\"}");
      int answer;
      try {
        frame(
            out,
            "{\"events\":[{\"id\":\""
                + UUID.randomUUID()
                + "\",\"type\":\"Forged\",\"data\":\"{}\",\"meta\":null,\"tags\":[]}],"
                + "\"condition\":null}");
        answer = new DataInputStream(socket.getInputStream()).read();
      } catch (SocketException reset) {
        answer = -1; // closed before the forged append was read, so the kernel reset it
      }
      assertThat(answer).isEqualTo(-1);
    }
    assertThat(nodes.get(0).read().toList()).isEmpty();
  }

  @Test
  void connectionsToTheLeaderThatABurstLeftIdleAreClosed() throws Exception {
    node(0, new AtomicInteger());
    EventStore follower = node(0, new AtomicInteger());
    var burst = new ArrayList<Future<AppendResult>>();
    for (int i = 0; i < 16; i++) {
      String user = "burst" + i;
      burst.add(threads.submit(() -> register(follower, user)));
    }
    for (Future<AppendResult> append : burst) {
      assertThat(append.get()).isInstanceOf(Success.class);
    }
    int afterTheBurst = connectionsTheLeaderServes();
    // Then one append at a time, for longer than a connection may stay idle (10 s).
    long until = System.nanoTime() + Duration.ofSeconds(12).toNanos();
    for (int i = 0; System.nanoTime() < until; i++) {
      register(follower, "steady" + i);
      Thread.sleep(500);
    }

    assertThat(afterTheBurst).as("connections opened by the burst").isGreaterThan(2);
    // Each holds a thread of the leader's; they used to stay until its 300 s idle timeout.
    long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
    while (connectionsTheLeaderServes() > 2) {
      assertThat(System.nanoTime()).as("idle connections closed").isLessThan(deadline);
      Thread.sleep(50);
    }
  }

  /** The leader serves each connection from a node on a thread of its own. */
  private static int connectionsTheLeaderServes() {
    return (int)
        Thread.getAllStackTraces().keySet().stream()
            .filter(thread -> thread.getName().equals("en57-forwarded-appends"))
            .count();
  }

  /**
   * A peer holding the token (any session of the application role can read it, without TLS) sends
   * appends no store sends. The leader writes a group in one statement, joining the events' data
   * into one JSON array: data holding two JSON values would shift every later caller's data, and an
   * id twice would fail the whole group. Each is refused on its own, and nothing is stored.
   */
  @Test
  void aLeaderRefusesForwardedAppendsNoStoreSendsAndStoresNothingOfThem() throws Exception {
    int port = freePort();
    EventStore leader = node(port, new AtomicInteger());
    waitUntilALeaderIsElected();
    String token;
    try (Connection admin = database.dataSource().getConnection();
        Statement statement = admin.createStatement();
        ResultSet row = statement.executeQuery("SELECT token FROM en57.append_leader")) {
      row.next();
      token = row.getString(1);
    }
    UUID id = UUID.randomUUID();
    String event = "{\"id\":\"%s\",\"type\":\"Forged\",\"data\":%s,\"meta\":%s,\"tags\":[]}";
    List<String> forged =
        List.of(
            "["
                + String.format(event, id, JSON.writeValueAsString("{\"x\":1},{\"y\":2}"), "null")
                + "]",
            "["
                + String.format(
                    event, id, JSON.writeValueAsString("{}"), JSON.writeValueAsString("{} {}"))
                + "]",
            "[" + String.format(event, id, JSON.writeValueAsString("{\"x\":"), "null") + "]",
            "["
                + String.format(event, id, JSON.writeValueAsString("{}"), "null")
                + ","
                + String.format(event, id, JSON.writeValueAsString("{}"), "null")
                + "]",
            "[]");
    try (var socket = new Socket("127.0.0.1", port)) {
      socket.setSoTimeout(10_000);
      var out = new DataOutputStream(socket.getOutputStream());
      var in = new DataInputStream(socket.getInputStream());
      frame(out, "{\"version\":1,\"token\":\"" + token + "\"}");
      readFrame(in); // welcome
      for (String events : forged) {
        frame(out, "{\"events\":" + events + ",\"condition\":null}");
        JsonNode reply = JSON.readTree(readFrame(in));
        assertThat(reply.path("reply").asText()).as(events).isEqualTo("refused");
        assertThat(reply.path("reason").asText()).as(events).isEqualTo("INVALID");
      }
    }
    assertThat(leader.read().toList()).isEmpty();
  }

  /**
   * A leader that stores an append and then falls silent: the follower waits as long as a leader
   * may legitimately take, then appends directly, which finds the append stored. It reports it as
   * stored by this call (not a replay: the caller called once), and the event is stored once. The
   * next append does not wait for that leader again.
   */
  @Test
  void anAppendTheLeaderStoredWithoutAnsweringIsStoredOnceAndNotCalledAReplay() throws Exception {
    EventStore writer = EventStore.builder().maxPoolSize(2).forUrl(database.jdbcUrl());
    nodes.add(writer);
    try (var silentLeader = new ServerSocket(0);
        Connection election = database.dataSource().getConnection();
        Statement statement = election.createStatement()) {
      statement.execute(
          "SELECT * FROM en57.lead_appends('127.0.0.1:"
              + silentLeader.getLocalPort()
              + "', 'silent-token')");
      Future<Socket> stored =
          threads.submit(
              () -> {
                Socket socket = silentLeader.accept();
                var in = new DataInputStream(socket.getInputStream());
                readFrame(in); // hello
                frame(new DataOutputStream(socket.getOutputStream()), "{\"version\":1}");
                JsonNode event = JSON.readTree(readFrame(in)).get("events").get(0);
                var tags = new ArrayList<String>();
                event.get("tags").forEach(tag -> tags.add(tag.asText()));
                writer.append(
                    List.of(
                        Event.of(
                                event.get("type").asText(),
                                JSON.readValue(event.get("data").asText(), Map.class))
                            .withId(UUID.fromString(event.get("id").asText()))
                            .withTags(tags)));
                return socket; // kept open, never answered
              });
      EventStore follower =
          EventStore.builder()
              .maxPoolSize(2)
              .lockTimeout(Duration.ofSeconds(1))
              .queryTimeout(Duration.ofSeconds(1))
              .groupCommit(64, Duration.ofSeconds(1))
              .forwardAppends("127.0.0.1", 0)
              .forUrl(database.jdbcUrl());
      nodes.add(follower);

      AppendResult result = register(follower, "once");
      long started = System.nanoTime();
      AppendResult next = register(follower, "next");
      Duration nextTook = Duration.ofNanos(System.nanoTime() - started);

      assertThat(stored.get(1, TimeUnit.SECONDS).isClosed()).isFalse();
      assertThat(result).isEqualTo(new Success(1, false));
      assertThat(next).isEqualTo(new Success(2, false));
      assertThat(nextTook).isLessThan(Duration.ofSeconds(5));
      assertThat(writer.read().toList())
          .extracting(e -> e.data())
          .containsExactly(Map.of("user", "once"), Map.of("user", "next"));
    }
  }

  /**
   * A store on the application's pool: the election's session goes back to the pool when the store
   * closes, and must not keep the lead there, or no other node could take it.
   */
  @Test
  void aStoreOnABorrowedPoolGivesUpTheLeadWhenItCloses() throws Exception {
    var config = new HikariConfig();
    config.setJdbcUrl(database.jdbcUrl());
    config.setMaximumPoolSize(3);
    try (var pool = new HikariDataSource(config)) {
      var firstWrote = new AtomicInteger();
      EventStore first =
          EventStore.builder()
              .listener(new AppendsWritten(firstWrote))
              .forwardAppends("127.0.0.1", 0)
              .forDataSource(pool);
      nodes.add(first);
      var secondWrote = new AtomicInteger();
      EventStore second = node(0, secondWrote);
      register(second, "while-first-leads");
      assertThat(firstWrote).hasValue(1);

      first.close();
      waitUntilALeaderIsElected();
      var thirdWrote = new AtomicInteger();
      EventStore third = node(0, thirdWrote);
      register(third, "after-first-closed");
      assertThat(secondWrote).hasValue(1);
      assertThat(thirdWrote).hasValue(0);
    }
  }

  private static byte[] readFrame(DataInputStream in) throws IOException {
    byte[] bytes = new byte[in.readInt()];
    in.readFully(bytes);
    return bytes;
  }

  private static void frame(DataOutputStream out, String json) throws IOException {
    byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
    out.writeInt(bytes.length);
    out.write(bytes);
    out.flush();
  }

  private static void waitUntilALeaderIsElected() throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
    while (System.nanoTime() < deadline) {
      try (Connection admin = database.dataSource().getConnection();
          Statement statement = admin.createStatement();
          ResultSet row =
              statement.executeQuery(
                  "SELECT count(*) FROM en57.append_leader l JOIN pg_locks k ON k.pid = l.pid"
                      + " AND k.locktype = 'advisory' AND k.classid = 1164850491 AND k.granted")) {
        row.next();
        if (row.getInt(1) == 1) {
          // Give every node a round to learn it.
          Thread.sleep(1_500);
          return;
        }
      }
      Thread.sleep(100);
    }
    throw new AssertionError("no node took the lead within 15 s");
  }

  /** A port nothing listens on: free a moment ago. */
  private static int freePort() throws IOException {
    try (var socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }
}
