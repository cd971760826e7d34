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
    }

    public var takenAt: Date
    public var columns: [String]
    public var issues: [Issue]

    /// The most a stored snapshot may hold (20 columns, 5,000 issues, long keys and statuses).
    public static let maxBytes = 4_000_000
    static let version: UInt8 = 1

    public init(takenAt: Date, columns: [String], issues: [Issue]) {
        self.takenAt = takenAt
        self.columns = columns
        self.issues = issues
    }

    /// A cell's hash: FNV-1a over its kind and text (a formatted cell over its structure, styles and
    /// text, walked in place: no text is built for it).
    static func hash(_ cell: ReportDocument.Cell) -> UInt32 {
        var hash = FNV()
        switch cell {
        case .empty:
            hash.add("e")
        case .text(let text):
            hash.add("t")
            hash.add(text)
        case .link(let text, let url):
            hash.add("l")
            hash.add(text)
            hash.add(url)
        case .status(let name, let category):
            hash.add("s")
            hash.add(name)
            hash.add(category)
        case .rich(let text):
            hash.add("r")
            hash.add(text.blocks)
            hash.add(text.continuation ?? "")
        }
        return hash.value
    }

    /// FNV-1a, 32 bits; each text ends with a separator byte, so ("ab", "c") and ("a", "bc") differ.
    struct FNV {
        private(set) var value: UInt32 = 2_166_136_261

        mutating func byte(_ byte: UInt8) {
            value ^= UInt32(byte)
            value = value &* 16_777_619
        }

        mutating func add(_ text: String) {
            for byte in text.utf8 { self.byte(byte) }
            self.byte(0xFF)
        }

        mutating func add(_ blocks: [RichText.Block]) {
            for block in blocks {
                switch block {
                case .paragraph(let items):
                    byte(1)
                    add(items)
                case .heading(let level, let items):
                    byte(2)
                    byte(UInt8(truncatingIfNeeded: level))
                    add(items)
                case .list(let ordered, let entries):
                    byte(ordered ? 3 : 4)
                    for entry in entries {
                        add(entry)
                        byte(5)
                    }
                case .code(let text):
                    byte(6)
                    add(text)
                case .quote(let inner):
                    byte(7)
                    add(inner)
                case .rule:
                    byte(8)
                }
            }
            byte(9)
        }

        mutating func add(_ items: [RichText.Inline]) {
            for item in items {
                switch item {
                case .text(let text, let style):
                    byte(10)
                    byte(style.rawValue)
                    add(text)
                case .link(let text, let url):
                    byte(11)
                    add(text)
                    add(url)
                case .lozenge(let text, let colour):
                    byte(12)
                    add(text)
                    add(colour)
                case .lineBreak:
                    byte(13)
                }
            }
        }
    }

    // MARK: Bytes

    /// Version, time, columns, issues; lengths as unsigned little-endian integers.
    public func encoded() -> Data {
        var data = Data()
        data.reserveCapacity(16 + issues.count * (24 + columns.count * 4))
        data.append(Self.version)
        Self.append(UInt64(bitPattern: Int64(takenAt.timeIntervalSince1970 * 1000)), to: &data)
        Self.append(UInt16(min(columns.count, Int(UInt16.max))), to: &data)
        for column in columns.prefix(Int(UInt16.max)) { Self.appendShort(column, to: &data) }
        Self.append(UInt32(issues.count), to: &data)
        for issue in issues {
            Self.appendShort(issue.key, to: &data)
            Self.appendShort(issue.status, to: &data)
            for index in 0..<columns.count {
                Self.append(index < issue.cells.count ? issue.cells[index] : 0, to: &data)
            }
        }
        return data
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

    private static func append<Integer: FixedWidthInteger>(_ value: Integer, to data: inout Data) {
        withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) }
    }

    /// A string of at most 255 bytes, cut at a character's boundary.
    private static func appendShort(_ text: String, to data: inout Data) {
        var bytes = Array(text.utf8.prefix(255))
        while String(validating: bytes, as: UTF8.self) == nil && !bytes.isEmpty { bytes.removeLast() }
        data.append(UInt8(bytes.count))
        data.append(contentsOf: bytes)
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
