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
        let fields: SiteFields
        let fetchedAt: Date
    }

    /// A site's fields as a run needs them: the columns it may name, and its sprint field (the one
    /// field of Jira Software's sprint type; its id differs from site to site).
    struct SiteFields {
        var columns: [String: ReportColumn] = [:]
        var sprintField: String?
    }

    static let maxAge: TimeInterval = 86_400
    static let unknownFieldRetry: TimeInterval = 600

    private let entries = Mutex<[String: Entry]>([:])

    init() {}

    /// The site's fields for a report that reads `fields` (its columns and what its layout sums or
    /// groups by; `needsSprint` when it groups by sprint), from `fetch` when the kept list is missing
    /// or stale. A report of standard fields only needs no list.
    func catalogue(
        installationId: String, accountId: String, fields: [String], needsSprint: Bool = false, now: Date,
        fetch: () async throws -> [JiraField]
    ) async -> SiteFields {
        let key = "\(installationId)|\(accountId)"
        let kept = entries.withLock { $0[key] }
        let custom = fields.filter { ReportColumn.named($0) != nil && !ReportColumn.isStandard($0) }
        if custom.isEmpty && !needsSprint { return kept?.fields ?? SiteFields() }
        if let kept {
            let age = now.timeIntervalSince(kept.fetchedAt)
            let lacksOne = custom.contains { kept.fields.columns[$0] == nil }
            if age < Self.maxAge && (!lacksOne || age < Self.unknownFieldRetry) { return kept.fields }
        }
        guard let list = try? await fetch() else { return kept?.fields ?? SiteFields() }
        let fields = SiteFields(
            columns: Self.columns(list),
            sprintField: list.first { $0.schema?.custom?.hasSuffix(":gh-sprint") == true }?.id)
        entries.withLock { entries in
            if entries.count > 10_000 { entries.removeAll() }
            entries[key] = Entry(fields: fields, fetchedAt: now)
        }
        return fields
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
