import Crypto
import Foundation
import ReportsSupport
import Synchronization

/// OneNote pages as the sandbox keeps them, with the update rules of docs/microsoft-apis.md §2.5.
final class OneNoteStore: Sendable {
    struct Page: Sendable {
        let id: String
        let sectionId: String
        var title: String
        let createdAt: Int64
        var modifiedAt: Int64
        /// The children of the page's `_default` div (§2.4 output HTML).
        var content: [XNode]
        /// Changes on every update, and with it every generated id (§2.5: "might change after a page update").
        var version: String
        /// Until then the page exists but the API does not see it yet: reads, PATCH, DELETE and the
        /// section listing answer as if it were missing (docs/page-identity.md, eventual consistency).
        var visibleAt: Int64 = 0
    }

    struct PatchError: Error {
        let status: Int
        let code: String
        let message: String
    }

    let sectionPageCap: Int
    /// How long a new page stays invisible to the API after its create answered (0: at once).
    let consistencyDelay: Duration
    private let pages = Mutex<[String: Page]>([:])
    private let order = Mutex<[String]>([])
    /// Pages per section, kept with `pages` (always changed inside its lock), so a create checks the
    /// section's cap without walking every page: a benchmark's 10,000 pages made each create slower
    /// than the run that asked for it.
    private let perSection = Mutex<[String: Int]>([:])

    init(sectionPageCap: Int, consistencyDelay: Duration = .zero) {
        self.sectionPageCap = sectionPageCap
        self.consistencyDelay = consistencyDelay
    }

    // MARK: Create, read, delete

    enum CreateResult {
        case created(Page)
        case sectionFull
    }

    /// `createdAt`: from the page's `<meta name="created">` when it has one (docs/page-identity.md), else now.
    func create(sectionId: String, title: String, content: [XNode], createdAt: Int64? = nil) -> CreateResult {
        let exact = Timestamp.milliseconds(Date())
        let now = exact / 1000 * 1000  // whole seconds (§2.3 COMMUNITY)
        return pages.withLock { pages in
            guard perSection.withLock({ $0[sectionId, default: 0] < sectionPageCap }) else { return .sectionFull }
            let id =
                "1-\(UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased())!\(pages.count + 1)-sandbox"
            let page = Page(
                id: id, sectionId: sectionId, title: title, createdAt: createdAt.map { $0 / 1000 * 1000 } ?? now,
                modifiedAt: now, content: content,
                version: UUID().uuidString.lowercased(), visibleAt: exact + consistencyDelay.wholeMilliseconds)
            pages[id] = page
            perSection.withLock { $0[sectionId, default: 0] += 1 }
            order.withLock { $0.append(id) }
            return .created(page)
        }
    }

    /// The page as the user sees it in OneNote (the sandbox's control routes), visible or not yet.
    func page(_ id: String) -> Page? { pages.withLock { $0[id] } }

    /// A change a person makes in OneNote: `change` edits the page and says whether it changed
    /// anything; if it did, the page's version (and so every generated id) and its time move on, as
    /// after any edit. False when there is no such page or nothing changed.
    func edit(_ id: String, _ change: (inout Page) -> Bool) -> Bool {
        pages.withLock { pages in
            guard var page = pages[id], change(&page) else { return false }
            page.version = UUID().uuidString.lowercased()
            page.modifiedAt = Timestamp.milliseconds(Date()) / 1000 * 1000
            pages[id] = page
            return true
        }
    }

    /// The page as the API sees it: missing until its post-create delay has passed.
    func visiblePage(_ id: String) -> Page? {
        let now = Timestamp.milliseconds(Date())
        return pages.withLock { pages in pages[id].flatMap { $0.visibleAt <= now ? $0 : nil } }
    }

    func delete(_ id: String) -> Bool {
        let now = Timestamp.milliseconds(Date())
        return pages.withLock { pages in
            guard let page = pages[id], page.visibleAt <= now else { return false }
            pages.removeValue(forKey: id)
            perSection.withLock { $0[page.sectionId, default: 1] -= 1 }
            return true
        }
    }

