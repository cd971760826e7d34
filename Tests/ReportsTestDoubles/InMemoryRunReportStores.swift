package import Foundation
package import JobQueue
package import Reports
package import Security
import Synchronization

/// `RunReportStores` in memory: one report, its site and the site's system token; every call on the
/// run's recorder is logged in order (`events`), as the SQLite and PostgreSQL stores would record it
/// in the report's and the run's rows (how an attempt ends rides on the job's settle, not here). A claim fails once `claimHeld` is set, as when another job holds the report.
package final class InMemoryRunReportStores: RunReportStores {
    package enum Event: Sendable, Equatable {
        case claimed, createPending, createNotSent
        case pageKnown(String)
    }

    struct Contents: Sendable {
        var events: [Event] = []
        var claimHeld = false
    }

    let report: Report
    let installation: Installation
    private let systemTokenValue: (token: Secret, expiresAt: Date)?
    private let contents = Mutex(Contents())

    package init(report: Report, installation: Installation, systemToken: (token: Secret, expiresAt: Date)? = nil) {
        self.report = report
        self.installation = installation
        self.systemTokenValue = systemToken
    }

    /// What the run's recorder was told, in order.
    package var events: [Event] { contents.withLock { $0.events } }
    /// Another job holds the report: the next claims answer nil.
    package func holdClaim() { contents.withLock { $0.claimHeld = true } }

    func record(_ event: Event) { contents.withLock { $0.events.append(event) } }

    package func leasedRun(_ lease: JobLease, reportId: String, runId: String) -> any LeasedRunRecorder {
        Recorder(stores: self)
    }

    package func systemToken(installationId: String) async throws -> (token: Secret, expiresAt: Date)? {
        installationId == report.installationId ? systemTokenValue : nil
    }

    package func dropSystemToken(installationId: String, ifStill token: Secret) async throws -> Bool { false }

    struct Recorder: LeasedRunRecorder {
        let stores: InMemoryRunReportStores

        func claim(attempt: Int) async throws -> RunClaim? {
            if stores.contents.withLock({ $0.claimHeld }) { return nil }
            stores.record(.claimed)
            return RunClaim(
                report: stores.report, installation: stores.installation, systemToken: nil,
                page: ReportPage())
        }
        func createPending() async throws { stores.record(.createPending) }
        func createNotSent() async throws { stores.record(.createNotSent) }
        func pageKnown(_ page: WrittenPage) async throws { stores.record(.pageKnown(page.id)) }
    }
}
