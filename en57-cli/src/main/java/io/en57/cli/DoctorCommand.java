package io.en57.cli;

import io.en57.En57Exception;
import io.en57.MigrationState;
import io.en57.MigrationStatus;
import io.en57.Migrator;
import io.en57.internal.DatabaseUrl;
import io.en57.subscriptions.ProjectionState;
import io.en57.subscriptions.ProjectionStatus;
import io.en57.subscriptions.Projections;
import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import javax.sql.DataSource;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code en57 doctor}: what is wrong with the database, in one look. Connects (and says as which
 * role), checks the server version, reports the schema as {@code status} does, shows who holds the
 * append lock and who waits for it, the log's size, and the projections; exits with 1 when
 * something needs a person.
 */
@Command(
    name = "doctor",
    mixinStandardHelpOptions = true,
    versionProvider = Version.class,
    description = {
      "Tells what is wrong: the connection and its role, the server version, the schema (as"
          + " status does), the append lock's holder and the appends waiting for it, the sizes"
          + " of the event and tag tables, and the projections' state and lag.",
      "Exit code 0 when all is well; 1 when something is wrong, each problem listed at the end.",
      "Run it as a superuser, or a role granted pg_read_all_stats, to see other roles'"
          + " sessions in full: PostgreSQL hides how long they have held the append lock from"
          + " others, the schema's owner included, and the doctor reports that as a problem."
    })
final class DoctorCommand extends DatabaseCommand {

  /** The oldest PostgreSQL En57 supports. */
  static final int MIN_SERVER_VERSION = 15;

  /**
   * The log's append lock, {@code (1164850487, oid of its schema)}, held or awaited; and the
   * appends queued for it, whose sessions hold a lock on their ticket, {@code (oid of the schema,
   * ticket)}, while they wait (granted = false for both kinds of waiting).
   */
  private static final String APPEND_LOCK =
      "SELECT l.pid, l.granted AND l.classid = 1164850487, a.usename, a.application_name, a.state,"
          + " extract(epoch FROM now() - a.xact_start), extract(epoch FROM now() - a.query_start)"
          + " FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid,"
          + " (SELECT n.oid FROM pg_namespace n WHERE n.nspname = ?) log"
          + " WHERE l.locktype = 'advisory' AND l.objsubid = 2"
          + " AND ((l.classid = 1164850487 AND l.objid = log.oid)"
          + " OR (l.classid = log.oid AND l.granted))"
          + " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
          + " ORDER BY l.granted DESC, a.query_start";

  private static final String SIZES =
      "SELECT c.relname, c.reltuples::bigint, pg_size_pretty(pg_total_relation_size(c.oid))"
          + " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
          + " WHERE n.nspname = ? AND c.relname IN ('events', 'event_tags')"
          + " ORDER BY c.relname DESC";

  @Option(
      names = "--max-lock-hold",
      paramLabel = "SECONDS",
      defaultValue = "1",
      description = {
        "A transaction holding the append lock longer than this many seconds is a problem: every"
            + " append waits for it (default 1; an append holds it for milliseconds, unless it"
            + " runs inside an application's transaction)."
      })
  double maxLockHoldSeconds;

  @Option(
      names = "--max-lag",
      paramLabel = "POSITIONS",
      description = {
        "A projection more than this many positions behind the head is a problem (by default lag"
            + " is shown, never judged)."
      })
  Long maxLag;

  @Override
  int run(Migrator migrator, PrintWriter out) {
    var problems = new ArrayList<String>();
    DataSource dataSource = dataSource();
    try (Connection connection = dataSource.getConnection()) {
      connection(connection, out, problems);
    } catch (SQLException e) {
      out.println("Connection: FAILED, " + e.getMessage());
      problems.add("cannot connect to the database");
      return report(problems, out);
    }
    MigrationStatus status;
    try {
      status = migrator.status();
    } catch (En57Exception e) {
      problems.add("cannot read the schema's state: " + e.getMessage());
      return report(problems, out);
    }
    StatusReport.print(schema, status, out);
    if (StatusReport.exitCode(status) != 0 || status.state() != MigrationState.UP_TO_DATE) {
      problems.add(schemaProblem(status));
    }
    if (status.state() == MigrationState.FRESH || status.state() == MigrationState.UNVERSIONED) {
      return report(problems, out);
    }
    try (Connection connection = dataSource.getConnection()) {
      appendLock(connection, out, problems);
      sizes(connection, out);
    } catch (SQLException e) {
      problems.add("cannot inspect the append lock or the tables: " + e.getMessage());
    }
    if (status.currentVersion() >= 3) {
      projections(dataSource, out, problems);
    }
    return report(problems, out);
  }

