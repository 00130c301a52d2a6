package io.en57.subscriptions;

import java.sql.Connection;

/**
 * Undoes a read model back to a position when its projection is reset ({@link Projections#reset}),
 * before the projection applies any event after it.
 */
@FunctionalInterface
public interface ResetHandler {

  /**
   * Removes from the read model what the events after {@code position} made (everything for 0, a
   * rebuild), with {@code connection}, in the transaction that marks the reset applied. Runs once
   * per reset, for all segments of a partitioned projection.
   */
  void reset(Connection connection, long position) throws Exception;
}
