import Foundation
import GRDB
package import Hummingbird
import HTTPTypes
import Logging
import Reports
import ReportsSQLite
import Security
import Upstream
import ReportsSupport
import SQLiteStorage
import JobQueueSQLite

/// The routes (paths fixed by issue #4; bodies documented in docs/openapi.yaml).
package enum APIRoutes {
    package static func router(_ services: APIServices) -> Router<APIRequestContext> {
        let router = Router(context: APIRequestContext.self)
        // The request log is outermost, so it sees every response, those made from thrown errors
        // included (a 401 or 404 probe gets its id, log line and metric like any other; issue #14).
        router.add(middleware: RequestLogMiddleware(metrics: services.metrics))
        router.add(middleware: ErrorMiddleware(metrics: services.metrics, storageLog: services.storageLog))

        // No FIT: health, metrics (nginx does not expose it), and the browser's steps of the connect flow
        // (ConnectFlowRoutes: a one-time start token, then the signed state and the browser's cookie).
        router.get("/healthz") { _, _ in try await health(services) }
        router.get("/metrics") { _, _ in
            if let stats = try? await services.queue.stats() { services.metrics.queue(stats) }
            if let lateness = try? await ScheduleLateness.measure(services.database) { services.metrics.lateness(lateness) }
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(string: services.metrics.exposition())))
        }

        let forge = router.group().add(middleware: FITMiddleware(verifier: services.verifier, installations: services.installations, metrics: services.metrics, storageLog: services.storageLog))
        forge.post("/forge/lifecycle") { _, _ in APIError.jsonResponse(status: .ok, body: [String: Any]()) }
        forge.post("/forge/trigger") { _, _ in APIError.jsonResponse(status: .ok, body: [String: Any]()) }

        forge.get("/v1/me") { _, context in
            let owner = try context.owner()
            let connection = try await services.connections.connection(owner)
            var microsoft: [String: Any] = ["status": "not_connected"]
            if let connection {
                microsoft = ["status": connection.status.rawValue, "displayName": connection.displayName, "connectedAt": connection.connectedAt.formatted(.iso8601)]
            }
            return APIError.jsonResponse(status: .ok, body: ["accountId": owner.accountId, "installationId": owner.installationId, "microsoft": microsoft])
        }
        ConnectFlowRoutes.add(to: router, forge: forge, services: services)
        forge.delete("/v1/microsoft/connection") { _, context in
            _ = try await services.connections.delete(try context.owner())
            return Response(status: .noContent)
        }
        forge.get("/v1/onenote/sections") { _, context in try await sections(context, services) }
        forge.get("/v1/jira/filters") { request, context in try await filters(request, context, services) }

        forge.get("/v1/reports") { _, context in
            let reports = try await services.reports.list(try context.owner())
            return APIError.jsonResponse(status: .ok, body: ["reports": reports.map(JSONView.report)])
        }
        forge.post("/v1/reports") { request, context in
            let owner = try context.owner()
            let body = try await JSONBody.decode(ReportBody.self, from: request, context: context, allowedFields: ReportBody.fields)
            let report = try await validated { try await services.reports.create(owner, body.definition) }
            return APIError.jsonResponse(status: .created, body: JSONView.report(report))
        }
        forge.get("/v1/reports/{id}") { _, context in
            guard let report = try await services.reports.get(try context.owner(), id: try reportId(context)) else { throw APIError.notFound }
            return APIError.jsonResponse(status: .ok, body: JSONView.report(report))
        }
        forge.put("/v1/reports/{id}") { request, context in
            let owner = try context.owner()
            let id = try reportId(context)
            let body = try await JSONBody.decode(ReportBody.self, from: request, context: context, allowedFields: ReportBody.fields)
            guard let report = try await validated({ try await services.reports.update(owner, id: id, body.definition) }) else { throw APIError.notFound }
            return APIError.jsonResponse(status: .ok, body: JSONView.report(report))
        }
        forge.delete("/v1/reports/{id}") { _, context in
            guard try await services.reports.delete(try context.owner(), id: try reportId(context)) else { throw APIError.notFound }
            return Response(status: .noContent)
        }
        forge.post("/v1/reports/{id}/runs") { _, context in
            let result = try await services.runs.requestRun(try context.owner(), reportId: try reportId(context), userToken: context.forwardedUserToken)
            switch result {
            case .reportNotFound:
                throw APIError.notFound
            case .rateLimited(let wait):
                let seconds = Int((Double(wait.wholeMilliseconds) / 1000).rounded(.up))
                throw APIError(.tooManyRequests, "run_now_rate_limited",
                               "you started \(services.runs.runNowPerMinute) runs in the last minute; try again in \(seconds) s", retryAfterSeconds: seconds)
            case .queued(let run):
                services.metrics.enqueued(trigger: "manual")
                return APIError.jsonResponse(status: .accepted, body: JSONView.run(run).merging(["created": true, "disposition": "queued"]) { $1 })
            case .followUp(let run, let running):
                services.metrics.enqueued(trigger: "manual")
                return APIError.jsonResponse(status: .accepted, body: JSONView.run(run).merging(
                    ["created": true, "disposition": "follow_up", "runningRunId": running.id]) { $1 })
            case .joined(let run):
                return APIError.jsonResponse(status: .accepted, body: JSONView.run(run).merging(["created": false, "disposition": "joined"]) { $1 })
            }
        }
        forge.get("/v1/reports/{id}/runs") { request, context in
            let limitText = request.uri.queryParameters.get("limit") ?? "20"
            guard let limit = Int(limitText), (1...100).contains(limit) else {
                throw APIError.badRequest("invalid_parameter", "limit must be a number from 1 to 100")
            }
            guard let runs = try await services.runs.runs(try context.owner(), reportId: try reportId(context), limit: limit) else { throw APIError.notFound }
            return APIError.jsonResponse(status: .ok, body: ["runs": runs.map(JSONView.run)])
        }
        forge.get("/v1/runs/{id}") { _, context in
            guard let id = context.parameters.get("id"), id.unicodeScalars.count <= 64, let run = try await services.runs.run(try context.owner(), id: id) else { throw APIError.notFound }
            return APIError.jsonResponse(status: .ok, body: JSONView.run(run))
        }
        return router
    }

    /// Report ids are UUIDs; anything else cannot exist, and is answered like a missing report.
    static func reportId(_ context: APIRequestContext) throws -> String {
        guard let id = context.parameters.get("id"), id.count == 36, UUID(uuidString: id) != nil else { throw APIError.notFound }
        return id.lowercased()
    }

    static func validated<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as ReportValidationError {
            throw APIError(.unprocessableContent, error.code, error.description)
        }
    }

    static func health(_ services: APIServices) async throws -> Response {
        do {
            _ = try await services.database.pool.read { try Int.fetchOne($0, sql: "SELECT 1") }
            return APIError.jsonResponse(status: .ok, body: ["status": "ok"])
        } catch {
            return APIError.jsonResponse(status: .serviceUnavailable, body: ["error": ["code": "database_unavailable", "message": "the database cannot be read"]])
        }
    }

    static func upstream(_ error: UpstreamError) -> APIError {
        switch error.kind {
        case .reconnectRequired: APIError(.conflict, error.code, error.message)
        // The user's OneNote budget (shared with the workers) is spent for now: ours, not an upstream fault.
        case .transient where error.code.hasPrefix("onenote_budget_"):
            APIError(.serviceUnavailable, error.code, error.message,
                     retryAfterSeconds: error.retryAfter.map { Int((Double($0.wholeMilliseconds) / 1000).rounded(.up)) })
        case .appMisconfigured, .transient: APIError(.badGateway, error.code, error.message)
        case .rejected: APIError(.badGateway, error.code, error.message)
        }
    }

    static func sections(_ context: APIRequestContext, _ services: APIServices) async throws -> Response {
        let owner = try context.owner()
        // The same words as /v1/me: not connected at all, or connected but to be renewed.
        switch try await services.connections.connection(owner)?.status {
        case nil: throw APIError(.conflict, "microsoft_not_connected", "connect a Microsoft account first")
        case .reconnectRequired: throw APIError(.conflict, "reconnect_required", "connect your Microsoft account again in the app")
        case .active: break
        }
        func list(_ token: Secret) async throws -> [GraphClient.Section] {
            let me = try await services.graph.me(accessToken: token)
            return try await services.graph.sections(accessToken: token, budget: (services.onenoteBudget, me.id))
        }
        do {
            // The token comes from the broker the workers use: refreshed once for everyone, shared while valid.
            let token = try await services.tokens.accessToken(owner, logger: context.logger)
            let sections: [GraphClient.Section]
            do {
                sections = try await list(token)
            } catch let error as UpstreamError where error.kind == .reconnectRequired {
                // One 401 is not a lost connection: a fresh token, once (issue #12).
                sections = try await list(try await services.tokens.accessToken(owner, rejected: token, logger: context.logger))
            }
            return APIError.jsonResponse(status: .ok, body: ["sections": sections.map {
                ["id": $0.id, "name": $0.name, "notebookId": $0.notebookId ?? NSNull(), "notebookName": $0.notebookName ?? NSNull()] as [String: Any]
            }])
        } catch let error as UpstreamError {
            if error.kind == .reconnectRequired { try? await services.connections.markReconnectRequired(owner) }
            throw upstream(error)
        }
    }

    static func filters(_ request: Request, _ context: APIRequestContext, _ services: APIServices) async throws -> Response {
        _ = try context.owner()
        guard let identity = context.identity, let token = context.forwardedUserToken, !token.isEmpty else {
            throw APIError(.badRequest, "user_token_required", "Forge did not forward a user token (x-forge-oauth-user)")
        }
        let query = request.uri.queryParameters.get("query")
        guard (query?.unicodeScalars.count ?? 0) <= 200 else { throw APIError.badRequest("invalid_parameter", "query must be at most 200 characters") }
        do {
            let found = try await services.jira.filters(apiBaseUrl: identity.apiBaseUrl, userToken: token, query: query)
            return APIError.jsonResponse(status: .ok, body: [
                "filters": found.filters.map { ["id": $0.id, "name": $0.name, "jql": $0.jql ?? NSNull()] as [String: Any] },
                "truncated": found.truncated,
            ])
        } catch let error as UpstreamError where error.code == "jira_forbidden" {
            // Jira refused the token Forge forwarded for this user: the caller's credential, not an outage.
            throw APIError(.forbidden, error.code, error.message)
        } catch let error as UpstreamError {
            throw upstream(error)
        }
    }
}
