package import Foundation
package import JobQueue
package import Reports
package import Security
import Synchronization

/// `RunReportStores` in memory: one report, its site and the site's system token; every call on the
/// run's recorder is logged in order (`events`), as the SQLite and PostgreSQL stores would record it
/// in the report's row (the run's start rides on the job's lease, its end on the job's settle, not
/// here). `claim` is what a backend's queue hands the handler with the lease.
package final class InMemoryRunReportStores: RunReportStores {
    package enum Event: Sendable, Equatable {
        case createPending, createNotSent
        case pageKnown(String)
    }

    struct Contents: Sendable {
        var events: [Event] = []
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
    /// The report's claim as the queue reads it with the lease: the report, its site, no page yet.
    package var claim: RunClaim {
        RunClaim(report: report, installation: installation, systemToken: nil, page: ReportPage())
    }

    func record(_ event: Event) { contents.withLock { $0.events.append(event) } }

    package func leasedRun(_ lease: JobLease, reportId: String) -> any RunPageRecorder {
        Recorder(stores: self)
    }

    package func systemToken(installationId: String) async throws -> (token: Secret, expiresAt: Date)? {
        installationId == report.installationId ? systemTokenValue : nil
    }

    package func dropSystemToken(installationId: String, ifStill token: Secret) async throws -> Bool { false }

    struct Recorder: RunPageRecorder {
        let stores: InMemoryRunReportStores

        func createPending() async throws { stores.record(.createPending) }
        func createNotSent() async throws { stores.record(.createNotSent) }
        func pageKnown(_ page: WrittenPage) async throws { stores.record(.pageKnown(page.id)) }
    }
}
