import Foundation
import HTTPTypes
import Hummingbird

/// `POST /rest/api/3/jql/parse` (docs/atlassian-apis.md §9): each query parsed with the sandbox's
/// JQL subset and validated as the caller, in Jira's shape: 200 with per query either a `structure` or
/// `errors` (a syntax error, a field outside the subset, a project the site does not have); 400 for a
/// body without queries or an unknown `validation`; 401 without a user token.
enum JQLParseRoute {
    static func parse(_ request: Request, _ context: BasicRequestContext, _ state: SandboxState) async throws
        -> Response
    {
        state.count("jql-parse")
        guard context.parameters.get("cloudId") == state.cloudId else {
            return SandboxHTTP.jiraError(.notFound, "No site with that cloud id.")
        }
        guard state.verifyToken(request.headers[.authorization], kinds: [.user, .offline])?.accountId != nil else {
            return SandboxHTTP.jiraError(
                .unauthorized, "You are not authorized to perform this operation. Please log in.")
        }
        let validation = request.uri.queryParameters.get("validation") ?? "strict"
        guard ["strict", "warn", "none"].contains(validation) else {
            return SandboxHTTP.jiraError(.badRequest, "Invalid validation type: \(validation.prefix(40))")
        }
        guard let body = try await SandboxHTTP.jsonObject(request), let queries = body["queries"] as? [String],
            !queries.isEmpty
        else {
            return SandboxHTTP.jiraError(.badRequest, "The request must list one or more queries.")
        }
        // The site's projects: the seeded ones and any the issues name (the archive's ARC).
        let projects = Set(SeedData.projects).union(state.seed.issues.map { $0.project.uppercased() })
        let answers: [[String: Any]] = queries.map { text in
            var answer: [String: Any] = ["query": text]
            do throws(JQLError) {
                let query = try JQLQuery(text, bounded: false)
                let unknown = validation == "none" ? [] : unknownProjects(query, known: projects)
                if !unknown.isEmpty {
                    answer["errors"] = unknown.map { "The value '\($0)' does not exist for the field 'project'." }
                }
                if unknown.isEmpty || validation == "warn" { answer["structure"] = structure(query) }
            } catch {
                answer["errors"] = [error.message]
            }
            return answer
        }
        return SandboxHTTP.json(.ok, ["queries": answers])
    }

    /// Project values the site does not have (Jira checks values as the caller sees them).
    static func unknownProjects(_ query: JQLQuery, known: Set<String>) -> [String] {
        query.clauses.compactMap { clause in
            guard clause.field == .project, let value = clause.value, !known.contains(value.uppercased())
            else { return nil }
            return value
        }
    }

    /// The query's syntax tree, in Jira's shape for the clauses the sandbox knows.
    static func structure(_ query: JQLQuery) -> [String: Any] {
        let clauses: [[String: Any]] = query.clauses.map { clause in
            let operand: [String: Any] =
                clause.value.map { ["value": $0, "encodedValue": $0] }
                ?? ["function": "currentUser", "arguments": [String](), "encodedOperand": "currentUser()"]
            return [
                "field": ["name": clause.field.rawValue, "encodedName": clause.field.rawValue],
                "operator": clause.negated ? "!=" : "=", "operand": operand,
            ]
        }
        var structure: [String: Any] = [:]
        if !clauses.isEmpty { structure["where"] = ["clauses": clauses, "operator": "and"] }
        if !query.order.isEmpty {
            structure["orderBy"] = [
                "fields": query.order.map {
                    [
                        "field": ["name": $0.field, "encodedName": $0.field],
                        "direction": $0.descending ? "desc" : "asc",
                    ]
                }
            ]
        }
        return structure
    }
}
