package io.en57.subscriptions;

import java.sql.Connection;

/**
 * Applies a batch of events to a read model in PostgreSQL, inside the transaction that also moves
 * the projection's checkpoint: both commit, or neither does.
 */
@FunctionalInterface
public interface ProjectionHandler {

  /**
   * Applies {@code batch} with {@code connection}, whose transaction the runner commits after this
   * returns (do not commit, roll back or close it: those calls are refused). Throwing rolls back
   * the batch; it is tried again as the projection's {@link Retry} says.
   */
  void apply(Batch batch, Connection connection) throws Exception;
}
