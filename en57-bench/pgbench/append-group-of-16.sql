-- A group of 16 conditional single-event appends, as one node's group commit makes it from 16 threads.
\set t1 random(1, 1000000000)
\set t2 random(1, 1000000000)
\set t3 random(1, 1000000000)
\set t4 random(1, 1000000000)
\set t5 random(1, 1000000000)
\set t6 random(1, 1000000000)
\set t7 random(1, 1000000000)
\set t8 random(1, 1000000000)
\set t9 random(1, 1000000000)
\set t10 random(1, 1000000000)
\set t11 random(1, 1000000000)
\set t12 random(1, 1000000000)
\set t13 random(1, 1000000000)
\set t14 random(1, 1000000000)
\set t15 random(1, 1000000000)
\set t16 random(1, 1000000000)
SELECT coalesce(ticket, 0) AS ticket FROM en57.append('{1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16}', ARRAY[gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), gen_random_uuid()], '{Booked,Booked,Booked,Booked,Booked,Booked,Booked,Booked,Booked,Booked,Booked,Booked,Booked,Booked,Booked,Booked}', '[{"course":"c1","student":"s1"}, {"course":"c1","student":"s1"}, {"course":"c1","student":"s1"}, {"course":"c1","student":"s1"}, {"course":"c1","student":"s1"}, {"course":"c1","student":"s1"}, {"course":"c1","student":"s1"}, {"course":"c1","student":"s1"}, {"course":"c1","student":"s1"}, {"course":"c1","student":"s1"}, {"course":"c1","student":"s1"}, {"course":"c1","student":"s1"}, {"course":"c1","student":"s1"}, {"course":"c1","student":"s1"}, {"course":"c1","student":"s1"}, {"course":"c1","student":"s1"}]', '[null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null]', '{0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16}', ARRAY['course:' || :t1, 'course:' || :t2, 'course:' || :t3, 'course:' || :t4, 'course:' || :t5, 'course:' || :t6, 'course:' || :t7, 'course:' || :t8, 'course:' || :t9, 'course:' || :t10, 'course:' || :t11, 'course:' || :t12, 'course:' || :t13, 'course:' || :t14, 'course:' || :t15, 'course:' || :t16], ('[' || '{"r":1,"a":0,"ty":[],"tg":["course:' || :t1 || '"]}' || ',' || '{"r":2,"a":0,"ty":[],"tg":["course:' || :t2 || '"]}' || ',' || '{"r":3,"a":0,"ty":[],"tg":["course:' || :t3 || '"]}' || ',' || '{"r":4,"a":0,"ty":[],"tg":["course:' || :t4 || '"]}' || ',' || '{"r":5,"a":0,"ty":[],"tg":["course:' || :t5 || '"]}' || ',' || '{"r":6,"a":0,"ty":[],"tg":["course:' || :t6 || '"]}' || ',' || '{"r":7,"a":0,"ty":[],"tg":["course:' || :t7 || '"]}' || ',' || '{"r":8,"a":0,"ty":[],"tg":["course:' || :t8 || '"]}' || ',' || '{"r":9,"a":0,"ty":[],"tg":["course:' || :t9 || '"]}' || ',' || '{"r":10,"a":0,"ty":[],"tg":["course:' || :t10 || '"]}' || ',' || '{"r":11,"a":0,"ty":[],"tg":["course:' || :t11 || '"]}' || ',' || '{"r":12,"a":0,"ty":[],"tg":["course:' || :t12 || '"]}' || ',' || '{"r":13,"a":0,"ty":[],"tg":["course:' || :t13 || '"]}' || ',' || '{"r":14,"a":0,"ty":[],"tg":["course:' || :t14 || '"]}' || ',' || '{"r":15,"a":0,"ty":[],"tg":["course:' || :t15 || '"]}' || ',' || '{"r":16,"a":0,"ty":[],"tg":["course:' || :t16 || '"]}' || ']')::jsonb, '{}', 16, '5000', true) \gset
\if :ticket > 0
SELECT decided FROM en57.await_append(:ticket, 5000);
\endif
