package io.en57.internal;

import io.en57.subscriptions.DeadLetter;
import io.en57.subscriptions.ProjectionFailedException;
import io.en57.subscriptions.ProjectionState;
import io.en57.subscriptions.ProjectionStatus;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import javax.sql.DataSource;
import org.postgresql.util.PSQLException;

/**
 * The SQL of projections: calls of the functions of migration {@code 0003_projections}, which make
 * every write (the application role may only read the tables), and the reads of their state.
 */
public final class ProjectionSql {

  /** The SQLSTATE {@code en57.projection_advance} raises when the caller no longer owns the row. */
  static final String FENCED = "EN001";

  /** The longest error text kept for a failed segment or a dead letter. */
  static final int MAX_ERROR_LENGTH = 4_000;

  private static final String REGISTER = "SELECT en57.projection_register(?, ?)";
  private static final String CLAIM =
      "SELECT o_status, o_epoch, o_position, o_state, o_reset_pending"
          + " FROM en57.projection_claim(?, ?, ?, ?, ?)";
  private static final String RELEASE = "SELECT en57.projection_release(?, ?, ?, ?)";
  private static final String BEGIN =
      "SELECT o_status, o_position"
          + ConnectionSource.PROBE_SILENT_CLIENT
          + " FROM en57.projection_begin(?, ?, ?, ?)";
  private static final String ADVANCE = "SELECT en57.projection_advance(?, ?, ?, ?, ?, ?)";
  private static final String DEAD_LETTER = "SELECT en57.projection_dead_letter(?, ?, ?, ?, ?, ?)";
  private static final String FAIL = "SELECT en57.projection_fail(?, ?, ?, ?)";
  private static final String RESET = "SELECT en57.projection_reset(?, ?)";
  private static final String RESET_APPLY =
      "SELECT en57.projection_reset_apply(?, ?, ?)" + ConnectionSource.PROBE_SILENT_CLIENT;
  private static final String STATUS =
      "SELECT p.name, p.segment, p.segments, p.position, p.state,"
          + " CASE WHEN p.lease_until > clock_timestamp() THEN p.owner END, p.error,"
          + " (SELECT coalesce(max(e.position), 0) FROM en57.events e)"
          + " FROM en57.projections p WHERE p.name = coalesce(?, p.name)"
          + " ORDER BY p.name, p.segment";
  private static final String PROGRESS =
      "SELECT count(*), min(p.position), bool_or(p.state = 'FAILED'),"
          + " string_agg(p.error, '; ' ORDER BY p.segment)"
          + " FROM en57.projections p WHERE p.name = ?";
  private static final String DEAD_LETTERS =
      "SELECT d.segment, d.position, d.event_id, d.error, d.recorded_at"
          + " FROM en57.projection_dead_letters d WHERE d.name = ? ORDER BY d.position";
  private static final long MAX_AWAIT_POLL_MILLIS = 50;

  private ProjectionSql() {}

  /** What {@code en57.projection_claim} answered. */
  record Claim(String status, long epoch, long position, String state, boolean resetPending) {

    boolean owned() {
      return status.equals("owner");
    }
  }

  /** What {@code en57.projection_begin} answered. */
  record Begin(String status, long position) {}

  static void register(LogSchema schema, DataSource dataSource, String name, int segments) {
    run(
        dataSource,
        connection -> {
          try (PreparedStatement statement = connection.prepareStatement(schema.sql(REGISTER))) {
            statement.setString(1, name);
            statement.setInt(2, segments);
            statement.execute();
          }
          return null;
        });
  }

  static Claim claim(
      LogSchema schema,
      ConnectionSource connections,
      String name,
      int segment,
      int segments,
      String owner,
      long leaseMs) {
    return run(
        connections,
        connection -> {
          try (PreparedStatement statement = connection.prepareStatement(schema.sql(CLAIM))) {
            statement.setString(1, name);
            statement.setInt(2, segment);
            statement.setInt(3, segments);
            statement.setString(4, owner);
            statement.setLong(5, leaseMs);
            try (ResultSet row = statement.executeQuery()) {
              row.next();
              return new Claim(
                  row.getString(1),
                  row.getLong(2),
                  row.getLong(3),
                  row.getString(4),
                  row.getBoolean(5));
            }
          }
        });
  }

  static void release(
      LogSchema schema,
      ConnectionSource connections,
      String name,
      int segment,
      String owner,
      long epoch) {
    run(
        connections,
        connection -> {
          try (PreparedStatement statement = connection.prepareStatement(schema.sql(RELEASE))) {
            statement.setString(1, name);
            statement.setInt(2, segment);
            statement.setString(3, owner);
            statement.setLong(4, epoch);
            statement.execute();
          }
          return null;
        });
  }

  /** What recording a segment's failure did. */
  enum Stop {
    /** The segment is in state FAILED now. */
    STOPPED,
    /** Its epoch is no longer the caller's (taken over, or reset): nothing changed. */
    FENCED,
    /** Another transaction (a reset whose handler runs) held the row past the server's wait. */
    BUSY
  }

