import Foundation
import HTTPTypes
import Hummingbird
import ReportsSupport
import Synchronization

/// Fault injection: the next N requests whose path matches a pattern answer a status, and/or take
/// longer. A 429 on Jira carries `Retry-After` and the rate-limit headers of docs/atlassian-apis.md §6; a 429 on
/// OneNote carries code 20166 and no `Retry-After` (docs/microsoft-apis.md §4.2).
final class FaultPlan: Sendable {
    struct Fault: Sendable {
        let pattern: String
        let status: Int?
        var remaining: Int?
        let latencyMs: Int
        let retryAfter: Int
        /// Hold the response this long *after* the request was handled: the upstream did the work
        /// (a page exists) but the caller has not heard yet — the window in which a killed worker
        /// loses a create's answer.
        var holdResponseMs: Int = 0
        /// Only requests with this method (any when nil): a create and a listing share a path.
        var method: String? = nil
    }

    private let faults = Mutex<[Fault]>([])

    func add(_ fault: Fault) { faults.withLock { $0.append(fault) } }
    func clear() { faults.withLock { $0.removeAll() } }

    /// The fault that applies to `path`, consuming one of its uses.
    func take(_ path: String, method: String) -> Fault? {
        faults.withLock { faults in
            guard
                let index = faults.firstIndex(where: {
                    Self.matches($0.pattern, path) && ($0.remaining ?? 1) > 0
                        && ($0.method.map { $0.uppercased() == method } ?? true)
                })
            else { return nil }
            let fault = faults[index]
            if let remaining = fault.remaining { faults[index].remaining = remaining - 1 }
            return fault
        }
    }

    /// `*` matches any run of characters; otherwise the pattern is a prefix.
    static func matches(_ pattern: String, _ path: String) -> Bool {
        guard pattern.contains("*") else { return path.hasPrefix(pattern) }
        let regex =
            "^"
            + pattern.split(separator: "*", omittingEmptySubsequences: false).map {
                NSRegularExpression.escapedPattern(for: String($0))
            }.joined(separator: ".*")
        return path.range(of: regex, options: .regularExpression) != nil
    }
}

struct FaultMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    let plan: FaultPlan

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let path = request.uri.path
        guard !path.hasPrefix("/sandbox/"), let fault = plan.take(path, method: request.method.rawValue) else {
            return try await next(request, context)
        }
        if fault.latencyMs > 0 { try await Task.sleep(for: .milliseconds(fault.latencyMs)) }
        guard let status = fault.status else {
            let response = try await next(request, context)
            if fault.holdResponseMs > 0 { try await Task.sleep(for: .milliseconds(fault.holdResponseMs)) }
            return response
        }
        if path.contains("/onenote/") {
            if status == 429 {
                return OneNoteRoutes.error(
                    .tooManyRequests, "20166",
                    "The app has issued too many requests on behalf of this user in a short time period.")
            }
            // A token Graph refuses for a moment (docs/microsoft-tokens.md, 40001): the client refreshes once and retries.
            if status == 401 {
                return OneNoteRoutes.error(
                    .unauthorized, "40001", "The request does not contain a valid authentication token.")
            }
            return OneNoteRoutes.error(
                .init(code: status), status == 503 ? "10002" : "10001",
                "The service is currently unavailable. Please try again later.")
        }
        if path.hasPrefix("/ex/jira/") {
            var headers: HTTPFields = [:]
            if status == 429 || status == 503 {
                headers[.retryAfter] = String(fault.retryAfter)
                let reset = Date().addingTimeInterval(TimeInterval(fault.retryAfter))
                headers[HTTPField.Name("X-RateLimit-Reset")!] =
                    String(Timestamp.iso8601(milliseconds: Timestamp.milliseconds(reset)).prefix(16)) + "Z"
                headers[HTTPField.Name("X-RateLimit-Limit")!] = "100"
                headers[HTTPField.Name("X-RateLimit-Remaining")!] = "0"
                headers[HTTPField.Name("RateLimit-Reason")!] = "jira-burst-based"
            }
            let message = status == 429 || status == 503 ? "Rate limit exceeded." : "Injected fault: HTTP \(status)."
            return SandboxHTTP.json(
                .init(code: status), ["errorMessages": [message], "errors": [String: Any]()], headers: headers)
        }
        return SandboxHTTP.json(.init(code: status), ["error": "injected fault"])
    }
}

