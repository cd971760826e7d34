import Foundation
public import GRDB
import ReportsSupport

#if canImport(Glibc)
    import Glibc
#endif

/// The SQLite store shared by every process on the host.
///
/// One `DatabasePool` per process: WAL, `synchronous=NORMAL`, a busy timeout, foreign keys on. Only
/// `enqueuer migrate` changes the schema (`migrate(path:)`, guarded by a lock file so two migrators
/// never race); every other command opens with `open(path:)`, which refuses a schema that is older or
/// newer than this binary.
public struct ReportsDatabase: Sendable {
    public let path: String
    public let pool: DatabasePool

    /// How long a connection waits for another process's write lock before failing.
    public static let busyTimeout: Double = 10

    private init(path: String, pool: DatabasePool) {
        self.path = path
        self.pool = pool
    }

    /// Opens an existing database whose schema matches this binary exactly.
    public static func open(path: String) throws -> ReportsDatabase {
        guard FileManager.default.fileExists(atPath: path) else { throw StoreError.notInitialised() }
        let database = try ReportsDatabase(path: path, pool: makePool(path: path))
        try database.checkSchema()
        return database
    }

    /// Creates the database if needed and applies every pending migration. Safe to run from several
    /// processes at once: they take turns on an exclusive lock file beside the database.
    @discardableResult
    public static func migrate(path: String) throws -> [String] {
        try createParentDirectory(of: path)
        let lock = try MigrationLock(databasePath: path)
        defer { lock.unlock() }
        let pool = try makePool(path: path)
        do {
            let applied = try pool.read { try appliedMigrationIdentifiers($0) }
            let unknown = applied.filter { !knownMigrations.contains($0) }
            if !unknown.isEmpty { throw StoreError.schemaTooNew(unknown: unknown) }
            try migrator.migrate(pool)
            return knownMigrations.filter { !applied.contains($0) }
        } catch let error as StoreError {
            throw error
        } catch let error as DatabaseError {
            throw StoreError.migrationFailed(error.message ?? "SQLite error \(error.resultCode.rawValue)")
        }
    }

    /// The configuration every connection of every process uses.
    static func makeConfiguration() -> Configuration {
        var configuration = Configuration()
        configuration.busyMode = .timeout(busyTimeout)
        configuration.foreignKeysEnabled = true
        configuration.prepareDatabase { db in
            // WAL makes NORMAL durable against application crashes; only a power loss can lose the
            // last commits, and the queue's at-least-once design tolerates that.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        return configuration
    }

    private static func makePool(path: String) throws -> DatabasePool {
        do {
            let pool = try DatabasePool(path: path, configuration: makeConfiguration())
            // DatabasePool opens lazily; touch the schema now so a corrupt file fails here, clearly.
            _ = try pool.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM sqlite_master") }
            return pool
        } catch let error as DatabaseError {
            throw StoreError.cannotOpen(error.message ?? "SQLite error \(error.resultCode.rawValue)")
        }
    }

    private func checkSchema() throws {
        let applied: [String]
        do {
            applied = try pool.read { try Self.appliedMigrationIdentifiers($0) }
        } catch let error as DatabaseError {
            throw StoreError.cannotOpen(error.message ?? "SQLite error \(error.resultCode.rawValue)")
        }
        try Self.checkSchema(applied: applied, known: Self.knownMigrations)
    }

    /// Refuses a database that has no schema, or one made by an older or newer binary.
    static func checkSchema(applied: [String], known: [String]) throws {
        try StoreError.requireSchema(applied: applied, known: known)
    }

    /// Reads GRDB's migration table directly so that identifiers from a newer binary are seen too.
    private static func appliedMigrationIdentifiers(_ db: Database) throws -> [String] {
        guard try db.tableExists("grdb_migrations") else { return [] }
        return try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations")
    }

    private static func createParentDirectory(of path: String) throws {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory) {
            if !isDirectory.boolValue { throw StoreError.cannotOpen("its parent is not a directory") }
            return
        }
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw StoreError.cannotOpen("cannot create its parent directory")
        }
    }
}

/// An exclusive `flock` on `<database>.migrate-lock`, held while migrations run.
private struct MigrationLock {
    private let descriptor: Int32

    init(databasePath: String) throws {
        let descriptor = Glibc.open(databasePath + ".migrate-lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw StoreError.cannotOpen("cannot create the migration lock file beside it") }
        while flock(descriptor, LOCK_EX) != 0 {
            if errno == EINTR { continue }
            Glibc.close(descriptor)
            throw StoreError.cannotOpen("cannot lock the migration lock file")
        }
        self.descriptor = descriptor
    }

    func unlock() {
        flock(descriptor, LOCK_UN)
        Glibc.close(descriptor)
    }
}

extension ReportsDatabase {
    /// Whether the database answers a read now (the API's health check).
    public func isReadable() async -> Bool {
        (try? await pool.read { try Int.fetchOne($0, sql: "SELECT 1") }) != nil
    }
}
