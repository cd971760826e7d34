import Crypto
import Foundation
import GRDB
import Logging
import QueueTesting
import SecurityTesting
import TestSupport
import Testing

@testable import JobQueue
@testable import Reports
@testable import ReportsSupport
@testable import SQLiteBackend
@testable import Security
@testable import Transport

@Suite("Keys, configuration and logs")
struct KeyAndLogTests {
    static func keyLine(_ id: String) -> (line: String, key: SymmetricKey) {
        let key = SymmetricKey(size: .bits256)
        return ("\(id):" + key.withUnsafeBytes { Data($0).base64EncodedString() }, key)
    }

    @Test func keyConfigurationErrorsNameTheVariableButNeverAKey() throws {
        let good = Self.keyLine("k1")
        let goodBytes = good.line.split(separator: ":")[1]
        let state = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0).base64EncodedString() }
        let short = Data(repeating: 7, count: 24).base64EncodedString()
        let cases: [([String: String], String, String)] = [
            ([:], "REPORTS_TOKEN_KEYS", "is not set"),
            (["REPORTS_TOKEN_KEYS": "k1"], "REPORTS_TOKEN_KEYS", "entry 1 is not of the form id:base64key"),
            (
                ["REPORTS_TOKEN_KEYS": "\(good.line),k2:\(short)"], "REPORTS_TOKEN_KEYS",
                "entry 2's key is 24 bytes; it must be 32"
            ),
            (["REPORTS_TOKEN_KEYS": "k1:not*base64!"], "REPORTS_TOKEN_KEYS", "entry 1's key is not base64"),
            (["REPORTS_TOKEN_KEYS": "bad id:\(goodBytes)"], "REPORTS_TOKEN_KEYS", "entry 1's id must be"),
            (["REPORTS_TOKEN_KEYS": "\(good.line),\(good.line)"], "REPORTS_TOKEN_KEYS", "entry 2 repeats an id"),
            (["REPORTS_TOKEN_KEYS": good.line], "REPORTS_STATE_KEY", "is not set"),
            (["REPORTS_TOKEN_KEYS": good.line, "REPORTS_STATE_KEY": short], "REPORTS_STATE_KEY", "is 24 bytes"),
            (
                ["REPORTS_TOKEN_KEYS": good.line, "REPORTS_STATE_KEY": String(goodBytes)], "REPORTS_STATE_KEY",
                "must differ from every key"
            ),
        ]
        for (environment, variable, problem) in cases {
            let error = #expect(throws: ConfigurationError.self) { try SecurityConfiguration(environment: environment) }
            #expect(error?.variable == variable, "\(environment.keys.sorted())")
            #expect(error?.problem.contains(problem) == true, "\(error?.description ?? "")")
            for value in environment.values { #expect(error?.description.contains(value) == false) }
            #expect(error?.description.contains(String(goodBytes)) == false)
        }
        let configuration = try SecurityConfiguration(environment: [
            "REPORTS_TOKEN_KEYS": "\(good.line),\(Self.keyLine("old").line)", "REPORTS_STATE_KEY": state,
        ])
        #expect(configuration.tokenKeys.active.id == "k1")
        #expect(configuration.tokenKeys.keys.map(\.id) == ["k1", "old"])

        let forge = #expect(throws: ConfigurationError.self) {
            try ForgeConfiguration(environment: ["FORGE_APP_ID": "8db33809"], urlPolicy: .production)
        }
        #expect(forge?.variable == "FORGE_APP_ID")
        let jwks = #expect(throws: ConfigurationError.self) {
            try ForgeConfiguration(
                environment: [
                    "FORGE_APP_ID": "ari:cloud:ecosystem::app/x", "FORGE_JWKS_URL": "http://example.com/jwks",
                ], urlPolicy: .production)
        }
        #expect(jwks?.variable == "FORGE_JWKS_URL")
        #expect(
            try ForgeConfiguration(environment: ["FORGE_APP_ID": "ari:cloud:ecosystem::app/x"], urlPolicy: .production)
                .jwksURL == ForgeConfiguration.productionJWKSURL)
        let module = #expect(throws: ConfigurationError.self) {
            try ForgeConfiguration(
                environment: ["FORGE_APP_ID": "ari:cloud:ecosystem::app/x", "FORGE_ADMIN_MODULE_KEY": "x y!"],
                urlPolicy: .production)
        }
        #expect(module?.variable == "FORGE_ADMIN_MODULE_KEY" && module?.description.contains("x y!") == false)
        #expect(
            try ForgeConfiguration(
                environment: ["FORGE_APP_ID": "ari:cloud:ecosystem::app/x", "FORGE_ADMIN_MODULE_KEY": "my-admin_2"],
                urlPolicy: .production
            ).adminModuleKey == "my-admin_2")
    }

    @Test func rotationResealsEveryStoredSecretAndCanBeRunAgain() async throws {
        let fixture = try QueueFixture()
        defer { fixture.remove() }
        let old = Self.keyLine("old")
        let new = Self.keyLine("new")
        let oldVault = TokenVault(keys: TokenKeyRing(keys: [(old.line.components(separatedBy: ":")[0], old.key)]))
        let rotatedRing = TokenKeyRing(keys: [("new", new.key), ("old", old.key)])

        // 450 installations and 450 connections under the old key; one connection is damaged.
        try await fixture.database.pool.write { db in
            for index in 0..<450 {
                let installation = "ari:cloud:ecosystem::installation/\(index)"
                try db.execute(
                    sql: """
                        INSERT INTO installations (id, cloud_id, api_base_url, system_token_ciphertext, system_token_expires_at, first_seen_at, last_seen_at)
                        VALUES (?, 'cloud', 'https://api.atlassian.com/ex/jira/cloud', ?, 0, 0, 0)
                        """,
                    arguments: [
                        installation,
                        try oldVault.seal(
                            Secret("system-\(index)"), context: .atlassianSystemToken(installationId: installation)),
                    ])
                var refresh = try oldVault.seal(
                    Secret("refresh-\(index)"),
                    context: .microsoftRefreshToken(installationId: installation, accountId: "acct-\(index)"))
                if index == 77 { refresh[refresh.count - 1] ^= 1 }
                try db.execute(
                    sql: """
                        INSERT INTO microsoft_connections (installation_id, account_id, refresh_token_ciphertext, microsoft_user_id, connected_at)
                        VALUES (?, ?, ?, 'ms-user', 0)
                        """, arguments: [installation, "acct-\(index)", refresh])
            }
        }
        // 70 Run-now jobs waiting with a forwarded user token sealed into their payload (these
        // were missed, so runs waiting when the old key was dropped failed `token_unreadable`).
        let jobs = try (0..<70).map { index -> NewJob in
            let runId = "run-\(index)"
            let sealed = try oldVault.seal(
                Secret("user-\(index)"), context: .forwardedUserToken(installationId: "inst-\(index)", runId: runId))
            let payload = RunReportJob(
                runId: runId, reportId: "report-\(index)", installationId: "inst-\(index)", ownerAccountId: "acct",
                userToken: Base64URL.encode(sealed), userTokenExpiresAt: 0)
            return try NewJob(kind: RunReportJob.kind, parameters: payload)
        }
        let jobIds = try await fixture.queue.enqueue(jobs).map(\.jobId)
        let rotation = TokenKeyRotation(
            database: fixture.database, vault: TokenVault(keys: rotatedRing), batchSize: 64, logger: silentLogger)
        let first = try await rotation.run()
        #expect(first == .init(resealed: 969, alreadyCurrent: 0, failed: 1))
        let second = try await rotation.run()
        #expect(second == .init(resealed: 0, alreadyCurrent: 969, failed: 1), "a re-run only re-checks")
        for (index, id) in jobIds.enumerated() {
            let text = try await fixture.database.pool.read {
                try String.fetchOne($0, sql: "SELECT payload FROM jobs WHERE id = ?", arguments: [id])
            }
            let payload = try JSONDecoder().decode(RunReportJob.self, from: Data(try #require(text).utf8))
            let sealed = try #require(payload.userToken.flatMap(Base64URL.decode))
            let opened = try TokenVault(keys: TokenKeyRing(keys: [("new", new.key)])).open(
                sealed, context: .forwardedUserToken(installationId: "inst-\(index)", runId: "run-\(index)"))
            #expect(opened.revealed == "user-\(index)", "the job's token opens with the new key alone")
        }

        let newOnly = TokenVault(keys: TokenKeyRing(keys: [("new", new.key)]))
        let rows = try await fixture.database.pool.read { db in
            try Row.fetchAll(
                db,
                sql:
                    "SELECT installation_id, account_id, refresh_token_ciphertext FROM microsoft_connections ORDER BY installation_id"
            )
            .map { ($0[0] as String, $0[1] as String, $0[2] as Data) }
        }
        for (installation, account, sealed) in rows {
            if account == "acct-77" {
                #expect(try TokenVault.keyId(of: sealed) == "old", "a row that does not open is left as it was")
                continue
            }
            let opened = try newOnly.open(
                sealed, context: .microsoftRefreshToken(installationId: installation, accountId: account))
            #expect(opened.revealed == "refresh-" + account.dropFirst(5))
        }
    }

    @Test func noCanarySecretReachesAnyLogLine() async throws {
        let sink = CapturingLogSink()
        let logger = Logger(label: "canary") { JSONLogHandler(label: $0, level: .trace, sink: sink) }
        let canaries = ["CANARY-TOKEN-5e1c", "CANARY-REFRESH-8a2d", "CANARY-FIT-77b1", "CANARY-CODE-VERIFIER"]
        let fits = Fixtures.fits

        // A Secret in a message, in metadata, and inside a logged structure.
        let token = Secret(canaries[0])
        logger.info("handling \(token)", metadata: ["token": "\(token)", "list": .array([.stringConvertible(token)])])
        struct Carrier: Codable { let refresh: Secret }
        let carrier = String(decoding: try JSONEncoder().encode(Carrier(refresh: Secret(canaries[1]))), as: UTF8.self)
        logger.debug("carrier \(carrier)")

        // FIT verification failures of every kind, with the JWKS cache logging to the capture.
        let server = JWKSServer(body: fits.jwksJSON)
        try await server.run { url in
            let verifier = fixtureVerifier(url: url, logger: logger)
            for fixture in fits.cases {
                let poisoned = fixture.token + canaries[2]
                do { _ = try await verifier.verify(authorization: Secret("Bearer " + poisoned)) } catch {
                    logger.warning(
                        "FIT refused",
                        metadata: ["code": "\((error as? FITVerificationError)?.code ?? "?")", "error": "\(error)"])
                }
            }
            server.serve("", status: 500)
        }

        // Vault and OAuth state failures.
        let keyLine = Self.keyLine("k1")
        let vault = TokenVault(keys: TokenKeyRing(keys: [("k1", keyLine.key)]))
        let sealed = try vault.seal(Secret(canaries[1]), context: .atlassianSystemToken(installationId: "i"))
        do { _ = try vault.open(sealed, context: .atlassianSystemToken(installationId: "j")) } catch {
            logger.error("vault refused", metadata: ["error": "\(error)"])
        }
        let state = OAuthState(key: keyLine.key)
        let issued = state.issue(installationId: "i", accountId: "a")
        logger.info("connect started", metadata: ["verifier": "\(issued.codeVerifier)"])
        do { _ = try state.verify(issued.state + canaries[3]) } catch {
            logger.warning("state refused", metadata: ["error": "\(error)"])
        }

        // Key rotation over rows holding canaries, one of them damaged.
        let fixture = try QueueFixture()
        defer { fixture.remove() }
        try await fixture.database.pool.write { db in
            var damaged = try vault.seal(Secret(canaries[0]), context: .atlassianSystemToken(installationId: "inst"))
            damaged[5] ^= 1
            try db.execute(
                sql: """
                    INSERT INTO installations (id, cloud_id, api_base_url, system_token_ciphertext, system_token_expires_at, first_seen_at, last_seen_at)
                    VALUES ('inst', 'c', 'https://x', ?, 0, 0, 0)
                    """, arguments: [damaged])
        }
        let next = Self.keyLine("k2")
        _ = try await TokenKeyRotation(
            database: fixture.database,
            vault: TokenVault(keys: TokenKeyRing(keys: [("k2", next.key), ("k1", keyLine.key)])),
            logger: logger
        ).run()

        // Configuration errors about keys that hold a canary-like value.
        let keyText = keyLine.line.split(separator: ":")[1]
        do {
            _ = try SecurityConfiguration(environment: [
                "REPORTS_TOKEN_KEYS": keyLine.line, "REPORTS_STATE_KEY": String(keyText),
            ])
        } catch {
            logger.critical("configuration", metadata: ["error": "\(error)"])
        }

        let lines = sink.lines
        #expect(lines.count >= fits.cases.count + 8)
        for line in lines {
            for canary in canaries + [issued.codeVerifier.revealed, String(keyText)] {
                #expect(!line.contains(canary), "a log line holds a secret: \(line)")
            }
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(
                object?["time"] is String && object?["level"] is String && object?["label"] is String
                    && object?["message"] is String)
        }
        #expect(lines.contains { $0.contains("<redacted>") })
        #expect(lines.contains { $0.contains("cannot re-seal") })
    }

    @Test func theKeysCommandsWork() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let generated = try await ChildProcess.run("enqueuer", ["keys", "generate"], environment: [:], in: directory)
        #expect(generated.status == 0)
        let line = generated.output.trimmingCharacters(in: .whitespacesAndNewlines)
        let ring = try TokenKeyRing(environment: ["REPORTS_TOKEN_KEYS": line])
        #expect(ring.keys.count == 1)
        let stateKey = try await ChildProcess.run(
            "enqueuer", ["keys", "generate", "--state"], environment: [:], in: directory)
        #expect(Data(base64Encoded: stateKey.output.trimmingCharacters(in: .whitespacesAndNewlines))?.count == 32)

        let env = ["REPORTS_DATABASE": directory.file("r.sqlite"), "REPORTS_TOKEN_KEYS": line]
        #expect(try await ChildProcess.run("enqueuer", ["migrate"], environment: env, in: directory).status == 0)
        let rotated = try await ChildProcess.run("enqueuer", ["keys", "rotate"], environment: env, in: directory)
        #expect(rotated.status == 0, "\(rotated.output)")
        #expect(rotated.output.contains("re-sealed 0"))
        let unset = try await ChildProcess.run(
            "enqueuer", ["keys", "rotate"],
            environment: ["REPORTS_DATABASE": directory.file("r.sqlite"), "REPORTS_TOKEN_KEYS": ""], in: directory)
        #expect(unset.status == 78)
        #expect(unset.output.contains("configuration error: REPORTS_TOKEN_KEYS is not set"))
    }
}
