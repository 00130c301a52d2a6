package io.en57.spring;

import io.en57.micrometer.MicrometerListener;
import io.en57.observation.StoreListener;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.observation.ObservationRegistry;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;

/**
 * With {@code en57-micrometer} on the class path and a {@link MeterRegistry} in the context, the
 * store reports to Micrometer: appends and reads as observations of the context's {@link
 * ObservationRegistry} (spans with a tracer; the timers {@code en57.append} and {@code en57.read}
 * through Spring Boot's meter handler), the rest as meters.
 */
@AutoConfiguration(
    before = En57AutoConfiguration.class,
    afterName = {
      "org.springframework.boot.micrometer.metrics.autoconfigure.MetricsAutoConfiguration",
      "org.springframework.boot.micrometer.metrics.autoconfigure.CompositeMeterRegistryAutoConfiguration",
      "org.springframework.boot.micrometer.metrics.autoconfigure.export.simple.SimpleMetricsExportAutoConfiguration",
      "org.springframework.boot.micrometer.observation.autoconfigure.ObservationAutoConfiguration"
    })
@ConditionalOnClass({MicrometerListener.class, MeterRegistry.class})
@ConditionalOnBean(MeterRegistry.class)
public class En57MicrometerAutoConfiguration {

  /** The store's listener, unless the application declares one. */
  @Bean
  @ConditionalOnMissingBean(StoreListener.class)
  public MicrometerListener en57MicrometerListener(
      MeterRegistry meters, ObjectProvider<ObservationRegistry> observations) {
    ObservationRegistry registry = observations.getIfUnique();
    return registry == null
        ? MicrometerListener.of(meters)
        : MicrometerListener.of(meters, registry);
  }
}
