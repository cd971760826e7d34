public import Foundation
import Rendering
import ReportsSupport

/// Why a request body was refused, with the API's stable codes (`invalid_json`, `unknown_field`,
/// `duplicate_field`, `invalid_field`, `missing_field`). Messages name fields, never values.
public struct BodyDecodingError: Error, Sendable, Equatable {
    public let code: String
    public let message: String
}

/// Request bodies: a JSON object, no unknown field, every field of the right type. The API checks the
/// media type and the size first; this is the part that sees the bytes (and the fuzz target's).
public enum JSONObjectBody {
    /// `nestedFields`: for a field holding an object, the fields that object may hold.
    public static func decode<T: Decodable>(
        _ type: T.Type, from data: Data, allowedFields: Set<String>, nestedFields: [String: Set<String>] = [:]
    ) throws(BodyDecodingError) -> T {
        guard let object = try? JSONSerialization.jsonObject(with: data, options: []) as? [String: Any] else {
            throw BodyDecodingError(code: "invalid_json", message: "the body is not a JSON object")
        }
        if let unknown = object.keys.sorted().first(where: { !allowedFields.contains($0) }) {
            throw BodyDecodingError(code: "unknown_field", message: "unknown field '\(unknown.prefix(60))'")
        }
        for (field, allowed) in nestedFields {
            guard let inner = object[field] as? [String: Any] else { continue }
            if let unknown = inner.keys.sorted().first(where: { !allowed.contains($0) }) {
                throw BodyDecodingError(
                    code: "unknown_field", message: "unknown field '\(field).\(unknown.prefix(60))'")
            }
        }
        // JSONSerialization keeps the last of two equal keys without a word: refused, not guessed.
        if let repeated = JSONDuplicateKeys.first(in: data) {
            throw BodyDecodingError(code: "duplicate_field", message: "field '\(repeated.prefix(60))' appears twice")
        }
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            throw BodyDecodingError(
                code: "invalid_field",
                message: "field '\(context.codingPath.map(\.stringValue).joined(separator: "."))' has the wrong type")
        } catch let DecodingError.keyNotFound(key, _) {
            throw BodyDecodingError(code: "missing_field", message: "field '\(key.stringValue)' is required")
        } catch {
            throw BodyDecodingError(code: "invalid_json", message: "the body does not match the expected shape")
        }
    }
}

/// The report a client sends (POST and PUT /v1/reports).
public struct ReportBody: Decodable, Sendable {
    public static let fields: Set<String> = [
        "name", "jql", "filterId", "columns", "sectionId", "schedule", "enabled", "layout",
    ]
    /// The fields `layout` may hold.
    public static let nestedFields: [String: Set<String>] = [
        "layout": ["summary", "sumField", "groupBy", "parentChild", "notesColumn", "changes"]
    ]

    public struct Schedule: Decodable, Sendable {
        let cron: String
        let timeZone: String
    }

    let name: String
    let jql: String?
    let filterId: String?
    let columns: [String]
    let sectionId: String
    let schedule: Schedule?
    let enabled: Bool?
    let layout: PageLayout?

    public var definition: ReportDefinition {
        ReportDefinition(
            name: name, jql: jql, filterId: filterId, columns: columns, location: sectionId,
            schedule: schedule.map { .init(cron: $0.cron, timeZone: $0.timeZone) }, enabled: enabled ?? true,
            layout: layout ?? .standard)
    }
}
