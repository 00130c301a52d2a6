-- A decision with the snapshot prototype: the read and its snapshot in one statement, then the
-- append on condition that no event of the tag was committed outside that snapshot. Gap-safe
-- without a horizon: the condition covers whatever the read could not see.
\set t random(1, 1000000000)
SELECT pg_current_snapshot() AS snapshot, count(*) AS seen FROM ceiling.s_tags WHERE tag = 'course:' || :t \gset
SELECT ceiling.append_snapshot(gen_random_uuid(), 'Booked', '{"course":"c1","student":"s1"}', ARRAY['course:' || :t], ':snapshot');
