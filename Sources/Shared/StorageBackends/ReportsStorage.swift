import Foundation
public import JobQueue
public import Logging
public import Microsoft
import PostgresBackend
public import Reports
public import ReportsSupport
import SQLiteBackend
public import Security
public import ServiceLifecycle
public import ServiceSetup

/// The one place that picks the storage backend: `REPORTS_DATABASE` names an SQLite file or a
/// PostgreSQL server (`ReportsConfiguration`), and this type opens it and hands every process the
/// backend's queue and stores as the protocols `Reports` defines. The executables never ask which
/// backend it is; a new backend adds a case here and its module, nothing in them.
///
/// Opening checks the schema (only `enqueuer migrate` changes it); a failure stops the process with one
/// line naming what is wrong, as every start-up error does (`ProcessSupport.fail`).
public struct ReportsStorage: Sendable {
    private enum Backend: Sendable {
        case sqlite(ReportsDatabase)
        case server(PostgresReportsDatabase)
    }

    private let backend: Backend
    private let settings: ReportsConfiguration

    private init(_ backend: Backend, _ settings: ReportsConfiguration) {
        self.backend = backend
        self.settings = settings
    }

    // MARK: Opening

    /// The storage of a long-running process. Its `services` (PostgreSQL's connection pool) must run
    /// in the process's `ServiceGroup`, first, so they stop last.
    public static func open(_ settings: ReportsConfiguration, program: String, logger: Logger) async -> ReportsStorage {
        guard let url = settings.postgresURL else {
            return ReportsStorage(.sqlite(openFile(settings, program)), settings)
        }
        let server = serverSettings(url, program)
        do {
            try await PostgresReportsDatabase.withTemporaryClient(settings: server, logger: logger) { database in
                try await database.requireCurrentSchema()
            }
            return ReportsStorage(.server(try PostgresReportsDatabase(settings: server, logger: logger)), settings)
        } catch let error as StoreError {
            ProcessSupport.fail(program: program, error.message)
        } catch {
            ProcessSupport.fail(program: program, "cannot open the PostgreSQL database (\(type(of: error)))")
        }
    }

    /// Runs one operator command's `body` on the storage (a PostgreSQL client that runs only meanwhile);
    /// a `StoreError` from it stops the process with its message.
    public static func with<Result: Sendable>(
        _ settings: ReportsConfiguration, program: String, logger: Logger,
        _ body: (ReportsStorage) async throws -> Result
    ) async throws -> Result {
        do {
            guard let url = settings.postgresURL else {
                return try await body(ReportsStorage(.sqlite(openFile(settings, program)), settings))
            }
            return try await PostgresReportsDatabase.withTemporaryClient(
                settings: serverSettings(url, program), logger: logger
            ) { database in
                try await database.requireCurrentSchema()
                return try await body(ReportsStorage(.server(database), settings))
            }
        } catch let error as StoreError {
            ProcessSupport.fail(program: program, error.message)
        }
    }

    /// Creates the database or brings its schema up to date; the names of the steps applied. Several
    /// processes may run it at once (a lock file beside SQLite's database, an advisory lock on PostgreSQL).
    public static func migrate(_ settings: ReportsConfiguration, program: String, logger: Logger) async -> [String] {
        do {
            guard let url = settings.postgresURL else {
                return try ReportsDatabase.migrate(path: settings.databasePath)
            }
            return try await PostgresReportsDatabase.withTemporaryClient(
                settings: serverSettings(url, program), logger: logger
            ) { database in try await database.migrate() }
        } catch let error as StoreError {
            ProcessSupport.fail(program: program, error.message)
        } catch {
            ProcessSupport.fail(program: program, "cannot migrate the database (\(type(of: error)))")
        }
    }

    /// An online, consistent copy of an SQLite database. PostgreSQL has its own (pg_dump); copying its
    /// files is not one, so there this refuses with the command to use.
    public static func backup(_ settings: ReportsConfiguration, to destination: String, program: String) async
        -> BackupSummary
    {
        guard settings.postgresURL == nil else {
            ProcessSupport.fail(
                program: program,
                "REPORTS_DATABASE names PostgreSQL: back it up with pg_dump (`pg_dump --format=custom --file=reports.dump DATABASE`, RUNBOOK.md), not with this command",
                exitCode: ProcessSupport.configurationExitCode)
        }
        do {
            return try await openFile(settings, program).backup(to: destination)
        } catch let error as BackupError {
            ProcessSupport.fail(program: program, "backup: \(error.message)")
        } catch let error as StoreError {
            ProcessSupport.fail(program: program, error.message)
        } catch {
            ProcessSupport.fail(program: program, "backup failed (\(type(of: error)))")
        }
    }

