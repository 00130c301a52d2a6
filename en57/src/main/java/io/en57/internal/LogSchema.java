package io.en57.internal;

import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The schema a log lives in. The migrations and the library's SQL are written for schema {@code
 * en57}; {@link #sql} rewrites them for this one, so the same text serves every log, and the
 * checksums recorded in a log's version table are those of the shipped text. Immutable.
 *
 * @param name a plain lower-case SQL identifier
 */
public record LogSchema(String name) {

  private static final Pattern NAME = Pattern.compile("[a-z_][a-z0-9_]{0,62}");

  /**
   * What names the schema in the library's SQL: a qualified name ({@code en57.events}, also inside
   * a literal, as in {@code 'en57.events'::regclass}), but not the setting {@code
   * en57.allow_history_rewrite}, which keeps its name in every log; the schema as an object ({@code
   * SCHEMA en57}, {@code 'en57'::regnamespace}); and its name as a value ({@code nspname =
   * 'en57'}).
   */
  private static final Pattern NAMED =
      Pattern.compile(
          "(?<![\\w$])en57\\.(?!allow_history_rewrite\\b)"
              + "|(?<=SCHEMA (?:IF NOT EXISTS )?)en57\\b"
              + "|'en57'(?=::regnamespace)"
              + "|(?<=nspname = )'en57'");

  /** The schema of a store that names none (declared after the patterns its constructor uses). */
  public static final LogSchema DEFAULT = new LogSchema("en57");

  /**
   * @throws IllegalArgumentException if {@code name} is not a plain lower-case SQL identifier
   */
  public LogSchema {
    Objects.requireNonNull(name, "schema must not be null");
    if (!NAME.matcher(name).matches()) {
      throw new IllegalArgumentException(
          "schema must be a plain lower-case SQL identifier (a letter or _, then letters, digits"
              + " or _, at most 63 characters), not \""
              + name
              + "\"");
    }
    if (name.startsWith("pg_")) {
      throw new IllegalArgumentException(
          "schema must not start with pg_, which PostgreSQL keeps for itself: \"" + name + "\"");
    }
  }

  /** The schema named {@code name}; see the constructor for what is valid. */
  public static LogSchema of(String name) {
    return name.equals(DEFAULT.name) ? DEFAULT : new LogSchema(name);
  }

  /** Whether this is the default schema {@code en57}. */
  public boolean isDefault() {
    return name.equals(DEFAULT.name);
  }

  /**
   * {@code sql}, written for schema {@code en57}, for this schema. The name is quoted, so that a
   * schema may be named like an SQL keyword.
   */
  public String sql(String sql) {
    if (isDefault()) {
      return sql;
    }
    Matcher matcher = NAMED.matcher(sql);
    var rewritten = new StringBuilder(sql.length() + 64);
    while (matcher.find()) {
      String found = matcher.group();
      String replacement;
      if (found.equals("en57.")) {
        replacement = '"' + name + "\".";
      } else if (found.equals("en57")) {
        replacement = '"' + name + '"';
      } else if (sql.startsWith("::regnamespace", matcher.end())) {
        replacement = "'\"" + name + "\"'";
      } else {
        replacement = "'" + name + "'";
      }
      matcher.appendReplacement(rewritten, Matcher.quoteReplacement(replacement));
    }
    matcher.appendTail(rewritten);
    return rewritten.toString();
  }

  /**
   * The channel that announces appends to this log: {@code en57_appended} for schema {@code en57},
   * {@code <schema>_appended} for the others (cut to PostgreSQL's 63 characters).
   */
  public String channel() {
    String channel = name + "_appended";
    return channel.length() > 63 ? channel.substring(0, 63) : channel;
  }
}
