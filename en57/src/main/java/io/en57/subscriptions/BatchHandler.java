package io.en57.subscriptions;

/** Receives the batches of a push subscription ({@link Subscription#start}), one at a time. */
@FunctionalInterface
public interface BatchHandler {

  /**
   * Handles one batch of new events. Throwing makes the subscription deliver the same batch again
   * after a back-off, as its {@link Retry} says, and then stop.
   */
  void handle(Batch batch) throws Exception;
}
