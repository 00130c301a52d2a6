-- The shipped group (queued-group.sql) with every transaction that may hold the append lock
-- committing without waiting for the WAL flush (synchronous_commit off), and the wait for durability
-- moved outside the lock: a last one-statement transaction takes a transaction id and commits
-- synchronously, which flushes the WAL past the append's commit. Were the flush under the lock what
-- keeps nodes apart, this would run faster than queued-group.sql.
SET synchronous_commit = off;
SELECT ceiling.append_group(:appends) AS ticket \gset
\if :ticket > 0
SELECT decided FROM en57.await_append(:ticket, 5000);
\endif
SELECT set_config('synchronous_commit', 'on', true), pg_logical_emit_message(true, 'flush', '');
