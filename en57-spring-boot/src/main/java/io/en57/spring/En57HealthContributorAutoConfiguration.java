package io.en57.spring;

import io.en57.EventStore;
import javax.sql.DataSource;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnSingleCandidate;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.health.autoconfigure.contributor.ConditionalOnEnabledHealthIndicator;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.context.annotation.Bean;

/**
 * The {@code en57} health indicator ({@link En57HealthIndicator}), with Spring Boot's health
 * support on the class path; {@code management.health.en57.enabled=false} turns it off. It checks
 * the log of the application's one EventStore (or its primary one), in the store's schema, on the
 * application's one DataSource (or its primary one); with several stores or DataSources and none
 * primary, which log is meant is unknown, and there is no indicator.
 */
@AutoConfiguration(after = En57AutoConfiguration.class)
@ConditionalOnClass({HealthIndicator.class, EventStore.class})
@ConditionalOnSingleCandidate(DataSource.class)
@ConditionalOnEnabledHealthIndicator("en57")
@EnableConfigurationProperties(En57Properties.class)
public class En57HealthContributorAutoConfiguration {

  /** The indicator, named {@code en57}. */
  @Bean
  @ConditionalOnMissingBean(name = "en57HealthIndicator")
  @ConditionalOnSingleCandidate(EventStore.class)
  public En57HealthIndicator en57HealthIndicator(
      DataSource dataSource, EventStore store, En57Properties properties) {
    // The store's schema: a customizer or the application's own store may have chosen another
    // than en57.schema-name.
    return new En57HealthIndicator(
        dataSource, store.schema(), properties.getProjections().getLagThreshold());
  }
}
