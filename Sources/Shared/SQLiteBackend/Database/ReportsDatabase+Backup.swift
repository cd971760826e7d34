import Foundation
import GRDB
public import ReportsSupport

#if canImport(Glibc)
    import Glibc
#endif

/// A problem with the backup destination (the source database's problems are `StoreError`s).
public struct BackupError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

extension ReportsDatabase {
    /// An online backup: `VACUUM INTO` copies one consistent snapshot (a read transaction, so the API,
    /// cron and workers keep writing meanwhile in WAL mode) into a new, compacted file, which is then
    /// checked with `PRAGMA integrity_check` before it is reported good. The file is created 0600
    /// first: it holds ciphertexts only, but nothing in it is anyone else's business.
    public func backup(to destination: String) async throws -> BackupSummary {
        if FileManager.default.fileExists(atPath: destination) {
            throw BackupError(message: "the backup destination already exists; choose a new file name")
        }
        let descriptor = Glibc.open(destination, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else {
            throw BackupError(message: "cannot create the backup file (does its directory exist and is it writable?)")
        }
        Glibc.close(descriptor)
        do {
            try await pool.writeWithoutTransaction { db in
                try db.execute(sql: "VACUUM INTO ?", arguments: [destination])
            }
            let copy = try DatabaseQueue(
                path: destination,
                configuration: {
                    var configuration = Configuration()
                    configuration.readonly = true
                    return configuration
                }())
            let (integrity, migrations) = try await copy.read { db in
                (
                    try String.fetchAll(db, sql: "PRAGMA integrity_check"),
                    try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY rowid")
                )
            }
            try copy.close()
            guard integrity == ["ok"] else {
                throw BackupError(message: "the backup failed its integrity check; it was removed")
            }
            let size = ((try? FileManager.default.attributesOfItem(atPath: destination))?[.size] as? Int) ?? 0
            return BackupSummary(bytes: size, migrations: migrations)
        } catch {
            try? FileManager.default.removeItem(atPath: destination)
            if let error = error as? BackupError { throw error }
            if let error = error as? DatabaseError {
                throw BackupError(
                    message: "the backup failed: \(error.message ?? "SQLite error \(error.resultCode.rawValue)")")
            }
            throw error
        }
    }
}
