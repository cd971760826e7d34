import Foundation
import HTTPTypes
import Hummingbird
import ReportsSupport

/// A page as a person sees it in OneNote for the web: the notebook's sections and the section's pages
/// on the left, the page on its canvas (title, the date and time it was created, the content). The
/// page link the sandbox hands out (`links.oneNoteWebUrl`) opens this in a browser, so the demo and
/// the browser tests look at a page as its readers do. The content is the page's stored XHTML; the
/// policy allows no script and nothing from elsewhere, whatever a page holds.
enum SandboxPageView {
    /// Whether the request is a browser's (it asks for HTML): the same address answers scripts JSON.
    static func wantsHTML(_ request: Request) -> Bool {
        guard let accept = request.headers[.accept] else { return false }
        return accept.contains("text/html")
    }

    static func response(_ page: OneNoteStore.Page, in store: OneNoteStore) -> Response {
        var response = Response(
            status: .ok,
            headers: [
                .contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
                .contentSecurityPolicy: "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
            ],
            body: .init(byteBuffer: ByteBuffer(string: html(page, in: store))))
        response.headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        return response
    }

    static func html(_ page: OneNoteStore.Page, in store: OneNoteStore) -> String {
        let notebook = Notebooks.all.first { $0.sections.contains { $0.id == page.sectionId } }
        let sections = (notebook?.sections ?? []).map { section in
            let current = section.id == page.sectionId
            return "<li\(current ? " class=\"current\" aria-current=\"true\"" : "")>\(escape(section.name))</li>"
        }
        let pages = store.all.filter { $0.sectionId == page.sectionId }.map { other in
            let current = other.id == page.id
            return
                "<li\(current ? " class=\"current\"" : "")><a href=\"/sandbox/pages/\(other.id)\"\(current ? " aria-current=\"page\"" : "")>\(escape(other.title))</a></li>"
        }
        var body = ""
        for (index, node) in page.content.enumerated() {
            switch node {
            case .text(let text): body += escape(text)
            case .element(let element): body += element.xhtml(path: [index])
            }
        }
        return """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(escape(page.title)) - OneNote (sandbox)</title>
            <style>\(style)</style></head>
            <body>
            <header class="bar"><span class="app">OneNote</span><span class="where">\(escape(notebook?.name ?? "Notebook"))</span><span class="note">sandbox</span></header>
            <div class="frame">
            <nav aria-label="Sections and pages"><h2>Sections</h2><ul class="sections">\(sections.joined())</ul>
            <h2>Pages</h2><ul class="pages">\(pages.joined())</ul></nav>
            <main><article class="canvas">
            <h1 class="title">\(escape(page.title))</h1>
            <p class="stamp">\(stamp(page.createdAt))</p>
            <div class="content">\(body)</div>
            </article></main></div></body></html>
            """
    }

    /// "Monday, December 7, 2026  1:30 AM" in UTC, as OneNote writes the date under a title.
    static func stamp(_ milliseconds: Int64) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEEE, MMMM d, yyyy"
        let date = Timestamp.date(milliseconds: milliseconds)
        let day = formatter.string(from: date)
        formatter.dateFormat = "h:mm a"
        return "\(day) <span class=\"time\">\(formatter.string(from: date)) UTC</span>"
    }

    private static func escape(_ text: String) -> String { XHTML.escape(text, attribute: false) }

    /// OneNote for the web's look: its purple bar, the section and page lists, Calibri 11 pt on a
    /// white canvas, the title over a thin rule and the grey date line.
    private static let style = """
        :root{color-scheme:light}
        body{margin:0;font-family:"Segoe UI",system-ui,sans-serif;background:#f3f2f1;color:#252423}
        .bar{display:flex;gap:16px;align-items:center;height:44px;padding:0 16px;background:#7719aa;color:#fff}
        .bar .app{font-weight:600;font-size:16px}.bar .where{font-size:14px;opacity:.9}
        .bar .note{margin-left:auto;font-size:12px;opacity:.75}
        .frame{display:flex;min-height:calc(100vh - 44px)}
        nav{width:220px;flex:none;background:#faf9f8;border-right:1px solid #e1dfdd;padding:8px 0;font-size:14px}
        nav h2{font-size:12px;font-weight:600;color:#605e5c;margin:12px 16px 4px;text-transform:uppercase}
        nav ul{list-style:none;margin:0;padding:0}nav li{padding:6px 16px}
        .sections li.current{background:#efe0f7;border-left:4px solid #7719aa;padding-left:12px}
        .pages li.current{background:#e1dfdd}nav a{color:inherit;text-decoration:none}
        main{flex:1;overflow:auto;padding:24px}
        .canvas{background:#fff;max-width:960px;min-height:80vh;padding:32px 48px;box-shadow:0 1px 3px rgba(0,0,0,.12)}
        .title{font-family:"Calibri Light",Calibri,sans-serif;font-weight:300;font-size:20pt;margin:0;
          padding-bottom:4px;border-bottom:1px solid #c8c6c4}
        .stamp{font-family:Calibri,sans-serif;font-size:10pt;color:#767676;margin:6px 0 24px}
        .stamp .time{margin-left:1.5em}
        .content{font-family:Calibri,sans-serif;font-size:11pt;line-height:1.35}
        .content table{border-collapse:collapse;margin:6px 0}
        .content td,.content th{border:1px solid #a3a3a3;padding:2px 6px;vertical-align:top}
        .content tr>td:first-child{white-space:nowrap}
        """
}
