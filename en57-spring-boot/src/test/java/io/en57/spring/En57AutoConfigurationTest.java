package io.en57.spring;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import io.en57.Event;
import io.en57.EventStore;
import io.en57.MigrationState;
import io.en57.Migrator;
import io.en57.SchemaNotReadyException;
import io.en57.observation.Operation;
import io.en57.observation.ReadEnded;
import io.en57.observation.StoreListener;
import io.en57.subscriptions.ConnectionFactory;
import io.en57.subscriptions.Projection;
import io.en57.subscriptions.ProjectionState;
import io.en57.subscriptions.ProjectionStatus;
import io.en57.subscriptions.Projections;
import io.en57.subscriptions.Retry;
import io.en57.subscriptions.Subscription;
import io.en57.testing.AppendsWritten;
import io.en57.testing.SelfSignedKeys;
import io.en57.testing.TestDatabases;
import io.en57.testing.TestDatabases.TestDatabase;
import io.micrometer.core.instrument.MeterRegistry;
import jakarta.persistence.EntityManager;
import jakarta.persistence.EntityManagerFactory;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.postgresql.PGConnection;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.autoconfigure.ssl.SslAutoConfiguration;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.Status;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.DataSourceTransactionManagerAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.JdbcTemplateAutoConfiguration;
import org.springframework.boot.micrometer.metrics.autoconfigure.CompositeMeterRegistryAutoConfiguration;
import org.springframework.boot.micrometer.metrics.autoconfigure.MetricsAutoConfiguration;
import org.springframework.boot.micrometer.metrics.autoconfigure.export.simple.SimpleMetricsExportAutoConfiguration;
import org.springframework.boot.micrometer.observation.autoconfigure.ObservationAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.transaction.autoconfigure.TransactionAutoConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.orm.jpa.JpaTransactionManager;
import org.springframework.orm.jpa.LocalContainerEntityManagerFactoryBean;
import org.springframework.orm.jpa.SharedEntityManagerCreator;
import org.springframework.orm.jpa.persistenceunit.PersistenceManagedTypes;
import org.springframework.orm.jpa.vendor.HibernateJpaVendorAdapter;
import org.springframework.transaction.TransactionDefinition;
import org.springframework.transaction.support.AbstractPlatformTransactionManager;
import org.springframework.transaction.support.DefaultTransactionStatus;
import org.springframework.transaction.support.TransactionTemplate;

/** The auto-configuration, context by context, on embedded PostgreSQL databases. */
@Tag("postgres")
class En57AutoConfigurationTest {

  private static TestDatabase migrated;

  private final ApplicationContextRunner contexts =
      new ApplicationContextRunner()
          .withConfiguration(
              AutoConfigurations.of(
                  DataSourceAutoConfiguration.class,
                  DataSourceTransactionManagerAutoConfiguration.class,
                  TransactionAutoConfiguration.class,
                  JdbcTemplateAutoConfiguration.class,
                  En57AutoConfiguration.class,
                  En57MicrometerAutoConfiguration.class,
                  En57HealthContributorAutoConfiguration.class));

  @BeforeAll
  static void createDatabase() {
    migrated = TestDatabases.createMigrated();
    migrated.execute("CREATE TABLE bookings (seat text PRIMARY KEY)");
  }

  @AfterAll
  static void dropDatabase() {
    migrated.close();
  }

  @BeforeEach
  void emptyLog() {
    migrated.emptyLog("bookings", "en57.projections", "en57.projection_dead_letters");
  }

  private ApplicationContextRunner on(TestDatabase database) {
    return contexts.withPropertyValues("spring.datasource.url=" + database.jdbcUrl());
  }

  @Test
  void aStoreOnTheApplicationsDataSourceThatListensOnADedicatedConnection() {
    on(migrated)
        .run(
            context -> {
              assertThat(context).hasSingleBean(EventStore.class).hasSingleBean(Projections.class);
              assertThat(context).hasSingleBean(ConnectionFactory.class);
              EventStore store = context.getBean(EventStore.class);
              store.append(List.of(Event.of("Configured")));
              assertThat(store.read().toList()).hasSize(1);
            });
  }

