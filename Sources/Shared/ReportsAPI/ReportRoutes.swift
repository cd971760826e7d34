import Hummingbird
import Reports

/// Report definitions, scoped to the calling user: list, create, read, replace, delete.
struct ReportRoutes {
    let services: APIServices
    var queryCheck: ReportQueryCheck { ReportQueryCheck(jira: services.jira) }

    func addRoutes(to forge: RouterGroup<APIRequestContext>) {
        forge.get("/v1/reports") { _, context in
            ReportListResponse(reports: try await services.reports.list(try context.owner()).map(ReportResponse.init))
        }
        forge.post("/v1/reports") { request, context in
            let owner = try context.owner()
            let body = try await JSONBody.decode(
                ReportBody.self, from: request, context: context, allowedFields: ReportBody.fields,
                nestedFields: ReportBody.nestedFields)
            let definition = body.definition
            _ = try await validated { try definition.validate() }
            if definition.schedulesRuns(comparedWith: nil) { try LicenseCheck.requireRuns(services, context) }
            if let query = definition.query {
                // A user past their writes this minute is refused before Jira is asked anything.
                _ = try await validated { try await services.reports.requireWriteAllowance(owner) }
                try await queryCheck.check(query, context: context)
            }
            let report = try await validated { try await services.reports.create(owner, definition) }
            return EditedResponse(status: .created, response: ReportResponse(report))
        }
        forge.get("/v1/reports/{id}") { _, context in
            guard let report = try await services.reports.get(try context.owner(), id: try APIRoutes.reportId(context))
            else { throw APIError.notFound }
            return ReportResponse(report)
        }
        forge.put("/v1/reports/{id}") { request, context in
            let owner = try context.owner()
            let id = try APIRoutes.reportId(context)
            let body = try await JSONBody.decode(
                ReportBody.self, from: request, context: context, allowedFields: ReportBody.fields,
                nestedFields: ReportBody.nestedFields)
            let definition = body.definition
            _ = try await validated { try definition.validate() }
            // A query the report already had is not checked again: turning off a report whose project
            // was since deleted must not be refused for it.
            guard let stored = try await services.reports.get(owner, id: id) else { throw APIError.notFound }
            if definition.schedulesRuns(comparedWith: stored.definition) {
                try LicenseCheck.requireRuns(services, context)
            }
            if let query = definition.query, query != stored.definition.query {
                _ = try await validated { try await services.reports.requireWriteAllowance(owner) }
                try await queryCheck.check(query, context: context)
            }
            guard
                let report = try await validated({ try await services.reports.update(owner, id: id, definition) })
            else { throw APIError.notFound }
            return ReportResponse(report)
        }
        forge.delete("/v1/reports/{id}") { _, context in
            let (owner, id) = (try context.owner(), try APIRoutes.reportId(context))
            guard try await validated({ try await services.reports.delete(owner, id: id) }) else {
                throw APIError.notFound
            }
            return Response(status: .noContent)
        }
    }

    /// A definition the domain refuses is 422 with the field in the message; a user past their report
    /// writes per minute gets 429 with `Retry-After`.
    private func validated<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as ReportValidationError {
            throw APIError(.unprocessableContent, error.code, error.description)
        } catch let limited as UserRateLimitExceeded {
            throw APIError(
                .tooManyRequests, .reportWritesRateLimited,
                "you created, changed or deleted \(limited.perMinute) reports in the last minute; try again in \(limited.retryAfterSeconds) s",
                retryAfterSeconds: limited.retryAfterSeconds)
        }
    }
}
