import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import TestSupport
import Testing

/// The sandbox's page link opens the page as a person sees it: a browser (asking for HTML) gets the
/// page on OneNote's canvas, a script gets the JSON it always got, and nothing a page holds runs.
@Suite("Sandbox page view")
struct SandboxPageViewTests {
    @Test func thePageLinkOpensThePageAsAPersonSeesItAndScriptsStillGetJSON() async throws {
        try await SandboxOneNoteTests.withSandbox { client, auth in
            let table = #"<table border="1"><tr><td><b>Key</b></td></tr><tr><td>OPS-7</td></tr></table>"#
            let created = try await SandboxOneNoteTests.create(
                client, auth,
                SandboxOneNoteTests.page("Weekly &lt;status&gt;", "<p>Updated just now</p>\(table)"))
            #expect(created.status == .created, "\(created.text)")
            let links = try #require(created.json["links"] as? [String: Any])
            let web = try #require((links["oneNoteWebUrl"] as? [String: Any])?["href"] as? String)
            let path = try #require(URL(string: web)?.path)

            let viewed = try await client.execute(
                uri: path, method: .get, headers: [.accept: "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"])
            #expect(viewed.status == .ok)
            #expect(viewed.headers[.contentType]?.hasPrefix("text/html") == true)
            #expect(
                viewed.headers[.contentSecurityPolicy]?.hasPrefix("default-src 'none'") == true,
                "no script and nothing from elsewhere runs, whatever a page holds")
            let html = viewed.text
            #expect(html.hasPrefix("<!DOCTYPE html>"))
            #expect(html.contains(#"<h1 class="title">Weekly &lt;status&gt;</h1>"#), "the title, escaped")
            #expect(html.contains("<td>OPS-7</td>") && html.contains("Updated just now"), "the content")
            #expect(html.contains("Team Notebook") && html.contains("Jira Reports"), "where the page lives")
            #expect(html.contains(#"aria-current="page""#), "the page is marked in the section's list")
            #expect(!html.contains("<status>"))

            let scripted = try await client.execute(uri: path, method: .get)
            #expect(scripted.json["title"] as? String == "Weekly <status>" && scripted.json["html"] is String)
        }
    }

    @Test func aPersonTypingIntoACellIsWhatThePagesContentSaysFromThenOn() async throws {
        try await SandboxOneNoteTests.withSandbox { client, auth in
            let table =
                "<table border=\"1\"><tr><td><b>Key</b></td><td><b>Notes</b></td></tr><tr><td>\u{2003}\u{21B3} <a href=\"https://x.test/OPS-7\">OPS-7</a></td><td></td></tr></table>"
            let created = try await SandboxOneNoteTests.create(
                client, auth, SandboxOneNoteTests.page("Notes", "<div data-id=\"jira-report\">\(table)</div>"))
            let id = try #require(created.json["id"] as? String)
            let before = try await SandboxOneNoteTests.content(client, auth, id)
            let typed = try await client.execute(
                uri: "/sandbox/pages/\(id)/cells", method: .post, headers: [.contentType: "application/json"],
                body: ByteBuffer(string: #"{"row":"OPS-7","column":"Notes","text":"Ask Mia & Ravi <today>"}"#))
            #expect(typed.status == .ok, "\(typed.text)")
            let after = try await SandboxOneNoteTests.content(client, auth, id)
            let plain = try await SandboxOneNoteTests.content(client, auth, id, ids: false)
            #expect(plain.contains("<td><p>Ask Mia &amp; Ravi &lt;today&gt;</p></td>"), "\(plain)")
            #expect(
                SandboxOneNoteTests.tableId(after) != SandboxOneNoteTests.tableId(before), "ids move on after an edit")
            let missing = try await client.execute(
                uri: "/sandbox/pages/\(id)/cells", method: .post, headers: [.contentType: "application/json"],
                body: ByteBuffer(string: #"{"row":"OPS-8","column":"Notes","text":"x"}"#))
            #expect(missing.status == .notFound)
        }
    }
}
