/**
 * The En57 benchmark suite: a program that prints numbers, never a test. {@link
 * io.en57.bench.Bench} runs the scenarios against an embedded PostgreSQL with fixed, durable
 * settings (or the server {@code DATABASE_URL} names), each scenario in a fresh database and next
 * to a raw JDBC baseline on the same server, prints Markdown tables, writes the results as JSON and
 * compares two result files.
 */
package io.en57.bench;
