package io.en57.subscriptions;

import java.time.Duration;
import java.util.Optional;

/**
 * Follows the events matching a query, from a position on, in position order: first it catches up
 * with keyset reads of the stored log, then it delivers new events as they are appended. Made by
 * {@link io.en57.EventStore#subscribe}.
 *
 * <p>Pull: call {@link #poll} for the next {@link Batch}. Push: {@link #start} runs a handler on a
 * thread the subscription owns. Either way, every matching event after the starting position is
 * delivered once, in order, with no gap (positions follow commit order, so nothing can appear below
 * a position already read). New events are noticed at once when appended through the same store,
 * within moments when appended by another process (a PostgreSQL notification), and in any case
 * within the store's poll interval.
 *
 * <p>A pull subscription is for one thread at a time (a {@link #poll} or {@link #start} while
 * another thread polls is refused); {@link #close()} may be called from any thread. Close it when
 * done; closing the store closes its subscriptions.
 */
public interface Subscription extends AutoCloseable {

  /**
   * The next batch: the matching events after {@link #position()}, at most the batch size, returned
   * as soon as there are any, as soon as the log moved on without a matching event (an empty batch
   * with a later position), or as soon as the subscription caught up with the head (an empty batch
   * that says so). When nothing is new, waits up to {@code timeout} and then returns an empty
   * batch; {@link Duration#ZERO} never waits.
   *
   * @throws IllegalStateException if the subscription is closed, pushes to a handler, or another
   *     thread is polling it
   * @throws io.en57.En57StorageException if the database failed; the subscription stays at its
   *     position and the next call tries again
   * @throws InterruptedException if the calling thread is interrupted while waiting
   */
  Batch poll(Duration timeout) throws InterruptedException;

  /**
   * Delivers every batch of new events to {@code handler} on a thread this subscription owns, until
   * {@link #close()}. Empty batches are not delivered. When the handler throws, the same batch is
   * delivered again as the subscription's {@link Retry} says; when the last attempt fails, the
   * subscription stops and {@link #failure()} holds the exception. It also stops, at once, on an
   * event it cannot decode (its registered payload class no longer fits its data) and on an {@link
   * Error} from the handler. Failed reads (the database is down) are retried until it is back,
   * after 100 ms, then twice as long each time up to 5 s, whatever the subscription's own {@link
   * Retry}.
   *
   * @return this subscription
   * @throws IllegalStateException if it is closed, already started, or being polled
   */
  Subscription start(BatchHandler handler);

  /**
   * Every matching event up to this position has been delivered (for a push subscription: handled).
   * This is the checkpoint to subscribe from again later.
   */
  long position();

  /**
   * Whether the last read reached the head of the log. On a store reading replicas, the head as far
   * as the store knows it: a subscription is not caught up while the replica it reads has not
   * replayed this store's own appends, or what another replica showed.
   */
  boolean caughtUp();

  /**
   * For a push subscription that stopped because its handler kept failing, threw an {@link Error},
   * or met an event it cannot decode: the exception.
   */
  Optional<Throwable> failure();

  /**
   * Stops the subscription. A push subscription's handler finishes the batch it is handling; this
   * waits for that, at most 30 seconds, unless called from the handler itself. Idempotent.
   */
  @Override
  void close();
}