    /// The section's pages the API can see, for `GET …/sections/{id}/pages`.
    func visiblePages(inSection sectionId: String) -> [Page] {
        let now = Timestamp.milliseconds(Date())
        return all.filter { $0.sectionId == sectionId && $0.visibleAt <= now }
    }

    var all: [Page] {
        let ids = order.withLock { $0 }
        return pages.withLock { pages in ids.compactMap { pages[$0] } }
    }

    // MARK: Output HTML

    static let updatable: Set<String> = [
        "p", "table", "div", "ol", "ul", "li", "h1", "h2", "h3", "h4", "h5", "h6", "img", "object",
    ]

    /// Generated ids by element path (paths index into `content`), in document order: `table:{guid}{n}`.
    static func generatedIds(_ page: Page) -> [[Int]: String] {
        var ids: [[Int]: String] = [:]
        var counter = 1
        func walk(_ nodes: [XNode], _ path: [Int]) {
            for (index, node) in nodes.enumerated() {
                guard case .element(let element) = node else { continue }
                if updatable.contains(element.name) {
                    ids[path + [index]] = "\(element.name):{\(page.version)}{\(counter)}"
                    counter += 1
                }
                walk(element.children, path + [index])
            }
        }
        walk(page.content, [])
        return ids
    }

    /// The page as `GET …/content` returns it (§2.4), with generated ids when asked (`includeIDs=true`).
    static func outputHTML(_ page: Page, includeIDs: Bool) -> String {
        let ids = includeIDs ? generatedIds(page) : [:]
        var body = ""
        for (index, node) in page.content.enumerated() {
            switch node {
            case .text(let text): body += XHTML.escape(text, attribute: false)
            case .element(let element): body += element.xhtml(path: [index], ids: ids)
            }
        }
        let divId = includeIDs ? " id=\"div:{\(page.version)}{0}\"" : ""
        return """
            <html lang="en-US"><head><title>\(XHTML.escape(page.title, attribute: false))</title>\
            <meta http-equiv="Content-Type" content="text/html; charset=utf-8" />\
            <meta name="created" content="\(Timestamp.iso8601(milliseconds: page.createdAt))" /></head>\
            <body data-absolute-enabled="true" style="font-family:Calibri;font-size:11pt">\
            <div data-id="_default"\(divId) style="position:absolute;left:48px;top:120px;width:624px">\(body)</div></body></html>
            """
    }

    // MARK: PATCH (§2.5)

    struct Command {
        let target: String
        let action: String
        let position: String
        let content: String
    }

    /// Applies every command or none (COMMUNITY: "The command array is atomic").
    func patch(_ id: String, _ commands: [Command]) throws(PatchError) {
        try pages.withLock { (pages: inout [String: Page]) throws(PatchError) in
            guard var page = pages[id], page.visibleAt <= Timestamp.milliseconds(Date()) else {
                throw PatchError(status: 404, code: "20102", message: "The specified resource ID does not exist.")
            }
            guard !commands.isEmpty else {
                throw PatchError(status: 400, code: "20125", message: "The PATCH request contains no actions.")
            }
            let ids = Self.generatedIds(page)
            for command in commands {
                try Self.apply(command, to: &page, ids: ids)
            }
            page.version = UUID().uuidString.lowercased()
            page.modifiedAt = Timestamp.milliseconds(Date()) / 1000 * 1000
            pages[id] = page
        }
    }

