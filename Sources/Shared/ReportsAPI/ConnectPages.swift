import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Reports
import Security

/// The HTML pages of the connect flow: plain, never cached, never framed, no script, forms only to
/// our own origin.
enum ConnectPages {
    /// `default-src 'none'`: the pages load nothing; `form-action 'self'`: the confirmation posts only
    /// to us; `frame-ancestors 'none'`: no one can frame the Connect button and trick a click.
    static let contentSecurityPolicy =
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

    static func message(_ status: HTTPResponse.Status, _ title: String, _ message: String, clearCookie: Bool = false)
        -> Response
    {
        page(status, title, "<p>\(escape(message))</p>", clearCookie: clearCookie)
    }

    /// Who is being connected to what, for a person to recognise at a glance.
    struct Parties {
        /// The Jira user's display name (looked up with their token when the start URL was issued).
        let jiraName: String?
        /// The site's title, and its host from the verified call.
        let siteName: String?
        let siteHost: String?
        let microsoftName: String
        let microsoftAddress: String
    }

    /// What is about to be linked to what, what Connect does, and an explicit choice (Connect is the
    /// primary action; Cancel stores nothing). The token is single use and bound to this browser; the
    /// page expires with it (ten minutes).
    static func confirmation(_ parties: Parties, token: Secret) -> Response {
        let site = [parties.siteName, parties.siteHost.map { "(\($0))" }].compactMap { $0 }.filter { !$0.isEmpty }
            .joined(separator: " ")
        let jira =
            parties.jiraName.map { "<strong>\(escape($0))</strong>" } ?? "the Jira account that started this"
        let microsoft = [
            parties.microsoftName.isEmpty ? nil : "<strong>\(escape(parties.microsoftName))</strong>",
            parties.microsoftAddress.isEmpty
                ? nil : "<span class=\"address\">\(escape(parties.microsoftAddress))</span>",
        ].compactMap { $0 }.joined(separator: " ")
        let body = """
            <dl class="parties">
            <dt>Jira</dt><dd>\(jira)<br><span class="site">\(escape(site.isEmpty ? "Jira site" : site))</span></dd>
            <dt>Microsoft</dt><dd>\(microsoft.isEmpty ? "the Microsoft account you signed in with" : microsoft)</dd>
            </dl>
            <p>Connect lets OneNote Reports for Jira write the reports of \(jira) into this Microsoft
            account's OneNote, on schedule and on Run now, until you disconnect in the app. It reads Jira
            only as that Jira user and never changes anything in Jira.</p>
            <p class="warning">Is this not you, or did someone send you this link? Choose Cancel: nothing is stored.</p>
            <form method="post" action="/oauth/microsoft/confirm">
            <input type="hidden" name="token" value="\(escape(token.revealed))">
            <div class="actions">
            <button class="primary" type="submit" name="decision" value="connect">Connect</button>
            <button class="subtle" type="submit" name="decision" value="cancel">Cancel</button>
            </div>
            </form>
            <p class="note">This page expires in 10 minutes; nothing is stored unless you choose Connect.</p>
            """
        return page(.ok, "Connect Microsoft OneNote to Jira?", body, clearCookie: false)
    }

    /// A store that cannot be used is a 503 with Retry-After; anything else a 500. The
    /// detail goes to the log by type only.
    static func failure(_ error: any Error, _ context: APIRequestContext, _ services: APIServices) -> Response {
        if let reason = services.storage.unavailableReason(error) {
            services.metrics.storageUnavailable(reason: reason)
            var response = message(
                .serviceUnavailable, "Not connected", "The service cannot store data right now. Try again in a minute.")
            response.headers[.retryAfter] = "60"
            return response
        }
        context.logger.error("connect flow failed", metadata: ["error": "\(String(describing: type(of: error)))"])
        return message(
            .internalServerError, "Not connected", "Something went wrong on our side. Start again from the app.")
    }

    private static func page(_ status: HTTPResponse.Status, _ title: String, _ body: String, clearCookie: Bool)
        -> Response
    {
        let html = """
            <!doctype html><html lang="en"><head><meta charset="utf-8"><title>\(escape(title)) – OneNote Reports</title>
            <meta name="viewport" content="width=device-width, initial-scale=1"><meta name="color-scheme" content="light dark">
            <style>\(style)</style></head>
            <body><main><p class="app">OneNote Reports for Jira</p><h1>\(escape(title))</h1>\(body)</main></body></html>
            """
        var headers: HTTPFields = [
            .contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
            .contentSecurityPolicy: contentSecurityPolicy,
            HTTPField.Name("X-Frame-Options")!: "DENY", HTTPField.Name("Referrer-Policy")!: "no-referrer",
        ]
        if clearCookie { headers[.setCookie] = ConnectBrowserBinding.clearCookie }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    /// The app's look (deploy/forge/static/reports/styles.css): Atlassian design tokens with their light
    /// and dark values, the brand colour on the one primary action.
    static let style = """
        :root { color-scheme: light dark; --text: #172b4d; --text-subtle: #44546f; --surface: #ffffff;
          --sunken: #f7f8f9; --border: #091e4224; --brand: #0c66e4; --brand-hover: #0055cc; --on-brand: #ffffff;
          --warning-bg: #fff7d6; --focus: #388bff; }
        @media (prefers-color-scheme: dark) { :root { --text: #b6c2cf; --text-subtle: #9fadbc; --surface: #1d2125;
          --sunken: #161a1d; --border: #a6c5e229; --brand: #579dff; --brand-hover: #85b8ff; --on-brand: #1d2125;
          --warning-bg: #332e1b; --focus: #85b8ff; } }
        body { margin: 0; background: var(--sunken); color: var(--text); font: 14px/1.43 -apple-system,
          BlinkMacSystemFont, "Segoe UI", Roboto, "Noto Sans", Ubuntu, "Helvetica Neue", sans-serif; }
        main { max-width: 36rem; margin: 4rem auto; padding: 24px 32px; background: var(--surface);
          border: 1px solid var(--border); border-radius: 8px; }
        .app { margin: 0; color: var(--text-subtle); font-size: 12px; font-weight: 600; }
        h1 { font-size: 20px; line-height: 24px; margin: 8px 0 16px; }
        dl.parties { display: grid; grid-template-columns: max-content 1fr; gap: 8px 16px; margin: 0 0 16px;
          padding: 12px 16px; border: 1px solid var(--border); border-radius: 3px; }
        dt { color: var(--text-subtle); font-weight: 600; } dd { margin: 0; }
        .site, .address, .note { color: var(--text-subtle); }
        .warning { background: var(--warning-bg); padding: 8px 12px; border-radius: 3px; }
        .actions { display: flex; gap: 8px; margin: 24px 0 8px; }
        button { font: inherit; font-weight: 500; padding: 6px 12px; border-radius: 3px; border: 0; cursor: pointer; }
        button.primary { background: var(--brand); color: var(--on-brand); }
        button.primary:hover { background: var(--brand-hover); }
        button.subtle { background: transparent; color: var(--text); }
        button.subtle:hover { background: var(--border); }
        button:focus-visible { outline: 2px solid var(--focus); outline-offset: 2px; }
        .note { font-size: 12px; }
        """

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
            .replacingOccurrences(of: "'", with: "&#39;")
    }
}
