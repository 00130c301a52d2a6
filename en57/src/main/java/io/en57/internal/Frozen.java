package io.en57.internal;

import java.util.AbstractMap;
import java.util.AbstractSet;
import java.util.Collections;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;

/**
 * Read-only wrappers that {@link io.en57.Event} trusts without copying. Events copy the maps and
 * sets they are given, unless they come wrapped here: decoding wraps the collections it has just
 * built, so a million events read do not cost a million extra copies. Whoever wraps a collection
 * must not keep it.
 */
public final class Frozen {

  private Frozen() {}

  /** {@code owned}, read-only, without a copy; the caller must not keep {@code owned}. */
  public static Map<String, Object> map(Map<String, Object> owned) {
    return owned instanceof FrozenMap ? owned : new FrozenMap(owned);
  }

  /** {@code owned}, read-only, without a copy; the caller must not keep {@code owned}. */
  public static Set<String> set(Set<String> owned) {
    return owned instanceof FrozenSet ? owned : new FrozenSet(owned);
  }

  /** Whether {@code collection} was wrapped here, and so needs no copy. */
  public static boolean isFrozen(Object collection) {
    return collection instanceof FrozenMap || collection instanceof FrozenSet;
  }

  private static final class FrozenMap extends AbstractMap<String, Object> {
    private final Map<String, Object> map;

    FrozenMap(Map<String, Object> owned) {
      this.map = Collections.unmodifiableMap(owned);
    }

    @Override
    public Set<Entry<String, Object>> entrySet() {
      return map.entrySet();
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
}