  @Test
  void nodesWithAForwardingHostSendTheirAppendsToTheLeadingNode() {
    var leaderWrote = new AtomicInteger();
    var followerWrote = new AtomicInteger();
    on(migrated)
        .withPropertyValues("en57.forward-appends.host=127.0.0.1")
        .withBean(StoreListener.class, () -> new AppendsWritten(leaderWrote))
        .run(
            leader ->
                on(migrated)
                    .withPropertyValues("en57.forward-appends.host=127.0.0.1")
                    .withBean(StoreListener.class, () -> new AppendsWritten(followerWrote))
                    .run(
                        follower -> {
                          EventStore store = follower.getBean(EventStore.class);
                          for (int i = 0; i < 5; i++) {
                            store.append(List.of(Event.of("Forwarded")));
                          }
                          assertThat(store.read().toList()).hasSize(5);
                        }));
    assertThat(leaderWrote).hasValue(5);
    assertThat(followerWrote).hasValue(0);
  }

  @Test
  void anSslBundleSecuresForwardingSoOnlyNodesHoldingItsKeyForward(@TempDir Path keys)
      throws Exception {
    Path keystore = SelfSignedKeys.keystore(keys, "nodes");
    String bundle = "spring.ssl.bundle.jks.en57-nodes.";
    String[] tls = {
      "en57.forward-appends.host=127.0.0.1",
      "en57.forward-appends.ssl-bundle=en57-nodes",
      bundle + "keystore.location=file:" + keystore,
      bundle + "keystore.password=" + SelfSignedKeys.PASSWORD,
      bundle + "keystore.type=PKCS12",
      bundle + "truststore.location=file:" + keystore,
      bundle + "truststore.password=" + SelfSignedKeys.PASSWORD,
      bundle + "truststore.type=PKCS12"
    };
    var leaderWrote = new AtomicInteger();
    var followerWrote = new AtomicInteger();
    var plainWrote = new AtomicInteger();
    ApplicationContextRunner withSsl =
        on(migrated).withConfiguration(AutoConfigurations.of(SslAutoConfiguration.class));
    withSsl
        .withPropertyValues(tls)
        .withBean(StoreListener.class, () -> new AppendsWritten(leaderWrote))
        .run(
            leader -> {
              withSsl
                  .withPropertyValues(tls)
                  .withBean(StoreListener.class, () -> new AppendsWritten(followerWrote))
                  .run(follower -> follower.getBean(EventStore.class).append(forwarded()));
              withSsl
                  .withPropertyValues("en57.forward-appends.host=127.0.0.1")
                  .withBean(StoreListener.class, () -> new AppendsWritten(plainWrote))
                  .run(plain -> plain.getBean(EventStore.class).append(forwarded()));
            });
    assertThat(leaderWrote).hasValue(1);
    assertThat(followerWrote).hasValue(0);
    assertThat(plainWrote).as("a node without the bundle appends directly").hasValue(1);
  }

  private static List<Event> forwarded() {
    return List.of(Event.of("Forwarded"));
  }

  @Test
  void listensThroughADriverThatWrapsPostgresqlsToo() {
    contexts
        .withPropertyValues(
            "spring.datasource.url=" + WrappingDriver.wrap(migrated.jdbcUrl()),
            "spring.datasource.driver-class-name=" + WrappingDriver.class.getName())
        .run(
            context -> {
              assertThat(context).hasNotFailed().hasSingleBean(ConnectionFactory.class);
              try (Connection listening = context.getBean(ConnectionFactory.class).open()) {
                assertThat(listening.isWrapperFor(PGConnection.class)).isTrue();
              }
              EventStore store = context.getBean(EventStore.class);
              store.append(List.of(Event.of("Configured")));
              assertThat(store.read().toList()).hasSize(1);
            });
  }

