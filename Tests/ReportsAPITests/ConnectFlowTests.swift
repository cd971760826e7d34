import Crypto
import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ReportsTesting
import TestSupport
import Testing
import Transport

@testable import Enqueuer
@testable import Microsoft
@testable import Reports
@testable import ReportsAPI
@testable import SQLiteBackend
@testable import Security
@testable import Upstream

/// The Microsoft connect flow against login CSRF: bound to the browser that
/// started it, and confirmed by the user before any token is stored.
@Suite("Microsoft connect flow: browser binding and confirmation")
struct ConnectFlowTests {
    static let owner = ReportOwner(installationId: ReportFixture.installationA, accountId: "557058:alice")

    /// Connect → start URL → (Microsoft) → the callback URL Microsoft would send the browser to.
    static func begin(_ harness: APIHarness, _ client: any TestClientProtocol, _ browser: ConnectBrowser) async throws
        -> (callback: String, authorize: URLComponents)
    {
        let connect = try await client.execute(
            uri: "/v1/microsoft/connect", method: .post,
            headers: try await harness.headers(extra: [FITMiddleware.userTokenHeader: "user-token-1"]))
        let started = try await browser.start(try #require(connect.json["startUrl"] as? String, "\(connect.text)"))
        let authorize = try #require(started.headers["location"].flatMap(URLComponents.init(string:)))
        let state = try #require(authorize.queryItems?.first { $0.name == "state" }?.value)
        return ("/oauth/microsoft/callback?code=good-code&state=\(FormEncoding.escape(state))", authorize)
    }

    static func pendingRows(_ harness: APIHarness) async throws -> Int {
        try await harness.fixture.database.pool.read {
            try Int.fetchOne($0, sql: "SELECT count(*) FROM oauth_pending_connections") ?? 0
        }
    }

    @Test func theFlowIsBoundToTheBrowserThatStartedItAndConfirmedBeforeAnythingIsStored() async throws {
        try await APIHarness.run { harness in
            try await harness.test { client in
                // The app gets a one-time start URL on our host (the redirect URI's origin), not Microsoft's.
                let connect = try await client.execute(
                    uri: "/v1/microsoft/connect", method: .post, headers: try await harness.headers())
                let startUrl = try #require(connect.json["startUrl"] as? String)
                #expect(startUrl.hasPrefix("https://reports.example.com/oauth/microsoft/start?t="))
                #expect(connect.json["authorizeUrl"] == nil, "no authorize link leaves the API any more")

                // Opening it sets the __Host- cookie and redirects to Microsoft with a state bound to it.
                let browser = ConnectBrowser.router(client)
                let started = try await browser.start(startUrl)
                #expect(started.status == 302)
                let setCookie = try #require(started.headers["set-cookie"])
                for attribute in ["__Host-reports-connect=", "Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
                    #expect(setCookie.contains(attribute), "\(attribute)")
                }
                #expect(!setCookie.contains("Domain"))
                #expect(started.headers["cache-control"] == "no-store")
                let authorize = try #require(started.headers["location"].flatMap(URLComponents.init(string:)))
                let items = Dictionary(
                    uniqueKeysWithValues: (authorize.queryItems ?? []).map { ($0.name, $0.value ?? "") })
                #expect(authorize.path == "/common/oauth2/v2.0/authorize")
                #expect(items["scope"] == "Notes.ReadWrite User.Read offline_access")
                #expect(items["code_challenge_method"] == "S256" && items["response_type"] == "code")
                let state = try #require(items["state"])
                let fields = try harness.services.oauthState.verify(state)
                #expect(fields.browser == ConnectBrowserBinding.hash(of: try #require(browser.cookie)))
                #expect(
                    items["code_challenge"]
                        == OAuthState.challenge(for: harness.services.oauthState.codeVerifier(nonce: fields.nonce)))
                #expect(try await browser.start(startUrl).status == 400, "a start URL works once")

                // Forged (another key), tampered and missing states: 400, no token request.
                let forged = OAuthState(key: .init(size: .bits256)).issue(
                    installationId: Self.owner.installationId, accountId: Self.owner.accountId, browser: fields.browser
                ).state
                for bad in [forged, state + "x", "", "abc.def"] {
                    let response = try await browser.callback(
                        "/oauth/microsoft/callback?code=good-code&state=\(FormEncoding.escape(bad))")
                    #expect(
                        response.status == 400 && response.headers["content-type"]?.hasPrefix("text/html") == true,
                        "\(bad.prefix(20))")
                }

                // The attack: the link reaches a victim's browser, which has no cookie. Refused before any
                // token request, and the flow is burnt for everyone.
                let victim = ConnectBrowser.router(client)
                let callback = "/oauth/microsoft/callback?code=good-code&state=\(FormEncoding.escape(state))"
                let refused = try await victim.callback(callback)
                #expect(
                    refused.status == 400 && refused.text.contains("not started in this browser"), "\(refused.text)")
                #expect(
                    try await browser.callback(callback).status == 400, "the state was used up by the refused attempt")
                // A browser with a cookie of its own flow is no better.
                let other = ConnectBrowser.router(client)
                _ = try await Self.begin(harness, client, other)
                let (ownCallback, _) = try await Self.begin(harness, client, browser)
                let stranger = ConnectBrowser.router(client)
                _ = try await Self.begin(harness, client, stranger)
                #expect(try await stranger.callback(ownCallback).status == 400)
                #expect(harness.upstream.tokenRequests.isEmpty)
                #expect(try await harness.services.connections.connection(Self.owner) == nil)