  /** Stops the segment in state FAILED with {@code error}, unless its epoch moved on. */
  static Stop fail(
      LogSchema schema,
      ConnectionSource connections,
      String name,
      int segment,
      long epoch,
      String error) {
    try {
      return connections.runRaw(
          connection -> {
            try (PreparedStatement statement = connection.prepareStatement(schema.sql(FAIL))) {
              statement.setString(1, name);
              statement.setInt(2, segment);
              statement.setLong(3, epoch);
              statement.setString(4, storableError(error));
              try (ResultSet row = statement.executeQuery()) {
                row.next();
                return row.getBoolean(1) ? Stop.STOPPED : Stop.FENCED;
              }
            }
          });
    } catch (SQLException e) {
      if (ConnectionSource.LOCK_NOT_AVAILABLE.equals(e.getSQLState())) {
        return Stop.BUSY;
      }
      throw ConnectionSource.translate(e);
    }
  }

  /**
   * Fails unless the caller's transaction can still commit: one of a handler's statements that
   * failed, caught by the handler, aborted it, and a commit would then roll back without a word.
   */
  static void requireUsable(Connection connection) throws SQLException {
    try (Statement statement = connection.createStatement()) {
      statement.execute("SELECT 1");
    }
  }

  /**
   * An error as the error columns can hold it: at most {@link #MAX_ERROR_LENGTH} characters, and
   * none that PostgreSQL cannot store (an exception's message may carry U+0000, from a broker's
   * reply say), which would fail the statement recording the failure.
   */
  static String storableError(String error) {
    return StorableText.withUnstorableReplaced(StorableText.cut(error, MAX_ERROR_LENGTH));
  }

  /** In the caller's transaction: locks the segment's row and checks the epoch. */
  static Begin begin(
      LogSchema schema, Connection connection, String name, int segment, long epoch, long leaseMs)
      throws SQLException {
    try (PreparedStatement statement = connection.prepareStatement(schema.sql(BEGIN))) {
      statement.setString(1, name);
      statement.setInt(2, segment);
      statement.setLong(3, epoch);
      statement.setLong(4, leaseMs);
      try (ResultSet row = statement.executeQuery()) {
        row.next();
        return new Begin(row.getString(1), row.getLong(2));
      }
    }
  }

  /** In the caller's transaction: moves the checkpoint, or raises {@link #FENCED}. */
  static void advance(
      LogSchema schema,
      Connection connection,
      String name,
      int segment,
      long epoch,
      long from,
      long to,
      long leaseMs)
      throws SQLException {
    try (PreparedStatement statement = connection.prepareStatement(schema.sql(ADVANCE))) {
      statement.setString(1, name);
      statement.setInt(2, segment);
      statement.setLong(3, epoch);
      statement.setLong(4, from);
      statement.setLong(5, to);
      statement.setLong(6, leaseMs);
      statement.execute();
    }
  }

  /** In the caller's transaction: records an event the handler kept failing on. */
  static void deadLetter(
      LogSchema schema,
      Connection connection,
      String name,
      int segment,
      long epoch,
      long position,
      UUID eventId,
      String error)
      throws SQLException {
    try (PreparedStatement statement = connection.prepareStatement(schema.sql(DEAD_LETTER))) {
      statement.setString(1, name);
      statement.setInt(2, segment);
      statement.setLong(3, epoch);
      statement.setLong(4, position);
      statement.setObject(5, eventId);
      statement.setString(6, storableError(error));
      statement.execute();
    }
  }

  /**
   * In the caller's transaction: locks the projection's segments and marks a pending reset applied.
   *
   * @return the position reset to, or null when no reset was pending
   */
  static Long applyReset(
      LogSchema schema, Connection connection, String name, int segment, long epoch)
      throws SQLException {
    try (PreparedStatement statement = connection.prepareStatement(schema.sql(RESET_APPLY))) {
      statement.setString(1, name);
      statement.setInt(2, segment);
      statement.setLong(3, epoch);
      try (ResultSet row = statement.executeQuery()) {
        row.next();
        long position = row.getLong(1);
        return row.wasNull() ? null : position;
      }
    }
  }

  /** Resets every segment of a projection to {@code position}. */
  public static void reset(LogSchema schema, DataSource dataSource, String name, long position) {
    run(
        dataSource,
        connection -> {
          try (PreparedStatement statement = connection.prepareStatement(schema.sql(RESET))) {
            statement.setString(1, name);
            statement.setLong(2, position);
            statement.execute();
          }
          return null;
        });
  }

