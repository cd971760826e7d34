-- The bare-SQL baseline of the PostgreSQL queue: per transaction, what a minimal
-- SKIP LOCKED queue must do for one batch: complete the jobs this client claimed last time, then claim
-- the next batch in the lease's order. `pgbench -M prepared` runs it; each client is one "worker".
\set now 4000000000000
BEGIN;
UPDATE jobs SET state = 'succeeded', lease_until = NULL, finished_at = :now::bigint, last_error = NULL
    WHERE state = 'running' AND worker_id = 'pgbench-' || :client_id;
UPDATE jobs SET state = 'running', attempt = attempt + 1, lease_token = lease_token + 1,
        lease_until = :now::bigint + 30000, worker_id = 'pgbench-' || :client_id, started_at = :now::bigint, wait_reason = NULL
    WHERE id IN (SELECT id FROM jobs WHERE state = 'available' AND run_at <= :now::bigint
                 ORDER BY priority DESC, vtime, id LIMIT :batch FOR UPDATE SKIP LOCKED);
COMMIT;
