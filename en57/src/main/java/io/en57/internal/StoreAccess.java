package io.en57.internal;

import io.en57.EventStore;
import io.en57.Read;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.function.ToLongBiFunction;

/**
 * Hands the implementation what a store keeps out of its public API: the projection runner reports
 * to the store's listener; a decision model reading replicas learns the head of the source its
 * reads go to, and whether its appends hold the append lock until the caller's transaction ends.
 * {@link EventStore} installs the accessors when its class initializes, which happens before any
 * store exists.
 */
public final class StoreAccess {

  private static volatile Function<EventStore, Listening> listening;
  private static volatile ToLongBiFunction<EventStore, ReadRoute> head;
  private static volatile Predicate<EventStore> inCallersTransaction;
  private static volatile Predicate<Read> shapesReads;

  private StoreAccess() {}

  /** Called once, by {@link EventStore}. */
  public static void install(
      Function<EventStore, Listening> listeningAccessor,
      ToLongBiFunction<EventStore, ReadRoute> headAccessor,
      Predicate<EventStore> inCallersTransactionAccessor,
      Predicate<Read> shapesReadsAccessor) {
    listening = listeningAccessor;
    head = headAccessor;
    inCallersTransaction = inCallersTransactionAccessor;
    shapesReads = shapesReadsAccessor;
  }

  /** The store's listener, or {@link Listening#NONE}. */
  static Listening listening(EventStore store) {
    return listening.apply(store);
  }

  /**
   * The head of the source a read on {@code route} goes to: the primary's for {@link
   * ReadRoute#PRIMARY} (as {@link EventStore#head()}), else a replica's, which may be behind it.
   * Reads asking for at least this position then see every event up to it.
   */
  public static long head(EventStore store, ReadRoute route) {
    return head.applyAsLong(store, route);
  }

  /**
   * Whether the store's appends on the calling thread run in the application's transaction (joined,
   * or on its connection outside autocommit): there an append, failed or not, holds the append lock
   * until that transaction ends.
   */
  public static boolean appendsInCallersTransaction(EventStore store) {
    return inCallersTransaction.test(store);
  }

  /**
   * Whether {@code scope} has a limit or reads backwards: options that shape one read, which a
   * scope followed from a position cannot have.
   */
  public static boolean shapesReads(Read scope) {
    return shapesReads.test(scope);
  }
}
