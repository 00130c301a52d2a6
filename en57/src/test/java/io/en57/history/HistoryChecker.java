package io.en57.history;

import io.en57.AppendResult.Failure;
import io.en57.AppendResult.Success;
import io.en57.Query;
import io.en57.SequencedEvent;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * Judges a {@link History} against invariants I1 to I4 of DESIGN.md. The matching rules are written
 * here again from the specification, independently of the library's.
 */
final class HistoryChecker {

  private final History history;
  private final Map<UUID, Integer> indexById = new HashMap<>();
  private final List<String> violations = new ArrayList<>();

  private HistoryChecker(History history) {
    this.history = history;
    for (int i = 0; i < history.log().size(); i++) {
      indexById.put(history.log().get(i).event().id(), i);
    }
  }

  /** The violations found, each a line naming the invariant; empty when the history is correct. */
  static List<String> check(History history) {
    var checker = new HistoryChecker(history);
    checker.checkLogOrder();
    for (History.Append append : history.appends()) {
      checker.checkAppend(append);
    }
    checker.checkReaders();
    checker.checkSubscribers();
    return checker.violations;
  }

  private void checkLogOrder() {
    long previous = 0;
    for (SequencedEvent event : history.log()) {
      if (event.position() <= previous) {
        violations.add("log: position " + event.position() + " after " + previous);
      }
      previous = event.position();
    }
  }

  private void checkAppend(History.Append append) {
    if (append.error() != null) {
      violations.add("no exception expected, " + append.writer() + " got " + append.error());
      return;
    }
    if (append.result() instanceof Success success) {
      checkStoredContiguously(append, success);
      if (append.condition() != null) {
        checkNoWriteSkew(append, success);
      }
    } else {
      var failure = (Failure) append.result();
      for (UUID id : append.eventIds()) {
        if (indexById.containsKey(id)) {
          violations.add("I4: " + append.writer() + " failed, yet its event " + id + " is stored");
        }
      }
      checkPreciseFailure(append, failure);
      if (append.disjoint()) {
        violations.add(
            "I3: " + append.writer() + " appends to a disjoint boundary and failed: " + failure);
      }
    }
  }

  /** I4: a Success's events are stored, complete, in order, ending at its position. */
  private void checkStoredContiguously(History.Append append, Success success) {
    int n = append.eventIds().size();
    Integer last = indexById.get(append.eventIds().get(n - 1));
    if (last == null || last - n + 1 < 0) {
      violations.add(
          "I4: "
              + append.writer()
              + " succeeded at "
              + success.position()
              + " but its events are missing");
      return;
    }
    for (int k = 0; k < n; k++) {
      SequencedEvent stored = history.log().get(last - n + 1 + k);
      if (!stored.event().id().equals(append.eventIds().get(k))
          || stored.position() != success.position() - n + 1 + k) {
        violations.add(
            "I4: "
                + append.writer()
                + " succeeded at "
                + success.position()
                + " but its events are not stored contiguously there");
        return;
      }
    }
  }

  /** I1: nothing matching the condition between each criterion's after and the first new event. */
  private void checkNoWriteSkew(History.Append append, Success success) {
    long first = success.position() - append.eventIds().size() + 1;
    long earliest =
        append.condition().criteria().stream().mapToLong(Query.Criterion::after).min().orElse(0);
    for (int i = firstIndexAfter(earliest); i < history.log().size(); i++) {
      SequencedEvent event = history.log().get(i);
      if (event.position() >= first) {
        break;
      }
      for (Query.Criterion criterion : append.condition().criteria()) {
        if (matches(criterion, event)) {
          violations.add(
              "I1: "
                  + append.writer()
                  + " succeeded at "
                  + success.position()
                  + " with condition "
                  + criterion
                  + ", but event "
                  + event.position()
                  + " ("
                  + event.event().type()
                  + " "
                  + event.event().tags()
                  + ") matches it");
          return;
        }
      }
    }
  }