                // The starting browser: a confirmation page naming both sides, nothing stored yet.
                let (goodCallback, _) = try await Self.begin(harness, client, browser)
                let page = try await browser.callback(goodCallback)
                #expect(page.status == 200, "\(page.text)")
                // Jira's side by the names Jira gave for the user and the site, never by the opaque account id.
                for shown in ["Ada Lovelace", "ada@example.com", "Alice Example", "Acme Jira", "Connect", "Cancel"] {
                    #expect(page.text.contains(shown), "\(shown)")
                }
                #expect(!page.text.contains("557058:alice"))
                #expect(page.headers["cache-control"] == "no-store")
                let csp = try #require(page.headers["content-security-policy"])
                for directive in ["default-src 'none'", "form-action 'self'", "frame-ancestors 'none'"] {
                    #expect(csp.contains(directive), "\(directive)")
                }
                #expect(harness.upstream.tokenRequests.count == 1)
                #expect(harness.upstream.tokenRequests.first?["code_verifier"] != nil)
                #expect(
                    try await harness.services.connections.connection(Self.owner) == nil,
                    "nothing stored before the user confirms")
                #expect(try await Self.pendingRows(harness) == 1)

                // The confirmation needs the same browser: without the cookie, or with another's, refused.
                let token = try #require(ConnectBrowser.confirmationToken(page.text))
                #expect(try await victim.confirm(token: token).status == 400)
                #expect(try await stranger.confirm(token: token).status == 400)
                #expect(try await harness.services.connections.connection(Self.owner) == nil)

                let connected = try await browser.confirm(token: token)
                #expect(connected.status == 200 && connected.text.contains("Connected"), "\(connected.text)")
                #expect(connected.headers["set-cookie"]?.contains("Max-Age=0") == true, "the cookie is cleared")
                #expect(try await harness.services.connections.connection(Self.owner)?.displayName == "Ada Lovelace")
                #expect(try await harness.sqlite.connections.refreshToken(Self.owner)?.revealed == "refresh-1")
                #expect(try await browser.confirm(token: token).status == 400, "a confirmation works once")
                #expect(try await Self.pendingRows(harness) == 0)
            }
        }
    }

    @Test func decliningOrLettingItExpireStoresNothing() async throws {
        try await APIHarness.run { harness in
            try await harness.test { client in
                let browser = ConnectBrowser.router(client)
                // Cancel: nothing stored, the parked tokens gone.
                let (callback, _) = try await Self.begin(harness, client, browser)
                let declined = try await browser.confirm(
                    page: try await browser.callback(callback).text, decision: "cancel")
                #expect(declined.status == 200 && declined.text.contains("Nothing was connected"), "\(declined.text)")
                #expect(try await harness.services.connections.connection(Self.owner) == nil)
                #expect(try await Self.pendingRows(harness) == 0)

                // The confirmation page expires after ten minutes.
                let (late, _) = try await Self.begin(harness, client, browser)
                let page = try await browser.callback(late)
                harness.clock.advance(by: .seconds(601))
                let expired = try await browser.confirm(page: page.text)
                #expect(expired.status == 400 && expired.text.contains("expired"), "\(expired.text)")
                #expect(try await harness.services.connections.connection(Self.owner) == nil)
                #expect(try await Self.pendingRows(harness) == 0)

                // A start URL lasts two minutes; a state ten.
                let connect = try await client.execute(
                    uri: "/v1/microsoft/connect", method: .post, headers: try await harness.headers())
                harness.clock.advance(by: .seconds(121))
                #expect(try await browser.start(try #require(connect.json["startUrl"] as? String)).status == 400)
                let (slow, _) = try await Self.begin(harness, client, browser)
                harness.clock.advance(by: .seconds(601))
                let tooLate = try await browser.callback(slow)
                #expect(tooLate.status == 400 && tooLate.text.contains("expired"))
                #expect(harness.upstream.tokenRequests.count == 2, "only the two confirmation pages exchanged a code")
            }
        }
    }
}
