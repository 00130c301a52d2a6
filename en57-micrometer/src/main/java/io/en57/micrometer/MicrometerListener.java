package io.en57.micrometer;

import io.en57.observation.AppendEnded;
import io.en57.observation.AppendStarted;
import io.en57.observation.GroupWritten;
import io.en57.observation.Operation;
import io.en57.observation.ProjectionBatch;
import io.en57.observation.ProjectionFailure;
import io.en57.observation.ReadEnded;
import io.en57.observation.StoreListener;
import io.micrometer.common.KeyValues;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.observation.DefaultMeterObservationHandler;
import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationRegistry;
import java.time.Duration;
import java.util.Collections;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.WeakHashMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A {@link StoreListener} that records an En57 store's work with Micrometer.
 *
 * <pre>{@code
 * EventStore store = EventStore.builder()
 *     .listener(MicrometerListener.of(meterRegistry, observationRegistry))
 *     .forDataSource(dataSource);
 * }</pre>
 *
 * <p>Appends and the pages reads fetch are Micrometer {@link Observation}s named {@code
 * en57.append} and {@code en57.read}, started on the calling thread, so a tracer bridged to the
 * observation registry makes spans of them (children of the caller's current span), and a meter
 * observation handler makes timers of them ({@code en57.append}, {@code en57.read}, with the
 * observations' low-cardinality key values and an {@code error} tag as tags). The rest are plain
 * meters: events per append and per page, group commit size, wait and time in the database, and per
 * projection segment the batch time, events applied, lag and handler failures. Every name is
 * lower-case and dotted, and every tag has a small fixed set of values (projection names and
 * segment numbers are the application's, and as few).
 *
 * <p>Thread-safe.
 */
public final class MicrometerListener implements StoreListener {

  /**
   * The values behind the lag gauges, per registry and tags. A registry keeps the first gauge
   * registered for a name and tags, and hands it to later registrations with the value it was
   * registered with: every listener on one registry (a store opened again, a router rebuilt, the
   * copies of {@link #withTags}) must set that one. Weak keys: a registry no longer used goes with
   * its values.
   */
  private static final Map<MeterRegistry, Map<Tags, AtomicLong>> LAGS =
      Collections.synchronizedMap(new WeakHashMap<>());

  private final MeterRegistry meters;
  private final ObservationRegistry observations;
  private final Tags common;
  private final KeyValues commonKeyValues;
  private final DistributionSummary eventsPerAppend;
  private final DistributionSummary eventsPerConditionalAppend;
  private final DistributionSummary eventsPerPage;
  private final DistributionSummary groupSize;
  private final Timer groupWait;
  private final Timer groupWrite;
  private final Map<Tags, AtomicLong> lags;

  private MicrometerListener(MeterRegistry meters, ObservationRegistry observations, Tags common) {
    this.meters = meters;
    this.observations = observations;
    this.common = common;
    this.commonKeyValues = KeyValues.of(common, Tag::getKey, Tag::getValue);
    this.lags = LAGS.computeIfAbsent(meters, registry -> new ConcurrentHashMap<>());
    this.eventsPerAppend = eventsPerAppend(false);
    this.eventsPerConditionalAppend = eventsPerAppend(true);
    this.eventsPerPage =
        DistributionSummary.builder("en57.read.events")
            .description("Events in a page a read fetched")
            .baseUnit("events")
            .tags(common)
            .register(meters);
    this.groupSize =
        DistributionSummary.builder("en57.group.size")
            .description("Appends written together by one group commit")
            .baseUnit("appends")
            .tags(common)
            .register(meters);
    this.groupWait =
        Timer.builder("en57.group.wait")
            .description("Time an append waited for its group commit to start")
            .tags(common)
            .register(meters);
    this.groupWrite =
        Timer.builder("en57.group.write")
            .description(
                "Time a group commit took in the database: waiting for the append lock, checking,"
                    + " inserting, committing")
            .tags(common)
            .register(meters);
  }

  /**
   * Meters in {@code meters}, with the observations of appends and reads recorded as timers there
   * (through a registry of this listener's own with Micrometer's default meter handler). For traces
   * too, use {@link #of(MeterRegistry, ObservationRegistry)}.
   */
  public static MicrometerListener of(MeterRegistry meters) {
    Objects.requireNonNull(meters, "meters must not be null");
    ObservationRegistry observations = ObservationRegistry.create();
    observations.observationConfig().observationHandler(new DefaultMeterObservationHandler(meters));
    return new MicrometerListener(meters, observations, Tags.empty());
  }

  /**
   * Meters in {@code meters}, observations of appends and reads in {@code observations}: its
   * handlers decide what they become (spans with a tracing handler; the timers {@code en57.append}
   * and {@code en57.read} with a meter handler, as Spring Boot configures one).
   */
  public static MicrometerListener of(MeterRegistry meters, ObservationRegistry observations) {
    return new MicrometerListener(
        Objects.requireNonNull(meters, "meters must not be null"),
        Objects.requireNonNull(observations, "observations must not be null"),
        Tags.empty());
  }

  /**
   * This listener with {@code tags} on every meter and observation it records: with several logs in
   * one registry ({@code io.en57.routing}), give each log's store a listener tagged with its log,
   * say {@code withTags(Tags.of("log", location.schema()))}, or their meters add up and their
   * projections' lags overwrite each other. Tag every store's listener with the same keys.
   */
  public MicrometerListener withTags(Iterable<Tag> tags) {
    return new MicrometerListener(
        meters, observations, common.and(Objects.requireNonNull(tags, "tags must not be null")));
  }

  @Override
  public Operation<AppendEnded> appendStarted(AppendStarted append) {
    Observation observation =
        Observation.createNotStarted("en57.append", observations)
            .contextualName("en57 append")
            .lowCardinalityKeyValue("conditional", String.valueOf(append.conditional()))
            .highCardinalityKeyValue("en57.events", String.valueOf(append.events()))
            .lowCardinalityKeyValues(commonKeyValues)
            .start();
    return ended -> {
      observation.lowCardinalityKeyValue("outcome", lowerCase(ended.outcome()));
      ended.error().ifPresent(observation::error);
      observation.stop();
      (append.conditional() ? eventsPerConditionalAppend : eventsPerAppend).record(append.events());
    };
  }

  @Override
  public Operation<ReadEnded> readStarted() {
    Observation observation =
        Observation.createNotStarted("en57.read", observations)
            .contextualName("en57 read")
            .lowCardinalityKeyValues(commonKeyValues)
            .start();
    return ended -> {
      observation.lowCardinalityKeyValue(
          "outcome", ended.error().isPresent() ? "error" : "success");
      observation.highCardinalityKeyValue("en57.events", String.valueOf(ended.events()));
      ended.error().ifPresent(observation::error);
      observation.stop();
      if (ended.error().isEmpty()) {
        eventsPerPage.record(ended.events());
      }
    };
  }

  @Override
  public void groupWritten(GroupWritten group) {
    groupSize.record(group.appends());
    for (Duration wait : group.waits()) {
      groupWait.record(wait);
    }
    groupWrite.record(group.duration());
  }

  @Override
  public void projectionBatchApplied(ProjectionBatch batch) {
    Tags tags = projectionTags(batch.projection(), batch.segment());
    Timer.builder("en57.projection.batch")
        .description("Time a projection batch took: the handler and the checkpoint, committed")
        .tags(tags)
        .register(meters)
        .record(batch.duration());
    Counter.builder("en57.projection.events")
        .description("Events a projection segment applied")
        .baseUnit("events")
        .tags(tags)
        .register(meters)
        .increment(batch.events());
    lag(tags).set(batch.lag());
  }

  @Override
  public void projectionFailed(ProjectionFailure failure) {
    Counter.builder("en57.projection.errors")
        .description("Failures of a projection's handler, by what the runner did about them")
        .tags(projectionTags(failure.projection(), failure.segment()))
        .tag("action", lowerCase(failure.action()).replace('_', '-'))
        .register(meters)
        .increment();
  }

  private AtomicLong lag(Tags tags) {
    return lags.computeIfAbsent(
        tags,
        key -> {
          var lag = new AtomicLong();
          Gauge.builder("en57.projection.lag", lag, AtomicLong::get)
              .description("Positions a projection segment is behind the log's head")
              .baseUnit("events")
              .tags(key)
              .strongReference(true)
              .register(meters);
          return lag;
        });
  }

  private DistributionSummary eventsPerAppend(boolean conditional) {
    return DistributionSummary.builder("en57.append.events")
        .description("Events in an append")
        .baseUnit("events")
        .tags(common)
        .tag("conditional", String.valueOf(conditional))
        .register(meters);
  }

  private Tags projectionTags(String projection, int segment) {
    return common.and("projection", projection, "segment", String.valueOf(segment));
  }

  private static String lowerCase(Enum<?> value) {
    return value.name().toLowerCase(Locale.ROOT);
  }
}