  @Test
  void listensOnTheUrlOfTheApplicationsOwnHikariPoolToo() throws Exception {
    contexts
        .withPropertyValues("en57.poll-interval=60s")
        .withBean(
            DataSource.class,
            () -> {
              var pool = new HikariDataSource();
              pool.setJdbcUrl(migrated.jdbcUrl());
              return pool;
            })
        .run(
            context -> {
              EventStore store = context.getBean(EventStore.class);
              try (Subscription subscription = store.subscribe(store.read(), store.head());
                  EventStore otherNode = EventStore.forUrl(migrated.jdbcUrl())) {
                assertThat(subscription.poll(Duration.ZERO).caughtUp()).isTrue();
                var appended =
                    CompletableFuture.runAsync(
                        () -> {
                          LockSupport.parkNanos(Duration.ofSeconds(1).toNanos());
                          otherNode.append(List.of(Event.of("Elsewhere")));
                        });
                long started = System.nanoTime();
                assertThat(subscription.poll(Duration.ofSeconds(20)).events()).hasSize(1);
                // Unwoken, it would have read again only as the poll's 20 s ran out.
                assertThat(Duration.ofNanos(System.nanoTime() - started))
                    .isLessThan(Duration.ofSeconds(10));
                appended.join();
              }
            });
  }

  @Test
  void listensWithThePoolsDriverProperties() {
    on(migrated)
        .withPropertyValues("spring.datasource.hikari.data-source-properties.currentSchema=booking")
        .run(
            context -> {
              try (Connection listening = context.getBean(ConnectionFactory.class).open();
                  Statement statement = listening.createStatement();
                  ResultSet row = statement.executeQuery("SHOW search_path")) {
                row.next();
                assertThat(row.getString(1)).isEqualTo("booking");
              }
            });
  }

  @Test
  void withTwoDataSourcesNeitherPrimaryAndItsOwnStoreTheApplicationStartsWithoutAnIndicator() {
    contexts
        .withBean("orders", DataSource.class, migrated::dataSource)
        .withBean("reports", DataSource.class, migrated::dataSource)
        .withBean("myStore", EventStore.class, EventStore::inMemory)
        .run(
            context ->
                assertThat(context)
                    .hasNotFailed()
                    .hasSingleBean(EventStore.class)
                    .doesNotHaveBean(En57HealthIndicator.class));
  }

  @Test
  void withItsOwnStoreOnTheOneDataSourceTheApplicationKeepsTheIndicator() {
    on(migrated)
        .withBean("myStore", EventStore.class, EventStore::inMemory)
        .run(
            context -> assertThat(context).hasNotFailed().hasSingleBean(En57HealthIndicator.class));
  }

  @Test
  void backsOffWhenTheApplicationDeclaresItsOwnStore() {
    on(migrated)
        .withBean("myStore", EventStore.class, EventStore::inMemory)
        .run(
            context ->
                assertThat(context.getBean(EventStore.class)).isSameAs(context.getBean("myStore")));
  }

  @Test
  void theDefaultValidatesTheSchemaAndFailsTheStartUpOnAnUnmigratedDatabase() {
    try (TestDatabase fresh = TestDatabases.create()) {
      on(fresh)
          .run(
              context ->
                  assertThat(context)
                      .hasFailed()
                      .getFailure()
                      .rootCause()
                      .isInstanceOf(SchemaNotReadyException.class));
    }
  }

  @Test
  void schemaMigrateMigratesAtStartUp() {
    try (TestDatabase fresh = TestDatabases.create()) {
      on(fresh)
          .withPropertyValues("en57.schema=migrate")
          .run(
              context -> {
                assertThat(context).hasNotFailed();
                assertThat(Migrator.forDataSource(fresh.dataSource()).status().state())
                    .isEqualTo(MigrationState.UP_TO_DATE);
              });
    }
  }

  @Test
  void schemaNameChoosesTheLogAndMigrateMigratesThatOneAlone() {
    try (TestDatabase fresh = TestDatabases.create()) {
      on(fresh)
          .withPropertyValues("en57.schema=migrate", "en57.schema-name=billing")
          .run(
              context -> {
                assertThat(context).hasNotFailed();
                EventStore store = context.getBean(EventStore.class);
                assertThat(store.schema()).isEqualTo("billing");
                store.append(List.of(Event.of("Billed")));
                assertThat(
                        Migrator.forDataSource(fresh.dataSource())
                            .withSchema("billing")
                            .status()
                            .state())
                    .isEqualTo(MigrationState.UP_TO_DATE);
                assertThat(Migrator.forDataSource(fresh.dataSource()).status().state())
                    .isEqualTo(MigrationState.FRESH);
                Health health = context.getBean(En57HealthIndicator.class).health(true);
                assertThat(health.getStatus()).isEqualTo(Status.UP);
              });
    }
  }