    private static func apply(_ command: Command, to page: inout Page, ids: [[Int]: String]) throws(PatchError) {
        let action = command.action.lowercased()
        guard ["append", "insert", "prepend", "replace"].contains(action) else {
            throw PatchError(status: 400, code: "20122", message: "The action '\(command.action)' is not supported.")
        }
        let before = command.position.lowercased() == "before"
        if command.target == "title" {
            // The title content is kept verbatim, without HTML parsing (COMMUNITY).
            guard action == "replace" else { throw notSupported("TITLE", action) }
            page.title = command.content
            return
        }
        let nodes: [XNode]
        do {
            nodes = try XHTML.parse(command.content, fragment: true).children
        } catch {
            // The service was seen to close unclosed tags (COMMUNITY); the sandbox is stricter and refuses.
            throw PatchError(status: 400, code: "20109", message: "The PATCH content is not well-formed XHTML.")
        }
        if command.target == "body" {
            // `body` = the first div; only append (§2.5 support matrix).
            guard action == "append" || action == "prepend" else { throw notSupported("BODY", action) }
            if before || action == "prepend" {
                page.content.insert(contentsOf: nodes, at: 0)
            } else {
                page.content.append(contentsOf: nodes)
            }
            return
        }
        let path: [Int]
        let byDataId: Bool
        if command.target.hasPrefix("#") {
            let dataId = String(command.target.dropFirst())
            guard let found = find(page.content, [], where: { $0.attribute("data-id") == dataId }) else {
                throw PatchError(
                    status: 400, code: "20149", message: "The target element '\(command.target)' cannot be found.")
            }
            path = found
            byDataId = true
        } else if command.target.range(of: #"^[a-z0-9]+:\{[0-9a-f-]+\}\{[0-9]+\}$"#, options: .regularExpression) != nil
        {
            guard let found = ids.first(where: { $0.value == command.target })?.key else {
                throw PatchError(
                    status: 400, code: "20120", message: "The PATCH target '\(command.target)' can't be located.")
            }
            path = found
            byDataId = false
        } else {
            throw PatchError(
                status: 400, code: "20134",
                message: "The target '\(command.target)' is not a valid target element (a data-id needs a '#').")
        }
        guard case .element(let element)? = node(at: path, in: page.content) else {
            throw PatchError(status: 400, code: "20120", message: "The PATCH target can't be located.")
        }
        let name = element.name
        switch action {
        case "replace":
            // Tables, paragraphs, list items, headings, lists and nested divs: generated id only.
            let allowed = byDataId ? ["img", "object"].contains(name) : updatable.contains(name)
            guard allowed else { throw notSupported(name.uppercased(), action) }
            replace(at: path, with: nodes, in: &page.content)
        case "append", "prepend":
            guard ["div", "ol", "ul"].contains(name) else { throw notSupported(name.uppercased(), action) }
            appendChildren(at: path, nodes, first: before || action == "prepend", in: &page.content)
        default:  // insert
            guard updatable.contains(name) else { throw notSupported(name.uppercased(), action) }
            var sibling = path
            if !before { sibling[sibling.count - 1] += 1 }
            insert(nodes, at: sibling, in: &page.content)
        }
    }

    private static func notSupported(_ element: String, _ action: String) -> PatchError {
        PatchError(
            status: 400, code: "20141", message: "The PATCH target \(element) for action \(action) is not supported.")
    }

    private static func find(_ nodes: [XNode], _ path: [Int], where predicate: (XElement) -> Bool) -> [Int]? {
        for (index, node) in nodes.enumerated() {
            guard case .element(let element) = node else { continue }
            if predicate(element) { return path + [index] }
            if let found = find(element.children, path + [index], where: predicate) { return found }
        }
        return nil
    }

    private static func node(at path: [Int], in nodes: [XNode]) -> XNode? {
        guard let first = path.first, nodes.indices.contains(first) else { return nil }
        if path.count == 1 { return nodes[first] }
        guard case .element(let element) = nodes[first] else { return nil }
        return node(at: Array(path.dropFirst()), in: element.children)
    }

    private static func edit(_ path: [Int], in nodes: inout [XNode], _ change: (inout [XNode], Int) -> Void) {
        if path.count == 1 {
            change(&nodes, path[0])
            return
        }
        guard case .element(var element) = nodes[path[0]] else { return }
        edit(Array(path.dropFirst()), in: &element.children, change)
        nodes[path[0]] = .element(element)
    }

    private static func replace(at path: [Int], with replacement: [XNode], in nodes: inout [XNode]) {
        edit(path, in: &nodes) { siblings, index in siblings.replaceSubrange(index...index, with: replacement) }
    }

    private static func insert(_ inserted: [XNode], at path: [Int], in nodes: inout [XNode]) {
        edit(path, in: &nodes) { siblings, index in
            siblings.insert(contentsOf: inserted, at: min(index, siblings.count))
        }
    }

    private static func appendChildren(at path: [Int], _ children: [XNode], first: Bool, in nodes: inout [XNode]) {
        edit(path, in: &nodes) { siblings, index in
            guard case .element(var element) = siblings[index] else { return }
            if first {
                element.children.insert(contentsOf: children, at: 0)
            } else {
                element.children.append(contentsOf: children)
            }
            siblings[index] = .element(element)
        }
    }
}

/// OneNote's per-user limits (§4.2): 120 requests a minute, 400 an hour, 5 at once — for each
/// Microsoft user on their own. It also keeps, per user, the longest run of 429s in a row, so a test
/// can check that a client backs off instead of hammering.
final class OneNoteThrottle: Sendable {
    private struct UserState {
        var recent: [Date] = []
        var inFlight = 0
        var refusedInARow = 0
        var longestRefusedRun = 0
        var refused = 0
    }

