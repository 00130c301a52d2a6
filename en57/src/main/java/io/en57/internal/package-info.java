/**
 * The engines behind {@link io.en57.EventStore} (in memory and PostgreSQL), the JSON codec and the
 * SQL. Not an API: anything here may change in any release.
 */
package io.en57.internal;
