import Foundation
import JobQueue
import Logging
import PostgresNIO
import Reports
import ReportsSupport

/// Runs' starts on PostgreSQL, in the transaction that leases their jobs (SQLite's `RunClaims` says
/// what a start is): one statement for the whole lease marks each run running with its attempt and
/// reads what its handler needs. The queue leases one job of a report at a time (the report's
/// exclusive key), so the report's page has one writer without a claim of its own.
enum PostgresRunClaims {
    /// The claims by job id; a job without a run, or whose report is gone, has none.
    static func start(_ leases: [JobLease], at now: Int64, on connection: PostgresConnection, logger: Logger)
        async throws -> [Int64: RunClaim]
    {
        if leases.isEmpty { return [:] }
        let rows = try await connection.checkedQuery(
            """
            WITH started AS (
                UPDATE runs SET status = 'running', attempt = s.attempt, started_at = coalesce(runs.started_at, \(now))
                FROM unnest(\(leases.map(\.jobId))::bigint[], \(leases.map(\.attempt))::int[]) AS s (job_id, attempt)
                WHERE runs.job_id = s.job_id AND runs.status IN ('queued', 'running')
                RETURNING runs.job_id, runs.report_id
            )
            SELECT \(unescaped: ReportRow.columns), reports.page_id, reports.page_created_at,
                reports.pending_create_at, (SELECT body FROM report_snapshots WHERE report_id = reports.id) AS snapshot,
                started.job_id AS started_job, site.id AS site_id, site.cloud_id, site.api_base_url, site.site_url,
                site.system_token_ciphertext, site.system_token_expires_at
            FROM started JOIN reports ON reports.id = started.report_id
            LEFT JOIN installations AS site ON site.id = reports.installation_id
            """, logger: logger)
        var claims: [Int64: RunClaim] = [:]
        for try await row in rows {
            let report = try ReportRow.decode(row)
            let cells = row.makeRandomAccess()
            let created = try cells["page_created_at"].decode(Int64?.self)
            let pending = try cells["pending_create_at"].decode(Int64?.self)
            var installation: Installation?
            var systemToken: SealedSystemToken?
            if try cells["site_id"].decode(String?.self) != nil,
                let base = URL(string: try cells["api_base_url"].decode(String.self))
            {
                installation = Installation(
                    id: report.installationId, cloudId: try cells["cloud_id"].decode(String.self), apiBaseUrl: base,
                    siteUrl: try cells["site_url"].decode(String?.self).flatMap(URL.init(string:)))
                if let sealed = try cells["system_token_ciphertext"].decode(Data?.self),
                    let expiry = try cells["system_token_expires_at"].decode(Int64?.self)
                {
                    systemToken = SealedSystemToken(sealed: sealed, expiresAt: Timestamp.date(milliseconds: expiry))
                }
            }
            claims[try cells["started_job"].decode(Int64.self)] = RunClaim(
                report: report, installation: installation, systemToken: systemToken,
                page: ReportPage(
                    id: try cells["page_id"].decode(String?.self),
                    createdAt: created.map(Timestamp.date(milliseconds:)),
                    pendingCreateSince: pending.map(Timestamp.date(milliseconds:))),
                lastSnapshot: try cells["snapshot"].decode(Data?.self))
        }
        return claims
    }
}
