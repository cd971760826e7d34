public import Foundation
import Logging
import PostgresNIO
public import Reports
import ReportsSupport

/// The retention rules and tenant deletion on PostgreSQL: the same rules as SQLiteDataLifecycle's.
/// Each batch is a statement of its own, so no statement holds many row locks for long.
public struct PostgresDataLifecycle: DataLifecycleStore {
    public let database: PostgresReportsDatabase

    public init(database: PostgresReportsDatabase) {
        self.database = database
    }

    static let batch = 500

    public func prune(_ rules: RetentionRules, now: Date) async throws -> HistoryPruned {
        let nowMs = Timestamp.milliseconds(now)
        let (logger, batch) = (database.logger, Self.batch)
        var pruned = HistoryPruned()
        let oldRuns = Timestamp.milliseconds(rules.runsQueuedBefore(now))
        pruned.runs = try await deleteInBatches(
            """
            DELETE FROM runs WHERE id IN (
                SELECT id FROM runs WHERE queued_at < \(oldRuns) AND status IN ('succeeded', 'failed') LIMIT \(batch))
            """)
        // The newest `runsPerReport` runs of a report stay, whatever their state; older finished ones go.
        let keep = rules.runsPerReport
        let surplus = try await database.withConnection { connection in
            try await connection.checkedQuery(
                """
                SELECT id FROM (
                    SELECT id, status, row_number() OVER (
                        PARTITION BY report_id ORDER BY queued_at DESC, id DESC) AS newest
                    FROM runs) ranked
                WHERE newest > \(keep) AND status IN ('succeeded', 'failed')
                """, logger: logger
            ).collect().map { try $0.decode(String.self) }
        }
        for start in stride(from: 0, to: surplus.count, by: batch) {
            let ids = Array(surplus[start..<min(start + batch, surplus.count)])
            pruned.runs += try await database.withConnection { connection in
                try await connection.checkedQuery(
                    "DELETE FROM runs WHERE status IN ('succeeded', 'failed') AND id = ANY(\(ids)) RETURNING 1",
                    logger: logger
                ).collect().count
            }
        }
        pruned.oauthNonces = try await deleteInBatches(
            """
            DELETE FROM oauth_nonces WHERE nonce IN (
                SELECT nonce FROM oauth_nonces WHERE expires_at < \(nowMs) LIMIT \(batch))
            """)
        pruned.pendingConnections = try await deleteInBatches(
            """
            DELETE FROM oauth_pending_connections WHERE token_hash IN (
                SELECT token_hash FROM oauth_pending_connections WHERE expires_at < \(nowMs) LIMIT \(batch))
            """)
        // A budget row counts for an hour (the budget's longest window); a slot past its lease is free.
        let hourAgo = nowMs - 3_600_000
        pruned.budgetRows = try await deleteInBatches(
            """
            DELETE FROM onenote_requests WHERE ctid = ANY(ARRAY(
                SELECT ctid FROM onenote_requests WHERE at < \(hourAgo) LIMIT \(batch)))
            """)
        pruned.budgetRows += try await deleteInBatches(
            """
            DELETE FROM onenote_inflight WHERE id IN (
                SELECT id FROM onenote_inflight WHERE expires_at < \(nowMs) LIMIT \(batch))
            """)
        // A forwarded Atlassian token is useless once its job has finished or the token has expired.
        // A request counts for a minute (UserRateLimit); what idle users left behind goes after an hour.
        pruned.requestRecords = try await deleteInBatches(
            """
            DELETE FROM user_requests WHERE ctid = ANY(ARRAY(
                SELECT ctid FROM user_requests WHERE at < \(hourAgo) LIMIT \(batch)))
            """)
        pruned.requestRecords += try await deleteInBatches(
            """
            DELETE FROM connect_labels WHERE (installation_id, account_id) IN (
                SELECT installation_id, account_id FROM connect_labels WHERE expires_at < \(nowMs) LIMIT \(batch))
            """)
        pruned.forwardedTokens = try await deleteInBatches(
            """
            UPDATE jobs SET payload = (payload::jsonb - 'userToken' - 'userTokenExpiresAt')::text
            WHERE id IN (
                SELECT id FROM jobs WHERE kind = 'run-report' AND payload LIKE '%"userToken"%'
                    AND (state IN ('succeeded', 'discarded')
                        OR (payload::jsonb ->> 'userTokenExpiresAt')::bigint < \(nowMs))
                LIMIT \(batch) FOR UPDATE SKIP LOCKED)
            """)
        let deleteBefore = Timestamp.milliseconds(rules.deleteBefore(now))
        let gone = try await database.withConnection { connection in
            try await connection.checkedQuery(
                "SELECT id FROM installations WHERE last_seen_at < \(deleteBefore)", logger: logger
            ).collect().map { try $0.decode(String.self) }
        }
        for id in gone {
            if let deletion = try await deleteInstallation(id, lastSeenBefore: deleteBefore) {
                pruned.installations.append(deletion)
            }
        }
        return pruned
    }

