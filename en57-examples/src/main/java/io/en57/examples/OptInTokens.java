package io.en57.examples;

import io.en57.Event;
import io.en57.EventStore;
import io.en57.EventStoreBuilder;
import io.en57.decisions.Decision;
import io.en57.decisions.DecisionModel;
import io.en57.decisions.DecisionProjection;
import io.en57.decisions.Outcome;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Opt-in tokens: a sign-up sends a one-time password (OTP) to an email address, and the sign-up is
 * confirmed with it once, within {@link #VALIDITY}. The boundary of a confirmation is the events of
 * that email address and token: no table of tokens, no unique index.
 *
 * <p>Thread-safe.
 */
public final class OptInTokens {

  /** How long a one-time password may be used after it was sent. */
  public static final Duration VALIDITY = Duration.ofMinutes(60);

  /** A sign-up was started. Tagged {@code email:<address>} and {@code otp:<password>}. */
  public record SignUpInitiated(String emailAddress, String otp, String name, Instant at) {}

  /** A sign-up was confirmed. Tagged {@code email:<address>} and {@code otp:<password>}. */
  public record SignUpConfirmed(String emailAddress, String otp, String name) {}

  /** Why a confirmation was turned down. */
  public enum Rejection {
    NO_PENDING_SIGN_UP,
    OTP_ALREADY_USED,
    OTP_EXPIRED
  }

  /**
   * One token's story.
   *
   * @param initiated the sign-up it was sent for, if any
   * @param used whether it confirmed that sign-up
   */
  record Token(Optional<SignUpInitiated> initiated, boolean used) {}

  private static final SecureRandom RANDOM = new SecureRandom();

  private final EventStore store;
  private final Clock clock;

  /** Handles the commands on {@code store}, made with {@link #registerEvents}. */
  public OptInTokens(EventStore store, Clock clock) {
    this.store = Objects.requireNonNull(store, "store must not be null");
    this.clock = Objects.requireNonNull(clock, "clock must not be null");
  }

  /** Registers this example's payload classes. */
  public static EventStoreBuilder registerEvents(EventStoreBuilder builder) {
    return builder
        .register("SignUpInitiated", SignUpInitiated.class)
        .register("SignUpConfirmed", SignUpConfirmed.class);
  }

  /** Starts a sign-up and returns the one-time password sent to the address. */
  public String initiateSignUp(String emailAddress, String name) {
    byte[] bytes = new byte[8];
    RANDOM.nextBytes(bytes);
    String otp = HexFormat.of().formatHex(bytes);
    store.append(
        List.of(
            Event.of(
                    "SignUpInitiated",
                    new SignUpInitiated(emailAddress, otp, name, clock.instant()))
                .withTags(emailTag(emailAddress), otpTag(otp))));
    return otp;
  }

  /** Confirms the sign-up of {@code emailAddress} with the password it was sent, once. */
  public Outcome<Rejection> confirmSignUp(String emailAddress, String otp) {
    DecisionProjection<Token> token =
        DecisionProjection.startingWith(new Token(Optional.empty(), false))
            .on(
                "SignUpInitiated",
                SignUpInitiated.class,
                (current, initiated) -> new Token(Optional.of(initiated), current.used()))
            .on("SignUpConfirmed", (current, confirmed) -> new Token(current.initiated(), true))
            .withTag(emailTag(emailAddress), otpTag(otp));
    return DecisionModel.of(token)
        .execute(
            store,
            state -> {
              Token current = state.get(token);
              if (current.initiated().isEmpty()) {
                return Decision.reject(Rejection.NO_PENDING_SIGN_UP);
              }
              if (current.used()) {
                return Decision.reject(Rejection.OTP_ALREADY_USED);
              }
              SignUpInitiated initiated = current.initiated().get();
              if (!clock.instant().isBefore(initiated.at().plus(VALIDITY))) {
                return Decision.reject(Rejection.OTP_EXPIRED);
              }
              return Decision.append(
                  Event.of(
                          "SignUpConfirmed",
                          new SignUpConfirmed(emailAddress, otp, initiated.name()))
                      .withTags(emailTag(emailAddress), otpTag(otp)));
            });
  }

  private static String emailTag(String emailAddress) {
    return "email:" + emailAddress;
  }

  private static String otpTag(String otp) {
    return "otp:" + otp;
  }
}
