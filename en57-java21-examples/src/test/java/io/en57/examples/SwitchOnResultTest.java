package io.en57.examples;

import static org.assertj.core.api.Assertions.assertThat;

import io.en57.AppendCondition;
import io.en57.AppendResult;
import io.en57.AppendResult.Failure;
import io.en57.AppendResult.Success;
import io.en57.Event;
import io.en57.EventStore;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The README's Java 21 example: deconstructing an append result with a switch. */
class SwitchOnResultTest {

  @Test
  void switchOnTheResult() {
    EventStore store = EventStore.inMemory();
    var said = new java.util.ArrayList<String>();
    for (int attempt = 0; attempt < 2; attempt++) {
      AppendResult result =
          store.append(
              List.of(Event.of("OrderPlaced").withTags("order_id:123")),
              AppendCondition.failIf(store.read().withTag("order_id:123")));

      switch (result) {
        case Success(var position, var replayed) -> System.out.println("appended up to " + position);
        case Failure(var position, var conflicts) ->
            System.out.println("blocked by " + conflicts.size() + " event(s) up to position " + position);
      }

      said.add(switch (result) {
        case Success(var position, var replayed) -> "appended up to " + position;
        case Failure(var position, var conflicts) -> "blocked by " + conflicts.size() + " at " + position;
      });
    }
    assertThat(said).containsExactly("appended up to 1", "blocked by 1 at 1");
  }
}
