-- One conditional single-event append, as a store on a pool makes it: en57.append, and when another
-- session holds the append lock (the call returns a ticket), en57.await_append for the outcome.
\set t random(1, 1000000000)
SELECT coalesce(ticket, 0) AS ticket FROM en57.append('{1}', ARRAY[gen_random_uuid()], '{Booked}', '[{"course":"c1","student":"s1"}]', '[null]', '{0,1}', ARRAY['course:' || :t], ('[{"r":1,"a":0,"ty":[],"tg":["course:' || :t || '"]}]')::jsonb, '{}', 1, '5000', true) \gset
\if :ticket > 0
SELECT decided FROM en57.await_append(:ticket, 5000);
\endif
