/**
 * Hearing what a store does, for metrics and tracing: a {@link io.en57.observation.StoreListener}
 * set with {@link io.en57.EventStoreBuilder#listener} is told of every append, every page a read
 * fetches, every group commit and every projection batch. The module {@code en57-micrometer} turns
 * these into Micrometer meters and observations; the core needs no metrics library.
 */
package io.en57.observation;