  @Test
  void healthAndProjectionsLookAtTheSchemaACustomizerGaveTheStore() {
    try (TestDatabase ordersOnly = TestDatabases.create()) {
      Migrator.forDataSource(ordersOnly.dataSource()).withSchema("orders").migrate();
      on(ordersOnly)
          .withBean(EventStoreCustomizer.class, () -> builder -> builder.schema("orders"))
          .withUserConfiguration(CountingProjection.class)
          .run(
              context -> {
                assertThat(context).hasNotFailed();
                Health health = context.getBean(En57HealthIndicator.class).health(true);
                assertThat(health.getStatus()).isEqualTo(Status.UP);
                assertThat(context.getBean(Projections.class).list())
                    .extracting(ProjectionStatus::name)
                    .containsExactly("counting");
              });
    }
  }

  @Test
  void withTwoStoresNeitherPrimaryThereIsNoProjectionsBeanAndNoIndicator() {
    on(migrated)
        .withBean("orders", EventStore.class, EventStore::inMemory)
        .withBean("reports", EventStore.class, EventStore::inMemory)
        .run(
            context ->
                assertThat(context)
                    .hasNotFailed()
                    .doesNotHaveBean(Projections.class)
                    .doesNotHaveBean(En57HealthIndicator.class));
  }

  @Test
  void schemaNoneStartsOnAnUnmigratedDatabaseAndHealthSaysSo() {
    try (TestDatabase fresh = TestDatabases.create()) {
      on(fresh)
          .withPropertyValues("en57.schema=none")
          .run(
              context -> {
                assertThat(context).hasNotFailed().hasSingleBean(EventStore.class);
                Health health = context.getBean(En57HealthIndicator.class).health(true);
                assertThat(health.getStatus()).isEqualTo(Status.DOWN);
                assertThat(health.getDetails().get("schema").toString()).contains("FRESH");
                assertThat(Migrator.forDataSource(fresh.dataSource()).status().state())
                    .isEqualTo(MigrationState.FRESH);
              });
    }
  }

  @Test
  void propertiesConfigureTheStoreAndAListenerBeanIsToldOfItsWork() {
    var pages = new CopyOnWriteArrayList<Integer>();
    StoreListener listener =
        new StoreListener() {
          @Override
          public Operation<ReadEnded> readStarted() {
            return ended -> pages.add(ended.events());
          }
        };
    on(migrated)
        .withPropertyValues("en57.read-batch-size=2")
        .withBean(StoreListener.class, () -> listener)
        .run(
            context -> {
              EventStore store = context.getBean(EventStore.class);
              for (int i = 0; i < 5; i++) {
                store.append(List.of(Event.of("Paged")));
              }
              assertThat(store.read().toList()).hasSize(5);
              // The third page was fetched beside the second, the fourth beside the third; they
              // may end in any order.
              assertThat(pages).containsExactlyInAnyOrder(2, 2, 1, 0);
            });
  }

  @Test
  void customizersShapeTheStore() {
    on(migrated)
        .withUserConfiguration(Customized.class)
        .run(
            context -> {
              EventStore store = context.getBean(EventStore.class);
              store.append(List.of(Event.of("CourseDefined", new CourseDefined("c1", 10))));
              assertThat(store.read().toList().get(0).data())
                  .isEqualTo(new CourseDefined("c1", 10));
            });
  }

  /** A typed payload. */
  record CourseDefined(String course, int seats) {}

  /** An application's customizer, as the README shows it. */
  @Configuration(proxyBeanMethods = false)
  static class Customized {
    @Bean
    EventStoreCustomizer courseEvents() {
      return builder -> builder.register("CourseDefined", CourseDefined.class);
    }
  }

