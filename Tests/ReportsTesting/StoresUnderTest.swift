package import Foundation
import GRDB
package import JobQueue
import Logging
package import Microsoft
import PostgresBackend
import PostgresNIO
import PostgresTesting
import QueueTesting
package import Reports
import SQLiteBackend
package import Security
package import TestSupport

/// The stores of one backend as the API and the scheduler see them (protocols only), over a fresh
/// database with a hand-moved clock: what the store conformance suite runs against, once per backend.
package struct StoresUnderTest: Sendable {
    package let backend: StorageBackend
    package let clock: TestClock
    package let vault: TokenVault
    package let queue: any JobQueue
    package let installations: any InstallationRecords
    package let storage: any StorageReadings
    /// The OneNote budget's storage (a limiter takes its settings and clock; `OneNoteRateLimiter(storage:)`).
    package let budget: any OneNoteBudgetStorage
    package let pending: any PendingConnections
    /// Key rotation's reads and writes.
    package let sealedSecrets: any SealedSecretStorage
    /// `enqueuer tenant export`'s reads.
    package let tenantExport: any TenantDataExporting
    /// The retention rules' writes, `enqueuer tenant delete` and `data stats`.
    package let dataLifecycle: any DataLifecycleStore
    /// Personal data reporting's reads and writes.
    package let personalData: any PersonalDataStore
    /// What the run-report handler (and the account reporter, for system tokens) reads and writes.
    package let runReportStores: any RunReportStores
    /// The admin page's reads of a site and its schedule switch.
    package let administration: any SiteAdministrationStorage
    /// The users' Microsoft connections, as the API sees them.
    package let connections: any MicrosoftConnections
    /// `REPORTS_DATABASE` for a real process on this database: the SQLite file or the postgres:// URL.
    package let location: String
    fileprivate let makeReports: @Sendable (TenantLimits) -> any ReportDefinitions
    fileprivate let makeRuns: @Sendable (Int) -> any RunRequests
    fileprivate let makeScheduler: @Sendable (LicensePolicy) -> any DueReportScheduling
    fileprivate let executeSQL: @Sendable (String) async throws -> Void
    fileprivate let readIntegers: @Sendable (String) async throws -> [Int]
    fileprivate let readStrings: @Sendable (String) async throws -> [String]
    fileprivate let secondProcess: @Sendable (@Sendable (SecondProcess) async throws -> Void) async throws -> Void

    package let alice = ReportOwner(installationId: ReportFixture.installationA, accountId: "557058:alice")
    package let bob = ReportOwner(installationId: ReportFixture.installationA, accountId: "557058:bob")
    package let eve = ReportOwner(installationId: ReportFixture.installationB, accountId: "557058:alice")

    package var reports: any ReportDefinitions { makeReports(TenantLimits()) }
    package func reports(limits: TenantLimits) -> any ReportDefinitions { makeReports(limits) }
    package var runs: any RunRequests { makeRuns(TenantLimits().runNowPerMinute) }
    package func runs(runNowPerMinute: Int) -> any RunRequests { makeRuns(runNowPerMinute) }
    package var scheduler: any DueReportScheduling { makeScheduler(LicensePolicy()) }
    package func scheduler(license: LicensePolicy) -> any DueReportScheduling { makeScheduler(license) }

    /// One statement of the backend's own SQL (for what no store operation does, like a run's start).
    package func execute(_ sql: String) async throws { try await executeSQL(sql) }
    /// The first column of each row of `sql`, as integers.
    package func integers(_ sql: String) async throws -> [Int] { try await readIntegers(sql) }
    /// The first column of each row of `sql`, as text.
    package func strings(_ sql: String) async throws -> [String] { try await readStrings(sql) }
    /// Runs `body` with the stores of a second process: its own connections to the same database.
    package func withSecondProcess(_ body: @Sendable (SecondProcess) async throws -> Void) async throws {
        try await secondProcess(body)
    }

    package func addInstallations() async throws {
        for id in [ReportFixture.installationA, ReportFixture.installationB] {
            try await installations.record(ReportFixture.identity(id), systemToken: nil)
        }
    }
}

/// What a second process on the same database uses in the tests.
package struct SecondProcess: Sendable {
    package let scheduler: any DueReportScheduling
    package let budget: any OneNoteBudgetStorage
}

