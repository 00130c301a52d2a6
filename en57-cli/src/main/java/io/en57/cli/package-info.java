/**
 * The {@code en57} command line: {@code en57 migrate} creates or upgrades the schema, {@code en57
 * status} reports where the database stands. Both read the database URL from {@code DATABASE_URL}
 * or {@code --url}, as the Ruby gem's {@code en57:migrate} and {@code en57:status} rake tasks do.
 */
package io.en57.cli;
