import GRDB

extension ReportsDatabase {
    /// The schema, as versioned migrations. A migration is never edited after it ships: later changes
    /// are new migrations appended here.
    static let migrator: DatabaseMigrator = {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-initial-schema") { db in
            try db.execute(sql: initialSchema)
        }
        // The site's own URL (FIT `context.siteUrl`), for links from a report to its issues.
        migrator.registerMigration("v2-installation-site-url") { db in
            try db.execute(sql: "ALTER TABLE installations ADD COLUMN site_url TEXT")
        }
        // OneNote's limits are per Microsoft user across every worker process (docs/microsoft-apis.md §4.2).
        migrator.registerMigration("v3-onenote-rate-limit") { db in
            try db.execute(
                sql: """
                    CREATE TABLE onenote_requests (
                        microsoft_user_id TEXT NOT NULL,
                        at INTEGER NOT NULL
                    );
                    CREATE INDEX onenote_requests_by_user ON onenote_requests(microsoft_user_id, at);
                    CREATE TABLE onenote_inflight (
                        id TEXT PRIMARY KEY NOT NULL,
                        microsoft_user_id TEXT NOT NULL,
                        expires_at INTEGER NOT NULL
                    ) WITHOUT ROWID;
                    CREATE INDEX onenote_inflight_by_user ON onenote_inflight(microsoft_user_id, expires_at);
                    """)
        }
        migrator.registerMigration("v4-one-current-page") { db in
            try db.execute(sql: onePageSchema)
        }
        // One refresh at a time per Microsoft connection across every process, and the
        // access token it yields shared (encrypted) while valid. See MicrosoftTokenBroker.
        migrator.registerMigration("v5-single-flight-refresh") { db in
            try db.execute(
                sql: """
                    ALTER TABLE microsoft_connections ADD COLUMN access_token_ciphertext BLOB;
                    ALTER TABLE microsoft_connections ADD COLUMN access_token_expires_at INTEGER;
                    ALTER TABLE microsoft_connections ADD COLUMN refresh_lock_until INTEGER;
                    ALTER TABLE microsoft_connections ADD COLUMN refresh_lock_holder TEXT;
                    """)
        }
        // Fair, budget-aware leasing and schedule lateness (ReportsDatabase+FairQueue.swift).
        migrator.registerMigration("v6-fair-queue") { db in
            try db.execute(sql: fairQueueSchema)
        }
        // A Microsoft connection waits for the user's confirmation (PendingConnectionStore).
        migrator.registerMigration("v7-connect-confirmation") { db in
            try db.execute(
                sql: """
                    CREATE TABLE oauth_pending_connections (
                        token_hash TEXT PRIMARY KEY NOT NULL,
                        installation_id TEXT NOT NULL REFERENCES installations(id) ON DELETE CASCADE,
                        account_id TEXT NOT NULL CHECK (length(account_id) BETWEEN 1 AND 128),
                        browser TEXT NOT NULL,
                        refresh_token_ciphertext BLOB NOT NULL,
                        microsoft_user_id TEXT NOT NULL,
                        display_name TEXT NOT NULL DEFAULT '',
                        microsoft_account TEXT NOT NULL DEFAULT '',
                        expires_at INTEGER NOT NULL
                    ) WITHOUT ROWID;
                    CREATE INDEX oauth_pending_expiry ON oauth_pending_connections(expires_at);
                    """)
        }
        // Finished runs older than the retention period are found by age, not by a scan.
        migrator.registerMigration("v8-run-retention") { db in
            try db.execute(sql: "CREATE INDEX runs_by_age ON runs(queued_at)")
        }
        // When each site's account ids are next reported to Atlassian (NULL: at once).
        migrator.registerMigration("v9-personal-data-reporting") { db in
            try db.execute(sql: "ALTER TABLE installations ADD COLUMN accounts_report_at INTEGER")
        }
        migrator.registerMigration("v10-request-record-and-token-erasure") { db in
            try db.execute(sql: requestRecordSchema)
        }
        // A run's status has one writer: the stores and the queue apply `RunFollowsJob` in the
        // transaction of each change, so v4's triggers, a second writer of the same rule, go.
        migrator.registerMigration("v11-runs-follow-jobs-in-code") { db in
            try db.execute(
                sql: """
                    DROP TRIGGER runs_end_with_their_job;
                    DROP TRIGGER runs_requeue_with_their_job;
                    DROP TRIGGER runs_wait_with_their_job;
                    """)
        }
        // How each report's page is laid out around its columns (`PageLayout` as JSON; `{}`: the
        // standard layout, which is what a report saved before had).
        migrator.registerMigration("v12-page-layout") { db in
            try db.execute(
                sql: "ALTER TABLE reports ADD COLUMN layout TEXT NOT NULL DEFAULT '{}' CHECK (length(layout) <= 1000)")
        }
        // What each report's page showed at its last successful run (`ReportSnapshot`: keys, statuses,
        // a hash per cell), replaced by each success and deleted with the report.
        migrator.registerMigration("v13-report-snapshots") { db in
            try db.execute(
                sql: """
                    CREATE TABLE report_snapshots (
                        report_id TEXT PRIMARY KEY REFERENCES reports(id) ON DELETE CASCADE,
                        taken_at INTEGER NOT NULL,
                        body BLOB NOT NULL CHECK (length(body) <= 4000000)
                    ) STRICT
                    """)
        }
        // PostgreSQL's v14 stops compressing snapshots (their hashes do not compress, and trying cost
        // the database several milliseconds a run); SQLite stores a blob as it is, so nothing changes
        // here, but the step keeps the two schemas' versions in step.
        migrator.registerMigration("v14-snapshots-stored-uncompressed") { _ in }
        // Whether the site's licence of the app is active, as the last Forge call that said so put it
        // (1 or 0; NULL: no call has said), for pausing schedules (`LicensePolicy`).
        migrator.registerMigration("v15-installation-license") { db in
            try db.execute(
                sql: "ALTER TABLE installations ADD COLUMN license_active INTEGER CHECK (license_active IN (0, 1))")
        }
        // A site admin's switch that pauses every schedule of the site (NULL: they run), and the site's
        // recent runs found by site and age for the admin page (`SiteAdministrationStorage`).
        migrator.registerMigration("v16-site-administration") { db in
            try db.execute(
                sql: """
                    ALTER TABLE installations ADD COLUMN schedules_paused_at INTEGER;
                    CREATE INDEX runs_by_installation ON runs(installation_id, queued_at);
                    """)
        }
        // The W3C `traceparent` of the span that enqueued a job (NULL: none), so the worker's spans
        // continue the enqueuer's trace (`JobTrace`).
        migrator.registerMigration("v17-job-trace-parent") { db in
            try db.execute(sql: "ALTER TABLE jobs ADD COLUMN trace_parent TEXT CHECK (length(trace_parent) <= 55)")
        }
        migrator.registerMigration("v18-job-exclusive-key") { db in try db.execute(sql: exclusiveKeySchema) }
        return migrator
    }()

    /// Identifiers of every migration this binary knows, in order.
    public static var knownMigrations: [String] { migrator.migrations }

    /// One job of a key runs at a time (`NewJob.exclusiveKey`), and a run's claim rides on its job's lease:
    /// - `jobs.exclusive_key`: the lease passes over a due job whose key a running job holds; the
    ///   waiting and running jobs of reports get theirs (`report:<id>`, the form `RunAdmission` gives).
    /// - `jobs_fair` gains the key, so the lease still reads the head from the index alone.
    /// - `jobs_running_by_exclusive_key`: whether a key is running, for the lease.
    /// The reports' `active_job_id` / `active_lease_token`, which the run's claim set, are left unused.
    private static let exclusiveKeySchema = """
        ALTER TABLE jobs ADD COLUMN exclusive_key TEXT CHECK (length(exclusive_key) BETWEEN 1 AND 300);
        UPDATE jobs SET exclusive_key = 'report:' || json_extract(payload, '$.reportId')
        WHERE kind = 'run-report' AND state IN ('available', 'running')
            AND length(json_extract(payload, '$.reportId')) BETWEEN 1 AND 290;
        DROP INDEX jobs_fair;
        CREATE INDEX jobs_fair ON jobs(priority DESC, vtime, id, run_at, fairness_key, exclusive_key)
            WHERE state = 'available';
        CREATE INDEX jobs_running_by_exclusive_key ON jobs(exclusive_key)
            WHERE state = 'running' AND exclusive_key IS NOT NULL;
        """

    /// The second security review:
    /// - `user_requests`: each user's Run nows and report writes of the last minute, counted by the
    ///   per-user limits (`UserRateLimit`). It belongs to the user, not to a report: deleting a report
    ///   deleted the runs the Run-now limit counted, so a delete-and-recreate loop reset it.
    /// - `connect_labels`: the Jira user's display name and the site's name, looked up with the user's
    ///   own token when a connect link is issued and shown on the confirmation page (which named the
    ///   account by its opaque id); kept until the flow's confirmation expires.
    /// - `jobs_forget_forwarded_tokens`: the statement that finishes a job (succeeded or discarded, by
    ///   any path) also erases the forwarded user token from its payload; jobs already finished lose it now.
    private static let requestRecordSchema = """
        CREATE TABLE user_requests (
            installation_id TEXT NOT NULL REFERENCES installations(id) ON DELETE CASCADE,
            account_id TEXT NOT NULL CHECK (length(account_id) BETWEEN 1 AND 128),
            kind TEXT NOT NULL CHECK (kind IN ('run_now', 'report_write')),
            at INTEGER NOT NULL
        );
        CREATE INDEX user_requests_by_user ON user_requests(installation_id, account_id, kind, at);
        CREATE INDEX user_requests_by_age ON user_requests(at);

        CREATE TABLE connect_labels (
            installation_id TEXT NOT NULL REFERENCES installations(id) ON DELETE CASCADE,
            account_id TEXT NOT NULL CHECK (length(account_id) BETWEEN 1 AND 128),
            jira_display_name TEXT NOT NULL DEFAULT '' CHECK (length(jira_display_name) <= 200),
            site_name TEXT NOT NULL DEFAULT '' CHECK (length(site_name) <= 200),
            expires_at INTEGER NOT NULL,
            PRIMARY KEY (installation_id, account_id)
        ) WITHOUT ROWID;
        CREATE INDEX connect_labels_expiry ON connect_labels(expires_at);

        CREATE TRIGGER jobs_forget_forwarded_tokens AFTER UPDATE OF state ON jobs
        WHEN NEW.state IN ('succeeded', 'discarded') AND OLD.state NOT IN ('succeeded', 'discarded')
            AND NEW.payload LIKE '%"userToken"%'
        BEGIN
            UPDATE jobs SET payload = json_remove(payload, '$.userToken', '$.userTokenExpiresAt') WHERE id = NEW.id;
        END;

        UPDATE jobs SET payload = json_remove(payload, '$.userToken', '$.userTokenExpiresAt')
        WHERE state IN ('succeeded', 'discarded') AND payload LIKE '%"userToken"%';
        """

    /// Exactly one, current page per report.
    /// - `reports.page_created_at`: when the stored page was created, so a 404 during OneNote's
    ///   post-create consistency window is retried rather than taken for a deleted page.
    /// - `reports.pending_create_at`: set (under the job's lease) just before a page create is sent and
    ///   cleared once its page id is stored; while set, the create's outcome is unknown and the next
    ///   attempt looks for the page by its marker before creating another (docs/page-identity.md).
    /// - `reports.active_job_id` / `active_lease_token`: the one job that may write this report's page
    ///   now; a claim lapses by itself when that lease ends (the job leaves `running` or its token moves).
    /// - `onenote_inflight.holder` / `deadline`: the worker process holding a budget slot, so its
    ///   keeper can keep the slot alive (never past `deadline`, the request timeout plus a margin) and a
    ///   dead process's slots lapse within seconds.
    /// - Triggers: every terminal job state ends its run, an operator's retry queues it again, and a
    ///   running job handed back to the queue shows its run as waiting (dropped by v11: the queue
    ///   applies `RunFollowsJob` itself).
    private static let onePageSchema = """
        ALTER TABLE reports ADD COLUMN page_created_at INTEGER;
        ALTER TABLE reports ADD COLUMN pending_create_at INTEGER;
        ALTER TABLE reports ADD COLUMN active_job_id INTEGER;
        ALTER TABLE reports ADD COLUMN active_lease_token INTEGER;
        ALTER TABLE onenote_inflight ADD COLUMN holder TEXT NOT NULL DEFAULT '';
        ALTER TABLE onenote_inflight ADD COLUMN deadline INTEGER NOT NULL DEFAULT 0;
        CREATE INDEX onenote_inflight_by_holder ON onenote_inflight(holder);

        CREATE TRIGGER runs_end_with_their_job AFTER UPDATE OF state ON jobs
        WHEN NEW.state = 'discarded' AND OLD.state <> 'discarded'
        BEGIN
            UPDATE runs SET
                status = 'failed',
                finished_at = NEW.finished_at,
                error_code = CASE
                    WHEN NEW.last_error LIKE 'lease_expired:%' THEN 'worker_lost'
                    WHEN NEW.last_error = 'discarded_by_operator' THEN 'cancelled_by_operator'
                    WHEN instr(coalesce(NEW.last_error, ''), ':') > 1 THEN substr(NEW.last_error, 1, instr(NEW.last_error, ':') - 1)
                    ELSE 'job_discarded' END,
                error_message = CASE
                    WHEN NEW.last_error LIKE 'lease_expired:%' THEN 'the worker running this report stopped and its attempts are used up'
                    WHEN NEW.last_error = 'discarded_by_operator' THEN 'an operator cancelled this run'
                    WHEN instr(coalesce(NEW.last_error, ''), ': ') > 1 THEN substr(NEW.last_error, instr(NEW.last_error, ': ') + 2)
                    ELSE 'the run was ended by the queue' END
            WHERE job_id = NEW.id AND status IN ('queued', 'running');
        END;

        CREATE TRIGGER runs_requeue_with_their_job AFTER UPDATE OF state ON jobs
        WHEN NEW.state = 'available' AND OLD.state = 'discarded'
        BEGIN
            UPDATE runs SET status = 'queued', finished_at = NULL, error_code = NULL, error_message = NULL
            WHERE job_id = NEW.id;
        END;

        -- A running job handed back (lease reclaimed, released at shutdown, deferred) waits again.
        CREATE TRIGGER runs_wait_with_their_job AFTER UPDATE OF state ON jobs
        WHEN NEW.state = 'available' AND OLD.state = 'running'
        BEGIN
            UPDATE runs SET status = 'queued' WHERE job_id = NEW.id AND status = 'running';
        END;
        """

    // Times are integer milliseconds since the epoch (see `Timestamp`). Invariants live in the schema so
    // that no code path, present or future, can write an impossible row.
    private static let initialSchema = """
        CREATE TABLE installations (
            id TEXT PRIMARY KEY NOT NULL CHECK (length(id) BETWEEN 1 AND 300),
            cloud_id TEXT NOT NULL CHECK (length(cloud_id) BETWEEN 1 AND 100),
            api_base_url TEXT NOT NULL CHECK (length(api_base_url) BETWEEN 1 AND 500),
            system_token_ciphertext BLOB,
            system_token_expires_at INTEGER,
            first_seen_at INTEGER NOT NULL,
            last_seen_at INTEGER NOT NULL,
            CHECK ((system_token_ciphertext IS NULL) = (system_token_expires_at IS NULL))
        ) WITHOUT ROWID;

        CREATE TABLE microsoft_connections (
            installation_id TEXT NOT NULL REFERENCES installations(id) ON DELETE CASCADE,
            account_id TEXT NOT NULL CHECK (length(account_id) BETWEEN 1 AND 128),
            refresh_token_ciphertext BLOB NOT NULL,
            microsoft_user_id TEXT NOT NULL,
            display_name TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'reconnect_required')),
            connected_at INTEGER NOT NULL,
            refreshed_at INTEGER,
            PRIMARY KEY (installation_id, account_id)
        ) WITHOUT ROWID;

        CREATE TABLE reports (
            id TEXT PRIMARY KEY NOT NULL,
            installation_id TEXT NOT NULL REFERENCES installations(id) ON DELETE CASCADE,
            owner_account_id TEXT NOT NULL,
            name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
            jql TEXT,
            filter_id TEXT,
            columns TEXT NOT NULL CHECK (json_valid(columns)),
            section_id TEXT NOT NULL,
            page_id TEXT,
            page_url TEXT,
            schedule_cron TEXT,
            schedule_time_zone TEXT,
            enabled INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
            next_run_at INTEGER,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            CHECK ((jql IS NULL) <> (filter_id IS NULL)),
            CHECK ((schedule_cron IS NULL) = (schedule_time_zone IS NULL))
        ) WITHOUT ROWID;
        CREATE INDEX reports_by_owner ON reports(installation_id, owner_account_id);
        CREATE INDEX reports_due ON reports(next_run_at) WHERE enabled = 1 AND next_run_at IS NOT NULL;

        CREATE TABLE jobs (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL CHECK (length(kind) BETWEEN 1 AND 100),
            payload TEXT NOT NULL CHECK (json_valid(payload)),
            priority INTEGER NOT NULL DEFAULT 0,
            state TEXT NOT NULL DEFAULT 'available'
                CHECK (state IN ('available', 'running', 'succeeded', 'discarded')),
            run_at INTEGER NOT NULL,
            attempt INTEGER NOT NULL DEFAULT 0 CHECK (attempt >= 0),
            max_attempts INTEGER NOT NULL DEFAULT 20 CHECK (max_attempts >= 1),
            lease_token INTEGER NOT NULL DEFAULT 0,
            lease_until INTEGER,
            worker_id TEXT,
            unique_key TEXT,
            last_error TEXT,
            created_at INTEGER NOT NULL,
            started_at INTEGER,
            finished_at INTEGER,
            -- A lease exists exactly while the job runs; a finished job has a finish time.
            CHECK ((state = 'running') = (lease_until IS NOT NULL)),
            CHECK ((state IN ('succeeded', 'discarded')) = (finished_at IS NOT NULL))
        );
        -- The claim's subselect walks this index in order; it holds only rows that can be claimed.
        CREATE INDEX jobs_available ON jobs(priority DESC, run_at, id) WHERE state = 'available';
        -- When is the next delayed job due (the worker sleeps until then).
        CREATE INDEX jobs_available_run_at ON jobs(run_at) WHERE state = 'available';
        CREATE INDEX jobs_running_lease ON jobs(lease_until) WHERE state = 'running';
        CREATE INDEX jobs_finished ON jobs(state, finished_at) WHERE state IN ('succeeded', 'discarded');
        -- A unique key dedupes only while its job waits or runs.
        CREATE UNIQUE INDEX jobs_unique_key ON jobs(unique_key)
            WHERE unique_key IS NOT NULL AND state IN ('available', 'running');

        CREATE TABLE runs (
            id TEXT PRIMARY KEY NOT NULL,
            report_id TEXT NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
            installation_id TEXT NOT NULL REFERENCES installations(id) ON DELETE CASCADE,
            job_id INTEGER REFERENCES jobs(id) ON DELETE SET NULL,
            trigger TEXT NOT NULL CHECK (trigger IN ('manual', 'schedule')),
            status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
            attempt INTEGER NOT NULL DEFAULT 0,
            queued_at INTEGER NOT NULL,
            started_at INTEGER,
            finished_at INTEGER,
            issue_count INTEGER,
            page_url TEXT,
            error_code TEXT,
            error_message TEXT
        ) WITHOUT ROWID;
        CREATE INDEX runs_by_report ON runs(report_id, queued_at DESC);
        -- Pruning jobs sets runs.job_id to NULL; this index keeps that a lookup, not a scan.
        CREATE INDEX runs_by_job ON runs(job_id);

        CREATE TABLE oauth_nonces (
            nonce TEXT PRIMARY KEY NOT NULL,
            expires_at INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX oauth_nonces_expiry ON oauth_nonces(expires_at);
        """
}
