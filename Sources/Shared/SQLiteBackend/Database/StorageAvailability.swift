import Foundation
import GRDB

/// Tells a store that cannot be used right now (a full disk answered every request with
/// 500 `internal`) from a bug. Such errors pass: space is freed, a lock is released, the file comes
/// back. So they are answered 503 with `Retry-After`, workers back off and keep their jobs, and a write
/// that is incidental to a read (a last-seen time, a refreshed token) is skipped instead of failing it.
public enum StorageAvailability {
    /// SQLite's result codes for "the store cannot take this now", as opposed to a constraint or a
    /// bug: no space (SQLITE_FULL), disk I/O (SQLITE_IOERR), locked or busy past the busy timeout
    /// (SQLITE_BUSY, SQLITE_LOCKED), the file cannot be opened or written (SQLITE_CANTOPEN,
    /// SQLITE_READONLY), the WAL index protocol failed (SQLITE_PROTOCOL), out of memory (SQLITE_NOMEM).
    /// https://www.sqlite.org/rescode.html
    public static func isUnavailable(_ error: any Error) -> Bool {
        guard let error = error as? DatabaseError else { return false }
        return [
            ResultCode.SQLITE_FULL, .SQLITE_IOERR, .SQLITE_BUSY, .SQLITE_LOCKED, .SQLITE_CANTOPEN,
            .SQLITE_READONLY, .SQLITE_PROTOCOL, .SQLITE_NOMEM,
        ].contains(error.resultCode)
    }

    /// A short name of the cause for logs and metrics (never the SQL or the path).
    public static func reason(_ error: any Error) -> String {
        guard let error = error as? DatabaseError else { return "unknown" }
        switch error.resultCode {
        case .SQLITE_FULL: return "disk_full"
        case .SQLITE_BUSY, .SQLITE_LOCKED: return "locked"
        case .SQLITE_IOERR: return "io_error"
        case .SQLITE_CANTOPEN, .SQLITE_READONLY: return "cannot_write"
        default: return "unavailable"
        }
    }
}
