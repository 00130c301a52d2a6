package io.en57.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class FrozenTest {

  @Test
  void tagsAreTheDistinctTagsInOrderWhateverTheirNumberAndRepeats() {
    var random = new Random(57);
    for (int round = 0; round < 2_000; round++) {
      // Up to 12 tags drawn from a small alphabet: both sides of the few-tags limit, with repeats.
      var drawn = new String[random.nextInt(13)];
      for (int i = 0; i < drawn.length; i++) {
        drawn[i] = "t" + random.nextInt(10);
      }
      var expected = new LinkedHashSet<>(Arrays.asList(drawn));
      String context = "tags " + Arrays.toString(drawn);

      Set<String> tags = Frozen.tags(drawn.clone());

      assertThat(new ArrayList<>(tags)).as(context).containsExactlyElementsOf(expected);
      assertThat(tags).as(context).hasSize(expected.size()).isEqualTo(expected);
      assertThat(expected).as(context).isEqualTo(tags);
      assertThat(tags.hashCode()).as(context).isEqualTo(expected.hashCode());
      for (int i = 0; i < 10; i++) {
        assertThat(tags.contains("t" + i)).as(context).isEqualTo(expected.contains("t" + i));
      }
      assertThat(tags.contains(null)).as(context).isFalse();
      assertThat(Frozen.isFrozen(tags)).as(context).isTrue();
      assertThat(Frozen.set(tags)).as(context).isSameAs(tags);
    }
  }

  @Test
  void tagsCannotBeChanged() {
    for (String[] drawn : List.of(new String[] {"a", "b"}, new String[] {"a", "a"}, many())) {
      Set<String> tags = Frozen.tags(drawn);
      assertThatThrownBy(() -> tags.add("z")).isInstanceOf(UnsupportedOperationException.class);
      assertThatThrownBy(() -> tags.remove("a")).isInstanceOf(UnsupportedOperationException.class);
      assertThatThrownBy(tags::clear).isInstanceOf(UnsupportedOperationException.class);
      var iterator = tags.iterator();
      iterator.next();
      assertThatThrownBy(iterator::remove).isInstanceOf(UnsupportedOperationException.class);
      assertThat(tags).contains("a");
    }
  }

  @Test
  void aMapReadsAsWhatItWrapsAndCannotBeChanged() {
    var owned = new LinkedHashMap<String, Object>();
    owned.put("a", 1);
    owned.put("b", List.of("x"));
    var copy = new LinkedHashMap<>(owned);
    Map<String, Object> map = Frozen.map(owned);

    assertThat(map).isEqualTo(copy).hasSameHashCodeAs(copy);
    assertThat(copy).isEqualTo(map);
    assertThat(map.keySet()).containsExactly("a", "b");
    assertThat(map.get("a")).isEqualTo(1);
    assertThatThrownBy(() -> map.put("c", 3)).isInstanceOf(UnsupportedOperationException.class);
    assertThatThrownBy(() -> map.remove("a")).isInstanceOf(UnsupportedOperationException.class);
    assertThatThrownBy(map::clear).isInstanceOf(UnsupportedOperationException.class);
    assertThatThrownBy(() -> map.keySet().remove("a"))
        .isInstanceOf(UnsupportedOperationException.class);
    assertThatThrownBy(() -> map.entrySet().iterator().next().setValue(2))
        .isInstanceOf(UnsupportedOperationException.class);
    assertThatThrownBy(() -> map.replaceAll((key, value) -> 0))
        .isInstanceOf(UnsupportedOperationException.class);
    assertThat(map).isEqualTo(copy);
  }

  @Test
  void anEmptyMapIsSharedAndCannotBeChanged() {
    var empty = Frozen.map(new HashMap<>());
    assertThat(empty).isEmpty();
    assertThat(empty).isSameAs(Frozen.map(new HashMap<>()));
    assertThatThrownBy(() -> empty.put("k", 1)).isInstanceOf(UnsupportedOperationException.class);
    assertThat(Frozen.isFrozen(empty)).isTrue();
  }

  private static String[] many() {
    var tags = new String[20];
    for (int i = 0; i < tags.length; i++) {
      tags[i] = i == 0 ? "a" : "t" + i;
    }
    return tags;
  }
}
