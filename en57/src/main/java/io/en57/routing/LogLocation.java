package io.en57.routing;

import io.en57.internal.DatabaseUrl;
import io.en57.internal.LogSchema;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.Objects;

/**
 * Where a log lives: a database URL ({@code postgres://...} or {@code jdbc:postgresql://...}) and
 * the schema that holds the log in that database.
 *
 * @param url the database URL, without a fragment
 * @param schema a plain lower-case SQL identifier, {@code en57} by default
 */
public record LogLocation(String url, String schema) {

  /**
   * @throws IllegalArgumentException if the URL is neither form, or the schema is not a plain
   *     lower-case SQL identifier
   */
  public LogLocation {
    Objects.requireNonNull(url, "url must not be null");
    Objects.requireNonNull(schema, "schema must not be null");
    DatabaseUrl.parse(url);
    LogSchema.of(schema);
  }

  /**
   * The log a configuration value names: a database URL whose fragment, if any, names the schema,
   * as in {@code postgres://db1:5432/shop#billing}; without one, the schema is {@code en57}.
   *
   * @throws IllegalArgumentException if it is not such a URL
   */
  public static LogLocation parse(String value) {
    Objects.requireNonNull(value, "log location must not be null");
    URI uri;
    try {
      uri = new URI(value);
    } catch (URISyntaxException e) {
      // Without the value, which may hold a password.
      throw new IllegalArgumentException(
          "a log location is a database URL, optionally with #schema: " + e.getReason());
    }
    if (uri.getScheme() == null) {
      throw new IllegalArgumentException(
          "a log location is a database URL (postgres://... or jdbc:postgresql://...),"
              + " optionally with #schema");
    }
    String url = uri.getScheme() + ":" + uri.getRawSchemeSpecificPart();
    String schema = uri.getRawFragment();
    return new LogLocation(
        url, schema == null || schema.isEmpty() ? LogSchema.DEFAULT.name() : schema);
  }

  /** The URL and the schema as {@link #parse} reads them, without the password. */
  @Override
  public String toString() {
    String shown =
        url.replaceFirst("^([a-z:]*//[^:/@]*):[^@/]*@", "$1:***@")
            .replaceAll("(?i)([?&]password=)[^&]*", "$1***");
    return shown + "#" + schema;
  }
}
