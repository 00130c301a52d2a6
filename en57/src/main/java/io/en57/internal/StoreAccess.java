package io.en57.internal;

import io.en57.EventStore;
import java.util.function.Function;

/**
 * Hands the implementation what a store keeps out of its public API: the projection runner reports
 * to the store's listener. {@link EventStore} installs the accessor when its class initializes,
 * which happens before any store exists.
 */
public final class StoreAccess {

  private static volatile Function<EventStore, Listening> listening;

  private StoreAccess() {}

  /** Called once, by {@link EventStore}. */
  public static void install(Function<EventStore, Listening> accessor) {
    listening = accessor;
  }

  /** The store's listener, or {@link Listening#NONE}. */
  static Listening listening(EventStore store) {
    return listening.apply(store);
  }
}
