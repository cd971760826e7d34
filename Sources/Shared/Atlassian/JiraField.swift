public import Foundation
public import Security
import Transport
import Upstream

/// One field of a site as Jira lists it (`GET /rest/api/3/field`, docs/jira-fields.md): its id, the
/// name Jira shows, and its schema, which says how a value of it is shown. Only the fields the
/// caller can see are listed.
public struct JiraField: Sendable, Equatable, Decodable {
    public struct Schema: Sendable, Equatable, Decodable {
        public let type: String?
        public let items: String?
        public let system: String?
        public let custom: String?
    }

    public let id: String
    public let name: String
    public let custom: Bool
    public let schema: Schema?

    public init(id: String, name: String, custom: Bool, schema: Schema?) {
        self.id = id
        self.name = name
        self.custom = custom
        self.schema = schema
    }

    enum CodingKeys: String, CodingKey { case id, name, custom, schema }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        name = (try? container.decodeIfPresent(String.self, forKey: .name)) ?? id
        custom = (try? container.decodeIfPresent(Bool.self, forKey: .custom)) ?? id.hasPrefix("customfield_")
        schema = try? container.decodeIfPresent(Schema.self, forKey: .schema)
    }
}

extension AtlassianClient {
    /// The site's fields the token's user can see. A field Jira lists in a shape this code does not
    /// know is skipped, not an error.
    public func fields(apiBaseUrl: URL, token: Secret) async throws -> [JiraField] {
        let response = try await send(
            OutboundRequest(
                url: apiBaseUrl.appendingPathComponent("rest/api/3/field"),
                headers: ["Authorization": "Bearer \(token.revealed)", "Accept": "application/json"],
                timeout: .seconds(20)), service: "jira")
        guard response.status == 200 else {
            throw UpstreamError.classify(response, service: .jiraForOwner, detail: "HTTP \(response.status)")
        }
        return try JiraField.list(from: response.body)
    }
}

extension JiraField {
    /// Jira's field list, each entry in a shape this code does not know skipped.
    static func list(from body: Data) throws -> [JiraField] {
        struct Lenient: Decodable {
            let field: JiraField?
            init(from decoder: any Decoder) throws { field = try? JiraField(from: decoder) }
        }
        guard let listed = try? JSONDecoder().decode([Lenient].self, from: body) else {
            throw UpstreamError(
                kind: .transient, code: "fields_unavailable", message: "Jira sent an unexpected field list",
                status: 200)
        }
        return listed.compactMap(\.field)
    }
}