extension StorageBackend {
    /// Runs `body` with this backend's stores over a fresh database, removed after.
    /// `clockStart`: where the stores' hand-moved clock starts (tokens minted by a real sandbox need
    /// the real time).
    package func withStores<Result: Sendable>(
        clockStart: Date = Date(timeIntervalSince1970: 1_800_000_000), _ body: (StoresUnderTest) async throws -> Result
    ) async throws -> Result {
        let clock = TestClock(clockStart)
        let now: @Sendable () -> Date = { clock.now }
        let vault = ReportFixture.makeVault()
        switch self {
        case .sqlite:
            let fixture = try QueueFixture()
            defer { fixture.remove() }
            let (database, queue) = (fixture.database, SQLiteJobQueue(database: fixture.database, now: now))
            let stores = StoresUnderTest(
                backend: self, clock: clock, vault: vault, queue: queue,
                installations: InstallationStore(database: database, vault: vault, now: now),
                storage: SQLiteStorageReadings(database: database, now: now),
                budget: SQLiteOneNoteBudgetStorage(database: database),
                pending: PendingConnectionStore(database: database, vault: vault, now: now),
                sealedSecrets: SQLiteSealedSecretStorage(database: database),
                tenantExport: SQLiteTenantExport(database: database, now: now),
                dataLifecycle: SQLiteDataLifecycle(database: database),
                personalData: SQLitePersonalData(database: database),
                runReportStores: SQLiteRunReportStores(database: database, vault: vault, now: now),
                administration: SiteAdministrationStore(database: database),
                connections: MicrosoftConnectionStore(database: database, vault: vault, now: now),
                location: database.path,
                makeReports: { ReportStore(database: database, limits: $0, now: now) },
                makeRuns: { RunStore(database: database, queue: queue, vault: vault, runNowPerMinute: $0, now: now) },
                makeScheduler: {
                    ReportScheduler(database: database, queue: queue, logger: silentLogger, license: $0, now: now)
                },
                executeSQL: { sql in try await database.pool.write { try $0.execute(sql: sql) } },
                readIntegers: { sql in try await database.pool.read { try Int.fetchAll($0, sql: sql) } },
                readStrings: { sql in try await database.pool.read { try String.fetchAll($0, sql: sql) } },
                secondProcess: { body in
                    let other = try ReportsDatabase.open(path: database.path)
                    try await body(
                        SecondProcess(
                            scheduler: ReportScheduler(
                                database: other, queue: SQLiteJobQueue(database: other, now: now),
                                logger: silentLogger, now: now),
                            budget: SQLiteOneNoteBudgetStorage(database: other)))
                })
            return try await body(stores)
        case .postgres:
            let cluster = try await PostgresTestCluster.shared()
            return try await cluster.withDatabase { database, name in
                let queue = PostgresJobQueue(database: database, now: now)
                let logger = database.logger
                let stores = StoresUnderTest(
                    backend: self, clock: clock, vault: vault, queue: queue,
                    installations: PostgresInstallationStore(database: database, vault: vault, now: now),
                    storage: PostgresStorageReadings(database: database, now: now),
                    budget: PostgresOneNoteBudgetStorage(database: database),
                    pending: PostgresPendingConnectionStore(database: database, vault: vault, now: now),
                    sealedSecrets: PostgresSealedSecretStorage(database: database),
                    tenantExport: PostgresTenantExport(database: database, now: now),
                    dataLifecycle: PostgresDataLifecycle(database: database),
                    personalData: PostgresPersonalData(database: database),
                    runReportStores: PostgresRunReportStores(database: database, vault: vault, now: now),
                    administration: PostgresSiteAdministrationStore(database: database),
                    connections: PostgresConnectionStore(database: database, vault: vault, now: now),
                    location: cluster.url(database: name),
                    makeReports: { PostgresReportStore(database: database, limits: $0, now: now) },
                    makeRuns: {
                        PostgresRunStore(database: database, queue: queue, vault: vault, runNowPerMinute: $0, now: now)
                    },
                    makeScheduler: {
                        PostgresReportScheduler(
                            database: database, queue: queue, logger: silentLogger, license: $0, now: now)
                    },
                    executeSQL: { sql in
                        _ = try await database.withConnection { connection in
                            try await connection.checkedQuery(PostgresQuery(unsafeSQL: sql), logger: logger)
                        }
                    },
                    readIntegers: { sql in
                        try await database.withConnection { connection in
                            try await connection.checkedQuery(PostgresQuery(unsafeSQL: sql), logger: logger)
                                .collect().map { try $0.decode(Int.self) }
                        }
                    },
                    readStrings: { sql in
                        try await database.withConnection { connection in
                            try await connection.checkedQuery(PostgresQuery(unsafeSQL: sql), logger: logger)
                                .collect().map { try $0.decode(String.self) }
                        }
                    },
                    secondProcess: { body in
                        try await PostgresTestCluster.withRunning(url: cluster.url(database: name)) { other in
                            try await body(
                                SecondProcess(
                                    scheduler: PostgresReportScheduler(
                                        database: other, queue: PostgresJobQueue(database: other, now: now),
                                        logger: silentLogger, now: now),
                                    budget: PostgresOneNoteBudgetStorage(database: other)))
                        }
                    })
                return try await body(stores)
            }
        }
    }
}
