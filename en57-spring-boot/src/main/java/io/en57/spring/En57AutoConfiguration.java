package io.en57.spring;

import com.zaxxer.hikari.HikariConfigMXBean;
import com.zaxxer.hikari.HikariDataSource;
import io.en57.EventStore;
import io.en57.EventStoreBuilder;
import io.en57.Migrator;
import io.en57.observation.StoreListener;
import io.en57.subscriptions.ConnectionFactory;
import io.en57.subscriptions.Projection;
import io.en57.subscriptions.Projections;
import io.en57.subscriptions.RunnerOptions;
import java.sql.DriverManager;
import java.util.Properties;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnSingleCandidate;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.jdbc.DataSourceUnwrapper;
import org.springframework.boot.jdbc.autoconfigure.JdbcConnectionDetails;
import org.springframework.boot.ssl.SslBundles;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Auto-configuration of an {@link EventStore} on the application's {@link DataSource}: the schema
 * handled as {@code en57.schema} says, Spring-managed transactions joined, a {@link StoreListener}
 * bean (such as the Micrometer one) told of the store's work, {@link EventStoreCustomizer} beans
 * applied, and the {@link Projection} beans run with the context. Every bean backs off when the
 * application declares its own.
 */
@AutoConfiguration(
    afterName = {
      "org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration",
      "org.springframework.boot.jdbc.autoconfigure.DataSourceTransactionManagerAutoConfiguration",
      "org.springframework.boot.autoconfigure.ssl.SslAutoConfiguration"
    })
@ConditionalOnClass(EventStore.class)
@ConditionalOnSingleCandidate(DataSource.class)
@EnableConfigurationProperties(En57Properties.class)
public class En57AutoConfiguration {

  private static final Logger LOG = LoggerFactory.getLogger(En57AutoConfiguration.class);

  /** The store, closed with the context; the DataSource stays the application's. */
  @Bean
  @ConditionalOnMissingBean
  public EventStore eventStore(
      DataSource dataSource,
      En57Properties properties,
      ObjectProvider<StoreListener> listener,
      ObjectProvider<ConnectionFactory> listenConnection,
      ObjectProvider<EventStoreCustomizer> customizers,
      ObjectProvider<SslBundles> sslBundles) {
    if (properties.getSchema() == En57Properties.Schema.MIGRATE) {
      Migrator.forDataSource(dataSource).withSchema(properties.getSchemaName()).migrate();
    }
    EventStoreBuilder builder =
        EventStore.builder()
            .schema(properties.getSchemaName())
            .readBatchSize(properties.getReadBatchSize())
            .lockTimeout(properties.getLockTimeout())
            .queryTimeout(properties.getQueryTimeout())
            .pollInterval(properties.getPollInterval())
            .groupCommit(
                properties.getGroupCommit().getMaxGroupSize(),
                properties.getGroupCommit().getMaxWait())
            .groupsInFlight(properties.getGroupCommit().getGroupsInFlight());
    if (properties.getSchema() == En57Properties.Schema.NONE) {
      builder.withoutSchemaCheck();
    }
    if (properties.isJoinTransactions()) {
      builder.joinTransactions(new SpringTransactions(dataSource));
    }
    En57Properties.ForwardAppends forwarding = properties.getForwardAppends();
    if (forwarding.getHost() != null) {
      builder.forwardAppends(forwarding.getHost(), forwarding.getPort());
    }
    if (forwarding.getSslBundle() != null) {
      SslBundles bundles = sslBundles.getIfAvailable();
      if (bundles == null) {
        throw new IllegalStateException(
            "en57.forward-appends.ssl-bundle names a bundle, but there are no SSL bundles"
                + " (spring.ssl.bundle.*) in this application");
      }
      builder.forwardingTls(bundles.getBundle(forwarding.getSslBundle()).createSslContext());
    }
    listener.ifUnique(builder::listener);
    ConnectionFactory listening = listenConnection.getIfUnique();
    if (listening == null && properties.isListen()) {
      // An application's own DataSource bean comes without Spring Boot's connection details.
      listening = ListenConnectionConfiguration.toThePoolsUrl(dataSource);
      if (listening == null) {
        LOG.warn(
            "en57.listen: the DataSource is no HikariCP pool with a JDBC URL, and Spring Boot has"
                + " no connection details for it, so the store cannot open a dedicated connection"
                + " to LISTEN on; subscriptions see other processes' appends within the poll"
                + " interval. Declare a ConnectionFactory bean to listen, or set"
                + " en57.listen=false");
      }
    }
    if (listening != null) {
      builder.listenConnection(listening);
    }
    customizers.orderedStream().forEach(customizer -> customizer.customize(builder));
    return builder.forDataSource(dataSource);
  }