  /** The segments of projection {@code name}, or of all projections when it is null. */
  public static List<ProjectionStatus> status(
      LogSchema schema, DataSource dataSource, String name) {
    return run(
        dataSource,
        connection -> {
          try (PreparedStatement statement = connection.prepareStatement(schema.sql(STATUS))) {
            statement.setString(1, name);
            var segments = new ArrayList<ProjectionStatus>();
            try (ResultSet rows = statement.executeQuery()) {
              while (rows.next()) {
                String owner = rows.getString(6);
                ProjectionState state =
                    rows.getString(5).equals("FAILED")
                        ? ProjectionState.FAILED
                        : owner != null ? ProjectionState.RUNNING : ProjectionState.STOPPED;
                segments.add(
                    new ProjectionStatus(
                        rows.getString(1),
                        rows.getInt(2),
                        rows.getInt(3),
                        rows.getLong(4),
                        rows.getLong(8),
                        state,
                        Optional.ofNullable(owner),
                        Optional.ofNullable(rows.getString(7))));
              }
            }
            return segments;
          }
        });
  }

  /** The dead letters of projection {@code name}, by position. */
  public static List<DeadLetter> deadLetters(LogSchema schema, DataSource dataSource, String name) {
    return run(
        dataSource,
        connection -> {
          try (PreparedStatement statement =
              connection.prepareStatement(schema.sql(DEAD_LETTERS))) {
            statement.setString(1, name);
            var letters = new ArrayList<DeadLetter>();
            try (ResultSet rows = statement.executeQuery()) {
              while (rows.next()) {
                Timestamp recorded = rows.getTimestamp(5);
                letters.add(
                    new DeadLetter(
                        name,
                        rows.getInt(1),
                        rows.getLong(2),
                        rows.getObject(3, UUID.class),
                        rows.getString(4),
                        recorded.toInstant()));
              }
            }
            return letters;
          }
        });
  }

  /** Waits, polling the checkpoints, until projection {@code name} reached {@code position}. */
  public static boolean await(
      LogSchema schema, DataSource dataSource, String name, long position, Duration timeout)
      throws InterruptedException {
    return await(schema, dataSource, name, position, timeout, null);
  }

  /**
   * Waits until projection {@code name} reached {@code position}, reading the checkpoints when
   * {@code progress} signals (a local runner committed) and at least every 50 ms. A connection that
   * breaks is no answer: the next read takes another, until the deadline. Each read's network
   * timeout ends a second after the deadline, so a server that stopped answering fails the wait.
   */
  static boolean await(
      LogSchema schema,
      DataSource dataSource,
      String name,
      long position,
      Duration timeout,
      LogSignal progress)
      throws InterruptedException {
    java.util.Objects.requireNonNull(timeout, "timeout must not be null");
    long deadline = System.nanoTime() + timeout.toNanos();
    long pollMillis = 1;
    while (true) {
      long generation = progress == null ? 0 : progress.generation();
      long remaining = deadline - System.nanoTime();
      try {
        if (reached(schema, dataSource, name, position, remaining)) {
          return true;
        }
      } catch (SQLException e) {
        if (!ConnectionSource.isConnectionLost(e) || deadline - System.nanoTime() <= 0) {
          throw ConnectionSource.translate(e);
        }
      }
      remaining = deadline - System.nanoTime();
      if (remaining <= 0) {
        return false;
      }
      long wait = Math.min(remaining, pollMillis * 1_000_000);
      if (progress == null) {
        Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
      } else {
        progress.awaitChange(generation, wait, () -> false);
      }
      pollMillis = Math.min(MAX_AWAIT_POLL_MILLIS, pollMillis * 2);
    }
  }

  private static boolean reached(
      LogSchema schema, DataSource dataSource, String name, long position, long remainingNanos)
      throws SQLException {
    long networkMillis = Math.max(0, remainingNanos) / 1_000_000 + 1_000;
    return ConnectionSource.pool(dataSource, (int) Math.min(Integer.MAX_VALUE, networkMillis))
        .runRaw(
            connection -> {
              try (PreparedStatement statement =
                  connection.prepareStatement(schema.sql(PROGRESS))) {
                statement.setString(1, name);
                try (ResultSet row = statement.executeQuery()) {
                  row.next();
                  if (row.getLong(1) == 0) {
                    throw new IllegalArgumentException("there is no projection named " + name);
                  }
                  if (row.getLong(2) >= position) {
                    return true;
                  }
                  if (row.getBoolean(3)) {
                    throw new ProjectionFailedException(
                        "projection " + name + " is FAILED: " + row.getString(4));
                  }
                  return false;
                }
              }
            });
  }

  /** The server's message without the driver's prefix and context lines. */
  static String serverMessage(SQLException e) {
    if (e instanceof PSQLException server && server.getServerErrorMessage() != null) {
      return server.getServerErrorMessage().getMessage();
    }
    return e.getMessage();
  }

  /** Runs on a connection of the pool, committing; bad arguments the database names are IAEs. */
  static <T> T run(DataSource dataSource, ConnectionSource.Work<T> work) {
    return run(ConnectionSource.pool(dataSource), work);
  }

  private static <T> T run(ConnectionSource connections, ConnectionSource.Work<T> work) {
    try {
      return connections.runRaw(work);
    } catch (SQLException e) {
      String state = e.getSQLState() == null ? "" : e.getSQLState();
      if (state.equals("22023") || state.equals("42704")) {
        throw new IllegalArgumentException(serverMessage(e), e);
      }
      throw ConnectionSource.translate(e);
    }
  }
}
