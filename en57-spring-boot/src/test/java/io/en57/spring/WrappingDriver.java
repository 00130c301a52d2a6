package io.en57.spring;

import java.sql.Connection;
import java.sql.Driver;
import java.sql.DriverManager;
import java.sql.DriverPropertyInfo;
import java.sql.SQLException;
import java.util.Properties;
import java.util.logging.Logger;

/**
 * A driver for {@code jdbc:wrapped:postgresql:…} URLs that hands them to PostgreSQL's driver, as
 * Testcontainers' {@code jdbc:tc:} or a tracing driver does: for a DataSource whose URL is not
 * PostgreSQL's own. Public, for a pool to create it by its class name.
 */
public final class WrappingDriver implements Driver {

  static final String PREFIX = "jdbc:wrapped:";

  static {
    try {
      DriverManager.registerDriver(new WrappingDriver());
    } catch (SQLException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  /** The URL for the same database through this driver. */
  static String wrap(String postgresUrl) {
    return PREFIX + postgresUrl.substring("jdbc:".length());
  }

  @Override
  public Connection connect(String url, Properties info) throws SQLException {
    return acceptsURL(url)
        ? DriverManager.getConnection("jdbc:" + url.substring(PREFIX.length()), info)
        : null;
  }

  @Override
  public boolean acceptsURL(String url) {
    return url != null && url.startsWith(PREFIX);
  }

  @Override
  public DriverPropertyInfo[] getPropertyInfo(String url, Properties info) {
    return new DriverPropertyInfo[0];
  }

  @Override
  public int getMajorVersion() {
    return 1;
  }

  @Override
  public int getMinorVersion() {
    return 0;
  }

  @Override
  public boolean jdbcCompliant() {
    return false;
  }

  @Override
  public Logger getParentLogger() {
    return Logger.getGlobal();
  }
}
