extension ReportsDatabase {
    /// Issue #13 (docs/queue-fairness.md):
    /// - `jobs.fairness_key`: whose turn a job takes: a report's Microsoft user (`ms:<id>`), else its
    ///   Jira owner (`jira:<installation>:<account>`); `''` for jobs of no one (diagnostics).
    /// - `jobs.wait_reason`: why a waiting job was handed back without using an attempt (the code of its
    ///   `JobDeferral`, e.g. `onenote_budget_exhausted`); cleared when it is leased again.
    /// - `jobs_fair` replaces `jobs_available`: the lease walks it by priority, then key, then due time,
    ///   so finding the next key (and its oldest due job) is an index seek, never a scan of a backlog.
    /// - `jobs_running_by_key`: counts a key's running jobs for the per-key cap.
    /// - `queue_turns`: per priority, the key served last; the next lease starts after it (round robin).
    /// - `runs.slot_at`: the schedule slot a scheduled run is for, so lateness (slot → enqueued, slot →
    ///   started) can be measured.
    static let fairQueueSchema = """
        ALTER TABLE jobs ADD COLUMN fairness_key TEXT NOT NULL DEFAULT '';
        ALTER TABLE jobs ADD COLUMN wait_reason TEXT;
        DROP INDEX jobs_available;
        CREATE INDEX jobs_fair ON jobs(priority DESC, fairness_key, run_at, id) WHERE state = 'available';
        CREATE INDEX jobs_running_by_key ON jobs(fairness_key) WHERE state = 'running';
        CREATE INDEX jobs_waiting_reason ON jobs(wait_reason) WHERE state = 'available' AND wait_reason IS NOT NULL;
        CREATE TABLE queue_turns (
            priority INTEGER PRIMARY KEY NOT NULL,
            last_key TEXT NOT NULL
        );
        ALTER TABLE runs ADD COLUMN slot_at INTEGER;
        CREATE INDEX runs_scheduled_recently ON runs(queued_at) WHERE slot_at IS NOT NULL;
        """
}
