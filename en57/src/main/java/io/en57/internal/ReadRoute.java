package io.en57.internal;

/**
 * Where a read goes on a store with replicas.
 *
 * @param primary whether it must read the primary
 * @param atLeast the position a replica must have replayed before it serves the read; 0 for any
 */
public record ReadRoute(boolean primary, long atLeast) {

  /** Any usable replica, else the primary. */
  public static final ReadRoute REPLICA = new ReadRoute(false, 0);

  /** The primary. */
  public static final ReadRoute PRIMARY = new ReadRoute(true, 0);

  /** The route serving both this route's reads and {@code other}'s: the primary, or the further. */
  public ReadRoute stricter(ReadRoute other) {
    return primary || other.primary
        ? PRIMARY
        : new ReadRoute(false, Math.max(atLeast, other.atLeast));
  }
}
