package io.en57.observation;

/**
 * An append or a read under way, as a {@link StoreListener} sees it: the store ends it exactly once
 * with what came of it.
 *
 * @param <E> what the store reports at the end
 */
@FunctionalInterface
public interface Operation<E> {

  /** The work is done; {@code ended} says how it went. */
  void ended(E ended);

  /** An operation nobody listens to. */
  static <E> Operation<E> ignored() {
    return ended -> {};
  }
}
