import Foundation

/// The small JQL subset the sandbox understands: `project`, `status` and
/// `assignee = currentUser()` clauses with `=` / `!=`, joined by `AND`, and `ORDER BY` up to 7 fields.
/// Anything else is a 400, as Jira answers a query it cannot parse.
struct JQLQuery: Sendable, Equatable {
    enum Field: String, Sendable { case project, status, assignee }
    struct Clause: Sendable, Equatable {
        let field: Field
        let negated: Bool
        /// nil for `currentUser()`.
        let value: String?
    }
    struct Order: Sendable, Equatable {
        let field: String
        let descending: Bool
    }

    let clauses: [Clause]
    let order: [Order]

    static let orderFields: Set<String> = ["key", "created", "updated", "priority", "status", "project", "summary"]

    /// `bounded`: refuse a query without a restriction, as the enhanced search does (the parse
    /// endpoint does not).
    init(_ text: String, bounded: Bool = true) throws(JQLError) {
        var tokens = try Self.tokenize(text)
        var clauses: [Clause] = []
        var order: [Order] = []
        func keyword(_ word: String) -> Bool {
            if let first = tokens.first, case .word(let value) = first, value.lowercased() == word {
                tokens.removeFirst()
                return true
            }
            return false
        }
        while let first = tokens.first {
            if case .word(let value) = first, value.lowercased() == "order" { break }
            if !clauses.isEmpty {
                guard keyword("and") else {
                    throw .syntax("Expecting 'AND' or 'ORDER BY' but got '\(Self.describe(first))'.")
                }
            }
            guard case .word(let name)? = tokens.first else { throw .syntax("Expecting a field name.") }
            tokens.removeFirst()
            guard let field = Field(rawValue: name.lowercased()) else {
                throw .unknownField("Field '\(name)' does not exist or you do not have permission to view it.")
            }
            guard case .op(let op)? = tokens.first else {
                throw .syntax("Expecting operator '=' or '!=' after '\(name)'.")
            }
            tokens.removeFirst()
            guard let valueToken = tokens.first else { throw .syntax("Expecting a value after '\(name) \(op)'.") }
            tokens.removeFirst()
            switch (field, valueToken) {
            case (.assignee, .function(let function)) where function.lowercased() == "currentuser":
                clauses.append(Clause(field: field, negated: op == "!=", value: nil))
            case (.assignee, _):
                throw .syntax("The sandbox supports only 'assignee = currentUser()'.")
            case (_, .word(let value)), (_, .quoted(let value)):
                clauses.append(Clause(field: field, negated: op == "!=", value: value))
            default:
                throw .syntax("Expecting a value for '\(name)'.")
            }
        }
        if keyword("order") {
            guard keyword("by") else { throw .syntax("Expecting 'BY' after 'ORDER'.") }
            while true {
                guard case .word(let field)? = tokens.first, Self.orderFields.contains(field.lowercased()) else {
                    throw .syntax("Expecting a field to order by.")
                }
                tokens.removeFirst()
                var descending = false
                if keyword("desc") { descending = true } else { _ = keyword("asc") }
                order.append(Order(field: field.lowercased(), descending: descending))
                guard case .comma? = tokens.first else { break }
                tokens.removeFirst()
            }
            guard order.count <= 7 else { throw .syntax("At most 7 fields may be used in ORDER BY.") }
        }
        guard tokens.isEmpty else { throw .syntax("Unexpected '\(Self.describe(tokens[0]))' at the end of the query.") }
        // docs/atlassian-apis.md §4: the enhanced search requires a bounded query.
        guard !clauses.isEmpty || !bounded else { throw .unbounded }
        self.clauses = clauses
        self.order = order
    }

    private enum Token: Equatable {
        case word(String)
        case quoted(String)
        case op(String)
        case function(String)
        case comma
    }

    private static func describe(_ token: Token) -> String {
        switch token {
        case .word(let text), .quoted(let text), .op(let text): text
        case .function(let name): name + "()"
        case .comma: ","
        }
    }

    private static func tokenize(_ text: String) throws(JQLError) -> [Token] {
        var tokens: [Token] = []
        let characters = Array(text)
        var index = 0
        while index < characters.count {
            let character = characters[index]
            if character.isWhitespace {
                index += 1
                continue
            }
            if character == "," {
                tokens.append(.comma)
                index += 1
                continue
            }
            if character == "=" {
                tokens.append(.op("="))
                index += 1
                continue
            }
            if character == "!" && index + 1 < characters.count && characters[index + 1] == "=" {
                tokens.append(.op("!="))
                index += 2
                continue
            }
            if character == "\"" || character == "'" {
                var end = index + 1
                while end < characters.count && characters[end] != character { end += 1 }
                guard end < characters.count else { throw .syntax("The quoted string is not closed.") }
                tokens.append(.quoted(String(characters[(index + 1)..<end])))
                index = end + 1
                continue
            }
            guard character.isLetter || character.isNumber || character == "_" || character == "-" || character == "."
            else {
                throw .syntax("The character '\(character)' is a reserved JQL character.")
            }
            var end = index
            while end < characters.count
                && (characters[end].isLetter || characters[end].isNumber || "_-.".contains(characters[end]))
            { end += 1 }
            let word = String(characters[index..<end])
            if end + 1 < characters.count && characters[end] == "(" && characters[end + 1] == ")" {
                tokens.append(.function(word))
                end += 2
            } else {
                tokens.append(.word(word))
            }
            index = end
        }
        return tokens
    }

    func matches(_ issue: SeedData.Issue, currentUser: String) -> Bool {
        clauses.allSatisfy { clause in
            let equal: Bool =
                switch clause.field {
                case .project: issue.project.caseInsensitiveCompare(clause.value ?? "") == .orderedSame
                case .status: issue.status.name.caseInsensitiveCompare(clause.value ?? "") == .orderedSame
                case .assignee: issue.assignee?.accountId == currentUser
                }
            return clause.negated ? !equal : equal
        }
    }

    func sorted(_ issues: [SeedData.Issue]) -> [SeedData.Issue] {
        let priorities = ["Highest": 0, "High": 1, "Medium": 2, "Low": 3]
        return issues.sorted { a, b in
            for order in self.order {
                let comparison: Int =
                    switch order.field {
                    case "created": a.created == b.created ? 0 : (a.created < b.created ? -1 : 1)
                    case "updated": a.updated == b.updated ? 0 : (a.updated < b.updated ? -1 : 1)
                    case "priority": (priorities[a.priority] ?? 9) - (priorities[b.priority] ?? 9)
                    case "status": a.status.name < b.status.name ? -1 : (a.status.name == b.status.name ? 0 : 1)
                    case "project": a.project < b.project ? -1 : (a.project == b.project ? 0 : 1)
                    case "summary": a.summary < b.summary ? -1 : (a.summary == b.summary ? 0 : 1)
                    default: a.id - b.id  // key: ids grow with keys within a project
                    }
                if comparison != 0 { return order.descending ? comparison > 0 : comparison < 0 }
            }
            return a.id < b.id
        }
    }
}

enum JQLError: Error, Equatable {
    case syntax(String)
    case unknownField(String)
    case unbounded

    /// Jira's error body: `{"errorMessages":[…],"errors":{}}`.
    var message: String {
        switch self {
        case .syntax(let text): "Error in the JQL Query: \(text)"
        case .unknownField(let text): text
        // The reference gives the status (400), not the wording; this is the sandbox's phrasing.
        case .unbounded: "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."
        }
    }
}
