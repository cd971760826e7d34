import Foundation
import HTTPTypes
import Hummingbird
import Synchronization

/// Atlassian's personal data reporting API as the product calls it (docs/upstream-notes.md, "Personal
/// data reporting"): the site's system token, `{"accounts": [{"accountId", "updatedAt"}]}` with 1 to 90
/// accounts, answered 204 when none needs anything done, else 200 with the `closed` and `updated` ones,
/// and a `Cycle-Period` header. As awkward as documented: more than 90 accounts, a missing field or an
/// unparseable time is a 400, a wrong token a 401; 429s without Retry-After come from `/sandbox/faults`.
/// Closing an account is a control (`POST /sandbox/accounts/{accountId}/close`).
final class PersonalDataLedger: Sendable {
    private struct State {
        var closed: Set<String> = []
        var updated: Set<String> = []
        var reported: [String: Int] = [:]
        var calls = 0
    }

    private let state = Mutex(State())
    /// The `Cycle-Period` header's value (`--privacy-cycle-period`).
    let cyclePeriod: String

    init(cyclePeriod: String = "604800") {
        self.cyclePeriod = cyclePeriod
    }

    func add(to router: Router<BasicRequestContext>, state sandbox: SandboxState) {
        // Hummingbird matches the path with and without its trailing slash.
        router.post("/app/report-accounts") { [self] request, _ in try await report(request, sandbox) }
        router.post("/sandbox/accounts/{accountId}/close") { [self] _, context in
            let accountId = try context.parameters.require("accountId")
            state.withLock { _ = $0.closed.insert(accountId) }
            return SandboxHTTP.json(.ok, ["closed": accountId])
        }
        router.post("/sandbox/accounts/{accountId}/update") { [self] _, context in
            let accountId = try context.parameters.require("accountId")
            state.withLock { _ = $0.updated.insert(accountId) }
            return SandboxHTTP.json(.ok, ["updated": accountId])
        }
        router.get("/sandbox/personal-data") { [self] _, _ in
            let snapshot = state.withLock { $0 }
            return SandboxHTTP.json(
                .ok,
                ["calls": snapshot.calls, "reported": snapshot.reported, "closed": snapshot.closed.sorted()])
        }
    }

    static func isISO8601(_ text: String) -> Bool {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if formatter.date(from: text) != nil { return true }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text) != nil
    }

    private func report(_ request: Request, _ sandbox: SandboxState) async throws -> Response {
        sandbox.count("report-accounts")
        guard sandbox.verifyToken(request.headers[.authorization], kinds: [.system]) != nil else {
            return SandboxHTTP.json(.unauthorized, ["message": "Unauthorized"])
        }
        guard let body = try? await SandboxHTTP.jsonObject(request), let accounts = body["accounts"] as? [Any],
            (1...90).contains(accounts.count)
        else {
            return SandboxHTTP.json(.badRequest, ["message": "accounts must be a list of 1 to 90 accounts"])
        }
        var ids: [String] = []
        for case let account in accounts {
            guard let account = account as? [String: Any], let id = account["accountId"] as? String, !id.isEmpty,
                let updatedAt = account["updatedAt"] as? String, Self.isISO8601(updatedAt)
            else {
                return SandboxHTTP.json(
                    .badRequest, ["message": "each account needs an accountId and an ISO 8601 updatedAt"])
            }
            ids.append(id)
        }
        let answer = state.withLock { state -> [[String: String]] in
            state.calls += 1
            for id in ids { state.reported[id, default: 0] += 1 }
            return ids.compactMap { id in
                if state.closed.contains(id) { return ["accountId": id, "status": "closed"] }
                if state.updated.contains(id) { return ["accountId": id, "status": "updated"] }
                return nil
            }
        }
        let headers: HTTPFields = [HTTPField.Name("Cycle-Period")!: cyclePeriod]
        if answer.isEmpty { return Response(status: .noContent, headers: headers) }
        return SandboxHTTP.json(.ok, ["accounts": answer], headers: headers)
    }
}
