import PostgresStorage
import Reports
import ReportsPostgres
import ReportsSQLite
import SQLiteStorage
import Security

/// The database a worker runs on, as the `run-report` handler needs it: its stores, the token
/// broker's storage and the OneNote budget's, on one backend.
enum WorkerDatabase {
    case sqlite(ReportsDatabase)
    case postgres(PostgresReportsDatabase)

    func runReportStores(vault: TokenVault) -> any RunReportStores {
        switch self {
        case .sqlite(let database): SQLiteRunReportStores(database: database, vault: vault)
        case .postgres(let database): PostgresRunReportStores(database: database, vault: vault)
        }
    }

    var tokenStorage: any MicrosoftTokenStorage {
        switch self {
        case .sqlite(let database): SQLiteMicrosoftTokenStorage(database: database)
        case .postgres(let database): PostgresMicrosoftTokenStorage(database: database)
        }
    }

    var budgetStorage: any OneNoteBudgetStorage {
        switch self {
        case .sqlite(let database): SQLiteOneNoteBudgetStorage(database: database)
        case .postgres(let database): PostgresOneNoteBudgetStorage(database: database)
        }
    }

    var dataLifecycle: any DataLifecycleStore {
        switch self {
        case .sqlite(let database): SQLiteDataLifecycle(database: database)
        case .postgres(let database): PostgresDataLifecycle(database: database)
        }
    }

    var personalData: any PersonalDataStore {
        switch self {
        case .sqlite(let database): SQLitePersonalData(database: database)
        case .postgres(let database): PostgresPersonalData(database: database)
        }
    }
}
