package io.en57.decisions;

import io.en57.AppendResult;
import java.util.Objects;

/**
 * What {@link DecisionModel#execute} did: {@link Appended appended} the decided events, had {@link
 * NothingToAppend nothing to append}, {@link Rejected rejected} the command, or {@link GaveUp gave
 * up} after as many conflicts as its {@link RetryPolicy} allows.
 *
 * <pre>{@code
 * if (outcome instanceof Outcome.Rejected<String> rejected) {
 *   System.out.println("rejected: " + rejected.reason());
 * }
 * }</pre>
 *
 * @param <R> the type of a rejection's reason
 */
public sealed interface Outcome<R> {

  /** Conflicts that made the call re-read and decide again before this outcome. */
  int conflicts();

  /**
   * The decided events were appended.
   *
   * @param position the position of the last appended event
   * @param replayed true when the decided events were already stored (the same ids in the same
   *     order, with the same content, as {@link AppendResult.Success#replayed()}): nothing new was
   *     written, and {@code position} is where they were stored before, as when a command whose
   *     decider gives its events ids derived from the command runs twice
   * @param conflicts conflicts before the successful append
   */
  record Appended<R>(long position, boolean replayed, int conflicts) implements Outcome<R> {}

  /**
   * The decision was to append nothing.
   *
   * @param conflicts conflicts before that decision
   */
  record NothingToAppend<R>(int conflicts) implements Outcome<R> {}

  /**
   * The decision was a rejection.
   *
   * @param reason the decider's reason
   * @param conflicts conflicts before that decision
   */
  record Rejected<R>(R reason, int conflicts) implements Outcome<R> {

    /** Validates the reason. */
    public Rejected {
      Objects.requireNonNull(reason, "reason must not be null");
    }
  }

  /**
   * Every attempt's append conflicted; nothing was appended.
   *
   * @param conflicts the conflicts, one per attempt
   * @param lastFailure the last attempt's failure, with the events it conflicted with
   */
  record GaveUp<R>(int conflicts, AppendResult.Failure lastFailure) implements Outcome<R> {

    /** Validates the failure. */
    public GaveUp {
      Objects.requireNonNull(lastFailure, "lastFailure must not be null");
    }
  }
}
