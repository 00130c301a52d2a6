-- A group of :appends conditional single-event appends (pgbench -D appends=N), as one node's group
-- commit sends it from a pool: en57.append, and when another session holds the append lock (the
-- call returns a ticket), en57.await_append for the outcome. With 1, one append of a lone thread.
SELECT ceiling.append_group(:appends) AS ticket \gset
\if :ticket > 0
SELECT decided FROM en57.await_append(:ticket, 5000);
\endif
