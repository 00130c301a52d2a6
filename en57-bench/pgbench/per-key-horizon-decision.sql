-- The same decision made gap-safe: the read stops at the horizon (ceiling.horizon), and the
-- append's condition starts there.
\set t random(1, 1000000000)
SELECT ceiling.horizon() AS horizon \gset
SELECT count(*) FROM ceiling.event_tags WHERE tag = 'course:' || :t AND position <= :horizon;
SELECT ceiling.append_per_key(gen_random_uuid(), 'Booked', '{"course":"c1","student":"s1"}', ARRAY['course:' || :t], :horizon, true);
