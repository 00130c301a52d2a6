package io.en57.subscriptions;

/**
 * Where the read model of an {@link Projection#atLeastOnce at-least-once} projection keeps its own
 * checkpoint, for read models outside PostgreSQL (a search index, a cache, another database). When
 * the read model stores the checkpoint atomically with its data (in the same document or request),
 * no batch it has applied is delivered again; otherwise delivery stays at least once.
 *
 * <p>The runner calls {@link #save} after the handler applied a batch and before the projection's
 * own checkpoint in schema {@code en57} moves, and when a reset is applied; when it starts
 * following a segment it resumes from the later of {@link #load} and its own checkpoint. Called
 * from the segment's thread, one call at a time per segment.
 */
public interface CheckpointStore {

  /** The position up to which the read model applied segment {@code segment}; 0 if none. */
  long load(String projection, int segment) throws Exception;

  /** Records that the read model applied segment {@code segment} up to {@code position}. */
  void save(String projection, int segment, long position) throws Exception;
}
