public import Atlassian
public import Foundation
public import JobQueue
import Logging
import Rendering
import ReportsSupport
public import Security
import Synchronization
import Upstream

/// The `run-report` job: from a leased job to an up-to-date page at the report's destination.
///
/// Token for Jira: the user token forwarded with a Run now while it is valid, else an offline user token
/// for the report's owner minted with the installation's system token (cached per installation and
/// account until a minute before it expires). The page: a `ReportDestination`, which
/// owns the destination's tokens, its per-user budget and the page's write.
/// Every attempt's end is recorded on the run with its job's settle; permanent failures (bad JQL, section gone, reconnect required, no
/// system token) are not retried.
///
/// One current page (docs/page-identity.md): the queue leases one job of a report at a time and
/// hands it the report's claim with the lease; every store write goes through `RunPageRecorder` or passes the lease,
/// so it happens only while the lease holds; the destination checks the lease before every write,
/// stores the page id the moment it is known, and finds a lost create again.
public struct RunReportHandler: JobHandler {
    public var kind: String { RunReportJob.kind }

    let stores: any RunReportStores
    let vault: TokenVault
    let atlassian: AtlassianClient
    let destination: any ReportDestination
    let issueCap: Int
    private let tokens = OfflineTokenCache()
    /// The sites' field lists (names and kinds of custom fields), per installation and account.
    private let fieldCatalogues = FieldCatalogues()
    private let now: @Sendable () -> Date

    public init(
        stores: any RunReportStores, vault: TokenVault, atlassian: AtlassianClient,
        destination: any ReportDestination, issueCap: Int = 5000,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.stores = stores
        self.vault = vault
        self.atlassian = atlassian
        self.destination = destination
        self.issueCap = issueCap
        self.now = now
    }

    public func handle(_ job: JobContext) async throws -> JobResult {
        let parameters: RunReportJob = try job.decodePayload()
        // The queue read the claim with the lease, one job of the report at a time, and marked the run
        // running; no claim means the run's report (and with it the run) was deleted.
        guard let claim = job.claim as? RunClaim else {
            throw JobFailure.permanent("report_deleted", "the report was deleted")
        }
        let owner = ReportOwner(installationId: parameters.installationId, accountId: parameters.ownerAccountId)
        let writes = stores.leasedRun(job.lease, reportId: parameters.reportId)
        do {
            // The destination before Jira: a spent budget sends the job back before any read, and a run
            // that cannot write reads nothing from Jira, so a user without a connection cannot make the
            // workers page through a large search again and again.
            let output = try await destination.open(for: owner, job: job)
            // The run's success, failure or wait is recorded by the queue with the job's settle.
            return try await produce(claim, parameters, output: output, job: job, writes: writes).jobResult
        } catch let lost as LeaseLostError {
            throw lost
        } catch is CancellationError {
            throw CancellationError()
        } catch let deferral as JobDeferral {
            throw deferral
        } catch let notYet as UpstreamError where notYet.kind == .notYet {
            throw JobDeferral(notYet.code, delay: notYet.retryAfter ?? .seconds(1))
        } catch {
            throw Self.failure(for: error)
        }
    }

    private func produce(
        _ claim: RunClaim, _ parameters: RunReportJob, output: any DestinationWrite, job: JobContext,
        writes: any RunPageRecorder
    ) async throws -> RunOutcome {
        let report = claim.report
        let logger = job.logger
        guard let installation = claim.installation else {
            throw JobFailure.permanent("no_installation", "the Jira site is not known to the service yet")
        }
        let jiraToken = try await jiraToken(
            parameters, installation: installation, stored: claim.systemToken, logger: logger)

        let jql: String
        if let text = report.jql {
            jql = text
        } else if let filterId = report.filterId {
            jql = try await atlassian.filterJQL(
                apiBaseUrl: installation.apiBaseUrl, token: jiraToken, filterId: filterId)
        } else {
            throw JobFailure.permanent("invalid_report", "the report has neither JQL nor a saved filter")
        }
        let definition = report.definition
        let (columns, layout) = (definition.columns, definition.layout)
        // Custom fields by their names and kinds, as the owner sees them; without a list the run goes on.
        let site = await fieldCatalogues.catalogue(
            installationId: installation.id, accountId: parameters.ownerAccountId,
            fields: columns + layout.extraFields(sprintField: nil), needsSprint: layout.groupBy == "sprint", now: now()
        ) { [atlassian] in
            try await atlassian.fields(apiBaseUrl: installation.apiBaseUrl, token: jiraToken)
        }
        // The columns, and what the layout reads besides (the status for the summary, the grouping's field).
        var fields = columns.filter { $0 != "key" }
        for field in layout.extraFields(sprintField: site.sprintField) where !fields.contains(field) {
            fields.append(field)
        }
        let search = try await atlassian.search(
            apiBaseUrl: installation.apiBaseUrl, token: jiraToken, jql: jql, fields: fields.isEmpty ? ["key"] : fields,
            cap: issueCap)
        let zone = report.scheduleTimeZone.flatMap(TimeZone.init(identifier:)) ?? TimeZone(identifier: "UTC")!
        let document = ReportDocument(
            reportName: report.name, jql: jql, columns: columns, catalogue: site.columns, issues: search.issues,
            runAt: now(), timeZone: zone, siteURL: installation.siteUrl, cappedAt: search.capped ? issueCap : nil,
            reportId: report.id, layout: layout, sprintField: site.sprintField, lastRun: claim.lastRun)
        let page = try await output.write(document, report: report, page: claim.page, recorder: writes)
        let pageUrl = page.url ?? report.pageUrl
        logger.info(
            "report written",
            metadata: [
                "report": "\(report.id)", "issues": "\(search.issues.count)", "capped": "\(search.capped)",
                "page_created": "\(page.created)",
            ])
        return RunOutcome(issueCount: search.issues.count, pageUrl: pageUrl, snapshot: document.snapshot?.encoded())
    }

