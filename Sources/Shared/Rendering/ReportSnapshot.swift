public import Foundation

/// What a report's page showed at its last successful run, kept per report to say at the next run what
/// changed (docs/report-page.md, "What changed"): per issue its key, its status name and a 32-bit hash
/// of each cell, by column id. No cell's text is kept, only its hash.
///
/// Size: 4 bytes per cell plus the key and the status (each cut at 255 bytes); about 60 bytes an issue
/// of 10 columns, so about 300 KB at the 5,000-issue cap, and never more than `maxBytes`.
public struct ReportSnapshot: Sendable, Equatable {
    public struct Issue: Sendable, Equatable {
        public var key: String
        public var status: String
        public var cells: [UInt32]

        package init(key: String, status: String, cells: [UInt32]) {
            self.key = key
            self.status = status
            self.cells = cells
        }
    }

    public var takenAt: Date
    public var columns: [String]
    public var issues: [Issue]

    /// The most a stored snapshot may hold (20 columns, 5,000 issues, long keys and statuses).
    public static let maxBytes = 4_000_000
    /// 2: cells hashed a word at a time (`CellHash`); a snapshot of version 1 is not read.
    static let version: UInt8 = 2

    public init(takenAt: Date, columns: [String], issues: [Issue]) {
        self.takenAt = takenAt
        self.columns = columns
        self.issues = issues
    }

    // MARK: Bytes

    /// Version, time, columns, issues; lengths as unsigned little-endian integers.
    public func encoded() -> Data {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(16 + issues.count * (24 + columns.count * 4))
        bytes.append(Self.version)
        Self.append(UInt64(bitPattern: Int64(takenAt.timeIntervalSince1970 * 1000)), to: &bytes)
        Self.append(UInt16(min(columns.count, Int(UInt16.max))), to: &bytes)
        for column in columns.prefix(Int(UInt16.max)) { Self.appendShort(column, to: &bytes) }
        Self.append(UInt32(issues.count), to: &bytes)
        for issue in issues {
            Self.appendShort(issue.key, to: &bytes)
            Self.appendShort(issue.status, to: &bytes)
            for index in 0..<columns.count {
                Self.append(index < issue.cells.count ? issue.cells[index] : 0, to: &bytes)
            }
        }
        return Data(bytes)
    }

    /// Nil for bytes that are not a snapshot this version wrote (the run then says nothing changed
    /// is known, as on a first run).
    public init?(encoded data: Data) {
        guard data.count <= Self.maxBytes else { return nil }
        var reader = Reader(bytes: [UInt8](data))
        guard reader.byte() == Self.version, let millis = reader.integer(UInt64.self),
            let columnCount = reader.integer(UInt16.self)
        else { return nil }
        var columns: [String] = []
        for _ in 0..<columnCount {
            guard let column = reader.short() else { return nil }
            columns.append(column)
        }
        guard let issueCount = reader.integer(UInt32.self), issueCount <= 1_000_000 else { return nil }
        var issues: [Issue] = []
        issues.reserveCapacity(Int(issueCount))
        for _ in 0..<issueCount {
            guard let key = reader.short(), let status = reader.short() else { return nil }
            var cells: [UInt32] = []
            cells.reserveCapacity(columns.count)
            for _ in 0..<columns.count {
                guard let cell = reader.integer(UInt32.self) else { return nil }
                cells.append(cell)
            }
            issues.append(Issue(key: key, status: status, cells: cells))
        }
        guard reader.atEnd else { return nil }
        self.init(
            takenAt: Date(timeIntervalSince1970: Double(Int64(bitPattern: millis)) / 1000), columns: columns,
            issues: issues)
    }

    private static func append<Integer: FixedWidthInteger>(_ value: Integer, to bytes: inout [UInt8]) {
        for shift in stride(from: 0, to: Integer.bitWidth, by: 8) {
            bytes.append(UInt8(truncatingIfNeeded: value >> shift))
        }
    }

    /// A string of at most 255 bytes, cut at a character's boundary.
    private static func appendShort(_ text: String, to bytes: inout [UInt8]) {
        let utf8 = text.utf8
        if utf8.count <= 255 {
            bytes.append(UInt8(utf8.count))
            bytes.append(contentsOf: utf8)
            return
        }
        var kept = Array(utf8.prefix(255))
        while String(validating: kept, as: UTF8.self) == nil && !kept.isEmpty { kept.removeLast() }
        bytes.append(UInt8(kept.count))
        bytes.append(contentsOf: kept)
    }

    private struct Reader {
        let bytes: [UInt8]
        var position = 0

        var atEnd: Bool { position == bytes.count }

        mutating func byte() -> UInt8? {
            guard position < bytes.count else { return nil }
            defer { position += 1 }
            return bytes[position]
        }

        mutating func integer<Integer: FixedWidthInteger>(_ type: Integer.Type) -> Integer? {
            let size = MemoryLayout<Integer>.size
            guard bytes.count - position >= size else { return nil }
            var value: Integer = 0
            for offset in 0..<size { value |= Integer(bytes[position + offset]) << (8 * offset) }
            position += size
            return value
        }

        mutating func short() -> String? {
            guard let count = byte(), bytes.count - position >= Int(count) else { return nil }
            defer { position += Int(count) }
            return String(validating: bytes[position..<position + Int(count)], as: UTF8.self)
        }
    }
}
