package io.en57.internal;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.en57.Query;
import io.en57.subscriptions.Batch;
import io.en57.subscriptions.Subscription;
import io.en57.subscriptions.SubscriptionOptions;
import java.sql.Connection;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * Where a subscription learns the head from: a wake-up from another process that arrives while a
 * read is running must make the next read ask the database, or the position lags behind events that
 * do not match until the poll interval passes.
 */
class LogSubscriptionHeadTest {

  /** An engine whose next read first runs {@link #duringNextRead}. */
  private static final class HookedEngine implements Engine {
    final InMemoryEngine inner = new InMemoryEngine();
    Runnable duringNextRead;

    @Override
    public AppendOutcome append(List<EncodedEvent> events, Query condition) {
      return inner.append(events, condition);
    }

    @Override
    public List<StoredEvent> read(
        Query query, long cursor, boolean backwards, int limit, Cancellation cancellation) {
      Runnable hook = duringNextRead;
      duringNextRead = null;
      if (hook != null) {
        hook.run();
      }
      return inner.read(query, cursor, backwards, limit, cancellation);
    }

    @Override
    public long head() {
      return inner.head();
    }

    @Override
    public Engine onConnection(Connection connection) {
      throw new UnsupportedOperationException();
    }

    @Override
    public void close() {
      inner.close();
    }
  }

  private static List<EncodedEvent> event(String type) {
    return List.of(new EncodedEvent(UUID.randomUUID(), type, "{}", null, Set.of()));
  }

  private static long stored(AppendOutcome outcome) {
    return ((AppendOutcome.Stored) outcome).position();
  }

  @Test
  void aWakeUpFromAnotherProcessDuringAReadThatReturnsEventsMakesTheNextReadAskForTheHead()
      throws Exception {
    var engine = new HookedEngine();
    // A poll interval no test waits for: only the head's source can move the position.
    try (LogWatch watch = LogWatch.inMemory(Duration.ofHours(1));
        Subscription subscription =
            watch.subscribe(
                engine,
                new EventCodec(new ObjectMapper(), Map.of()),
                new Query(List.of(new Query.Criterion(Set.of("Wanted"), Set.of(), 0))),
                0,
                SubscriptionOptions.defaults(),
                ReadRoute.PRIMARY)) {
      watch.appended(stored(engine.append(event("Wanted"), null)));
      assertThat(subscription.poll(Duration.ZERO).position()).isEqualTo(1);

      watch.appended(stored(engine.append(event("Wanted"), null)));
      var otherProcess = new long[1];
      engine.duringNextRead =
          () -> {
            // Another process appends an event this subscription does not want, and its
            // notification arrives while this read runs.
            otherProcess[0] = stored(engine.inner.append(event("Other"), null));
            watch.appendedInCallersTransaction(otherProcess[0]);
          };
      Batch withEvents = subscription.poll(Duration.ZERO);
      assertThat(withEvents.events()).extracting(e -> e.position()).containsExactly(2L);

      Batch next = subscription.poll(Duration.ZERO);

      assertThat(otherProcess[0]).isEqualTo(3);
      assertThat(next.position()).isEqualTo(3);
      assertThat(next.caughtUp()).isTrue();
    }
  }
}
