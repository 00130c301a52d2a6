package io.en57.bench;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.en57.EventStore;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import javax.sql.DataSource;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * A database of the {@link Server}; closing it drops it.
 *
 * @param password null when the server needs none
 */
record Database(String name, String jdbcUrl, String user, String password, Server server)
    implements AutoCloseable {

  /** A plain connection, auto-commit on. */
  Connection connect() throws SQLException {
    var properties = new Properties();
    properties.setProperty("user", user);
    if (password != null) {
      properties.setProperty("password", password);
    }
    return DriverManager.getConnection(jdbcUrl, properties);
  }

  /** {@code count} plain connections, one per thread of a raw baseline. */
  List<Connection> connect(int count) throws SQLException {
    var connections = new ArrayList<Connection>(count);
    for (int i = 0; i < count; i++) {
      connections.add(connect());
    }
    return connections;
  }

  /** An unpooled data source, for the migrator. */
  DataSource dataSource() {
    var dataSource = new PGSimpleDataSource();
    dataSource.setURL(jdbcUrl);
    dataSource.setUser(user);
    dataSource.setPassword(password);
    return dataSource;
  }

  /** A HikariCP pool as {@code EventStore.forUrl} would create it, of {@code size} connections. */
  HikariDataSource pool(int size) {
    var config = new HikariConfig();
    config.setPoolName("bench-" + name);
    config.setJdbcUrl(jdbcUrl);
    config.setUsername(user);
    config.setPassword(password);
    config.setMaximumPoolSize(size);
    config.setAutoCommit(true);
    return new HikariDataSource(config);
  }

  /** A store with default options on {@code pool}, one application node. */
  static EventStore store(DataSource pool) {
    return EventStore.builder().forDataSource(pool);
  }

  void execute(String sql) throws SQLException {
    try (Connection connection = connect();
        Statement statement = connection.createStatement()) {
      statement.execute(sql);
    }
  }

  long queryLong(String sql) throws SQLException {
    try (Connection connection = connect();
        Statement statement = connection.createStatement();
        ResultSet row = statement.executeQuery(sql)) {
      row.next();
      return row.getLong(1);
    }
  }

  /** The highest stored position, 0 when empty. */
  long head() throws SQLException {
    return queryLong("SELECT coalesce(max(position), 0) FROM en57.events");
  }

  @Override
  public void close() {
    server.drop(name);
  }
}