    public func deleteInstallation(_ id: String) async throws -> ErasedRows? {
        try await deleteInstallation(id, lastSeenBefore: nil)
    }

    /// `lastSeenBefore`: delete only if the site is still silent (a Forge call may have come meanwhile).
    private func deleteInstallation(_ id: String, lastSeenBefore: Int64?) async throws -> ErasedRows? {
        let logger = database.logger
        return try await database.withTransaction { connection -> ErasedRows? in
            // The row lock makes a concurrent Forge call (which updates last_seen_at) wait or win.
            guard
                let lastSeen = try await connection.checkedQuery(
                    "SELECT last_seen_at FROM installations WHERE id = \(id) FOR UPDATE", logger: logger
                ).collect().first?.decode(Int64.self)
            else { return nil }
            if let lastSeenBefore, lastSeen >= lastSeenBefore { return nil }
            let counts =
                try await connection.checkedQuery(
                    """
                    SELECT (SELECT count(*) FROM reports WHERE installation_id = \(id)),
                        (SELECT count(*) FROM runs WHERE installation_id = \(id)),
                        (SELECT count(*) FROM microsoft_connections WHERE installation_id = \(id)),
                        (SELECT count(*) FROM oauth_pending_connections WHERE installation_id = \(id))
                    """, logger: logger
                ).collect().first?.decode((Int, Int, Int, Int).self) ?? (0, 0, 0, 0)
            var deletion = ErasedRows(installationId: id)
            (deletion.reports, deletion.runs, deletion.microsoftConnections, deletion.pendingConnections) = counts
            // Jobs name their site only in the payload; a running one's worker loses its lease.
            deletion.jobs = try await connection.checkedQuery(
                """
                DELETE FROM jobs WHERE kind = \(RunReportJob.kind) AND payload::jsonb ->> 'installationId' = \(id)
                RETURNING 1
                """, logger: logger
            ).collect().count
            // Everything else names the installation and goes with it (ON DELETE CASCADE).
            try await connection.checkedQuery("DELETE FROM installations WHERE id = \(id)", logger: logger)
            return deletion
        }
    }

    public func rowCounts() async throws -> [String: Int] {
        let logger = database.logger
        return try await database.withConnection { connection in
            var counts: [String: Int] = [:]
            for table in storedTables {
                counts[table] =
                    try await connection.checkedQuery(
                        PostgresQuery(unsafeSQL: "SELECT count(*) FROM \(table)"), logger: logger
                    ).collect().first?.decode(Int.self) ?? 0
            }
            return counts
        }
    }

    private func deleteInBatches(_ statement: PostgresQuery) async throws -> Int {
        let logger = database.logger
        var total = 0
        while true {
            var query = statement
            query.sql += " RETURNING 1"
            let changed = try await database.withConnection { connection in
                try await connection.checkedQuery(query, logger: logger).collect().count
            }
            total += changed
            if changed < Self.batch { return total }
        }
    }
}
