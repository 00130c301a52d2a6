package io.en57.decisions;

import io.en57.AppendCondition;
import java.util.Objects;

/**
 * The states of a {@link DecisionModel}'s projections as one read left them, and the append
 * condition that protects a decision made from them: fail if any event matching the model's
 * projections was stored after {@link #position()}.
 *
 * <pre>{@code
 * DecisionState state = model.read(store);
 * if (state.get(subscriptions) < state.get(capacity)) {
 *   store.append(List.of(subscribed), state.condition());
 * }
 * }</pre>
 *
 * <p>Immutable and thread-safe if the states are.
 */
public final class DecisionState {

  private final DecisionModel model;
  private final Object[] states;
  private final long position;
  private final AppendCondition condition;

  DecisionState(DecisionModel model, Object[] states, long position) {
    this.model = model;
    this.states = states;
    this.position = position;
    this.condition = AppendCondition.failIf(model.query()).after(position);
  }

  /**
   * The state of {@code projection} after the read.
   *
   * @throws IllegalArgumentException if the projection is not one the model was made of
   */
  public <S> S get(DecisionProjection<S> projection) {
    Objects.requireNonNull(projection, "projection must not be null");
    @SuppressWarnings("unchecked") // the model keeps each projection's own state at its index
    S state = (S) states[model.indexOf(projection)];
    return state;
  }

  /**
   * The position the read reached: every event matching the model's query up to it was taken into
   * account, and the condition's {@code after}.
   */
  public long position() {
    return position;
  }

  /** Fail if an event matching the model's query was stored after {@link #position()}. */
  public AppendCondition condition() {
    return condition;
  }

  @Override
  public String toString() {
    var text = new StringBuilder("DecisionState[position=").append(position);
    for (int i = 0; i < states.length; i++) {
      text.append(", ").append(model.projection(i)).append('=').append(states[i]);
    }
    return text.append(']').toString();
  }
}
