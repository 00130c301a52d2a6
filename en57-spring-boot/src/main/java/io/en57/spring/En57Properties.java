package io.en57.spring;

import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;

/** The {@code en57.} properties of the auto-configured store. */
@ConfigurationProperties(prefix = "en57")
public class En57Properties {

  /** What to do about the En57 schema at start-up. */
  public enum Schema {
    /** Fail the start-up unless the database is migrated (the store's own check). */
    VALIDATE,
    /**
     * Migrate the database at start-up, through the application's DataSource, whose role must then
     * be allowed to create schema en57 (or own it).
     */
    MIGRATE,
    /** Neither check nor migrate: calls fail until someone migrates; the health shows it. */
    NONE
  }

  /** What to do about the En57 schema at start-up: validate, migrate or none. */
  private Schema schema = Schema.VALIDATE;

  /**
   * The schema that holds the store's log, {@code en57} by default: one database can hold several
   * independent logs, each in a schema of its own (a plain lower-case SQL identifier). A decision
   * cannot span two logs.
   */
  private String schemaName = "en57";

  /**
   * Whether appends and reads inside a Spring-managed transaction run in it (events commit or roll
   * back with the application's writes). Outside one, appends use group commit.
   */
  private boolean joinTransactions = true;

  /**
   * Whether the store LISTENs for other processes' appends on a dedicated connection opened with
   * the DataSource's JDBC URL (Spring Boot's JDBC connection details), so that subscriptions and
   * projections see them at once rather than within the poll interval.
   */
  private boolean listen = true;

  /** Events fetched per round trip while iterating a read. */
  private int readBatchSize = 1_000;

  /** How long an append waits for the append lock in the database. */
  private Duration lockTimeout = Duration.ofSeconds(10);

  /** The longest one database call of the store may run (on top of the lock wait). */
  private Duration queryTimeout = Duration.ofSeconds(30);

  /** The longest a subscription waits before it reads the log again when no wake-up came. */
  private Duration pollInterval = Duration.ofSeconds(1);

  /** Group commit of concurrent appends made outside transactions. */
  private final GroupCommit groupCommit = new GroupCommit();

  /** The projections declared as beans. */
  private final Projections projections = new Projections();

  /** Appends forwarded to the node elected to lead them (off unless a host is set). */
  private final ForwardAppends forwardAppends = new ForwardAppends();

  /**
   * Forwarding appends to one node: each node listens on {@code host}:{@code port} and the node
   * leading appends writes every node's appends in its group commits (see the README, "Forward
   * appends to one node"). Give every node of the application the same setting, each with an
   * address the others reach it at.
   */
  public static class ForwardAppends {

    /** The address other nodes reach this node at; forwarding is off while it is not set. */
    private String host;

    /** The port to listen on for other nodes' appends; 0 for any free port. */
    private int port;

    /**
     * The SSL bundle ({@code spring.ssl.bundle.*}) whose key and trust secure forwarding both ways;
     * plain TCP while it is not set.
     */
    private String sslBundle;

    /** The address other nodes reach this node at, or null when forwarding is off. */
    public String getHost() {
      return host;
    }

    /** Sets the address other nodes reach this node at, turning forwarding on. */
    public void setHost(String host) {
      this.host = host;
    }

    /** The port listened on for other nodes' appends; 0 for any free port. */
    public int getPort() {
      return port;
    }

    /** Sets the port listened on for other nodes' appends. */
    public void setPort(int port) {
      this.port = port;
    }

    /** The SSL bundle securing forwarding, or null for plain TCP. */
    public String getSslBundle() {
      return sslBundle;
    }

    /** Sets the SSL bundle securing forwarding. */
    public void setSslBundle(String sslBundle) {
      this.sslBundle = sslBundle;
    }
  }

  /** Group commit options. */
  public static class GroupCommit {

    /** The most appends one statement and commit write. */
    private int maxGroupSize = 64;

    /** The longest an append waits for its group to start. */
    private Duration maxWait = Duration.ofSeconds(30);

    /** Groups written at the same time, each on its own connection. */
    private int groupsInFlight = 1;

    /** The most appends one statement and commit write. */
    public int getMaxGroupSize() {
      return maxGroupSize;
    }

    /** Sets the most appends a group writes. */
    public void setMaxGroupSize(int maxGroupSize) {
      this.maxGroupSize = maxGroupSize;
    }

