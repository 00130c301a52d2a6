package io.en57.internal;

import java.util.AbstractMap;
import java.util.AbstractSet;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * Read-only wrappers that {@link io.en57.Event} trusts without copying. Events copy the maps and
 * sets they are given, unless they come wrapped here: decoding wraps the collections it has just
 * built, so a million events read do not cost a million extra copies. Whoever wraps a collection
 * must not keep it.
 */
public final class Frozen {

  private static final Map<String, Object> EMPTY_MAP = new FrozenMap(Map.of());

  /** Up to this many tags, a scan of the array finds one faster than hashing it would. */
  private static final int FEW_TAGS = 8;

  private Frozen() {}

  /** {@code owned}, read-only, without a copy; the caller must not keep {@code owned}. */
  public static Map<String, Object> map(Map<String, Object> owned) {
    if (isFrozen(owned)) {
      return owned;
    }
    // Most events have no metadata: one shared empty map spares each of them two wrappers.
    return owned.isEmpty() ? EMPTY_MAP : new FrozenMap(owned);
  }

  /** {@code owned}, read-only, without a copy; the caller must not keep {@code owned}. */
  public static Set<String> set(Set<String> owned) {
    return isFrozen(owned) ? owned : new FrozenSet(owned);
  }

  /**
   * The distinct tags of {@code owned} in order, read-only; the caller must not keep {@code owned}.
   * A few distinct tags, the usual case, are kept in the array itself: hashing them into a set took
   * a sixth of the fetching thread's time when streaming the log.
   */
  public static Set<String> tags(String[] owned) {
    if (owned.length <= FEW_TAGS && distinct(owned)) {
      return new FrozenTags(owned);
    }
    var set = new LinkedHashSet<String>((int) (owned.length / 0.75f) + 1);
    Collections.addAll(set, owned);
    return new FrozenSet(set);
  }

  private static boolean distinct(String[] tags) {
    for (int i = 1; i < tags.length; i++) {
      for (int j = 0; j < i; j++) {
        if (tags[i].equals(tags[j])) {
          return false;
        }
      }
    }
    return true;
  }

  /** Whether {@code collection} was wrapped here, and so needs no copy. */
  public static boolean isFrozen(Object collection) {
    return collection instanceof FrozenMap
        || collection instanceof FrozenSet
        || collection instanceof FrozenTags;
  }

  private static final class FrozenMap extends AbstractMap<String, Object> {
    private final Map<String, Object> map;
    // Made on first use, since most maps read are only asked for keys; a race makes two equal ones.
    private Set<Entry<String, Object>> entries;

    FrozenMap(Map<String, Object> owned) {
      this.map = owned;
    }

    @Override
    public Set<Entry<String, Object>> entrySet() {
      Set<Entry<String, Object>> readOnly = entries;
      if (readOnly == null) {
        readOnly = Collections.unmodifiableMap(map).entrySet();
        entries = readOnly;
      }
      return readOnly;
    }

    @Override
    public Object get(Object key) {
      return map.get(key);
    }

    @Override
    public boolean containsKey(Object key) {
      return map.containsKey(key);
    }

    @Override
    public int size() {
      return map.size();
    }
  }

  private static final class FrozenSet extends AbstractSet<String> {
    private final Set<String> set;

    FrozenSet(Set<String> owned) {
      this.set = Collections.unmodifiableSet(owned);
    }

    @Override
    public Iterator<String> iterator() {
      return set.iterator();
    }

    @Override
    public boolean contains(Object value) {
      return set.contains(value);
    }

    @Override
    public int size() {
      return set.size();
    }
  }

  /** Distinct tags in an array, which nobody else holds. */
  private static final class FrozenTags extends AbstractSet<String> {
    private final String[] tags;

    FrozenTags(String[] owned) {
      this.tags = owned;
    }

    @Override
    public Iterator<String> iterator() {
      // The iterator of Arrays.asList cannot remove.
      return Arrays.asList(tags).iterator();
    }

    @Override
    public boolean contains(Object value) {
      for (String tag : tags) {
        if (tag.equals(value)) {
          return true;
        }
      }
      return false;
    }

    @Override
    public int size() {
      return tags.length;
    }
  }
}
