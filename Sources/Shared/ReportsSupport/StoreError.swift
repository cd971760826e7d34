/// The database cannot be used: it cannot be opened, or its schema does not match this binary.
///
/// Messages name `REPORTS_DATABASE` and say what to do; they never print the path or any row content.
public struct StoreError: OperatorMessageError, Sendable, Equatable, CustomStringConvertible {
    private enum Code: Equatable, Sendable {
        case cannotOpen
        case notInitialised
        case schemaTooOld
        case schemaTooNew
        case migrationFailed
    }

    private let code: Code
    public let message: String

    private init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    public static func cannotOpen(_ reason: String) -> StoreError {
        StoreError(.cannotOpen, "REPORTS_DATABASE: cannot open the database: \(reason)")
    }

    public static func notInitialised() -> StoreError {
        StoreError(
            .notInitialised,
            "REPORTS_DATABASE: the database does not exist or has no schema yet; run `enqueuer migrate` first")
    }

    public static func schemaTooOld(missing: [String]) -> StoreError {
        StoreError(
            .schemaTooOld,
            "REPORTS_DATABASE: the database schema is older than this binary (missing migrations: \(missing.joined(separator: ", "))); run `enqueuer migrate`"
        )
    }

    public static func schemaTooNew(unknown: [String]) -> StoreError {
        StoreError(
            .schemaTooNew,
            "REPORTS_DATABASE: the database schema is newer than this binary (unknown migrations: \(unknown.joined(separator: ", "))); run a newer release of this program"
        )
    }

    public static func migrationFailed(_ reason: String) -> StoreError {
        StoreError(.migrationFailed, "REPORTS_DATABASE: migration failed: \(reason)")
    }

    /// Refuses a database that has no schema, or one made by an older or newer binary (either backend:
    /// both name their migrations the same way).
    public static func requireSchema(applied: [String], known: [String]) throws {
        if applied.isEmpty { throw StoreError.notInitialised() }
        let unknown = applied.filter { !known.contains($0) }
        if !unknown.isEmpty { throw StoreError.schemaTooNew(unknown: unknown) }
        let missing = known.filter { !applied.contains($0) }
        if !missing.isEmpty { throw StoreError.schemaTooOld(missing: missing) }
    }

    /// Compares the kind of error, not the wording, so callers and tests survive message edits.
    public static func == (lhs: StoreError, rhs: StoreError) -> Bool { lhs.code == rhs.code }
}
