/**
 * Following the log: {@link io.en57.subscriptions.Subscription}s that catch up with keyset reads
 * and then go live, and {@link io.en57.subscriptions.Projection}s that keep read models up to date
 * with every event applied exactly once, run by a {@link io.en57.subscriptions.ProjectionRunner}
 * and inspected or reset with {@link io.en57.subscriptions.Projections}.
 */
package io.en57.subscriptions;
