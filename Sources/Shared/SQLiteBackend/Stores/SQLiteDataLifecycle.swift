public import Foundation
import GRDB
public import Reports
import ReportsSupport

/// The retention rules and tenant deletion on SQLite. SQLite has one writer for every
/// process, so what needs a scan (the surplus runs of each report, the jobs still holding a forwarded
/// token) is found in a read transaction, which takes no lock, and deleted or rewritten by id in short
/// write transactions that check the condition again.
public struct SQLiteDataLifecycle: DataLifecycleStore {
    public let database: ReportsDatabase

    public init(database: ReportsDatabase) {
        self.database = database
    }

    static let batch = 500

    public func prune(_ rules: RetentionRules, now: Date) async throws -> HistoryPruned {
        let nowMs = Timestamp.milliseconds(now)
        var pruned = HistoryPruned()
        let oldRuns = Timestamp.milliseconds(rules.runsQueuedBefore(now))
        pruned.runs = try await deleteInBatches(
            """
            DELETE FROM runs WHERE id IN (
                SELECT id FROM runs WHERE queued_at < ? AND status IN ('succeeded', 'failed') LIMIT \(Self.batch))
            """, [oldRuns])
        // The newest `runsPerReport` runs of a report stay, whatever their state; older finished ones go.
        let surplus = try await database.pool.read { db in
            try String.fetchAll(
                db,
                sql: """
                    SELECT id FROM (
                        SELECT id, status, row_number() OVER (
                            PARTITION BY report_id ORDER BY queued_at DESC, id DESC) AS newest
                        FROM runs)
                    WHERE newest > ? AND status IN ('succeeded', 'failed')
                    """, arguments: [rules.runsPerReport])
        }
        for ids in surplus.chunked(Self.batch) {
            pruned.runs += try await database.pool.write { db in
                try db.execute(
                    sql:
                        "DELETE FROM runs WHERE status IN ('succeeded', 'failed') AND id IN (\(Self.marks(ids.count)))",
                    arguments: StatementArguments(ids))
                return db.changesCount
            }
        }
        pruned.oauthNonces = try await deleteInBatches(
            "DELETE FROM oauth_nonces WHERE nonce IN (SELECT nonce FROM oauth_nonces WHERE expires_at < ? LIMIT \(Self.batch))",
            [nowMs])
        pruned.pendingConnections = try await deleteInBatches(
            """
            DELETE FROM oauth_pending_connections WHERE token_hash IN (
                SELECT token_hash FROM oauth_pending_connections WHERE expires_at < ? LIMIT \(Self.batch))
            """, [nowMs])
        // A budget row counts for an hour (the budget's longest window); a slot past its lease is free.
        pruned.budgetRows = try await deleteInBatches(
            "DELETE FROM onenote_requests WHERE rowid IN (SELECT rowid FROM onenote_requests WHERE at < ? LIMIT \(Self.batch))",
            [nowMs - 3_600_000])
        pruned.budgetRows += try await deleteInBatches(
            "DELETE FROM onenote_inflight WHERE id IN (SELECT id FROM onenote_inflight WHERE expires_at < ? LIMIT \(Self.batch))",
            [nowMs])
        // A request counts for a minute (UserRateLimit); what idle users left behind goes after an hour.
        pruned.requestRecords = try await deleteInBatches(
            "DELETE FROM user_requests WHERE rowid IN (SELECT rowid FROM user_requests WHERE at < ? LIMIT \(Self.batch))",
            [nowMs - 3_600_000])
        pruned.requestRecords += try await deleteInBatches(
            """
            DELETE FROM connect_labels WHERE (installation_id, account_id) IN (
                SELECT installation_id, account_id FROM connect_labels WHERE expires_at < ? LIMIT \(Self.batch))
            """, [nowMs])
        pruned.forwardedTokens = try await dropForwardedTokens(nowMs: nowMs)
        let gone = try await database.pool.read { db in
            try String.fetchAll(
                db, sql: "SELECT id FROM installations WHERE last_seen_at < ?",
                arguments: [Timestamp.milliseconds(rules.deleteBefore(now))])
        }
        for id in gone {
            if let deletion = try await deleteInstallation(id, lastSeenBefore: rules.deleteBefore(now)) {
                pruned.installations.append(deletion)
            }
        }
        return pruned
    }

