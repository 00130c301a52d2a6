package io.en57.history;

import io.en57.AppendResult;
import io.en57.Query;
import io.en57.SequencedEvent;
import java.util.List;
import java.util.UUID;

/** What the writers and readers of a history run did, for {@link HistoryChecker} to judge. */
record History(
    List<Append> appends,
    List<List<Long>> readerPages,
    List<Subscriber> subscribers,
    List<SequencedEvent> log) {

  /**
   * What one subscription delivered, from position 0 until it reached the final head.
   *
   * @param name which subscriber, and whether it pulled or was pushed to
   * @param query what it subscribed to
   * @param delivered the positions of the events delivered, in delivery order
   */
  record Subscriber(String name, Query query, List<Long> delivered) {}

  /**
   * One append as its writer saw it.
   *
   * @param condition null for an unconditional append
   * @param disjoint whether the writer's scopes never overlap another writer's events
   * @param result the result, or null when the append threw
   * @param error the exception it threw, or null
   */
  record Append(
      String writer,
      List<UUID> eventIds,
      Query condition,
      boolean disjoint,
      AppendResult result,
      Throwable error) {}
}
