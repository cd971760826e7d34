public import Foundation

/// Writes a rendered report into OneNote (microsoft.md §2.3–§2.6, §4): creates the page on the first
/// run, then updates it in place — the header paragraph and report tables are replaced by their
/// generated ids, found through `data-id` in `GET …/content?includeIDs=true` — and recreates it when the
/// user deleted it. Every request stays under the 4 MB limit: extra report parts are separate requests.
/// A 429 (which OneNote sends without `Retry-After`) is retried with exponential backoff and jitter.
public struct OneNoteWriter: Sendable {
    public struct PageRef: Sendable, Equatable {
        public let id: String
        public let url: String?
        /// True when the page was created (first run, or the old one was gone).
        public let created: Bool
    }

    public let graphBaseURL: URL
    public let transport: any HTTPTransport
    public var maxThrottleRetries = 5
    public var throttleBase: Duration = .seconds(2)
    public var throttleCap: Duration = .seconds(300)
    /// A page just created or moved may answer 404 for a moment (eventual consistency): look twice.
    public var missingGrace: Duration = .seconds(2)
    /// The shared per-user budget every request of this writer draws from, if any.
    public var budget: (limiter: OneNoteRateLimiter, user: String)?
    private let sleep: @Sendable (Duration) async throws -> Void

    /// This writer, drawing every request from `user`'s budget shared by all workers.
    public func limited(by limiter: OneNoteRateLimiter, user: String) -> OneNoteWriter {
        var copy = self
        copy.budget = (limiter, user)
        return copy
    }

