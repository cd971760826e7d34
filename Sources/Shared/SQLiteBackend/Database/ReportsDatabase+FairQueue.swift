extension ReportsDatabase {
    /// Fair, budget-aware leasing and schedule lateness (docs/queue-fairness.md):
    /// - `jobs.fairness_key`: whose turn a job takes: a report's Microsoft user (`ms:<id>`), else its
    ///   Jira owner (`jira:<installation>:<account>`); `''` for jobs of no one (diagnostics).
    /// - `jobs.vtime`: the job's virtual start time (start-time fair queuing): a key's next job starts
    ///   where its previous one ended or at the queue's virtual clock, whichever is later, so keys
    ///   interleave and a newcomer is served within a round, not after a backlog.
    /// - `jobs.wait_reason`: why a waiting job was handed back without using an attempt (the code of its
    ///   `JobDeferral`, e.g. `onenote_budget_exhausted`); cleared when it is leased again.
    /// - `jobs_fair` replaces `jobs_available`: the lease reads it in order (priority, virtual time),
    ///   with `run_at` and the key in the index so skipping a job not due reads no table row.
    /// - `jobs_running_by_key`: counts a key's running jobs for the per-key cap.
    /// - `queue_clock`: per priority, the virtual time of the latest job leased.
    /// - `queue_keys`: per key and priority, the virtual time its next job starts at (rows behind the
    ///   clock mean nothing and are pruned).
    /// - `runs.slot_at`: the schedule slot a scheduled run is for, so lateness (slot → enqueued, slot →
    ///   started) can be measured.
    static let fairQueueSchema = """
        ALTER TABLE jobs ADD COLUMN fairness_key TEXT NOT NULL DEFAULT '';
        ALTER TABLE jobs ADD COLUMN vtime INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE jobs ADD COLUMN wait_reason TEXT;
        DROP INDEX jobs_available;
        CREATE INDEX jobs_fair ON jobs(priority DESC, vtime, id, run_at, fairness_key) WHERE state = 'available';
        CREATE INDEX jobs_running_by_key ON jobs(fairness_key) WHERE state = 'running' AND fairness_key <> '';
        CREATE INDEX jobs_waiting_reason ON jobs(wait_reason) WHERE state = 'available' AND wait_reason IS NOT NULL;
        CREATE TABLE queue_clock (
            priority INTEGER PRIMARY KEY NOT NULL,
            vtime INTEGER NOT NULL
        );
        CREATE TABLE queue_keys (
            fairness_key TEXT NOT NULL,
            priority INTEGER NOT NULL,
            next_vtime INTEGER NOT NULL,
            PRIMARY KEY (fairness_key, priority)
        ) WITHOUT ROWID;
        ALTER TABLE runs ADD COLUMN slot_at INTEGER;
        CREATE INDEX runs_scheduled_recently ON runs(queued_at) WHERE slot_at IS NOT NULL;
        """
}