    private func jiraToken(
        _ parameters: RunReportJob, installation: Installation, stored: SealedSystemToken?, logger: Logger
    ) async throws -> Secret {
        if let sealed = parameters.userToken, let expiry = parameters.userTokenExpiresAt,
            expiry > Timestamp.milliseconds(now()) + 60_000,
            let data = Base64URL.decode(sealed)
        {
            do {
                return try vault.open(
                    data,
                    context: .forwardedUserToken(installationId: parameters.installationId, runId: parameters.runId))
            } catch {
                // Sealed under a key since dropped: the offline token serves the run as well.
                logger.warning(
                    "forwarded user token unreadable with the configured keys; using an offline token",
                    metadata: ["run": "\(parameters.runId)"])
            }
        }
        if let cached = tokens.token(installation.id, parameters.ownerAccountId, now: now()) { return cached }
        guard let stored else {
            throw JobFailure.permanent(
                "no_system_token",
                "the service has no app token for this Jira site yet; it arrives with the next scheduled trigger")
        }
        guard stored.expiresAt > now() else {
            throw JobFailure.permanent(
                "system_token_expired",
                "the app token for this Jira site has expired; a fresh one arrives with the next scheduled trigger")
        }
        let system = try vault.open(
            stored.sealed, context: .atlassianSystemToken(installationId: installation.id))
        let minted: AtlassianClient.UserToken
        do {
            minted = try await atlassian.offlineUserToken(
                systemToken: system, cloudId: installation.cloudId, accountId: parameters.ownerAccountId)
        } catch let error as UpstreamError where error.status == 401 {
            // Atlassian does not accept the stored token (expired early, revoked, or not Forge's):
            // drop it, so it is not tried again, and wait for the next one Forge sends.
            try await stores.dropSystemToken(installationId: installation.id, ifStill: system)
            logger.warning(
                "system token refused by Atlassian; dropped", metadata: ["installation": "\(installation.id)"])
            throw JobFailure.permanent(
                "system_token_awaited",
                "Atlassian refused the app token for this Jira site; a fresh one arrives with the next scheduled trigger"
            )
        }
        tokens.store(installation.id, parameters.ownerAccountId, minted)
        return minted.token
    }

    /// Upstream errors become queue failures: permanent ones are not retried.
    static func failure(for error: any Error) -> JobFailure {
        switch error {
        case let failure as JobFailure:
            return failure
        case let upstream as UpstreamError:
            switch upstream.kind {
            case .transient, .budgetSpent, .notYet:
                return .retryable(upstream.code, upstream.message, retryAfter: upstream.retryAfter)
            case .reconnectRequired where upstream.code == "microsoft_not_connected":
                return .permanent("microsoft_not_connected", "connect a Microsoft account in the app first")
            case .reconnectRequired:
                return .permanent("reconnect_required", "connect your Microsoft account again in the app")
            case .appMisconfigured:
                return .permanent(
                    upstream.code, "the service's Microsoft app is misconfigured; the operators have been alerted")
            case .rejected: return .permanent(upstream.code, upstream.message)
            }
        case let lost as LeaseLostError:
            return .retryable("lease_lost", lost.description)
        case is TokenVaultError:
            return .permanent("token_unreadable", "a stored token could not be decrypted with the configured keys")
        default:
            return .retryable("unexpected_error", "the run failed unexpectedly (\(type(of: error)))")
        }
    }
}

/// Offline user tokens per (installation, account), until a minute before they expire.
final class OfflineTokenCache: Sendable {
    private let entries = Mutex<[String: AtlassianClient.UserToken]>([:])

    func token(_ installation: String, _ account: String, now: Date) -> Secret? {
        entries.withLock { entries in
            guard let entry = entries["\(installation)|\(account)"], entry.expiresAt.timeIntervalSince(now) > 60 else {
                return nil
            }
            return entry.token
        }
    }

    func store(_ installation: String, _ account: String, _ token: AtlassianClient.UserToken) {
        entries.withLock { $0["\(installation)|\(account)"] = token }
    }
}