    public init(graphBaseURL: URL, transport: any HTTPTransport, sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }) {
        self.graphBaseURL = graphBaseURL
        self.transport = transport
        self.sleep = sleep
    }

    public func write(_ output: ReportRenderer.Output, sectionId: String, existingPageId: String?, accessToken: Secret) async throws -> PageRef {
        if let pageId = existingPageId, let html = try await currentContent(pageId, accessToken: accessToken) {
            do {
                try await update(pageId, html: html, output: output, accessToken: accessToken)
            } catch let error as UpstreamError where error.code == "onenote_target_missing" {
                // Ids shift after every update: read again and retry once (§2.5 recipe, step 5).
                guard let fresh = try await currentContent(pageId, accessToken: accessToken) else {
                    return try await create(output, sectionId: sectionId, accessToken: accessToken)
                }
                try await update(pageId, html: fresh, output: output, accessToken: accessToken)
            }
            return PageRef(id: pageId, url: nil, created: false)
        }
        return try await create(output, sectionId: sectionId, accessToken: accessToken)
    }

    // MARK: Create

    private func create(_ output: ReportRenderer.Output, sectionId: String, accessToken: Secret) async throws -> PageRef {
        let url = graphBaseURL.appendingPathComponent("v1.0/me/onenote/sections").appendingPathComponent(sectionId).appendingPathComponent("pages")
        let response = try await send(OutboundRequest(
            method: "POST", url: url, headers: ["Content-Type": "text/html; charset=utf-8"], body: Data(output.page.utf8), timeout: .seconds(60)),
            accessToken: accessToken)
        switch response.status {
        case 200...299:
            struct Page: Decodable {
                struct Links: Decodable { struct Link: Decodable { let href: String? }; let oneNoteWebUrl: Link? }
                let id: String?
                let links: Links?
            }
            // §3.7 (COMMUNITY): a 2xx without a page id is a failure.
            guard let page = try? JSONDecoder().decode(Page.self, from: response.body), let id = page.id else {
                throw UpstreamError(kind: .transient, code: "onenote_no_page", message: "OneNote accepted the page but returned no page id", status: response.status)
            }
            for table in output.appendedTables {
                try await patch(id, [["target": "body", "action": "append", "content": table]], accessToken: accessToken)
            }
            return PageRef(id: id, url: page.links?.oneNoteWebUrl?.href, created: true)
        case 404:
            throw UpstreamError(kind: .rejected, code: "section_not_found", message: "the OneNote section no longer exists; choose another section for this report", status: 404)
        case 507:
            throw UpstreamError(kind: .rejected, code: "section_full", message: "the OneNote section has reached its page limit; choose another section", status: 507)
        default:
            throw Self.failure(response)
        }
    }

    // MARK: Update in place

    private func currentContent(_ pageId: String, accessToken: Secret) async throws -> String? {
        let url = graphBaseURL.appendingPathComponent("v1.0/me/onenote/pages").appendingPathComponent(pageId).appendingPathComponent("content")
        var components = URLComponents(url: url, resolvingAgainstBaseURL: false)!
        components.percentEncodedQuery = "includeIDs=true"
        for look in 0..<2 {
            let response = try await send(OutboundRequest(url: components.url!, timeout: .seconds(30)), accessToken: accessToken)
            if response.status == 200 { return String(decoding: response.body, as: UTF8.self) }
            guard response.status == 404 else { throw Self.failure(response) }
            if look == 0 { try await sleep(missingGrace) }
        }
        return nil  // gone: the caller creates a new page
    }

    private func update(_ pageId: String, html: String, output: ReportRenderer.Output, accessToken: Secret) async throws {
        let ids = Self.generatedIds(byDataId: html)
        var first: [[String: String]] = [["target": "title", "action": "replace", "content": output.title]]
        if let header = ids[ReportRenderer.headerDataId] {
            first.append(["target": header, "action": "replace", "content": output.header])
        } else {
            first.append(["target": "body", "action": "append", "content": output.header])
        }
        if let table = ids[ReportRenderer.tableDataId] {
            first.append(["target": table, "action": "replace", "content": output.firstTable])
        } else {
            first.append(["target": "body", "action": "append", "content": output.firstTable])
        }
        // Parts of an earlier, larger report that this run does not fill are emptied.
        let newParts = output.appendedTables.count
        for (dataId, id) in ids where dataId.hasPrefix("\(ReportRenderer.tableDataId)-") {
            if let index = Int(dataId.dropFirst(ReportRenderer.tableDataId.count + 1)), index - 2 >= newParts {
                first.append(["target": id, "action": "replace", "content": "<p data-id=\"\(dataId)\"></p>"])
            }
        }
        try await patch(pageId, first, accessToken: accessToken)
        for (offset, table) in output.appendedTables.enumerated() {
            let dataId = "\(ReportRenderer.tableDataId)-\(offset + 2)"
            if ids[dataId] != nil {
                // The id read before the first PATCH is stale now; find the part again.
                guard let fresh = try await currentContent(pageId, accessToken: accessToken), let current = Self.generatedIds(byDataId: fresh)[dataId] else { continue }
                try await patch(pageId, [["target": current, "action": "replace", "content": table]], accessToken: accessToken)
            } else {
                try await patch(pageId, [["target": "body", "action": "append", "content": table]], accessToken: accessToken)
            }
        }
    }

    private func patch(_ pageId: String, _ commands: [[String: String]], accessToken: Secret) async throws {
        let url = graphBaseURL.appendingPathComponent("v1.0/me/onenote/pages").appendingPathComponent(pageId).appendingPathComponent("content")
        let response = try await send(OutboundRequest(
            method: "PATCH", url: url, headers: ["Content-Type": "application/json"],
            body: Data(JSONText.serialize(commands, escapeAngleBrackets: false).utf8), timeout: .seconds(60)), accessToken: accessToken)
        guard (200...299).contains(response.status) else {
            let code = Self.errorCode(response.body)
            if code == "20120" || code == "20149" {
                throw UpstreamError(kind: .transient, code: "onenote_target_missing", message: "the report table moved while it was being updated", status: response.status)
            }
            throw Self.failure(response)
        }
    }

    /// `data-id` → generated `id` of the elements of an `includeIDs=true` page (attributes in any order).
    static func generatedIds(byDataId html: String) -> [String: String] {
        var ids: [String: String] = [:]
        let tag = /<[a-zA-Z0-9]+\s[^>]*>/
        for match in html.matches(of: tag) {
            let text = String(match.output)
            guard let dataId = text.firstMatch(of: /\sdata-id="([^"]*)"/)?.1, let id = text.firstMatch(of: /\sid="([^"]*)"/)?.1 else { continue }
            ids[String(dataId)] = String(id)
        }
        return ids
    }

    // MARK: Sending, throttling, errors

    private func send(_ request: OutboundRequest, accessToken: Secret) async throws -> OutboundResponse {
        var request = request
        request.headers["Authorization"] = "Bearer \(accessToken.revealed)"
        request.headers["Accept"] = request.headers["Accept"] ?? "application/json"
        var delay = throttleBase
        for attempt in 0...maxThrottleRetries {
            let response: OutboundResponse
            do {
                let request = request
                if let budget {
                    response = try await budget.limiter.withSlot(user: budget.user) { try await transport.send(request) }
                } else {
                    response = try await transport.send(request)
                }
            } catch let error as HTTPTransportError {
                throw UpstreamError(kind: .transient, code: "onenote_unreachable", message: error.message)
            }
            guard response.status == 429 else { return response }
            guard attempt < maxThrottleRetries else {
                throw UpstreamError(kind: .transient, code: "onenote_throttled", message: "OneNote is throttling this user (\(Self.errorCode(response.body) ?? "429"))",
                                    status: 429, retryAfter: delay)
            }
            // §4.2: no Retry-After on OneNote's 429; back off exponentially with jitter.
            try await sleep(delay * Double.random(in: 0.8...1.2))
            delay = min(delay * 2, throttleCap)
        }
        throw UpstreamError(kind: .transient, code: "onenote_throttled", message: "OneNote is throttling this user")
    }

    static func errorCode(_ body: Data) -> String? {
        struct Body: Decodable { struct Inner: Decodable { let code: String? }; let error: Inner? }
        return (try? JSONDecoder().decode(Body.self, from: body))?.error?.code
    }

    static func failure(_ response: OutboundResponse) -> UpstreamError {
        let code = errorCode(response.body) ?? "HTTP \(response.status)"
        switch response.status {
        case 401: return UpstreamError(kind: .reconnectRequired, code: "reconnect_required", message: "Microsoft refused the access token (\(code))", status: 401)
        case 403: return UpstreamError(kind: .rejected, code: "onenote_forbidden", message: "OneNote refused access to the section (\(code))", status: 403)
        case 413: return UpstreamError(kind: .rejected, code: "onenote_too_large", message: "the page request was too large for OneNote", status: 413)
        case 500...: return UpstreamError(kind: .transient, code: "onenote_unavailable", message: "OneNote is unavailable (\(code))", status: response.status)
        default: return UpstreamError(kind: .rejected, code: "onenote_rejected", message: "OneNote refused the request (\(code))", status: response.status)
        }
    }
}
