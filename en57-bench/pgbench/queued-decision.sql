-- A decision as an application makes it from each of 16 nodes: a read of the events carrying a
-- tag, then the conditional append (shipped; queued when another session holds the append lock).
\set t random(1, 1000000000)
SELECT count(*) FROM en57.event_tags WHERE tag = 'course:' || :t;
SELECT ceiling.append_group(1) AS ticket \gset
\if :ticket > 0
SELECT decided FROM en57.await_append(:ticket, 5000);
\endif