    private let users = Mutex<[String: UserState]>([:])
    let perMinute: Int
    let perHour: Int
    let concurrent: Int

    init(perMinute: Int = 120, perHour: Int = 400, concurrent: Int = 5) {
        self.perMinute = perMinute
        self.perHour = perHour
        self.concurrent = concurrent
    }

    /// Admits a request of `user` (and counts it) or refuses it.
    func enter(user: String) -> Bool {
        users.withLock { users in
            var state = users[user] ?? UserState()
            defer { users[user] = state }
            let now = Date()
            state.recent.removeAll { now.timeIntervalSince($0) > 3600 }
            let lastMinute = state.recent.filter { now.timeIntervalSince($0) <= 60 }.count
            guard state.inFlight < concurrent, lastMinute < perMinute, state.recent.count < perHour else {
                state.refused += 1
                state.refusedInARow += 1
                state.longestRefusedRun = max(state.longestRefusedRun, state.refusedInARow)
                return false
            }
            state.refusedInARow = 0
            state.recent.append(now)
            state.inFlight += 1
            return true
        }
    }

    func leave(user: String) { users.withLock { $0[user]?.inFlight -= 1 } }

    /// Per user: requests admitted in the last hour, 429s, and the longest run of 429s in a row.
    var report: [String: Any] {
        users.withLock { users in
            users.mapValues { state -> [String: Any] in
                [
                    "admittedLastHour": state.recent.count, "throttled": state.refused,
                    "longestThrottledRun": state.longestRefusedRun,
                ]
            }
        }
    }
}

/// A Microsoft account of the sandbox. `login_hint` at authorize chooses one (per-user
/// OneNote limits need several users); each hint is its own user, with a stable id.
struct MicrosoftUser: Sendable, Equatable {
    let id: String
    let displayName: String
    let userPrincipalName: String

    static let standard = MicrosoftUser(
        id: "sandbox-ms-user-1", displayName: "Sandbox Microsoft User", userPrincipalName: "sandbox.user@example.com")

    init(id: String, displayName: String, userPrincipalName: String) {
        self.id = id
        self.displayName = displayName
        self.userPrincipalName = userPrincipalName
    }

    /// The user a `login_hint` names; nil for none (the standard user signs in).
    init?(loginHint: String?) {
        guard let hint = loginHint?.lowercased(), !hint.isEmpty, hint != Self.standard.userPrincipalName else {
            return nil
        }
        guard hint.count <= 100, let at = hint.firstIndex(of: "@"), at != hint.startIndex,
            hint.allSatisfy({ $0.isLetter || $0.isNumber || "@._-+".contains($0) })
        else { return nil }
        let digest = SHA256.hash(data: Data(hint.utf8)).map { String(format: "%02x", $0) }.joined()
        self.init(id: "sandbox-ms-" + digest.prefix(16), displayName: "Sandbox " + hint[..<at], userPrincipalName: hint)
    }
}
