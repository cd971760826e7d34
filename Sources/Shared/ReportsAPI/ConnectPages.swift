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

    /// What is about to be linked to what, and an explicit choice. The token is single use and bound to
    /// this browser; the page expires with it (ten minutes).
    static func confirmation(_ pending: PendingConnection, site: String, token: Secret) -> Response {
        let microsoft = [pending.displayName, pending.microsoftAccount.isEmpty ? "" : "(\(pending.microsoftAccount))"]
            .filter { !$0.isEmpty }.joined(separator: " ")
        let body = """
            <p>You signed in to Microsoft as <strong>\(escape(microsoft.isEmpty ? pending.microsoftUserId : microsoft))</strong>.</p>
            <p>Connect this Microsoft account to OneNote Reports for Jira on <strong>\(escape(site))</strong>, for the Jira account
            <strong>\(escape(pending.owner.accountId))</strong>? Reports of that Jira account will then write pages to this account's OneNote.</p>
            <p>If you did not start this from the app yourself, choose Cancel.</p>
            <form method="post" action="/oauth/microsoft/confirm">
            <input type="hidden" name="token" value="\(escape(token.revealed))">
            <button type="submit" name="decision" value="connect">Connect</button>
            <button type="submit" name="decision" value="cancel">Cancel</button>
            </form>
            <p><small>This page expires in 10 minutes; nothing is stored unless you choose Connect.</small></p>
            """
        return page(.ok, "Connect Microsoft to Jira?", body, clearCookie: false)
    }

    /// A store that cannot be used is a 503 with Retry-After (issue #14); anything else a 500. The
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
            <meta name="viewport" content="width=device-width, initial-scale=1"></head>
            <body style="font-family: sans-serif; max-width: 36em; margin: 4em auto"><h1>\(escape(title))</h1>\(body)</body></html>
            """
        var headers: HTTPFields = [
            .contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
            .contentSecurityPolicy: contentSecurityPolicy,
            HTTPField.Name("X-Frame-Options")!: "DENY", HTTPField.Name("Referrer-Policy")!: "no-referrer",
        ]
        if clearCookie { headers[.setCookie] = ConnectBrowserBinding.clearCookie }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
            .replacingOccurrences(of: "'", with: "&#39;")
    }
}
