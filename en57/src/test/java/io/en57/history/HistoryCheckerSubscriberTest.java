package io.en57.history;

import static org.assertj.core.api.Assertions.assertThat;

import io.en57.Event;
import io.en57.EventStore;
import io.en57.Query;
import io.en57.SequencedEvent;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The history checker's judgement of subscribers, on made-up histories. */
class HistoryCheckerSubscriberTest {

  private static final List<SequencedEvent> LOG =
      List.of(
          new SequencedEvent(1, Event.of("A").withTags("g1")),
          new SequencedEvent(2, Event.of("B").withTags("g1")),
          new SequencedEvent(3, Event.of("A").withTags("g2")),
          new SequencedEvent(5, Event.of("A").withTags("g1", "g2")));

  private static final Query TYPE_A = EventStore.inMemory().read().ofType("A").query();

  private static List<String> judge(List<Long> delivered) {
    var subscriber = new History.Subscriber("s", TYPE_A, delivered);
    return HistoryChecker.check(new History(List.of(), List.of(), List.of(subscriber), LOG));
  }

  @Test
  void exactlyTheMatchingEventsInOrderAreCorrect() {
    assertThat(judge(List.of(1L, 3L, 5L))).isEmpty();
  }

  @Test
  void aSkippedEventIsReported() {
    assertThat(judge(List.of(1L, 5L)))
        .singleElement()
        .asString()
        .contains("subscriber s diverged from the log at its event 1")
        .contains("was delivered 5, the log's next match is 3");
  }

  @Test
  void anEventDeliveredTwiceIsReported() {
    assertThat(judge(List.of(1L, 3L, 3L, 5L)))
        .singleElement()
        .asString()
        .contains("at its event 2");
  }

  @Test
  void eventsOutOfOrderOrNotMatchingOrMissingAtTheEndAreReported() {
    assertThat(judge(List.of(3L, 1L, 5L))).hasSize(1);
    assertThat(judge(List.of(1L, 2L, 3L, 5L))).hasSize(1);
    assertThat(judge(List.of(1L, 3L)))
        .singleElement()
        .asString()
        .contains("was delivered nothing, the log's next match is 5");
  }
}
