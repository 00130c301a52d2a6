package io.en57.spring;

import io.en57.EventStore;
import javax.sql.DataSource;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.health.autoconfigure.contributor.ConditionalOnEnabledHealthIndicator;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.context.annotation.Bean;

/**
 * The {@code en57} health indicator ({@link En57HealthIndicator}), with Spring Boot's health
 * support on the class path; {@code management.health.en57.enabled=false} turns it off.
 */
@AutoConfiguration(after = En57AutoConfiguration.class)
@ConditionalOnClass({HealthIndicator.class, EventStore.class})
@ConditionalOnBean({EventStore.class, DataSource.class})
@ConditionalOnEnabledHealthIndicator("en57")
public class En57HealthContributorAutoConfiguration {

  /** The indicator, named {@code en57}. */
  @Bean
  @ConditionalOnMissingBean(name = "en57HealthIndicator")
  public En57HealthIndicator en57HealthIndicator(DataSource dataSource, En57Properties properties) {
    return new En57HealthIndicator(
        dataSource, properties.getSchemaName(), properties.getProjections().getLagThreshold());
  }
}
