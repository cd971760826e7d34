import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ReportsSupport

/// OneNote pages through Graph (docs/microsoft-apis.md §2.3–§2.6, §3, §4.2).
enum OneNoteRoutes {
    static let maxRequestBytes = 4 * 1024 * 1024  // §3.7: the Graph request limit

    /// Every OneNote resource — pages, sections, notebooks — is throttled per user and answers 429 with
    /// code 20166 and *no* Retry-After (§4.2: the limits cover all of them).
    static func throttled(
        state: SandboxState, throttle: OneNoteThrottle,
        _ handler: @escaping @Sendable (Request, BasicRequestContext) async throws -> Response
    ) -> @Sendable (Request, BasicRequestContext) async throws -> Response {
        { request, context in
            guard let user = state.accessTokenUser(request.headers[.authorization]) else {
                return MicrosoftRoutes.unauthorized()
            }
            guard throttle.enter(user: user.id) else {
                return error(
                    .tooManyRequests, "20166",
                    "The app has issued too many requests on behalf of this user in a short time period.")
            }
            defer { throttle.leave(user: user.id) }
            return try await handler(request, context)
        }
    }

    static func add(
        to router: Router<BasicRequestContext>, state: SandboxState, store: OneNoteStore, throttle: OneNoteThrottle
    ) {
        func throttled(_ handler: @escaping @Sendable (Request, BasicRequestContext) async throws -> Response)
            -> @Sendable (Request, BasicRequestContext) async throws -> Response
        {
            Self.throttled(state: state, throttle: throttle, handler)
        }

        router.post(
            "/v1.0/me/onenote/sections/{sectionId}/pages",
            use: throttled { request, context in
                state.count("onenote-create-page")
                let sectionId = context.parameters.get("sectionId") ?? ""
                guard Notebooks.all.flatMap(\.sections).contains(where: { $0.id == sectionId }) else {
                    return error(.notFound, "20102", "The specified resource ID does not exist.")
                }
                let contentType = request.headers[.contentType]?.lowercased() ?? ""
                guard contentType.hasPrefix("text/html") || contentType.hasPrefix("application/xhtml+xml") else {
                    return error(
                        .badRequest, "20003", "The Presentation part must be text/html or application/xhtml+xml.")
                }
                let data: Data
                do {
                    data = Data(try await request.body.collect(upTo: maxRequestBytes).readableBytesView)
                } catch is NIOTooManyBytesError {
                    return error(.contentTooLarge, "20008", "The size of the request is too large.")
                }
                var html = String(decoding: data, as: UTF8.self)
                let title = extractTitle(&html)
                let createdAt = metaCreated(html)
                let document: XElement
                do {
                    document = try XHTML.parse(html)
                } catch {
                    // §3.1: input must be well-formed XHTML (the code is the sandbox's choice: none is documented).
                    return Self.error(.badRequest, "20100", "The page HTML is not well-formed XHTML.")
                }
                let body = document.children.compactMap { node -> XElement? in
                    if case .element(let element) = node, element.name == "body" { return element }
                    return nil
                }.first
                switch store.create(
                    sectionId: sectionId, title: title, content: body?.children ?? [], createdAt: createdAt)
                {
                case .sectionFull:
                    // §2.3: the per-section cap (its number is UNCONFIRMED; `--section-page-cap` sets it).
                    return error(
                        .init(code: 507, reasonPhrase: "Insufficient Storage"), "30102",
                        "Exceeded the maximum number of pages allowed per section")
                case .created(let page):
                    let json = pageJSON(page, origin: state.origin(for: request))
                    return SandboxHTTP.json(.created, json, headers: [.location: json["self"] as! String])
                }
            })
        // docs/page-identity.md: a section's pages, `$top` 20 by default and at most 100 (20129), newest change first
        // unless `$orderby=createdDateTime [asc|desc]`; more behind `@odata.nextLink`. `$select` is
        // accepted and ignored (the sandbox always sends every property). New pages show up only after
        // the post-create delay, like every other read.
        router.get(
            "/v1.0/me/onenote/sections/{sectionId}/pages",
            use: throttled { request, context in
                state.count("onenote-list-pages")
                let sectionId = context.parameters.get("sectionId") ?? ""
                guard Notebooks.all.flatMap(\.sections).contains(where: { $0.id == sectionId }) else {
                    return error(.notFound, "20102", "The specified resource ID does not exist.")
                }
                let query = request.uri.queryParameters
                let top = query.get("$top").map { Int($0) ?? -1 } ?? 20
                guard (1...100).contains(top) else {
                    return error(.badRequest, "20129", "The $top value must be between 1 and 100.")
                }
                let skip = max(query.get("$skip").flatMap { Int($0) } ?? 0, 0)
                var pages = store.visiblePages(inSection: sectionId)
                switch query.get("$orderby")?.lowercased().replacingOccurrences(of: "+", with: " ") {
                case "createddatetime", "createddatetime asc":
                    pages.sort { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
                case "createddatetime desc": pages.sort { ($0.createdAt, $0.id) > ($1.createdAt, $1.id) }
                default: pages.sort { ($0.modifiedAt, $0.id) > ($1.modifiedAt, $1.id) }
                }
                let origin = state.origin(for: request)
                let slice = Array(pages.dropFirst(skip).prefix(top))
                var json: [String: Any] = ["value": slice.map { pageJSON($0, origin: origin) }]
                if skip + top < pages.count {
                    var components = URLComponents(string: "\(origin)\(request.uri.path)")!
                    components.queryItems =
                        [
                            URLQueryItem(name: "$top", value: "\(top)"),
                            URLQueryItem(name: "$skip", value: "\(skip + top)"),
                        ]
                        + (query.get("$orderby").map { [URLQueryItem(name: "$orderby", value: $0)] } ?? [])
                    json["@odata.nextLink"] = components.url!.absoluteString
                }
                return SandboxHTTP.json(.ok, json)
            })
        router.get(
            "/v1.0/me/onenote/pages/{id}",
            use: throttled { request, context in
                state.count("onenote-get-page")
                guard let page = store.visiblePage(context.parameters.get("id") ?? "") else {
                    return error(.notFound, "20102", "The specified resource ID does not exist.")
                }
                return SandboxHTTP.json(.ok, pageJSON(page, origin: state.origin(for: request)))
            })
        router.get(
            "/v1.0/me/onenote/pages/{id}/content",
            use: throttled { request, context in
                state.count("onenote-get-content")
                guard let page = store.visiblePage(context.parameters.get("id") ?? "") else {
                    return error(.notFound, "20102", "The specified resource ID does not exist.")
                }
                let includeIDs = request.uri.queryParameters.get("includeIDs")?.lowercased() == "true"
                return Response(
                    status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                    body: .init(byteBuffer: ByteBuffer(string: OneNoteStore.outputHTML(page, includeIDs: includeIDs))))
            })
        router.patch(
            "/v1.0/me/onenote/pages/{id}/content",
            use: throttled { request, context in
                state.count("onenote-patch")
                let data = Data(try await request.body.collect(upTo: maxRequestBytes).readableBytesView)
                guard let array = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]] else {
                    return error(.badRequest, "20109", "The PATCH payload is not a JSON array of change objects.")
                }
                let commands = array.map {
                    OneNoteStore.Command(
                        target: $0["target"] as? String ?? "", action: $0["action"] as? String ?? "",
                        position: $0["position"] as? String ?? "after", content: $0["content"] as? String ?? "")
                }
                do {
                    try store.patch(context.parameters.get("id") ?? "", commands)
                    return Response(status: .noContent)  // §2.5: 204, no body
                } catch let failure as OneNoteStore.PatchError {
                    return Self.error(.init(code: failure.status), failure.code, failure.message)
                }
            })
        router.delete(
            "/v1.0/me/onenote/pages/{id}",
            use: throttled { _, context in
                state.count("onenote-delete-page")
                guard store.delete(context.parameters.get("id") ?? "") else {
                    return error(.notFound, "20102", "The specified resource ID does not exist.")
                }
                return Response(status: .noContent)
            })
    }

    /// §3.6 (COMMUNITY): a `<title>` with a raw `&` or `<` is silently dropped; the rest of the page is kept.
    static func extractTitle(_ html: inout String) -> String {
        guard
            let range = html.range(of: "<title>([\\s\\S]*?)</title>", options: [.regularExpression, .caseInsensitive])
        else { return "" }
        let inner = String(html[range].dropFirst(7).dropLast(8))
        let rawAmpersand =
            inner.range(of: "&(?![A-Za-z]+;|#[0-9]+;|#x[0-9A-Fa-f]+;)", options: .regularExpression) != nil
        if rawAmpersand || inner.contains("<") {
            html.replaceSubrange(range, with: "<title></title>")
            return ""
        }
        return
            (try? XHTML.parse("<t>\(inner)</t>").children.compactMap { node -> String? in
                if case .text(let text) = node { return text }
                return nil
            }.joined()) ?? ""
    }

    /// docs/page-identity.md: a page's `createdDateTime` comes from `<meta name="created" content="…">` (ISO 8601).
    static func metaCreated(_ html: String) -> Int64? {
        guard let match = html.firstMatch(of: /<meta\s+name="created"\s+content="([^"]+)"/) else { return nil }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: String(match.1)).map(Timestamp.milliseconds)
    }

    static func pageJSON(_ page: OneNoteStore.Page, origin: String) -> [String: Any] {
        let section = Notebooks.all.flatMap(\.sections).first { $0.id == page.sectionId }
        let url = "\(origin)/v1.0/me/onenote/pages/\(page.id)"
        return [
            "id": page.id, "self": url, "title": page.title, "contentUrl": "\(url)/content",
            "createdDateTime": Timestamp.iso8601(milliseconds: page.createdAt).replacingOccurrences(
                of: ".000Z", with: "Z"),
            "lastModifiedDateTime": Timestamp.iso8601(milliseconds: page.modifiedAt).replacingOccurrences(
                of: ".000Z", with: "Z"),
            "createdByAppId": "sandbox-client", "level": 0, "order": 0,
            "links": [
                "oneNoteClientUrl": ["href": "onenote:\(origin)/sandbox/pages/\(page.id)"],
                "oneNoteWebUrl": ["href": "\(origin)/sandbox/pages/\(page.id)"],
            ],
            "parentSection": [
                "id": page.sectionId, "displayName": section?.name ?? "",
                "self": "\(origin)/v1.0/me/onenote/sections/\(page.sectionId)",
            ],
        ]
    }

    /// §4.3: OneNote's error JSON with a numeric-string code.
    static func error(_ status: HTTPResponse.Status, _ code: String, _ message: String) -> Response {
        SandboxHTTP.json(
            status,
            [
                "error": [
                    "code": code, "message": message,
                    "innerError": [
                        "request-id": UUID().uuidString.lowercased(),
                        "client-request-id": UUID().uuidString.lowercased(),
                        "date": Timestamp.iso8601(milliseconds: Timestamp.milliseconds(Date())).prefix(19).description,
                    ],
                ]
            ])
    }
}
