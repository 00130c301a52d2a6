package io.en57.subscriptions;

import java.time.Duration;
import java.util.Objects;

/**
 * How a {@link ProjectionRunner} shares projections with runners on other nodes.
 *
 * @param lease how long a runner owns a projection segment without renewing; when the owner dies,
 *     another runner takes over within about 1.25 times this (10 seconds by default). The owner
 *     renews every third of it
 * @param nodeName a label for this runner, shown as the owner (a random suffix keeps runners with
 *     the same label apart)
 */
public record RunnerOptions(Duration lease, String nodeName) {

  /** Validates. */
  public RunnerOptions {
    Objects.requireNonNull(lease, "lease must not be null");
    if (lease.toMillis() < 30) {
      throw new IllegalArgumentException("lease must be at least 30 ms, got " + lease);
    }
    Objects.requireNonNull(nodeName, "nodeName must not be null");
    if (nodeName.isBlank()) {
      throw new IllegalArgumentException("nodeName must not be blank");
    }
  }

  /** A 10-second lease; the node is named after the host and the process id. */
  public static RunnerOptions defaults() {
    return new RunnerOptions(Duration.ofSeconds(10), defaultNodeName());
  }

  /** These options with another lease. */
  public RunnerOptions withLease(Duration lease) {
    return new RunnerOptions(lease, nodeName);
  }

  /** These options with another node label. */
  public RunnerOptions withNodeName(String nodeName) {
    return new RunnerOptions(lease, nodeName);
  }

  private static String defaultNodeName() {
    String host;
    try {
      host = java.net.InetAddress.getLocalHost().getHostName();
    } catch (java.net.UnknownHostException e) {
      host = "unknown-host";
    }
    return host + "/" + ProcessHandle.current().pid();
  }
}
