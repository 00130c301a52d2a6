-- The same append under a lock on its tag only (ceiling.append_per_key): no global order.
\set t random(1, 1000000000)
SELECT ceiling.append_per_key(gen_random_uuid(), 'Booked', '{"course":"c1","student":"s1"}', ARRAY['course:' || :t], 0, false);
