/**
 * En57's public API: {@link io.en57.EventStore} to append and read {@link io.en57.Event}s, {@link
 * io.en57.Read} scopes and {@link io.en57.AppendCondition}s to express DCB consistency boundaries,
 * {@link io.en57.AppendResult} for the outcome, and {@link io.en57.Migrator} for the schema.
 */
package io.en57;
