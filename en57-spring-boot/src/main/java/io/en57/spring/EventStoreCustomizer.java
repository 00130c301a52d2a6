package io.en57.spring;

import io.en57.EventStoreBuilder;

/**
 * Customizes the auto-configured store before it is built: register payload classes, set an object
 * mapper, a listen connection... Declare one or more as beans; they run in their order.
 *
 * <pre>{@code
 * @Bean
 * EventStoreCustomizer courseEvents() {
 *   return builder -> builder.register("CourseDefined", CourseDefined.class);
 * }
 * }</pre>
 */
@FunctionalInterface
public interface EventStoreCustomizer {

  /** Customizes {@code builder}, already configured from the {@code en57.} properties. */
  void customize(EventStoreBuilder builder);
}
