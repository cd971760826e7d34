import Foundation

/// The order people expect of names and issue keys, as Jira's and Finder's lists show them: letters
/// without regard to case, accents or width, runs of digits by their value ("OPS-9" before "OPS-10"),
/// and the exact text only to break a tie, so the order is total. Foundation's
/// `localizedStandardCompare` orders much the same, but builds the current locale on every comparison:
/// sorting a report's groups and its new issues' keys took several percent of a 5,000-issue render
/// (BENCHMARKS.md). Here each text is read once, into its sort key.
package struct NaturalOrder: Comparable, Sendable {
    enum Part: Comparable, Sendable {
        /// A run of digits, by value: its digits without leading zeros, compared by count, then in turn.
        case number(count: Int, digits: [UInt8])
        case text(String)

        /// Numbers before texts (digits come before letters); numbers by value; texts as folded.
        static func < (left: Part, right: Part) -> Bool {
            switch (left, right) {
            case (.number(let a, let x), .number(let b, let y)): a != b ? a < b : x.lexicographicallyPrecedes(y)
            case (.number, .text): true
            case (.text, .number): false
            case (.text(let a), .text(let b)): a < b
            }
        }
    }

    let parts: [Part]
    let original: String

    package init(_ text: String) {
        original = text
        let folded =
            text.utf8.allSatisfy { $0 < 0x80 }
            ? String(decoding: text.utf8.map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }, as: UTF8.self)
            : text.folding(options: [.caseInsensitive, .diacriticInsensitive, .widthInsensitive], locale: nil)
        var parts: [Part] = []
        var digits: [UInt8] = []
        var inDigits = false
        var letters = ""
        // A run ends: a number ("007" is 7, "000" is 0) or a text.
        func endRun() {
            if inDigits {
                parts.append(.number(count: digits.count, digits: digits))
            } else if !letters.isEmpty {
                parts.append(.text(letters))
            }
            digits = []
            letters = ""
        }
        for scalar in folded.unicodeScalars {
            let isDigit = scalar.value >= 48 && scalar.value <= 57
            if isDigit != inDigits {
                endRun()
                inDigits = isDigit
            }
            if !isDigit {
                letters.unicodeScalars.append(scalar)
            } else if !(digits.isEmpty && scalar.value == 48) {
                digits.append(UInt8(scalar.value))
            }
        }
        endRun()
        self.parts = parts
    }

    package static func < (left: NaturalOrder, right: NaturalOrder) -> Bool {
        if left.parts != right.parts { return left.parts.lexicographicallyPrecedes(right.parts) }
        return left.original < right.original
    }

    package static func == (left: NaturalOrder, right: NaturalOrder) -> Bool { left.original == right.original }
}

extension Sequence where Element == String {
    /// These texts in `NaturalOrder`.
    package func naturallySorted() -> [String] {
        map { (NaturalOrder($0), $0) }.sorted { $0.0 < $1.0 }.map(\.1)
    }
}
