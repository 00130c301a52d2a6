package io.en57.spring;

import io.en57.MigrationState;
import io.en57.MigrationStatus;
import io.en57.Migrator;
import io.en57.subscriptions.ProjectionState;
import io.en57.subscriptions.ProjectionStatus;
import io.en57.subscriptions.Projections;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.sql.DataSource;
import org.springframework.boot.health.contributor.AbstractHealthIndicator;
import org.springframework.boot.health.contributor.Health;

/**
 * The health of En57: the database (reachable, as which role, which server version), the schema
 * (its migration state and version) and the projections (failed ones, and those lagging more than
 * {@code en57.projections.lag-threshold} positions behind the head). DOWN when the database cannot
 * be reached, the schema is not up to date, or a projection segment is FAILED; lagging projections
 * are listed, and leave it UP.
 */
public class En57HealthIndicator extends AbstractHealthIndicator {

  private static final String DATABASE =
      "SELECT current_user, current_setting('server_version'), current_database()";

  private final DataSource dataSource;
  private final String schemaName;
  private final long lagThreshold;

  /** Health of the En57 schema and projections of {@code dataSource}'s database. */
  public En57HealthIndicator(DataSource dataSource, long lagThreshold) {
    this(dataSource, "en57", lagThreshold);
  }

  /** Health of the log in schema {@code schemaName} and its projections. */
  public En57HealthIndicator(DataSource dataSource, String schemaName, long lagThreshold) {
    super("En57 health check failed");
    this.dataSource = dataSource;
    this.schemaName = schemaName;
    this.lagThreshold = lagThreshold;
  }

  @Override
  protected void doHealthCheck(Health.Builder builder) throws Exception {
    try (Connection connection = dataSource.getConnection();
        Statement statement = connection.createStatement();
        ResultSet row = statement.executeQuery(DATABASE)) {
      row.next();
      builder.withDetail(
          "database",
          Map.of("role", row.getString(1), "version", row.getString(2), "name", row.getString(3)));
    }
    MigrationStatus schema = Migrator.forDataSource(dataSource).withSchema(schemaName).status();
    var schemaDetail = new LinkedHashMap<String, Object>();
    schemaDetail.put("state", schema.state().name());
    schemaDetail.put("version", schema.currentVersion());
    schemaDetail.put("target", schema.targetVersion());
    schema.warning().ifPresent(warning -> schemaDetail.put("warning", warning));
    builder.withDetail("schema", schemaDetail);
    boolean healthy =
        schema.state() == MigrationState.UP_TO_DATE || schema.state() == MigrationState.AHEAD;
    if (healthy) {
      List<ProjectionStatus> segments =
          Projections.forDataSource(dataSource).withSchema(schemaName).list();
      List<String> failed = new ArrayList<>();
      List<String> lagging = new ArrayList<>();
      for (ProjectionStatus segment : segments) {
        String label = segment.name() + (segment.segments() > 1 ? "#" + segment.segment() : "");
        if (segment.state() == ProjectionState.FAILED) {
          failed.add(label + " at " + segment.checkpoint());
        } else if (segment.lag() > lagThreshold) {
          lagging.add(label + " lag " + segment.lag());
        }
      }
      builder.withDetail(
          "projections", Map.of("segments", segments.size(), "failed", failed, "lagging", lagging));
      healthy = failed.isEmpty();
    }
    if (healthy) {
      builder.up();
    } else {
      builder.down();
    }
  }
}
