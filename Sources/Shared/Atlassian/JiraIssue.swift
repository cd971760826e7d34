/// A JSON value as Jira sends it in `fields` (any shape).
public indirect enum JiraValue: Sendable, Equatable, Decodable {
    case string(String)
    case number(Double)
    case bool(Bool)
    case object(JiraObject)
    case array([JiraValue])
    case null

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        // Each JSON type is tried in turn and a miss costs a thrown error with its coding path, so the
        // commonest shapes of a search page come first: texts and objects (formatted text is mostly
        // both), then lists; numbers and booleans are rare.
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([String: JiraValue].self) {
            self = .object(JiraObject(value))
        } else if let value = try? container.decode([JiraValue].self) {
            self = .array(value)
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else {
            self = .number(try container.decode(Double.self))
        }
    }

    public subscript(key: String) -> JiraValue? {
        if case .object(let object) = self { return object[key] }
        return nil
    }

    public var string: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    public var number: Double? {
        if case .number(let value) = self { return value }
        return nil
    }
}

/// One issue of a search page (docs/atlassian-apis.md §4 IssueBean, the parts a report shows).
public struct JiraIssue: Sendable, Equatable, Decodable {
    public let id: String
    public let key: String
    public let fields: [String: JiraValue]

    public init(id: String, key: String, fields: [String: JiraValue]) {
        self.id = id
        self.key = key
        self.fields = fields
    }

    enum CodingKeys: String, CodingKey { case id, key, fields }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        key = try container.decodeIfPresent(String.self, forKey: .key) ?? id
        fields = try container.decodeIfPresent([String: JiraValue].self, forKey: .fields) ?? [:]
    }
}

extension JiraIssue {
    /// An issue of a search page read by `JiraJSON`: `id` a string, `key` a string or absent (then the
    /// id), `fields` an object or absent; nil for any other shape, as `init(from:)` would refuse it.
    init?(_ value: JiraValue) {
        guard case .object(let object) = value, case .string(let id)? = object["id"] else { return nil }
        let key: String
        switch object["key"] {
        case .string(let text)?: key = text
        case nil, .null?: key = id
        default: return nil
        }
        var fields: [String: JiraValue] = [:]
        switch object["fields"] {
        case .object(let members)?:
            fields.reserveCapacity(members.count)
            for member in members { fields[member.key] = member.value }
        case nil, .null?: break
        default: return nil
        }
        self.init(id: id, key: key, fields: fields)
    }
}