    public func deleteInstallation(_ id: String) async throws -> ErasedRows? {
        try await deleteInstallation(id, lastSeenBefore: nil)
    }

    /// `lastSeenBefore`: delete only if the site is still silent (a Forge call may have come meanwhile).
    private func deleteInstallation(_ id: String, lastSeenBefore: Date?) async throws -> ErasedRows? {
        try await database.pool.write { db -> ErasedRows? in
            guard
                let lastSeen = try Int64.fetchOne(
                    db, sql: "SELECT last_seen_at FROM installations WHERE id = ?", arguments: [id])
            else { return nil }
            if let lastSeenBefore, lastSeen >= Timestamp.milliseconds(lastSeenBefore) { return nil }
            var deletion = ErasedRows(installationId: id)
            func count(_ table: String) throws -> Int {
                try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table) WHERE installation_id = ?", arguments: [id])
                    ?? 0
            }
            deletion.reports = try count("reports")
            deletion.runs = try count("runs")
            deletion.microsoftConnections = try count("microsoft_connections")
            deletion.pendingConnections = try count("oauth_pending_connections")
            // Jobs name their site only in the payload; a running one's worker loses its lease.
            try db.execute(
                sql: "DELETE FROM jobs WHERE kind = ? AND json_extract(payload, '$.installationId') = ?",
                arguments: [RunReportJob.kind, id])
            deletion.jobs = db.changesCount
            // Everything else names the installation and goes with it (ON DELETE CASCADE).
            try db.execute(sql: "DELETE FROM installations WHERE id = ?", arguments: [id])
            return deletion
        }
    }

    public func rowCounts() async throws -> [String: Int] {
        try await database.pool.read { db in
            var counts: [String: Int] = [:]
            for table in storedTables {
                counts[table] = try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table)") ?? 0
            }
            return counts
        }
    }

    /// A forwarded Atlassian token is useless once its job has finished or the token has expired: the
    /// payload keeps everything else.
    private func dropForwardedTokens(nowMs: Int64) async throws -> Int {
        let holding = """
            kind = 'run-report' AND payload LIKE '%"userToken"%'
                AND (state IN ('succeeded', 'discarded') OR json_extract(payload, '$.userTokenExpiresAt') < ?)
            """
        let ids = try await database.pool.read { db in
            try Int64.fetchAll(db, sql: "SELECT id FROM jobs WHERE \(holding)", arguments: [nowMs])
        }
        var dropped = 0
        for chunk in ids.chunked(Self.batch) {
            dropped += try await database.pool.write { db in
                try db.execute(
                    sql: """
                        UPDATE jobs SET payload = json_remove(payload, '$.userToken', '$.userTokenExpiresAt')
                        WHERE id IN (\(Self.marks(chunk.count))) AND \(holding)
                        """, arguments: StatementArguments(chunk) + [nowMs])
                return db.changesCount
            }
        }
        return dropped
    }

    private func deleteInBatches(_ sql: String, _ arguments: StatementArguments) async throws -> Int {
        var total = 0
        while true {
            let deleted = try await database.pool.write { db in
                try db.execute(sql: sql, arguments: arguments)
                return db.changesCount
            }
            total += deleted
            if deleted < Self.batch { return total }
        }
    }

    private static func marks(_ count: Int) -> String { Array(repeating: "?", count: count).joined(separator: ",") }
}

extension Array {
    fileprivate func chunked(_ size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: size).map { self[$0..<Swift.min($0 + size, count)] }
    }
}
