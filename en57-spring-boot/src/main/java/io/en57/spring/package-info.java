/**
 * En57 for Spring Boot: {@link io.en57.spring.En57AutoConfiguration} makes an {@link
 * io.en57.EventStore} on the application's {@code DataSource} that joins Spring-managed
 * transactions ({@link io.en57.spring.SpringTransactions}), handles the schema at start-up, runs
 * the {@link io.en57.subscriptions.Projection} beans with the context, reports health and, with
 * {@code en57-micrometer} and a {@code MeterRegistry}, metrics and observations. Configured with
 * the properties under {@code en57.} ({@link io.en57.spring.En57Properties}).
 */
package io.en57.spring;
