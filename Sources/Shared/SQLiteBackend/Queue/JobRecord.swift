public import GRDB
public import JobQueue

// The `jobs` row mapping: JobRecord and JobState are the queue's own types (module JobQueue); only the
// SQLite backend knows they are rows.
extension JobRecord: FetchableRecord, TableRecord {
    public static let databaseTableName = "jobs"

    /// The columns `list` and `job(id:)` select: everything but the payload.
    static let listColumns = CodingKeys.allColumns
}

extension JobState: DatabaseValueConvertible {}

extension JobRecord.CodingKeys {
    static var allColumns: String {
        [
            JobRecord.CodingKeys.id, .kind, .priority, .state, .runAt, .attempt, .maxAttempts, .leaseToken,
            .leaseUntil, .workerId, .uniqueKey, .lastError, .createdAt, .startedAt, .finishedAt, .fairnessKey,
            .waitReason,
        ]
        .map(\.rawValue).joined(separator: ", ")
    }
}