  private DataSource dataSource() {
    return DatabaseUrl.parse(url).unpooled();
  }

  private static void connection(Connection connection, PrintWriter out, List<String> problems)
      throws SQLException {
    try (PreparedStatement statement =
            connection.prepareStatement(
                "SELECT current_user, current_database(), current_setting('server_version'),"
                    + " current_setting('server_version_num')::int,"
                    + " (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)");
        ResultSet row = statement.executeQuery()) {
      row.next();
      out.println(
          "Connection: ok, as role "
              + row.getString(1)
              + (row.getBoolean(5) ? " (a superuser)" : "")
              + " to database "
              + row.getString(2));
      int major = row.getInt(4) / 10_000;
      boolean supported = major >= MIN_SERVER_VERSION;
      out.println(
          "Server: PostgreSQL "
              + row.getString(3)
              + (supported
                  ? ", supported"
                  : ", NOT supported (En57 needs " + MIN_SERVER_VERSION + " or newer)"));
      if (!supported) {
        problems.add(
            "PostgreSQL "
                + major
                + " is not supported: upgrade to "
                + MIN_SERVER_VERSION
                + " or newer");
      }
    }
  }

  private String schemaProblem(MigrationStatus status) {
    return switch (status.state()) {
      case FRESH, PENDING ->
          "schema "
              + schema
              + " is "
              + StatusReport.describe(status.state())
              + ": run "
              + migrateCommand(schema, status.applicationRole().map(role -> role.role()));
      case UP_TO_DATE ->
          status
              .warning()
              .orElse(
                  "the application role's privileges are not in place: run "
                      + migrateCommand(schema, status.applicationRole().map(role -> role.role())));
      default ->
          "schema "
              + schema
              + " is "
              + StatusReport.describe(status.state())
              + status.warning().map(warning -> ": " + warning).orElse("");
    };
  }

  private void appendLock(Connection connection, PrintWriter out, List<String> problems)
      throws SQLException {
    var holders = new ArrayList<String>();
    int waiting = 0;
    double longestWait = 0;
    double holdSeconds = 0;
    int oldestHolder = 0;
    String hiddenHolder = null;
    try (PreparedStatement statement = prepared(connection, APPEND_LOCK);
        ResultSet rows = statement.executeQuery()) {
      while (rows.next()) {
        if (rows.getBoolean(2)) {
          String holder = describeSession(rows);
          if (!holders.contains(holder)) {
            holders.add(holder);
          }
          if (hidden(rows)) {
            hiddenHolder = "pid " + rows.getInt(1) + " (role " + rows.getString(3) + ")";
          } else if (rows.getDouble(6) >= holdSeconds) {
            holdSeconds = rows.getDouble(6);
            oldestHolder = rows.getInt(1);
          }
        } else {
          waiting++;
          longestWait = Math.max(longestWait, rows.getDouble(7));
        }
      }
    }
    if (holders.isEmpty() && waiting == 0) {
      out.println("Append lock: free");
      return;
    }
    out.println(
        "Append lock: "
            + (holders.isEmpty() ? "being handed over" : "held by " + String.join("; ", holders)));
    out.println(
        "  Appends waiting for it: "
            + waiting
            + (waiting > 0
                ? String.format(Locale.ROOT, ", the longest for %.1f s", longestWait)
                : ""));
    if (holdSeconds > maxLockHoldSeconds) {
      problems.add(
          String.format(
              Locale.ROOT,
              "a transaction has held the append lock for %.1f s (%d append(s) waiting): every"
                  + " append waits for it; end it, or SELECT pg_terminate_backend(%d)",
              holdSeconds,
              waiting,
              oldestHolder));
    }
    // A problem, not a warning: the hold time is judged on every run (--max-lock-hold has a
    // default), and exit 0 would vouch for a lock the doctor could not judge; one GRANT repairs it.
    if (hiddenHolder != null) {
      problems.add(
          "cannot see how long "
              + hiddenHolder
              + " has held the append lock: PostgreSQL shows another role's sessions in full only"
              + " to members of that role or of pg_read_all_stats; GRANT pg_read_all_stats TO "
              + connection.getMetaData().getUserName()
              + ", or run the doctor as a superuser");
    }
  }