  /** I3: every conflicting event is stored as reported and matches the condition. */
  private void checkPreciseFailure(History.Append append, Failure failure) {
    if (append.condition() == null) {
      violations.add("I3: " + append.writer() + " appended unconditionally and got a Failure");
      return;
    }
    for (SequencedEvent conflict : failure.conflictingEvents()) {
      Integer index = indexById.get(conflict.event().id());
      if (index == null || history.log().get(index).position() != conflict.position()) {
        violations.add(
            "I3: "
                + append.writer()
                + " conflicts with event "
                + conflict.position()
                + " not in the log");
      } else if (append.condition().criteria().stream().noneMatch(c -> matches(c, conflict))) {
        violations.add(
            "I3: "
                + append.writer()
                + " conflicts with event "
                + conflict.position()
                + " which does not match "
                + append.condition());
      }
    }
    long latest =
        failure.conflictingEvents().get(failure.conflictingEvents().size() - 1).position();
    if (failure.position() != latest) {
      violations.add(
          "I3: "
              + append.writer()
              + "'s Failure position "
              + failure.position()
              + " is not its latest conflict "
              + latest);
    }
  }

  /** I2: each tailing reader saw the log's positions, in order, none skipped. */
  private void checkReaders() {
    List<Long> positions = history.log().stream().map(SequencedEvent::position).toList();
    for (int r = 0; r < history.readerPages().size(); r++) {
      List<Long> seen = history.readerPages().get(r);
      if (!seen.equals(positions.subList(0, Math.min(seen.size(), positions.size())))) {
        int at = 0;
        while (at < seen.size()
            && at < positions.size()
            && seen.get(at).equals(positions.get(at))) {
          at++;
        }
        violations.add(
            "I2: reader "
                + r
                + " diverged from the log at index "
                + at
                + ": saw "
                + (at < seen.size() ? seen.get(at) : "nothing")
                + ", the log has "
                + (at < positions.size() ? positions.get(at) : "nothing"));
      } else if (seen.size() != positions.size()) {
        violations.add(
            "I2: reader " + r + " saw " + seen.size() + " of " + positions.size() + " events");
      }
    }
  }

  /**
   * Following the log: each subscriber was delivered exactly the logged events matching its query,
   * in position order, none skipped, none twice.
   */
  private void checkSubscribers() {
    for (History.Subscriber subscriber : history.subscribers()) {
      List<Long> expected =
          history.log().stream()
              .filter(e -> subscriber.query().criteria().stream().anyMatch(c -> matches(c, e)))
              .map(SequencedEvent::position)
              .toList();
      List<Long> delivered = subscriber.delivered();
      if (delivered.equals(expected)) {
        continue;
      }
      int at = 0;
      while (at < delivered.size()
          && at < expected.size()
          && delivered.get(at).equals(expected.get(at))) {
        at++;
      }
      violations.add(
          "subscriber "
              + subscriber.name()
              + " diverged from the log at its event "
              + at
              + ": was delivered "
              + (at < delivered.size() ? delivered.get(at) : "nothing")
              + ", the log's next match is "
              + (at < expected.size() ? expected.get(at) : "nothing")
              + " ("
              + delivered.size()
              + " delivered, "
              + expected.size()
              + " match)");
    }
  }

  /** The index of the first logged event after {@code position}, by binary search. */
  private int firstIndexAfter(long position) {
    int low = 0;
    int high = history.log().size();
    while (low < high) {
      int middle = (low + high) >>> 1;
      if (history.log().get(middle).position() <= position) {
        low = middle + 1;
      } else {
        high = middle;
      }
    }
    return low;
  }

  private static boolean matches(Query.Criterion criterion, SequencedEvent event) {
    return event.position() > criterion.after()
        && (criterion.types().isEmpty() || criterion.types().contains(event.event().type()))
        && event.event().tags().containsAll(criterion.tags());
  }
}