  @Test
  void insideASpringTransactionAnAppendCommitsAndRollsBackWithTheApplicationsWrites() {
    on(migrated)
        .run(
            context -> {
              EventStore store = context.getBean(EventStore.class);
              JdbcTemplate jdbc = context.getBean(JdbcTemplate.class);
              TransactionTemplate transaction = context.getBean(TransactionTemplate.class);
              transaction.executeWithoutResult(
                  status -> {
                    jdbc.update("INSERT INTO bookings (seat) VALUES ('1A')");
                    store.append(List.of(Event.of("SeatBooked").withTags("seat:1A")));
                    // The transaction's own event is visible inside it.
                    assertThat(store.read().withTag("seat:1A").toList()).hasSize(1);
                    status.setRollbackOnly();
                  });
              assertThat(store.read().toList()).isEmpty();
              assertThat(jdbc.queryForObject("SELECT count(*) FROM bookings", Integer.class))
                  .isZero();
              transaction.executeWithoutResult(
                  status -> {
                    jdbc.update("INSERT INTO bookings (seat) VALUES ('1B')");
                    store.append(List.of(Event.of("SeatBooked").withTags("seat:1B")));
                  });
              assertThat(store.read().toList()).hasSize(1);
              assertThat(jdbc.queryForObject("SELECT count(*) FROM bookings", Integer.class))
                  .isOne();
            });
  }

  @Test
  void insideAJpaTransactionAnAppendCommitsAndRollsBackWithTheApplicationsWrites() {
    on(migrated)
        .withUserConfiguration(Jpa.class)
        .run(
            context -> {
              EventStore store = context.getBean(EventStore.class);
              EntityManager entities =
                  SharedEntityManagerCreator.createSharedEntityManager(
                      context.getBean(EntityManagerFactory.class));
              TransactionTemplate transaction = context.getBean(TransactionTemplate.class);
              transaction.executeWithoutResult(
                  status -> {
                    entities
                        .createNativeQuery("INSERT INTO bookings (seat) VALUES ('1A')")
                        .executeUpdate();
                    store.append(List.of(Event.of("SeatBooked")));
                    status.setRollbackOnly();
                  });
              JdbcTemplate jdbc = context.getBean(JdbcTemplate.class);
              assertThat(store.read().toList()).isEmpty();
              assertThat(jdbc.queryForObject("SELECT count(*) FROM bookings", Integer.class))
                  .isZero();
              transaction.executeWithoutResult(
                  status -> {
                    entities
                        .createNativeQuery("INSERT INTO bookings (seat) VALUES ('1B')")
                        .executeUpdate();
                    store.append(List.of(Event.of("SeatBooked")));
                  });
              assertThat(store.read().toList()).hasSize(1);
              assertThat(jdbc.queryForObject("SELECT count(*) FROM bookings", Integer.class))
                  .isOne();
            });
  }

  /** JPA on Hibernate, without entities, and its transaction manager the application's. */
  @Configuration(proxyBeanMethods = false)
  static class Jpa {
    @Bean
    LocalContainerEntityManagerFactoryBean entityManagerFactory(DataSource dataSource) {
      var factory = new LocalContainerEntityManagerFactoryBean();
      factory.setDataSource(dataSource);
      factory.setJpaVendorAdapter(new HibernateJpaVendorAdapter());
      factory.setManagedTypes(PersistenceManagedTypes.of());
      return factory;
    }

    @Bean
    JpaTransactionManager transactionManager(EntityManagerFactory entityManagerFactory) {
      return new JpaTransactionManager(entityManagerFactory);
    }
  }

  @Test
  void aTransactionManagerWithoutSynchronizationIsJoinedToo() {
    on(migrated)
        .run(
            context -> {
              EventStore store = context.getBean(EventStore.class);
              var manager = new DataSourceTransactionManager(context.getBean(DataSource.class));
              manager.setTransactionSynchronization(
                  AbstractPlatformTransactionManager.SYNCHRONIZATION_NEVER);
              var transaction = new TransactionTemplate(manager);
              transaction.executeWithoutResult(
                  status -> {
                    store.append(List.of(Event.of("SeatBooked")));
                    status.setRollbackOnly();
                  });
              assertThat(store.read().toList()).isEmpty();
              transaction.executeWithoutResult(
                  status -> store.append(List.of(Event.of("SeatBooked"))));
              assertThat(store.read().toList()).hasSize(1);
            });
  }

