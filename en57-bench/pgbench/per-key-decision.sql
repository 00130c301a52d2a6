-- The same decision with the per-key prototype, positions registered, and the read made without a
-- horizon: what a decision costs there before the readers' side of the horizon (not gap-safe).
\set t random(1, 1000000000)
SELECT count(*) FROM ceiling.event_tags WHERE tag = 'course:' || :t;
SELECT ceiling.append_per_key(gen_random_uuid(), 'Booked', '{"course":"c1","student":"s1"}', ARRAY['course:' || :t], 0, true);
