import Atlassian
import Foundation
import Rendering
import Synchronization

/// The fields of each site as its users see them (Jira's field list), kept in this process per
/// installation and account (a field hidden from one user is hidden from that user's reports): read
/// again after a day, and sooner when a report names a custom field the list lacks (a field made
/// since), at most every ten minutes. A list Jira does not give is no reason to fail a run: the last
/// one serves, or none (custom columns are then headed by their ids and read by their values' shapes).
final class FieldCatalogues: Sendable {
    struct Entry {
        let columns: [String: ReportColumn]
        let fetchedAt: Date
    }

    static let maxAge: TimeInterval = 86_400
    static let unknownFieldRetry: TimeInterval = 600

    private let entries = Mutex<[String: Entry]>([:])

    init() {}

    /// The catalogue for a report of `columns`, from `fetch` when the kept one is missing or stale.
    func catalogue(
        installationId: String, accountId: String, columns: [String], now: Date,
        fetch: () async throws -> [JiraField]
    ) async -> [String: ReportColumn] {
        let key = "\(installationId)|\(accountId)"
        let kept = entries.withLock { $0[key] }
        let custom = columns.filter { ReportColumn.named($0) != nil && !ReportColumn.isStandard($0) }
        if custom.isEmpty { return kept?.columns ?? [:] }
        if let kept {
            let age = now.timeIntervalSince(kept.fetchedAt)
            let lacksOne = custom.contains { kept.columns[$0] == nil }
            if age < Self.maxAge && (!lacksOne || age < Self.unknownFieldRetry) { return kept.columns }
        }
        guard let fields = try? await fetch() else { return kept?.columns ?? [:] }
        let columns = Self.columns(fields)
        entries.withLock { entries in
            if entries.count > 10_000 { entries.removeAll() }
            entries[key] = Entry(columns: columns, fetchedAt: now)
        }
        return columns
    }

    /// The fields a report may name beyond the standard columns, each with Jira's name and the kind its
    /// schema gives.
    static func columns(_ fields: [JiraField]) -> [String: ReportColumn] {
        var columns: [String: ReportColumn] = [:]
        for field in fields where !ReportColumn.isStandard(field.id) {
            columns[field.id] = ReportColumn(
                id: field.id, label: field.name,
                kind: .of(
                    schemaType: field.schema?.type, items: field.schema?.items, system: field.schema?.system,
                    custom: field.schema?.custom))
        }
        return columns
    }
}
