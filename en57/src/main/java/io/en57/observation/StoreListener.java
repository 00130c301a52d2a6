package io.en57.observation;

/**
 * Hears what a store does: appends, reads, group commits, projections. Every method has a default
 * that ignores the call; implement the ones you need. Set it with {@link
 * io.en57.EventStoreBuilder#listener}.
 *
 * <p>The store calls it on its own threads and on the application's, so an implementation must be
 * thread-safe and quick: it runs inside every append. An exception it throws is logged and ignored,
 * and so is a {@link LinkageError} (a listener built against another version of a library it
 * calls); it never fails or changes the store's work.
 *
 * <p>Appends and reads are reported in two steps, so that a tracer can make a span of them: {@code
 * ...Started} runs on the calling thread before the work (where the caller's current span is), and
 * the {@link Operation} it returns is ended once the work is done.
 */
public interface StoreListener {

  /**
   * An append begins, on the appending thread, after its events were checked and encoded. The
   * returned operation is ended once, on the same thread, when the append returns or throws.
   */
  default Operation<AppendEnded> appendStarted(AppendStarted append) {
    return Operation.ignored();
  }

  /**
   * A read fetches a page of events (a read of up to the read batch size is one page), called on
   * the thread that iterates the read. The returned operation is ended once when the page is
   * fetched, possibly on another thread: the next two pages of a read on a pool are fetched ahead
   * while the caller consumes this one. A page asked for after the read's last one ends with no
   * events, without a query.
   */
  default Operation<ReadEnded> readStarted() {
    return Operation.ignored();
  }

  /**
   * A group commit wrote a group of appends, on the thread that wrote it, before any of those
   * appends returns to its caller (on this node or, forwarded, on another).
   */
  default void groupWritten(GroupWritten group) {}

  /** A projection segment applied a batch and moved its checkpoint, on the segment's thread. */
  default void projectionBatchApplied(ProjectionBatch batch) {}

  /** A projection's handler failed, on the segment's thread. */
  default void projectionFailed(ProjectionFailure failure) {}
}
