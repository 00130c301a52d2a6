package io.en57.internal;

import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * A database URL as JDBC needs it. Accepts {@code jdbc:postgresql://...} as is, and the libpq form
 * {@code postgres://user:password@host:port/database?parameters} (also {@code postgresql://}) used
 * by {@code DATABASE_URL}, parsed with {@link URI}.
 *
 * @param user null when the URL carries none (or carries it as a JDBC parameter)
 * @param password null when the URL carries none
 */
public record DatabaseUrl(String jdbcUrl, String user, String password) {

  /** Parses a URL, naming the accepted forms when it is neither. */
  public static DatabaseUrl parse(String url) {
    Objects.requireNonNull(url, "database URL must not be null");
    if (url.startsWith("jdbc:postgresql:")) {
      // pgjdbc's own errors repeat the URL, password included; check it here instead.
      if (parsesAsJdbc(url)) {
        return new DatabaseUrl(url, null, null);
      }
      throw invalid("the PostgreSQL driver cannot parse this jdbc:postgresql: URL");
    }
    URI uri;
    try {
      uri = new URI(url);
    } catch (URISyntaxException e) {
      throw invalid("it is not a valid URI (" + e.getReason() + ")");
    }
    if (!"postgres".equals(uri.getScheme()) && !"postgresql".equals(uri.getScheme())) {
      throw invalid("expected jdbc:postgresql://, postgres:// or postgresql://");
    }
    // java.net.URI leaves the host out of an authority that is no single Internet host name, such
    // as a Compose service's "postgres_db" or libpq's "h1:5432,h2:5432"; the driver takes both.
    String authority = uri.getRawAuthority();
    int at = authority == null ? -1 : authority.lastIndexOf('@');
    String hosts = authority == null ? "" : authority.substring(at + 1);
    if (hosts.isEmpty() || hosts.startsWith(":")) {
      throw invalid("it names no host");
    }
    var jdbc = new StringBuilder("jdbc:postgresql://").append(hosts);
    jdbc.append(uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath());
    if (uri.getRawQuery() != null) {
      jdbc.append('?').append(uri.getRawQuery());
    }
    if (!parsesAsJdbc(jdbc.toString())) {
      throw invalid("the PostgreSQL driver cannot parse the URL it becomes");
    }
    String user = null;
    String password = null;
    if (at >= 0) {
      String[] parts = authority.substring(0, at).split(":", 2);
      user = decode(parts[0]);
      password = parts.length > 1 ? decode(parts[1]) : null;
    }
    return new DatabaseUrl(jdbc.toString(), user, password);
  }

  private static boolean parsesAsJdbc(String url) {
    try {
      return org.postgresql.Driver.parseURL(url, null) != null;
    } catch (RuntimeException e) {
      return false;
    }
  }

  private static String decode(String percentEncoded) {
    // URLDecoder decodes form encoding, where '+' means space; in a URI it is a plain '+'.
    return URLDecoder.decode(percentEncoded.replace("+", "%2B"), StandardCharsets.UTF_8);
  }

  private static IllegalArgumentException invalid(String why) {
    // The URL itself is not repeated: it may hold a password.
    return new IllegalArgumentException("unsupported database URL: " + why);
  }

  /** A DataSource without a pool: each {@code getConnection()} opens a new connection here. */
  public PGSimpleDataSource unpooled() {
    var dataSource = new PGSimpleDataSource();
    dataSource.setURL(jdbcUrl);
    if (user != null) {
      dataSource.setUser(user);
    }
    if (password != null) {
      dataSource.setPassword(password);
    }
    return dataSource;
  }

  @Override
  public String toString() {
    return "DatabaseUrl["
        + jdbcUrl
        + ", user="
        + user
        + ", password="
        + (password == null ? "none" : "***")
        + "]";
  }
}