  @Test
  void insideAnotherResourcesTransactionAnAppendCommitsOnItsOwnWithThePoolsAutocommitOff() {
    on(migrated)
        .withPropertyValues("spring.datasource.hikari.auto-commit=false")
        .run(
            context -> {
              EventStore store = context.getBean(EventStore.class);
              JdbcTemplate jdbc = context.getBean(JdbcTemplate.class);
              new TransactionTemplate(new OtherResourceTransactions())
                  .executeWithoutResult(
                      status -> {
                        // Binds a connection of the DataSource, in a transaction nobody commits.
                        jdbc.queryForObject("SELECT 1", Integer.class);
                        store.append(List.of(Event.of("Paid")));
                      });
              assertThat(store.read().ofType("Paid").toList()).hasSize(1);
              // The DataSource's own transactions are joined all the same.
              context
                  .getBean(TransactionTemplate.class)
                  .executeWithoutResult(
                      status -> {
                        store.append(List.of(Event.of("SeatBooked")));
                        status.setRollbackOnly();
                      });
              assertThat(store.read().ofType("SeatBooked").toList()).isEmpty();
            });
  }

  @Test
  void insideAnotherResourcesTransactionAnAppendIsGroupCommittedByTheStore() {
    var written = new AtomicInteger();
    on(migrated)
        .withBean(StoreListener.class, () -> new AppendsWritten(written))
        .run(
            context -> {
              EventStore store = context.getBean(EventStore.class);
              JdbcTemplate jdbc = context.getBean(JdbcTemplate.class);
              new TransactionTemplate(new OtherResourceTransactions())
                  .executeWithoutResult(
                      status -> {
                        jdbc.queryForObject("SELECT 1", Integer.class);
                        store.append(List.of(Event.of("Paid")));
                        status.setRollbackOnly();
                      });
              assertThat(store.read().ofType("Paid").toList()).hasSize(1);
            });
    // The listener hears of a group after its appends return: counted once the store is closed.
    assertThat(written).hasValue(1);
  }

  /** Transactions of another resource, such as a message broker: nothing to do here. */
  private static final class OtherResourceTransactions extends AbstractPlatformTransactionManager {
    @Override
    protected Object doGetTransaction() {
      return new Object();
    }

    @Override
    protected void doBegin(Object transaction, TransactionDefinition definition) {}

    @Override
    protected void doCommit(DefaultTransactionStatus status) {}

    @Override
    protected void doRollback(DefaultTransactionStatus status) {}
  }

  @Test
  void withJoiningOffAnAppendInsideATransactionCommitsOnItsOwn() {
    on(migrated)
        .withPropertyValues("en57.join-transactions=false")
        .run(
            context -> {
              EventStore store = context.getBean(EventStore.class);
              context
                  .getBean(TransactionTemplate.class)
                  .executeWithoutResult(
                      status -> {
                        store.append(List.of(Event.of("SeatBooked")));
                        status.setRollbackOnly();
                      });
              assertThat(store.read().toList()).hasSize(1);
            });
  }

  @Test
  void projectionBeansRunWithTheContextAndStopWithIt() {
    on(migrated)
        .withUserConfiguration(CountingProjection.class)
        .withPropertyValues("en57.projections.node-name=node-a")
        .run(
            context -> {
              EventStore store = context.getBean(EventStore.class);
              long position = store.append(List.of(Event.of("SeatBooked"))).position();
              ProjectionLifecycle projections = context.getBean(ProjectionLifecycle.class);
              assertThat(projections.isRunning()).isTrue();
              assertThat(projections.await("counting", position, Duration.ofSeconds(30))).isTrue();
              assertThat(ownerOfCounting())
                  .hasValueSatisfying(o -> assertThat(o).startsWith("node-a#"));
            });
    // Closing the context stopped the runner, which gave the projection up.
    assertThat(ownerOfCounting()).isEmpty();
  }

  @Test
  void projectionsCanBeSwitchedOff() {
    on(migrated)
        .withUserConfiguration(CountingProjection.class)
        .withPropertyValues("en57.projections.enabled=false")
        .run(context -> assertThat(context).doesNotHaveBean(ProjectionLifecycle.class));
  }

