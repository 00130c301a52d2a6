package io.en57;

import io.en57.internal.StorableText;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.function.UnaryOperator;

/**
 * Which events to read or to check an append against: a list of criteria (DCB "query items"). An
 * event matches the query when it matches any criterion. Queries are immutable values; {@link Read}
 * builds them fluently.
 *
 * @param criteria at least one criterion
 */
public record Query(List<Query.Criterion> criteria) {

  /** Copies the criteria; there must be at least one. */
  public Query {
    criteria = List.copyOf(Objects.requireNonNull(criteria, "criteria must not be null"));
    if (criteria.isEmpty()) {
      throw new IllegalArgumentException("a query needs at least one criterion; use Query.all()");
    }
  }

  /** The query that matches every event. */
  public static Query all() {
    return new Query(List.of(Criterion.ANY));
  }

  /** Whether the event matches any criterion. */
  public boolean matches(String type, Set<String> tags, long position) {
    for (Criterion criterion : criteria) {
      if (criterion.matches(type, tags, position)) {
        return true;
      }
    }
    return false;
  }

  /** Whether the sequenced event matches any criterion. */
  public boolean matches(SequencedEvent event) {
    return matches(event.event().type(), event.event().tags(), event.position());
  }

  /** This query with every criterion's {@code after} set to {@code position}. */
  public Query after(long position) {
    return new Query(criteria.stream().map(c -> c.after(position)).toList());
  }

  /** This query with the other query's criteria appended (a union). */
  public Query or(Query other) {
    Objects.requireNonNull(other, "other query must not be null");
    var union = new ArrayList<>(criteria);
    union.addAll(other.criteria);
    return new Query(union);
  }

  /** This query with its last criterion refined. */
  Query refineLast(UnaryOperator<Criterion> refinement) {
    var refined = new ArrayList<>(criteria);
    refined.set(refined.size() - 1, refinement.apply(refined.get(refined.size() - 1)));
    return new Query(refined);
  }

  /**
   * One DCB query item: an event matches when its type is one of {@code types} (if any), it carries
   * all of {@code tags} (if any), and its position is greater than {@code after}.
   *
   * <p>Types and tags follow the rules of events: not blank, no U+0000 or half of a surrogate pair
   * (PostgreSQL could not compare them exactly), at most {@link Event#MAX_TYPE_BYTES} and {@link
   * Event#MAX_TAG_BYTES} bytes in UTF-8; others are refused with an {@link
   * IllegalArgumentException}. A query may have any number of criteria.
   *
   * @param types accepted types; empty accepts every type
   * @param tags required tags; empty requires none
   * @param after only events after this position match; 0 for all
   */
  public record Criterion(Set<String> types, Set<String> tags, long after) {

    static final Criterion ANY = new Criterion(Set.of(), Set.of(), 0);

    /** Validates and copies. */
    public Criterion {
      types = copyOf(types, "type");
      tags = copyOf(tags, "tag");
      if (after < 0) {
        throw new IllegalArgumentException("after must not be negative, got " + after);
      }
    }

    /** Whether an event with this type, tags and position matches. */
    public boolean matches(String type, Set<String> eventTags, long position) {
      return position > after
          && (types.isEmpty() || types.contains(type))
          && eventTags.containsAll(tags);
    }

    Criterion withTags(String... more) {
      return new Criterion(types, union(tags, more, "tag"), after);
    }

    Criterion ofTypes(String... more) {
      return new Criterion(union(types, more, "type"), tags, after);
    }

    Criterion after(long position) {
      return new Criterion(types, tags, position);
    }

    private static Set<String> union(Set<String> current, String[] more, String what) {
      Objects.requireNonNull(more, what + "s must not be null");
      if (more.length == 0) {
        throw new IllegalArgumentException("at least one " + what + " is required");
      }
      var union = new LinkedHashSet<>(current);
      union.addAll(Arrays.asList(more));
      return union;
    }

    private static Set<String> copyOf(Collection<String> values, String what) {
      Objects.requireNonNull(values, what + "s must not be null");
      var copy = new LinkedHashSet<String>();
      for (String value : values) {
        Objects.requireNonNull(value, what + " must not be null");
        if (value.isBlank()) {
          throw new IllegalArgumentException(what + " must not be blank");
        }
        StorableText.requireIndexable(
            value, what, what.equals("tag") ? Event.MAX_TAG_BYTES : Event.MAX_TYPE_BYTES);
        copy.add(value);
      }
      return Collections.unmodifiableSet(copy);
    }
  }
}
