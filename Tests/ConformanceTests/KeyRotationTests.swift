import Crypto
import Foundation
import Logging
import ReportsTesting
import Testing

@testable import JobQueue
@testable import Reports
@testable import ReportsSupport
@testable import Security

/// `enqueuer keys rotate` on both backends: every sealed secret — a system token, a Microsoft refresh
/// token, a forwarded user token inside a job's payload — is re-sealed under the active key, and a
/// second run finds nothing left to do.
@Suite("Key rotation")
struct KeyRotationTests {
    @Test(arguments: StorageBackend.allCases)
    func everySealedSecretMovesToTheActiveKeyOnce(_ backend: StorageBackend) async throws {
        try await backend.withStores { stores in
            try await stores.addInstallations()
            let systemToken = Secret("h.\(Base64URL.encode(Data(#"{"exp":1800003600}"#.utf8))).s")
            try await stores.installations.record(
                ReportFixture.identity(ReportFixture.installationA), systemToken: systemToken)
            let pending = PendingConnection(
                owner: stores.alice, microsoftUserId: "ms-alice", displayName: "Alice", microsoftAccount: "a@x")
            let token = try await stores.pending.park(pending, refreshToken: Secret("refresh-1"), browser: "b")
            #expect(
                try await stores.pending.take(token: token.revealed, browser: "b", confirm: true) == .taken(pending))
            // Bob's connection still awaits his confirmation when the key rotates.
            let waiting = PendingConnection(
                owner: stores.bob, microsoftUserId: "ms-bob", displayName: "Bob", microsoftAccount: "b@x")
            let waitingToken = try await stores.pending.park(waiting, refreshToken: Secret("refresh-2"), browser: "c")
            let report = try await stores.reports.create(stores.alice, ReportFixture.definition())
            let run = try #require(
                try await stores.runs.requestRun(stores.alice, reportId: report.id, userToken: Secret("user-token"))
                    .run)

            let old = stores.vault.keys.active
            let rotated = TokenVault(
                keys: TokenKeyRing(keys: [("k2", SymmetricKey(size: .bits256)), (old.id, old.symmetricKey)]))
            var logger = Logger(label: "test.rotation")
            logger.logLevel = .critical
            let rotation = TokenKeyRotation(storage: stores.sealedSecrets, vault: rotated, logger: logger)
            #expect(try await rotation.run() == .init(resealed: 4, alreadyCurrent: 0, failed: 0))
            #expect(try await rotation.run() == .init(resealed: 0, alreadyCurrent: 4, failed: 0))

            // Only the new key is needed now.
            let onlyNew = TokenVault(keys: TokenKeyRing(keys: [("k2", rotated.keys.active.symmetricKey)]))
            let system = try #require(
                try await stores.sealedSecrets.sealedSecrets(TokenKeyRotation.columns[0], after: nil, limit: 10)
                    .first)
            #expect(
                try onlyNew.open(system.1, context: .atlassianSystemToken(installationId: ReportFixture.installationA))
                    == systemToken)
            let refresh = try #require(
                try await stores.sealedSecrets.sealedSecrets(TokenKeyRotation.columns[1], after: nil, limit: 10)
                    .first)
            #expect(
                try onlyNew.open(
                    refresh.1,
                    context: .microsoftRefreshToken(
                        installationId: stores.alice.installationId, accountId: stores.alice.accountId))
                    == Secret("refresh-1"))
            let user = try #require(
                try await stores.sealedSecrets.sealedUserTokens(after: 0, kind: RunReportJob.kind, limit: 10).first)
            #expect(
                try onlyNew.open(
                    try #require(Base64URL.decode(user.sealed)),
                    context: .forwardedUserToken(installationId: ReportFixture.installationA, runId: run.id))
                    == Secret("user-token"))
            // Bob confirms after the rotation: what becomes his connection opens with the new key alone.
            #expect(
                try await stores.pending.take(token: waitingToken.revealed, browser: "c", confirm: true)
                    == .taken(waiting))
            let refreshes = try await stores.sealedSecrets.sealedSecrets(
                TokenKeyRotation.columns[1], after: nil, limit: 10)
            let bobs = try #require(refreshes.first { $0.0 == [stores.bob.installationId, stores.bob.accountId] })
            #expect(
                try onlyNew.open(
                    bobs.1,
                    context: .microsoftRefreshToken(
                        installationId: stores.bob.installationId, accountId: stores.bob.accountId))
                    == Secret("refresh-2"))
            // The job still leases and its payload still decodes.
            let job = try #require(
                try await stores.queue.lease(LeaseRequest(workerId: "w", limit: 1, leaseDuration: .seconds(30))).first)
            #expect(try JSONDecoder().decode(RunReportJob.self, from: job.payload).runId == run.id)
        }
    }

    /// The binary columns that hold no secret, each with its reason: a binary column added to a schema
    /// must be rotated or named here.
    static let plainBinaryColumns = [
        // A page's issue keys, statuses and cell hashes, kept for the next run's changes
        // (docs/report-page.md): no token, no cell text.
        "report_snapshots.body"
    ]

    /// Every column of either schema that holds a vault ciphertext (a BLOB/BYTEA or a `*_ciphertext`
    /// column) is rotated: a sealed column added to a schema and not to `TokenKeyRotation.columns` fails
    /// here. (The forwarded user token inside job payloads is rotated apart, above.)
    @Test(arguments: StorageBackend.allCases)
    func theRotationCoversEverySealedColumnOfTheSchema(_ backend: StorageBackend) async throws {
        try await backend.withStores { stores in
            let sealed: [String]
            switch backend {
            case .sqlite:
                sealed = try await stores.strings(
                    """
                    SELECT m.name || '.' || c.name FROM sqlite_master m, pragma_table_info(m.name) c
                    WHERE m.type = 'table' AND (upper(c.type) = 'BLOB' OR c.name LIKE '%ciphertext%')
                    """)
            case .postgres:
                sealed = try await stores.strings(
                    """
                    SELECT table_name || '.' || column_name FROM information_schema.columns
                    WHERE table_schema = current_schema() AND (data_type = 'bytea' OR column_name LIKE '%ciphertext%')
                    """)
            }
            #expect(!sealed.isEmpty)
            let rotated = TokenKeyRotation.columns.map { "\($0.table).\($0.column)" }
            #expect(
                Set(sealed) == Set(rotated + Self.plainBinaryColumns),
                "sealed in the schema: \(sealed.sorted()); rotated: \(rotated)")
        }
    }
}
