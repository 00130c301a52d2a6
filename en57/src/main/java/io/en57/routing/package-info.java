/**
 * Many logs: an {@link io.en57.routing.EventStoreRouter} maps a key (a tenant, a bounded context)
 * to the store of its log, each log in a schema of its own, on one of several databases or servers,
 * as configuration says. Each log keeps every guarantee on its own; a decision (an append's
 * condition) cannot span two logs, and positions of different logs are unrelated.
 */
package io.en57.routing;
