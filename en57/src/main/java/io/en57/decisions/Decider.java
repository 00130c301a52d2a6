package io.en57.decisions;

/**
 * Makes a decision from the states a {@link DecisionModel} read. It may run more than once for one
 * {@link DecisionModel#execute execute} call (again after each conflict, on fresh states), so it
 * should do nothing but decide: no side effects, no events made ahead of time.
 *
 * @param <R> the caller's type for a rejection's reason
 */
@FunctionalInterface
public interface Decider<R> {

  /**
   * The decision: {@link Decision#append events to append}, {@link Decision#nothing() nothing}, or
   * a {@link Decision#reject rejection}. Exceptions it throws end the call; nothing is appended.
   */
  Decision<R> decide(DecisionState state);
}