  /**
   * Whether PostgreSQL hides the session's state and times from this role: it shows them for
   * another role's sessions only to members of that role or of pg_read_all_stats (and superusers),
   * and NULL is not 0 s.
   */
  private static boolean hidden(ResultSet row) throws SQLException {
    return row.getString(3) != null && row.getString(5) == null;
  }

  private static String describeSession(ResultSet row) throws SQLException {
    String role = row.getString(3);
    String state = row.getString(5);
    String application = row.getString(4);
    return "pid "
        + row.getInt(1)
        + (role == null ? "" : " (role " + role)
        + (application == null || application.isEmpty() ? "" : ", application " + application)
        + (state == null ? "" : ", " + state)
        + (role == null ? "" : ")")
        + (hidden(row)
            ? ", how long hidden from this role"
            : row.getObject(6) == null
                ? ""
                : String.format(
                    Locale.ROOT, ", its transaction open for %.1f s", row.getDouble(6)));
  }

  private void sizes(Connection connection, PrintWriter out) throws SQLException {
    try (PreparedStatement statement = prepared(connection, SIZES);
        ResultSet rows = statement.executeQuery()) {
      while (rows.next()) {
        long estimate = rows.getLong(2); // -1 until the table is first vacuumed or analyzed
        out.println(
            "Table "
                + schema
                + "."
                + rows.getString(1)
                + ": "
                + rows.getString(3)
                + (estimate < 0
                    ? ", rows not yet estimated"
                    : String.format(Locale.ROOT, ", about %,d rows", estimate)));
      }
    }
  }

  private void projections(DataSource dataSource, PrintWriter out, List<String> problems) {
    List<ProjectionStatus> segments;
    try {
      segments = Projections.forDataSource(dataSource).withSchema(schema).list();
    } catch (En57Exception e) {
      problems.add("cannot read the projections: " + e.getMessage());
      return;
    }
    if (segments.isEmpty()) {
      out.println("Projections: none");
      return;
    }
    out.println("Projections:");
    for (ProjectionStatus segment : segments) {
      String label =
          segment.name() + (segment.segments() == 1 ? "" : " segment " + segment.segment());
      out.println(
          "  "
              + label
              + ": "
              + segment.state()
              + ", at "
              + segment.checkpoint()
              + ", lag "
              + segment.lag()
              + ", owner "
              + segment.owner().orElse("none"));
      if (segment.state() == ProjectionState.FAILED) {
        problems.add(
            "projection "
                + label
                + " FAILED: fix the cause, then "
                + ProjectionsCommand.resume(schema, segment));
      } else if (maxLag != null && segment.lag() > maxLag) {
        problems.add(
            "projection "
                + label
                + " lags "
                + segment.lag()
                + " positions behind the head"
                + (segment.owner().isEmpty() ? ", and no runner owns it" : ""));
      }
    }
  }

  private static int report(List<String> problems, PrintWriter out) {
    if (problems.isEmpty()) {
      out.println("Problems: none");
      return 0;
    }
    out.println("Problems:");
    problems.forEach(problem -> out.println("  - " + problem));
    return FAILURE;
  }

  /** {@code sql} prepared, with the schema's name bound to its one parameter. */
  private PreparedStatement prepared(Connection connection, String sql) throws SQLException {
    PreparedStatement statement = connection.prepareStatement(sql);
    statement.setString(1, schema);
    return statement;
  }
}
