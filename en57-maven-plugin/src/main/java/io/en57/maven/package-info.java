/**
 * The Maven goals {@code en57:migrate} and {@code en57:status}, the counterparts of the original's
 * rake tasks, reading the database URL from the {@code en57.url} parameter or {@code DATABASE_URL}.
 */
package io.en57.maven;