    private static func openFile(_ settings: ReportsConfiguration, _ program: String) -> ReportsDatabase {
        do {
            return try ReportsDatabase.open(path: settings.databasePath)
        } catch let error as StoreError {
            ProcessSupport.fail(program: program, error.message)
        } catch {
            ProcessSupport.fail(program: program, "cannot open the database (\(type(of: error)))")
        }
    }

    static func serverSettings(_ url: String, _ program: String) -> PostgresSettings {
        do {
            return try PostgresSettings(url: url, environment: ProcessInfo.processInfo.environment)
        } catch {
            ProcessSupport.fail(program: program, "\(error)", exitCode: ProcessSupport.configurationExitCode)
        }
    }

    // MARK: What the processes use

    /// What must run while the storage is used (PostgreSQL's pool); nothing for SQLite.
    public var services: [any Service] {
        switch backend {
        case .sqlite: []
        case .server(let database): [database]
        }
    }

    /// The job queue, with the configured fairness.
    public var queue: any JobQueue {
        switch backend {
        case .sqlite(let database): SQLiteJobQueue(database: database, fairness: settings.limits.fairness)
        case .server(let database): PostgresJobQueue(database: database, fairness: settings.limits.fairness)
        }
    }

    /// The API's stores. (Its Microsoft token broker and OneNote budget are built over
    /// `tokenStorage` and `budgetStorage`, as the worker's are.)
    public func apiStores(vault: TokenVault) -> ServiceStores {
        switch backend {
        case .sqlite(let database):
            SQLiteServiceStores(database: database, vault: vault, limits: settings.limits).stores
        case .server(let database):
            PostgresServiceStores(database: database, vault: vault, limits: settings.limits).stores
        }
    }

    /// `enqueuer cron`'s batches of due reports.
    public func scheduler(logger: Logger) -> any DueReportScheduling {
        switch backend {
        case .sqlite(let database):
            ReportScheduler(
                database: database, queue: SQLiteJobQueue(database: database, fairness: settings.limits.fairness),
                logger: logger, retention: settings.retention, license: settings.license)
        case .server(let database):
            PostgresReportScheduler(
                database: database, queue: PostgresJobQueue(database: database, fairness: settings.limits.fairness),
                logger: logger, retention: settings.retention, license: settings.license)
        }
    }

    /// What the `run-report` handler reads and writes.
    public func runReportStores(vault: TokenVault) -> any RunReportStores {
        switch backend {
        case .sqlite(let database): SQLiteRunReportStores(database: database, vault: vault)
        case .server(let database): PostgresRunReportStores(database: database, vault: vault)
        }
    }

    /// The owners' Microsoft connections (whose OneNote budget a run spends; reconnect required).
    public func microsoftConnections(vault: TokenVault) -> any MicrosoftConnections {
        switch backend {
        case .sqlite(let database): MicrosoftConnectionStore(database: database, vault: vault)
        case .server(let database): PostgresConnectionStore(database: database, vault: vault)
        }
    }

    public var tokenStorage: any MicrosoftTokenStorage {
        switch backend {
        case .sqlite(let database): SQLiteMicrosoftTokenStorage(database: database)
        case .server(let database): PostgresMicrosoftTokenStorage(database: database)
        }
    }

    public var budgetStorage: any OneNoteBudgetStorage {
        switch backend {
        case .sqlite(let database): SQLiteOneNoteBudgetStorage(database: database)
        case .server(let database): PostgresOneNoteBudgetStorage(database: database)
        }
    }

    public var dataLifecycle: any DataLifecycleStore {
        switch backend {
        case .sqlite(let database): SQLiteDataLifecycle(database: database)
        case .server(let database): PostgresDataLifecycle(database: database)
        }
    }

    public var personalData: any PersonalDataStore {
        switch backend {
        case .sqlite(let database): SQLitePersonalData(database: database)
        case .server(let database): PostgresPersonalData(database: database)
        }
    }

    public var sealedSecrets: any SealedSecretStorage {
        switch backend {
        case .sqlite(let database): SQLiteSealedSecretStorage(database: database)
        case .server(let database): PostgresSealedSecretStorage(database: database)
        }
    }

    public var tenantExport: any TenantDataExporting {
        switch backend {
        case .sqlite(let database): SQLiteTenantExport(database: database)
        case .server(let database): PostgresTenantExport(database: database)
        }
    }

    public var readings: any StorageReadings {
        switch backend {
        case .sqlite(let database): SQLiteStorageReadings(database: database)
        case .server(let database): PostgresStorageReadings(database: database)
        }
    }
}
