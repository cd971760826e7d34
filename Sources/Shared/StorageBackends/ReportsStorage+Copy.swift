import Foundation
public import Logging
import PostgresBackend
import PostgresNIO
import ReportsSupport
import SQLiteBackend
import ServiceSetup

extension ReportsStorage {
    /// Whether `location` (a `REPORTS_DATABASE` value or a command's flag) names a PostgreSQL server, a
    /// `postgres://` or `postgresql://` URL, rather than an SQLite file.
    public static func namesServer(_ location: String) -> Bool { PostgresSettings.isPostgresURL(location) }

    /// Copies the SQLite database at `path` into the empty PostgreSQL database `url` (every table, ids
    /// kept, one transaction: `SQLiteToPostgresCopy`); the rows copied per table. A failure stops the
    /// process with one line saying what is wrong.
    public static func copy(sqliteFile path: String, toServer url: String, program: String, logger: Logger) async
        -> [(table: String, rows: Int)]
    {
        do {
            let source = try ReportsDatabase.open(path: path)
            return try await PostgresReportsDatabase.withTemporaryClient(
                settings: serverSettings(url, program), logger: logger
            ) { target in
                try await SQLiteToPostgresCopy(source: source, target: target, logger: logger).run()
            }
        } catch let error as StoreError {
            ProcessSupport.fail(program: program, error.message)
        } catch let error as SQLiteToPostgresCopy.CopyError {
            ProcessSupport.fail(program: program, error.description)
        } catch let error as PSQLError {
            ProcessSupport.fail(
                program: program, "PostgreSQL refused the copy: \(PostgresAvailability.describe(error))")
        } catch {
            ProcessSupport.fail(program: program, "the copy failed (\(type(of: error)))")
        }
    }
}
