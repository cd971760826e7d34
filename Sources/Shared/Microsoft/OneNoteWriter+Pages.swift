import Foundation
import Rendering
import Reports
import ReportsSupport
import Transport
import Upstream

// Reading, patching and finding pages (docs/page-identity.md), for `OneNoteWriter`.
extension OneNoteWriter {
    // MARK: Update in place

    /// The page's output HTML with generated ids, or nil when it is gone. A 404 while the page is
    /// settling (created less than the consistency window ago) is retried with backoff.
    func currentContent(_ pageId: String, settlingUntil: Date?, _ writing: Writing) async throws -> String? {
        let url = graphBaseURL.appendingPathComponent("v1.0/me/onenote/pages").appendingPathComponent(pageId)
            .appendingPathComponent("content")
        var components = URLComponents(url: url, resolvingAgainstBaseURL: false)!
        components.percentEncodedQuery = "includeIDs=true"
        var look = 0
        var pause = consistencyBackoff
        while true {
            let response = try await send(OutboundRequest(url: components.url!, timeout: .seconds(30)), writing)
            if response.status == 200 { return String(decoding: response.body, as: UTF8.self) }
            guard response.status == 404 else { throw Self.failure(response) }
            look += 1
            if let settlingUntil, now() < settlingUntil {
                try await sleep(pause)
                pause = min(pause * 2, consistencyBackoffCap)
            } else if look == 1 {
                try await sleep(missingGrace)
            } else {
                return nil  // gone: the caller creates a new page
            }
        }
    }

    func update(
        _ pageId: String, html: String, output: OneNotePageRenderer.Output, settlingUntil: Date?, _ writing: Writing
    )
        async throws
    {
        let ids = Self.generatedIds(byDataId: html)
        var first: [[String: String]] = [["target": "title", "action": "replace", "content": output.title]]
        if let header = ids[OneNotePageRenderer.headerDataId] {
            first.append(["target": header, "action": "replace", "content": output.header])
        } else {
            first.append(["target": "body", "action": "append", "content": output.header])
        }
        if let table = ids[OneNotePageRenderer.tableDataId] {
            first.append(["target": table, "action": "replace", "content": output.firstPart])
        } else {
            first.append(["target": "body", "action": "append", "content": output.firstPart])
        }
        // Parts of an earlier, larger report that this run does not fill are emptied.
        let newParts = output.appendedParts.count
        for (dataId, id) in ids where dataId.hasPrefix("\(OneNotePageRenderer.tableDataId)-") {
            if let index = Int(dataId.dropFirst(OneNotePageRenderer.tableDataId.count + 1)), index - 2 >= newParts {
                first.append(["target": id, "action": "replace", "content": "<p data-id=\"\(dataId)\"></p>"])
            }
        }
        try await patch(pageId, first, settlingUntil: settlingUntil, writing)
        for (offset, table) in output.appendedParts.enumerated() {
            let dataId = "\(OneNotePageRenderer.tableDataId)-\(offset + 2)"
            if ids[dataId] != nil {
                // The id read before the first PATCH is stale now; find the part again.
                guard let fresh = try await currentContent(pageId, settlingUntil: settlingUntil, writing),
                    let current = Self.generatedIds(byDataId: fresh)[dataId]
                else { continue }
                try await patch(
                    pageId, [["target": current, "action": "replace", "content": table]], settlingUntil: settlingUntil,
                    writing)
            } else {
                try await patch(
                    pageId, [["target": "body", "action": "append", "content": table]], settlingUntil: settlingUntil,
                    writing)
            }
        }
    }

    /// One PATCH, after the lease check; a 404 while the page is settling is retried with backoff.
    func patch(_ pageId: String, _ commands: [[String: String]], settlingUntil: Date?, _ writing: Writing) async throws
    {
        let url = graphBaseURL.appendingPathComponent("v1.0/me/onenote/pages").appendingPathComponent(pageId)
            .appendingPathComponent("content")
        let body = Data(JSONText.serialize(commands, escapeAngleBrackets: false).utf8)
        var pause = consistencyBackoff
        while true {
            try await writing.hooks.beforeWrite()
            let response = try await send(
                OutboundRequest(
                    method: "PATCH", url: url, headers: ["Content-Type": "application/json"], body: body,
                    timeout: .seconds(60)), writing)
            if (200...299).contains(response.status) { return }
            let code = Self.errorCode(response.body)
            if response.status == 404, let settlingUntil, now() < settlingUntil {
                try await sleep(pause)
                pause = min(pause * 2, consistencyBackoffCap)
                continue
            }
            if code == "20120" || code == "20149" {
                throw UpstreamError(
                    kind: .transient, code: "onenote_target_missing",
                    message: "the report table moved while it was being updated", status: response.status)
            }
            if response.status == 404 {
                throw UpstreamError(
                    kind: .transient, code: "onenote_page_vanished",
                    message: "the report page disappeared while it was being updated", status: 404)
            }
            throw Self.failure(response)
        }
    }

    /// `data-id` → generated `id` of the elements of an `includeIDs=true` page.
    static func generatedIds(byDataId html: String) -> [String: String] { PageMarkup.elementIds(byDataId: html) }

    // MARK: A create whose answer was lost (docs/page-identity.md)

