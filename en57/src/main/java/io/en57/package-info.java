/**
 * En57's public API: {@link io.en57.EventStore} to append and read {@link io.en57.Event}s, {@link
 * io.en57.Read} scopes and {@link io.en57.AppendCondition}s to express DCB consistency boundaries,
 * {@link io.en57.AppendResult} for the outcome, and {@link io.en57.Migrator} for the schema. A
 * store's log lives in one schema ({@code en57} unless {@link io.en57.EventStoreBuilder#schema}
 * names another); {@link io.en57.routing} maps keys to the stores of several logs.
 */
package io.en57;
