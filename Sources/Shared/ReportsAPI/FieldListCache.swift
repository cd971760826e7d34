import Atlassian
import Foundation
import Reports
import Synchronization

/// The site's field list as each user last got it, for five minutes: the column picker searches as the
/// user types, and Jira's list (hundreds of fields on a large site) is read once, not per keystroke.
/// Kept per installation and account, since what a user may see is theirs.
final class FieldListCache: Sendable {
    static let lifetime: TimeInterval = 300
    private let entries = Mutex<[String: (fields: [JiraField], fetchedAt: Date)]>([:])
    private let now: @Sendable () -> Date

    init(now: @escaping @Sendable () -> Date) { self.now = now }

    func fields(for owner: ReportOwner, fetch: () async throws -> [JiraField]) async throws -> [JiraField] {
        let key = "\(owner.installationId)|\(owner.accountId)"
        let now = now()
        if let kept = entries.withLock({ $0[key] }), now.timeIntervalSince(kept.fetchedAt) < Self.lifetime {
            return kept.fields
        }
        let fields = try await fetch()
        entries.withLock { entries in
            if entries.count > 10_000 { entries.removeAll() }
            entries[key] = (fields, now)
        }
        return fields
    }
}
