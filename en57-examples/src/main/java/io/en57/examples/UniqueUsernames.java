package io.en57.examples;

import io.en57.Event;
import io.en57.EventStore;
import io.en57.EventStoreBuilder;
import io.en57.decisions.Decision;
import io.en57.decisions.DecisionModel;
import io.en57.decisions.DecisionProjection;
import io.en57.decisions.Outcome;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * Unique usernames: an account registers with a username no other account holds; closing the
 * account or changing its username releases the old one, which can be claimed again only after a
 * retention period (so that nobody takes over a name others still associate with its former
 * holder). The boundary of a claim is the events tagged with that username.
 *
 * <p>Thread-safe.
 */
public final class UniqueUsernames {

  /**
   * An account was opened with a username. Tagged {@code account:<id>}, {@code username:<name>}.
   */
  public record AccountRegistered(String accountId, String username, Instant at) {}

  /** An account was closed. Tagged {@code account:<id>} and its {@code username:<name>}. */
  public record AccountClosed(String accountId, String username, Instant at) {}

  /** An account changed its username. Tagged with the account and both usernames. */
  public record UsernameChanged(
      String accountId, String oldUsername, String newUsername, Instant at) {}

  /** Why a command was turned down. */
  public enum Rejection {
    USERNAME_TAKEN,
    ACCOUNT_ALREADY_EXISTS,
    ACCOUNT_NOT_FOUND
  }

  /**
   * What has become of one username.
   *
   * @param claimed whether an account holds it
   * @param releasedAt when its last holder let it go, if it ever was released
   */
  record Claim(boolean claimed, Optional<Instant> releasedAt) {
    static final Claim NEVER = new Claim(false, Optional.empty());

    static Claim held() {
      return new Claim(true, Optional.empty());
    }

    static Claim releasedAt(Instant at) {
      return new Claim(false, Optional.of(at));
    }

    boolean availableAt(Instant now, Duration retention) {
      return !claimed && releasedAt.map(at -> !now.isBefore(at.plus(retention))).orElse(true);
    }
  }

  private final EventStore store;
  private final Clock clock;
  private final Duration retention;

  /**
   * Handles the commands on {@code store}, made with {@link #registerEvents}; a released username
   * may be claimed again {@code retention} after its release, by the time of {@code clock}.
   */
  public UniqueUsernames(EventStore store, Clock clock, Duration retention) {
    this.store = Objects.requireNonNull(store, "store must not be null");
    this.clock = Objects.requireNonNull(clock, "clock must not be null");
    this.retention = Objects.requireNonNull(retention, "retention must not be null");
  }

  /** Registers this example's payload classes. */
  public static EventStoreBuilder registerEvents(EventStoreBuilder builder) {
    return builder
        .register("AccountRegistered", AccountRegistered.class)
        .register("AccountClosed", AccountClosed.class)
        .register("UsernameChanged", UsernameChanged.class);
  }

  /** Opens an account with a username that is available. */
  public Outcome<Rejection> register(String accountId, String username) {
    DecisionProjection<Claim> claim = claimOf(username);
    DecisionProjection<Optional<String>> account = usernameOf(accountId);
    return DecisionModel.of(claim, account)
        .execute(
            store,
            state -> {
              Instant now = clock.instant();
              if (state.get(account).isPresent()) {
                return Decision.reject(Rejection.ACCOUNT_ALREADY_EXISTS);
              }
              if (!state.get(claim).availableAt(now, retention)) {
                return Decision.reject(Rejection.USERNAME_TAKEN);
              }
              return Decision.append(
                  Event.of("AccountRegistered", new AccountRegistered(accountId, username, now))
                      .withTags(accountTag(accountId), usernameTag(username)));
            });
  }

  /** Closes an account, releasing its username. */
  public Outcome<Rejection> close(String accountId) {
    DecisionProjection<Optional<String>> account = usernameOf(accountId);
    return DecisionModel.of(account)
        .execute(
            store,
            state -> {
              Optional<String> username = state.get(account);
              if (username.isEmpty()) {
                return Decision.reject(Rejection.ACCOUNT_NOT_FOUND);
              }
              return Decision.append(
                  Event.of(
                          "AccountClosed",
                          new AccountClosed(accountId, username.get(), clock.instant()))
                      .withTags(accountTag(accountId), usernameTag(username.get())));
            });
  }

  /** Gives an account a new username that is available, releasing the old one. */
  public Outcome<Rejection> changeUsername(String accountId, String newUsername) {
    DecisionProjection<Claim> claim = claimOf(newUsername);
    DecisionProjection<Optional<String>> account = usernameOf(accountId);
    return DecisionModel.of(claim, account)
        .execute(
            store,
            state -> {
              Optional<String> current = state.get(account);
              if (current.isEmpty()) {
                return Decision.reject(Rejection.ACCOUNT_NOT_FOUND);
              }
              if (current.get().equals(newUsername)) {
                return Decision.nothing();
              }
              Instant now = clock.instant();
              if (!state.get(claim).availableAt(now, retention)) {
                return Decision.reject(Rejection.USERNAME_TAKEN);
              }
              return Decision.append(
                  Event.of(
                          "UsernameChanged",
                          new UsernameChanged(accountId, current.get(), newUsername, now))
                      .withTags(
                          accountTag(accountId),
                          usernameTag(current.get()),
                          usernameTag(newUsername)));
            });
  }

  /** Whether {@code username} is held, and when it was last released. */
  private static DecisionProjection<Claim> claimOf(String username) {
    return DecisionProjection.startingWith(Claim.NEVER)
        .on("AccountRegistered", (claim, event) -> Claim.held())
        .on("AccountClosed", AccountClosed.class, (claim, closed) -> Claim.releasedAt(closed.at()))
        .on(
            "UsernameChanged",
            UsernameChanged.class,
            (claim, changed) ->
                changed.newUsername().equals(username)
                    ? Claim.held()
                    : Claim.releasedAt(changed.at()))
        .withTag(usernameTag(username));
  }

  /** The username of an open account; empty if it does not exist or was closed. */
  private static DecisionProjection<Optional<String>> usernameOf(String accountId) {
    return DecisionProjection.<Optional<String>>startingWith(Optional.empty())
        .on(
            "AccountRegistered",
            AccountRegistered.class,
            (username, registered) -> Optional.of(registered.username()))
        .on(
            "UsernameChanged",
            UsernameChanged.class,
            (username, changed) -> Optional.of(changed.newUsername()))
        .on("AccountClosed", (username, event) -> Optional.empty())
        .withTag(accountTag(accountId));
  }

  private static String accountTag(String accountId) {
    return "account:" + accountId;
  }

  private static String usernameTag(String username) {
    return "username:" + username;
  }
}
