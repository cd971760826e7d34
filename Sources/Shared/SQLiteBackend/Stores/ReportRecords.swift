public import GRDB
public import Reports

// Reports and runs are rows of `reports` and `runs`; the domain types (module Reports) know nothing of
// the database, so their record conformances live with the stores that own those tables.
extension Report: FetchableRecord, PersistableRecord {
    public static let databaseTableName = "reports"
}

extension ReportRun: FetchableRecord, PersistableRecord {
    public static let databaseTableName = "runs"
}
