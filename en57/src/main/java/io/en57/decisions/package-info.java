/**
 * Decisions in one call: typed {@link io.en57.decisions.DecisionProjection}s fold the events a
 * decision depends on, a {@link io.en57.decisions.DecisionModel} reads them all at once and derives
 * the append condition from the same query, and {@link
 * io.en57.decisions.DecisionModel#execute(io.en57.EventStore, Decider)} runs read, decide and
 * append, re-reading and deciding again after a conflict.
 */
package io.en57.decisions;