  /**
   * Inspects and resets the projections of the store's log: in the store's schema, which a
   * customizer or the application's own store may have set to another than {@code
   * en57.schema-name}. With several stores and none primary, which log is meant is unknown, and
   * there is no such bean.
   */
  @Bean
  @ConditionalOnMissingBean
  @ConditionalOnSingleCandidate(EventStore.class)
  public Projections en57Projections(DataSource dataSource, EventStore store) {
    return Projections.forDataSource(dataSource).withSchema(store.schema());
  }

  /** Runs the {@link Projection} beans from the context's start to its stop. */
  @Bean
  @ConditionalOnMissingBean
  @ConditionalOnBean(Projection.class)
  @ConditionalOnProperty(
      prefix = "en57.projections",
      name = "enabled",
      havingValue = "true",
      matchIfMissing = true)
  public ProjectionLifecycle en57ProjectionLifecycle(
      EventStore store,
      DataSource dataSource,
      ObjectProvider<Projection> projections,
      En57Properties properties) {
    RunnerOptions options =
        RunnerOptions.defaults().withLease(properties.getProjections().getLease());
    if (properties.getProjections().getNodeName() != null) {
      options = options.withNodeName(properties.getProjections().getNodeName());
    }
    return new ProjectionLifecycle(
        store, dataSource, options, projections.orderedStream().toList());
  }

  /**
   * With Spring Boot's JDBC support, the store LISTENs for other processes' appends on a dedicated
   * connection to the DataSource's URL (never one of the pool's), so its subscriptions and
   * projections see them at once rather than within the poll interval. An application's own
   * DataSource bean comes without Boot's connection details: the store then opens that connection
   * with its HikariCP pool's URL, or warns that it cannot.
   */
  @Configuration(proxyBeanMethods = false)
  @ConditionalOnClass(JdbcConnectionDetails.class)
  @ConditionalOnProperty(
      prefix = "en57",
      name = "listen",
      havingValue = "true",
      matchIfMissing = true)
  static class ListenConnectionConfiguration {

    /**
     * Connections opened with the JDBC URL and credentials of the application's DataSource, and the
     * driver properties of its HikariCP pool ({@code
     * spring.datasource.hikari.data-source-properties}, such as {@code sslmode}), by whichever
     * driver takes that URL: also one that wraps PostgreSQL's (Testcontainers' {@code jdbc:tc:}, a
     * tracing or failover wrapper), not only {@code jdbc:postgresql:}.
     */
    @Bean
    @ConditionalOnMissingBean
    @ConditionalOnBean(JdbcConnectionDetails.class)
    ConnectionFactory en57ListenConnection(JdbcConnectionDetails details, DataSource dataSource) {
      return opening(
          details.getJdbcUrl(), details.getUsername(), details.getPassword(), pool(dataSource));
    }

    /**
     * Connections to the URL of {@code dataSource}'s HikariCP pool, as it opens them; null when it
     * is no such pool, or one given a DataSource rather than a URL.
     */
    static ConnectionFactory toThePoolsUrl(DataSource dataSource) {
      HikariDataSource pool = pool(dataSource);
      if (pool == null || pool.getJdbcUrl() == null) {
        return null;
      }
      return opening(pool.getJdbcUrl(), pool.getUsername(), pool.getPassword(), pool);
    }

    private static HikariDataSource pool(DataSource dataSource) {
      return DataSourceUnwrapper.unwrap(
          dataSource, HikariConfigMXBean.class, HikariDataSource.class);
    }

    private static ConnectionFactory opening(
        String url, String user, String password, HikariDataSource pool) {
      var properties = new Properties();
      if (pool != null) {
        properties.putAll(pool.getDataSourceProperties());
      }
      if (user != null) {
        properties.setProperty("user", user);
      }
      if (password != null) {
        properties.setProperty("password", password);
      }
      return () -> DriverManager.getConnection(url, properties);
    }
  }
}