  @Test
  void healthIsUpWithTheDatabaseAndSchemaAndDownWhenAProjectionFailed() {
    on(migrated)
        .withUserConfiguration(FailingProjection.class)
        .run(
            context -> {
              En57HealthIndicator indicator = context.getBean(En57HealthIndicator.class);
              Health before = indicator.health(true);
              assertThat(before.getStatus()).isEqualTo(Status.UP);
              assertThat(before.getDetails().get("database").toString())
                  .contains("role=")
                  .contains("version=");
              assertThat(before.getDetails().get("schema").toString()).contains("UP_TO_DATE");

              EventStore store = context.getBean(EventStore.class);
              store.append(List.of(Event.of("Poison")));
              Projections projections = context.getBean(Projections.class);
              for (int i = 0; i < 300 && !failed(projections); i++) {
                Thread.sleep(100);
              }
              Health after = indicator.health(true);
              assertThat(after.getStatus()).isEqualTo(Status.DOWN);
              assertThat(after.getDetails().get("projections").toString())
                  .contains("failed=[failing at 0]");
            });
  }

  @Test
  void healthListsLaggingProjections() {
    on(migrated)
        .withUserConfiguration(CountingProjection.class)
        .withPropertyValues("en57.projections.enabled=false", "en57.projections.lag-threshold=1")
        .run(
            context -> {
              EventStore store = context.getBean(EventStore.class);
              store.append(List.of(Event.of("SeatBooked"), Event.of("SeatBooked")));
              // Registered by a runner that is gone now, and reset: it lags by the whole log.
              io.en57.subscriptions.ProjectionRunner.start(
                      store, migrated.dataSource(), context.getBean(Projection.class))
                  .close();
              context.getBean(Projections.class).reset("counting", 0);
              Health health = context.getBean(En57HealthIndicator.class).health(true);
              assertThat(health.getStatus()).isEqualTo(Status.UP);
              assertThat(health.getDetails().get("projections").toString())
                  .contains("lagging=[counting lag 2]");
            });
  }

  @Test
  void withAMeterRegistryAppendsAndReadsAreTimedThroughSpringBootsObservations() {
    on(migrated)
        .withConfiguration(
            AutoConfigurations.of(
                MetricsAutoConfiguration.class,
                CompositeMeterRegistryAutoConfiguration.class,
                SimpleMetricsExportAutoConfiguration.class,
                ObservationAutoConfiguration.class))
        .run(
            context -> {
              EventStore store = context.getBean(EventStore.class);
              store.append(List.of(Event.of("Measured")));
              store.read().toList();
              MeterRegistry meters = context.getBean(MeterRegistry.class);
              assertThat(meters.get("en57.append").tag("outcome", "success").timer().count())
                  .isEqualTo(1);
              assertThat(meters.get("en57.read").timer().count()).isEqualTo(1);
              assertThat(meters.get("en57.group.size").summary().count()).isEqualTo(1);
            });
  }

  private static boolean failed(Projections projections) {
    return projections.list().stream().anyMatch(s -> s.state() == ProjectionState.FAILED);
  }

  private static java.util.Optional<String> ownerOfCounting() {
    return Projections.forDataSource(migrated.dataSource()).status("counting").stream()
        .map(ProjectionStatus::owner)
        .findFirst()
        .orElseThrow();
  }

  /** A projection bean counting events. */
  @Configuration(proxyBeanMethods = false)
  static class CountingProjection {
    @Bean
    Projection counting() {
      return Projection.atLeastOnce(
          "counting", EventStore.inMemory().read().ofType("SeatBooked"), batch -> {});
    }
  }

  /** A projection bean whose handler always fails. */
  @Configuration(proxyBeanMethods = false)
  static class FailingProjection {
    @Bean
    Projection failing() {
      return Projection.atLeastOnce(
              "failing",
              EventStore.inMemory().read().ofType("Poison"),
              batch -> {
                throw new IllegalStateException("poisoned");
              })
          .withRetry(Retry.none());
    }
  }
}