enum ControlRoutes {
    static func add(
        to router: Router<BasicRequestContext>, state: SandboxState, store: OneNoteStore, plan: FaultPlan,
        throttle: OneNoteThrottle
    ) {
        router.post("/sandbox/faults") { request, _ in
            guard let body = try await SandboxHTTP.jsonObject(request), let pattern = body["route"] as? String,
                !pattern.isEmpty
            else {
                return SandboxHTTP.json(
                    .badRequest,
                    [
                        "error":
                            "send {\"route\": \"/v1.0/me/onenote/*\", \"status\": 503, \"count\": 3, \"latencyMs\": 0, \"holdResponseMs\": 0}"
                    ])
            }
            plan.add(
                .init(
                    pattern: pattern, status: body["status"] as? Int, remaining: body["count"] as? Int,
                    latencyMs: body["latencyMs"] as? Int ?? 0, retryAfter: body["retryAfter"] as? Int ?? 5,
                    holdResponseMs: body["holdResponseMs"] as? Int ?? 0, method: body["method"] as? String))
            return SandboxHTTP.json(.ok, ["added": true])
        }
        // The licence state the next tokens carry: {"state": "active" | "inactive" | "none"}.
        router.post("/sandbox/license") { request, _ in
            switch (try? await SandboxHTTP.jsonObject(request))??["state"] as? String {
            case "active": state.license = true
            case "inactive": state.license = false
            case "none": state.license = nil
            default:
                return SandboxHTTP.json(
                    .badRequest, ["error": "send {\"state\": \"active\" | \"inactive\" | \"none\"}"])
            }
            return SandboxHTTP.json(.ok, ["license": state.license.map { $0 ? "active" : "inactive" } ?? "none"])
        }
        // Grants or revokes "Administer Jira": {"accountId": "sandbox-user-1", "admin": true}.
        router.post("/sandbox/site-admins") { request, _ in
            let body = (try? await SandboxHTTP.jsonObject(request)) ?? nil
            guard let accountId = body?["accountId"] as? String, state.seed.account(accountId) != nil,
                let admin = body?["admin"] as? Bool
            else {
                return SandboxHTTP.json(
                    .badRequest, ["error": "send {\"accountId\": \"sandbox-user-1\", \"admin\": true}"])
            }
            state.setSiteAdmin(accountId, admin)
            return SandboxHTTP.json(.ok, ["accountId": accountId, "admin": admin])
        }
        router.delete("/sandbox/faults") { _, _ in
            plan.clear()
            return SandboxHTTP.json(.ok, ["cleared": true])
        }
        // What a user would see in OneNote (fixed interface: [{"id","title","sectionId","html"}]).
        router.get("/sandbox/pages") { _, _ in
            SandboxHTTP.json(
                .ok,
                store.all.map {
                    [
                        "id": $0.id, "title": $0.title, "sectionId": $0.sectionId,
                        "html": OneNoteStore.outputHTML($0, includeIDs: false),
                    ]
                })
        }
        // The page link (`oneNoteWebUrl`): a browser gets the page as a person sees it, a script JSON.
        router.get("/sandbox/pages/{id}") { request, context in
            guard let page = store.page(context.parameters.get("id") ?? "") else {
                return SandboxHTTP.json(.notFound, ["error": "no such page"])
            }
            if SandboxPageView.wantsHTML(request) { return SandboxPageView.response(page, in: store) }
            return SandboxHTTP.json(
                .ok,
                [
                    "id": page.id, "title": page.title, "sectionId": page.sectionId,
                    "html": OneNoteStore.outputHTML(page, includeIDs: false),
                ])
        }
        // A person types into the page in OneNote: {"row": "OPS-2", "column": "Notes", "text": "…"}.
        router.post("/sandbox/pages/{id}/cells") { request, context in
            let body = try await SandboxHTTP.jsonObject(request) ?? [:]
            guard let row = body["row"] as? String, let column = body["column"] as? String,
                let text = body["text"] as? String
            else {
                return SandboxHTTP.json(
                    .badRequest, ["error": "send {\"row\": \"OPS-2\", \"column\": \"Notes\", \"text\": \"…\"}"])
            }
            guard
                store.typeIntoCell(pageId: context.parameters.get("id") ?? "", rowKey: row, column: column, text: text)
            else {
                return SandboxHTTP.json(.notFound, ["error": "no such page, row or column"])
            }
            return SandboxHTTP.json(.ok, ["typed": true])
        }
        router.get("/sandbox/counters") { _, _ in SandboxHTTP.json(.ok, state.counters) }
        // Per Microsoft user: OneNote requests admitted in the last hour, 429s, longest run of 429s.
        router.get("/sandbox/onenote-usage") { _, _ in SandboxHTTP.json(.ok, ["users": throttle.report]) }
        // Change an issue between runs: {"summary": "…", "status": "Done"}.
        router.post("/sandbox/issues/{key}") { request, context in
            let body = try await SandboxHTTP.jsonObject(request) ?? [:]
            guard
                state.editIssue(
                    key: context.parameters.get("key") ?? "", summary: body["summary"] as? String,
                    status: body["status"] as? String)
            else {
                return SandboxHTTP.json(.notFound, ["error": "no such issue or status"])
            }
            return SandboxHTTP.json(.ok, ["changed": true])
        }
    }
}
