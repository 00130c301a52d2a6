-- The per-key append with its position registered for a reader's horizon (ceiling.append_per_key
-- with p_register).
\set t random(1, 1000000000)
SELECT ceiling.append_per_key(gen_random_uuid(), 'Booked', '{"course":"c1","student":"s1"}', ARRAY['course:' || :t], 0, true);
