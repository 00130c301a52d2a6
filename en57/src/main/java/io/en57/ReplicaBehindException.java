package io.en57;

/**
 * A read asked to see a position ({@link Read#atLeast}) found no replica that reached it within the
 * wait set by {@link EventStoreBuilder#readYourWrites}, and the store was told to fail rather than
 * read the primary ({@link ReplicaFallback#FAIL}). Nothing was read; try again later, or read with
 * {@link Read#fromPrimary()}.
 */
public final class ReplicaBehindException extends En57Exception {

  private final long position;
  private final long replicaHead;

  /** An exception for a read that needed {@code position} and found a replica at {@code head}. */
  public ReplicaBehindException(String message, long position, long replicaHead) {
    super(message);
    this.position = position;
    this.replicaHead = replicaHead;
  }

  /** The position the read asked to see. */
  public long position() {
    return position;
  }

  /** The newest position the replica waited on had replayed when the wait ended. */
  public long replicaHead() {
    return replicaHead;
  }
}
