-- A group of 4 conditional single-event appends, as one node's group commit makes it from 4 threads.
\set t1 random(1, 1000000000)
\set t2 random(1, 1000000000)
\set t3 random(1, 1000000000)
\set t4 random(1, 1000000000)
SELECT coalesce(ticket, 0) AS ticket FROM en57.append('{1,2,3,4}', ARRAY[gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), gen_random_uuid()], '{Booked,Booked,Booked,Booked}', '[{"course":"c1","student":"s1"}, {"course":"c1","student":"s1"}, {"course":"c1","student":"s1"}, {"course":"c1","student":"s1"}]', '[null, null, null, null]', '{0,1,2,3,4}', ARRAY['course:' || :t1, 'course:' || :t2, 'course:' || :t3, 'course:' || :t4], ('[' || '{"r":1,"a":0,"ty":[],"tg":["course:' || :t1 || '"]}' || ',' || '{"r":2,"a":0,"ty":[],"tg":["course:' || :t2 || '"]}' || ',' || '{"r":3,"a":0,"ty":[],"tg":["course:' || :t3 || '"]}' || ',' || '{"r":4,"a":0,"ty":[],"tg":["course:' || :t4 || '"]}' || ']')::jsonb, '{}', 4, '5000', true) \gset
\if :ticket > 0
SELECT decided FROM en57.await_append(:ticket, 5000);
\endif
