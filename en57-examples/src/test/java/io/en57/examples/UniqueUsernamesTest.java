package io.en57.examples;

import static org.assertj.core.api.Assertions.assertThat;

import io.en57.EventStore;
import io.en57.decisions.Outcome;
import io.en57.examples.UniqueUsernames.Rejection;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

@Tag("postgres")
class UniqueUsernamesTest {

  private static final Duration RETENTION = Duration.ofDays(30);

  private static ExampleStore database;
  private final TestClock clock = new TestClock(Instant.parse("2026-11-30T10:00:00Z"));
  private EventStore store;
  private UniqueUsernames usernames;

  @BeforeAll
  static void createDatabase() {
    database = new ExampleStore();
  }

  @AfterAll
  static void dropDatabase() {
    database.close();
  }

  @BeforeEach
  void emptyStore() {
    store = database.emptyStore(UniqueUsernames::registerEvents);
    usernames = new UniqueUsernames(store, clock, RETENTION);
  }

  @Test
  void aUsernameBelongsToOneAccount() {
    assertThat(usernames.register("a1", "alice")).isInstanceOf(Outcome.Appended.class);
    assertThat(usernames.register("a2", "alice"))
        .isEqualTo(new Outcome.Rejected<>(Rejection.USERNAME_TAKEN, 0));
    assertThat(usernames.register("a1", "alicia"))
        .isEqualTo(new Outcome.Rejected<>(Rejection.ACCOUNT_ALREADY_EXISTS, 0));
    assertThat(usernames.register("a2", "bob")).isInstanceOf(Outcome.Appended.class);
  }

  @Test
  void aClosedAccountsUsernameIsFreeAgainAfterTheRetentionPeriod() {
    usernames.register("a1", "alice");
    assertThat(usernames.close("a1")).isInstanceOf(Outcome.Appended.class);

    clock.advance(RETENTION.minusSeconds(1));
    assertThat(usernames.register("a2", "alice"))
        .isEqualTo(new Outcome.Rejected<>(Rejection.USERNAME_TAKEN, 0));
    clock.advance(Duration.ofSeconds(1));
    assertThat(usernames.register("a2", "alice")).isInstanceOf(Outcome.Appended.class);
  }

  @Test
  void withoutRetentionAReleasedUsernameIsFreeAtOnce() {
    var immediate = new UniqueUsernames(store, clock, Duration.ZERO);
    immediate.register("a1", "alice");
    immediate.close("a1");
    assertThat(immediate.register("a2", "alice")).isInstanceOf(Outcome.Appended.class);
  }

  @Test
  void changingAUsernameClaimsTheNewOneAndReleasesTheOld() {
    usernames.register("a1", "alice");
    usernames.register("a2", "bob");
    assertThat(usernames.changeUsername("a1", "bob"))
        .isEqualTo(new Outcome.Rejected<>(Rejection.USERNAME_TAKEN, 0));
    assertThat(usernames.changeUsername("a1", "alice")).isInstanceOf(Outcome.NothingToAppend.class);
    assertThat(usernames.changeUsername("a1", "ally")).isInstanceOf(Outcome.Appended.class);

    assertThat(usernames.register("a3", "ally"))
        .isEqualTo(new Outcome.Rejected<>(Rejection.USERNAME_TAKEN, 0));
    assertThat(usernames.register("a3", "alice"))
        .isEqualTo(new Outcome.Rejected<>(Rejection.USERNAME_TAKEN, 0));
    clock.advance(RETENTION);
    assertThat(usernames.register("a3", "alice")).isInstanceOf(Outcome.Appended.class);
    // The account's username follows the change: closing it releases the new one.
    usernames.close("a1");
    clock.advance(RETENTION);
    assertThat(usernames.register("a4", "ally")).isInstanceOf(Outcome.Appended.class);
  }

  @Test
  void unknownAccountsCannotCloseOrChange() {
    assertThat(usernames.close("a9"))
        .isEqualTo(new Outcome.Rejected<>(Rejection.ACCOUNT_NOT_FOUND, 0));
    assertThat(usernames.changeUsername("a9", "x"))
        .isEqualTo(new Outcome.Rejected<>(Rejection.ACCOUNT_NOT_FOUND, 0));
  }

  @Test
  void accountsRacingForOneUsernameOnTwoNodesGetItOnce() throws Exception {
    var nodes = List.of(store, database.node(UniqueUsernames::registerEvents));
    int conflicts = 0;
    for (int round = 0; round < 5; round++) {
      String username = "alice" + round;
      var tasks = new ArrayList<Callable<Outcome<Rejection>>>();
      for (int a = 0; a < 10; a++) {
        var desk = new UniqueUsernames(nodes.get(a % 2), clock, RETENTION);
        String account = "a" + round + "-" + a;
        // Half register with the name, half change their existing account's name to it.
        if (a % 2 == 1) {
          desk.register(account, "old-" + account);
          tasks.add(() -> desk.changeUsername(account, username));
        } else {
          tasks.add(() -> desk.register(account, username));
        }
      }
      List<Outcome<Rejection>> outcomes = ExampleStore.race(tasks);

      assertThat(outcomes).filteredOn(o -> o instanceof Outcome.Appended).hasSize(1);
      assertThat(outcomes)
          .filteredOn(o -> o instanceof Outcome.Rejected)
          .extracting(o -> ((Outcome.Rejected<Rejection>) o).reason())
          .containsOnly(Rejection.USERNAME_TAKEN)
          .hasSize(9);
      assertThat(
              store
                  .read()
                  .ofType("AccountRegistered", "UsernameChanged")
                  .withTag("username:" + username))
          .hasSize(1);
      conflicts += outcomes.stream().mapToInt(Outcome::conflicts).sum();
    }
    assertThat(conflicts).isPositive();
  }
}