    /// Looks for the pages this report created since `since` by their marker; keeps the oldest (told to
    /// `pageKnown` at once), deletes the others, and returns it. Returns nil when none exists and the
    /// create is old enough for OneNote to list it; throws an `UpstreamError` of kind `notYet` while it may still appear.
    func recoverUnconfirmedCreate(sectionId: String, reportId: String, since: Date, _ writing: Writing) async throws
        -> WrittenPage?
    {
        let listing = try await recentPages(
            sectionId: sectionId, since: since.addingTimeInterval(-Self.createdClockMargin), writing)
        let marker = OneNotePageRenderer.markerDataId(reportId: reportId)
        var marked: [(page: ListedPage, order: Int)] = []
        var unreadable = false
        for (order, page) in listing.prefix(maxMarkerCandidates).enumerated() {
            let url = graphBaseURL.appendingPathComponent("v1.0/me/onenote/pages").appendingPathComponent(page.id)
                .appendingPathComponent("content")
            let response = try await send(OutboundRequest(url: url, timeout: .seconds(30)), writing)
            if response.status == 404 {
                unreadable = true
                continue
            }  // listed but not readable yet (eventual consistency)
            guard response.status == 200 else { throw Self.failure(response) }
            // The marker counts only as an element's `data-id`, never as text a Jira field put there.
            if PageMarkup.hasElement(dataId: marker, in: String(decoding: response.body, as: UTF8.self)) {
                marked.append((page, order))
            }
        }
        // The oldest is kept: it is the one a lost answer most likely belonged to; ties go by listing order.
        marked.sort { ($0.page.createdAt, $0.order) < ($1.page.createdAt, $1.order) }
        if let keep = marked.first {
            let ref = WrittenPage(id: keep.page.id, url: keep.page.url, created: false)
            try await writing.hooks.pageKnown(ref)
            for extra in marked.dropFirst() { try await delete(extra.page.id, writing) }
            return ref
        }
        let settledAt = since.addingTimeInterval(consistencyWindow.seconds)
        // Listed pages whose content cannot be read yet get one more window, then count as not ours.
        if now() < settledAt || (unreadable && now() < settledAt.addingTimeInterval(consistencyWindow.seconds)) {
            let wait = max(
                min(settledAt.timeIntervalSince(now()), consistencyBackoffCap.seconds), consistencyBackoff.seconds)
            throw UpstreamError(
                kind: .notYet, code: "onenote_create_unconfirmed",
                message: "OneNote does not list the page this report may have created yet",
                retryAfter: .milliseconds(Int64(wait * 1000)))
        }
        return nil
    }

    /// Our `<meta name="created">` comes from the worker's clock shortly before the create was sent;
    /// this margin covers rendering time and clock differences between worker hosts.
    static let createdClockMargin: TimeInterval = 600

    struct ListedPage: Sendable {
        let id: String
        let url: String?
        let createdAt: Date
    }

    /// The section's pages created at or after `since`, newest first (docs/page-identity.md: `$top` ≤ 100, follow
    /// `@odata.nextLink`, order by `createdDateTime` for speed). At most five listing requests.
    func recentPages(sectionId: String, since: Date, _ writing: Writing) async throws -> [ListedPage] {
        struct Listing: Decodable {
            struct Page: Decodable {
                struct Links: Decodable {
                    struct Link: Decodable { let href: String? }
                    let oneNoteWebUrl: Link?
                }
                let id: String
                let createdDateTime: String?
                let links: Links?
            }
            let value: [Page]
            let nextLink: String?
            enum CodingKeys: String, CodingKey {
                case value
                case nextLink = "@odata.nextLink"
            }
        }
        let base = graphBaseURL.appendingPathComponent("v1.0/me/onenote/sections").appendingPathComponent(sectionId)
            .appendingPathComponent("pages")
        var components = URLComponents(url: base, resolvingAgainstBaseURL: false)!
        components.queryItems = [
            URLQueryItem(name: "$select", value: "id,title,createdDateTime,links"),
            URLQueryItem(name: "$orderby", value: "createdDateTime desc"), URLQueryItem(name: "$top", value: "100"),
        ]
        var next = components.url
        var pages: [ListedPage] = []
        for _ in 0..<5 {
            guard let url = next else { break }
            let response = try await send(OutboundRequest(url: url, timeout: .seconds(30)), writing)
            guard response.status == 200 else { throw Self.failure(response) }
            guard let listing = try? JSONDecoder().decode(Listing.self, from: response.body) else {
                throw UpstreamError(
                    kind: .transient, code: "onenote_unexpected_response",
                    message: "OneNote's page listing could not be read", status: 200)
            }
            var older = false
            for page in listing.value {
                guard let created = page.createdDateTime.flatMap(Self.parseDate) else { continue }
                if created < since {
                    older = true
                    continue
                }
                pages.append(ListedPage(id: page.id, url: page.links?.oneNoteWebUrl?.href, createdAt: created))
            }
            // Newest first: once a page older than `since` shows up, no later listing page can matter.
            next = older ? nil : try listing.nextLink.map(followable)
        }
        return pages
    }

    /// A next link OneNote handed back, followed (with the user's bearer token) only on Graph's own
    /// origin, the configured base URL's; any other is refused, not followed.
    func followable(_ link: String) throws -> URL {
        guard let url = URL(string: link), url.hasSameOrigin(as: graphBaseURL) else {
            throw UpstreamError(
                kind: .transient, code: "onenote_foreign_link",
                message: "OneNote's page listing pointed to another origin; it was not followed", status: 200)
        }
        return url
    }

    static func parseDate(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)
    }

    /// Deletes an extra copy of the report's page; one already gone is fine.
    func delete(_ pageId: String, _ writing: Writing) async throws {
        try await writing.hooks.beforeWrite()
        let url = graphBaseURL.appendingPathComponent("v1.0/me/onenote/pages").appendingPathComponent(pageId)
        let response = try await send(OutboundRequest(method: "DELETE", url: url, timeout: .seconds(30)), writing)
        guard (200...299).contains(response.status) || response.status == 404 else { throw Self.failure(response) }
    }
}

extension Duration {
    var seconds: TimeInterval { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