    /** The longest an append waits for its group to start. */
    public Duration getMaxWait() {
      return maxWait;
    }

    /** Sets the longest an append waits for its group to start. */
    public void setMaxWait(Duration maxWait) {
      this.maxWait = maxWait;
    }

    /** Groups written at the same time. */
    public int getGroupsInFlight() {
      return groupsInFlight;
    }

    /** Sets the groups written at the same time. */
    public void setGroupsInFlight(int groupsInFlight) {
      this.groupsInFlight = groupsInFlight;
    }
  }

  /** Projection options. */
  public static class Projections {

    /** Whether the projections declared as beans run in this application. */
    private boolean enabled = true;

    /**
     * How long a runner owns a projection segment without renewing; another node takes over within
     * about 1.25 times this when the owner dies.
     */
    private Duration lease = Duration.ofSeconds(10);

    /** This node's label as the owner of segments (by default host name and process id). */
    private String nodeName;

    /** How many positions behind the head a projection may be before health reports it lagging. */
    private long lagThreshold = 1_000;

    /** Whether the projections declared as beans run. */
    public boolean isEnabled() {
      return enabled;
    }

    /** Sets whether the projections declared as beans run. */
    public void setEnabled(boolean enabled) {
      this.enabled = enabled;
    }

    /** The ownership lease. */
    public Duration getLease() {
      return lease;
    }

    /** Sets the ownership lease. */
    public void setLease(Duration lease) {
      this.lease = lease;
    }

    /** This node's label, or null for host name and process id. */
    public String getNodeName() {
      return nodeName;
    }

    /** Sets this node's label. */
    public void setNodeName(String nodeName) {
      this.nodeName = nodeName;
    }

    /** The lag above which health reports a projection lagging. */
    public long getLagThreshold() {
      return lagThreshold;
    }

    /** Sets the lag above which health reports a projection lagging. */
    public void setLagThreshold(long lagThreshold) {
      this.lagThreshold = lagThreshold;
    }
  }

  /** What to do about the schema at start-up. */
  public Schema getSchema() {
    return schema;
  }

  /** Sets what to do about the schema at start-up. */
  public void setSchema(Schema schema) {
    this.schema = schema;
  }

  /** Whether calls inside Spring-managed transactions join them. */
  public boolean isJoinTransactions() {
    return joinTransactions;
  }

  /** Sets whether calls inside Spring-managed transactions join them. */
  public void setJoinTransactions(boolean joinTransactions) {
    this.joinTransactions = joinTransactions;
  }

  /** Whether the store listens for other processes' appends. */
  public boolean isListen() {
    return listen;
  }

  /** Sets whether the store listens for other processes' appends. */
  public void setListen(boolean listen) {
    this.listen = listen;
  }

  /** The schema that holds the store's log. */
  public String getSchemaName() {
    return schemaName;
  }

  /** Sets the schema that holds the store's log. */
  public void setSchemaName(String schemaName) {
    this.schemaName = schemaName;
  }

  /** Events fetched per round trip. */
  public int getReadBatchSize() {
    return readBatchSize;
  }

  /** Sets the events fetched per round trip. */
  public void setReadBatchSize(int readBatchSize) {
    this.readBatchSize = readBatchSize;
  }

  /** The append lock timeout. */
  public Duration getLockTimeout() {
    return lockTimeout;
  }

  /** Sets the append lock timeout. */
  public void setLockTimeout(Duration lockTimeout) {
    this.lockTimeout = lockTimeout;
  }

  /** The query timeout. */
  public Duration getQueryTimeout() {
    return queryTimeout;
  }

  /** Sets the query timeout. */
  public void setQueryTimeout(Duration queryTimeout) {
    this.queryTimeout = queryTimeout;
  }

  /** The subscriptions' poll interval. */
  public Duration getPollInterval() {
    return pollInterval;
  }

  /** Sets the subscriptions' poll interval. */
  public void setPollInterval(Duration pollInterval) {
    this.pollInterval = pollInterval;
  }

  /** Group commit options. */
  public GroupCommit getGroupCommit() {
    return groupCommit;
  }

  /** Projection options. */
  public Projections getProjections() {
    return projections;
  }

  /** Forwarding appends to one node. */
  public ForwardAppends getForwardAppends() {
    return forwardAppends;
  }
}
