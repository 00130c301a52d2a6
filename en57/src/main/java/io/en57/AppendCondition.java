package io.en57;

import java.util.Objects;

/**
 * The condition of an append: fail if any stored event matches {@code query}, taking each
 * criterion's {@code after} into account. Build it from the scope that was read to make the
 * decision, with the position read up to:
 *
 * <pre>{@code
 * var scope = store.read().withTag("course:c1");
 * ... decide from scope ...
 * store.append(events, AppendCondition.failIf(scope).after(lastSeenPosition));
 * }</pre>
 *
 * <p>A condition built from {@code store.read()} with no refinement fails if any event exists
 * (after {@code after}), as DCB defines it. (The Ruby gem treated such a scope as "no condition";
 * here no condition is expressed by calling {@link EventStore#append(java.util.List)}.)
 *
 * @param query the events whose existence makes the append fail
 */
public record AppendCondition(Query query) {

  /** Validates the query. */
  public AppendCondition {
    Objects.requireNonNull(query, "condition query must not be null");
  }

  /**
   * Fail if an event matching {@code scope}'s query exists. The scope's read options (limit,
   * direction) do not apply to conditions, so a scope with a limit or read backwards is rejected.
   */
  public static AppendCondition failIf(Read scope) {
    Objects.requireNonNull(scope, "condition scope must not be null");
    if (scope.hasReadOptions()) {
      throw new IllegalArgumentException(
          "a condition is built from a scope without limit() or backwards(); those only shape reads");
    }
    return new AppendCondition(scope.query());
  }

  /** Fail if an event matching {@code query} exists. */
  public static AppendCondition failIf(Query query) {
    return new AppendCondition(query);
  }

  /** This condition with every criterion's {@code after} set to {@code position}. */
  public AppendCondition after(long position) {
    return new AppendCondition(query.after(position));
  }
}
