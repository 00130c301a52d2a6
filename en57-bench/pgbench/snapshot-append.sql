-- The append of the snapshot prototype (ceiling.append_snapshot) on condition that no event of its
-- tag is stored, while the sequencer runs beside it.
\set t random(1, 1000000000)
SELECT ceiling.append_snapshot(gen_random_uuid(), 'Booked', '{"course":"c1","student":"s1"}', ARRAY['course:' || :t], NULL);
