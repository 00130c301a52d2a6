package io.en57.subscriptions;

import java.sql.Connection;
import java.sql.SQLException;

/**
 * Opens a dedicated database connection, one that no pool hands to anyone else, such as {@code
 * unpooledDataSource::getConnection}. The store LISTENs on such a connection for appends made by
 * other processes; a connection through a pooler in transaction mode (PgBouncer's default) would
 * not receive the notifications.
 */
@FunctionalInterface
public interface ConnectionFactory {

  /** A new connection, which the caller closes. */
  Connection open() throws SQLException;
}
