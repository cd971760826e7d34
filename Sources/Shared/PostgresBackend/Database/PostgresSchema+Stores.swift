extension PostgresSchema {
    /// The stores' tables, as SQLite's v1–v7 leave them (SQLiteBackend's migrations say why each column
    /// exists). Differences: ciphertexts are BYTEA, JSON is checked by a `jsonb` cast, `enabled` is a
    /// BOOLEAN, and the triggers that keep a run in step with its job are PL/pgSQL functions.
    static let stores: [String] = [
        """
        CREATE TABLE installations (
            id TEXT PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 300),
            cloud_id TEXT NOT NULL CHECK (length(cloud_id) BETWEEN 1 AND 100),
            api_base_url TEXT NOT NULL CHECK (length(api_base_url) BETWEEN 1 AND 500),
            system_token_ciphertext BYTEA,
            system_token_expires_at BIGINT,
            first_seen_at BIGINT NOT NULL,
            last_seen_at BIGINT NOT NULL,
            site_url TEXT,
            CHECK ((system_token_ciphertext IS NULL) = (system_token_expires_at IS NULL))
        )
        """,
        """
        CREATE TABLE microsoft_connections (
            installation_id TEXT NOT NULL REFERENCES installations(id) ON DELETE CASCADE,
            account_id TEXT NOT NULL CHECK (length(account_id) BETWEEN 1 AND 128),
            refresh_token_ciphertext BYTEA NOT NULL,
            microsoft_user_id TEXT NOT NULL,
            display_name TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'reconnect_required')),
            connected_at BIGINT NOT NULL,
            refreshed_at BIGINT,
            access_token_ciphertext BYTEA,
            access_token_expires_at BIGINT,
            refresh_lock_until BIGINT,
            refresh_lock_holder TEXT,
            PRIMARY KEY (installation_id, account_id)
        )
        """,
        """
        CREATE TABLE reports (
            id TEXT PRIMARY KEY,
            installation_id TEXT NOT NULL REFERENCES installations(id) ON DELETE CASCADE,
            owner_account_id TEXT NOT NULL,
            name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
            jql TEXT,
            filter_id TEXT,
            columns TEXT NOT NULL CHECK (columns::jsonb IS NOT NULL),
            section_id TEXT NOT NULL,
            page_id TEXT,
            page_url TEXT,
            schedule_cron TEXT,
            schedule_time_zone TEXT,
            enabled BOOLEAN NOT NULL DEFAULT TRUE,
            next_run_at BIGINT,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL,
            page_created_at BIGINT,
            pending_create_at BIGINT,
            active_job_id BIGINT,
            active_lease_token BIGINT,
            CHECK ((jql IS NULL) <> (filter_id IS NULL)),
            CHECK ((schedule_cron IS NULL) = (schedule_time_zone IS NULL))
        )
        """,
        "CREATE INDEX reports_by_owner ON reports (installation_id, owner_account_id)",
        "CREATE INDEX reports_due ON reports (next_run_at) WHERE enabled AND next_run_at IS NOT NULL",
        """
        CREATE TABLE runs (
            id TEXT PRIMARY KEY,
            report_id TEXT NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
            installation_id TEXT NOT NULL REFERENCES installations(id) ON DELETE CASCADE,
            job_id BIGINT REFERENCES jobs(id) ON DELETE SET NULL,
            trigger TEXT NOT NULL CHECK (trigger IN ('manual', 'schedule')),
            status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
            attempt INTEGER NOT NULL DEFAULT 0,
            queued_at BIGINT NOT NULL,
            started_at BIGINT,
            finished_at BIGINT,
            issue_count INTEGER,
            page_url TEXT,
            error_code TEXT,
            error_message TEXT,
            slot_at BIGINT
        )
        """,
        "CREATE INDEX runs_by_report ON runs (report_id, queued_at DESC)",
        "CREATE INDEX runs_by_job ON runs (job_id)",
        "CREATE INDEX runs_scheduled_recently ON runs (queued_at) WHERE slot_at IS NOT NULL",
        "CREATE TABLE oauth_nonces (nonce TEXT PRIMARY KEY, expires_at BIGINT NOT NULL)",
        "CREATE INDEX oauth_nonces_expiry ON oauth_nonces (expires_at)",
        """
        CREATE TABLE oauth_pending_connections (
            token_hash TEXT PRIMARY KEY,
            installation_id TEXT NOT NULL REFERENCES installations(id) ON DELETE CASCADE,
            account_id TEXT NOT NULL CHECK (length(account_id) BETWEEN 1 AND 128),
            browser TEXT NOT NULL,
            refresh_token_ciphertext BYTEA NOT NULL,
            microsoft_user_id TEXT NOT NULL,
            display_name TEXT NOT NULL DEFAULT '',
            microsoft_account TEXT NOT NULL DEFAULT '',
            expires_at BIGINT NOT NULL
        )
        """,
        "CREATE INDEX oauth_pending_expiry ON oauth_pending_connections (expires_at)",
        "CREATE TABLE onenote_requests (microsoft_user_id TEXT NOT NULL, at BIGINT NOT NULL)",
        "CREATE INDEX onenote_requests_by_user ON onenote_requests (microsoft_user_id, at)",
        """
        CREATE TABLE onenote_inflight (
            id TEXT PRIMARY KEY,
            microsoft_user_id TEXT NOT NULL,
            expires_at BIGINT NOT NULL,
            holder TEXT NOT NULL DEFAULT '',
            deadline BIGINT NOT NULL DEFAULT 0
        )
        """,
        "CREATE INDEX onenote_inflight_by_user ON onenote_inflight (microsoft_user_id, expires_at)",
        "CREATE INDEX onenote_inflight_by_holder ON onenote_inflight (holder)",
        // A run follows its job (SQLite's three triggers in one function): every terminal discard ends
        // the run with a code read from the job's last error, an operator's retry queues it again, and a
        // running job handed back to the queue shows its run as waiting. Dropped by v11: the queue
        // applies `RunFollowsJob` itself, in the move's transaction.
        """
        CREATE FUNCTION runs_follow_their_job() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            error TEXT := coalesce(NEW.last_error, '');
        BEGIN
            IF NEW.state = 'discarded' AND OLD.state <> 'discarded' THEN
                UPDATE runs SET
                    status = 'failed',
                    finished_at = NEW.finished_at,
                    error_code = CASE
                        WHEN error LIKE 'lease_expired:%' THEN 'worker_lost'
                        WHEN error = 'discarded_by_operator' THEN 'cancelled_by_operator'
                        WHEN strpos(error, ':') > 1 THEN substr(error, 1, strpos(error, ':') - 1)
                        ELSE 'job_discarded' END,
                    error_message = CASE
                        WHEN error LIKE 'lease_expired:%'
                            THEN 'the worker running this report stopped and its attempts are used up'
                        WHEN error = 'discarded_by_operator' THEN 'an operator cancelled this run'
                        WHEN strpos(error, ': ') > 1 THEN substr(error, strpos(error, ': ') + 2)
                        ELSE 'the run was ended by the queue' END
                WHERE job_id = NEW.id AND status IN ('queued', 'running');
            ELSIF NEW.state = 'available' AND OLD.state = 'discarded' THEN
                UPDATE runs SET status = 'queued', finished_at = NULL, error_code = NULL, error_message = NULL
                WHERE job_id = NEW.id;
            ELSIF NEW.state = 'available' AND OLD.state = 'running' THEN
                UPDATE runs SET status = 'queued' WHERE job_id = NEW.id AND status = 'running';
            END IF;
            RETURN NULL;
        END
        $$
        """,
        // Only rows whose state changed fire it, so a lease or heartbeat of many jobs costs nothing here.
        """
        CREATE TRIGGER runs_follow_their_job AFTER UPDATE OF state ON jobs
        FOR EACH ROW WHEN (NEW.state IS DISTINCT FROM OLD.state AND NEW.state IN ('available', 'discarded'))
        EXECUTE FUNCTION runs_follow_their_job()
        """,
    ]
}
