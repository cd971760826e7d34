import Foundation

/// What a person does to a report's page in OneNote, for the tests of notes that survive a refresh:
/// typing into a table cell. OneNote's editor keeps typed text in a paragraph inside the cell; the
/// page's content answers show the edit from then on.
extension OneNoteStore {
    /// Types `text` into the cell under the header `column` of the row whose first cell reads `rowKey`
    /// (an issue key; a child row's "↳" and indent do not count), in the first table of the page that
    /// has both. False when there is no such page, row or column.
    func typeIntoCell(pageId: String, rowKey: String, column: String, text: String) -> Bool {
        edit(pageId) { page in Self.type(text, row: rowKey, column: column, in: &page.content) }
    }

    private static func type(_ text: String, row key: String, column: String, in nodes: inout [XNode]) -> Bool {
        for index in nodes.indices {
            guard case .element(var element) = nodes[index] else { continue }
            let typed =
                element.name == "table"
                ? type(text, row: key, column: column, inTable: &element)
                : type(text, row: key, column: column, in: &element.children)
            if typed {
                nodes[index] = .element(element)
                return true
            }
        }
        return false
    }

    private static func type(_ text: String, row key: String, column: String, inTable table: inout XElement) -> Bool {
        let rows = table.children.indices.filter {
            if case .element(let row) = table.children[$0] { row.name == "tr" } else { false }
        }
        guard let header = rows.first, case .element(let headerRow) = table.children[header],
            let columnIndex = cells(headerRow).firstIndex(where: { plainText($0) == column })
        else { return false }
        for rowIndex in rows.dropFirst() {
            guard case .element(var row) = table.children[rowIndex] else { continue }
            let cellIndices = row.children.indices.filter {
                if case .element(let cell) = row.children[$0] { cell.name == "td" || cell.name == "th" } else { false }
            }
            guard let first = cellIndices.first, columnIndex < cellIndices.count,
                case .element(let firstCell) = row.children[first], rowKey(plainText(firstCell)) == key,
                case .element(var cell) = row.children[cellIndices[columnIndex]]
            else { continue }
            cell.children = [.element(XElement(name: "p", attributes: [], children: [.text(text)]))]
            row.children[cellIndices[columnIndex]] = .element(cell)
            table.children[rowIndex] = .element(row)
            return true
        }
        return false
    }

    private static func cells(_ row: XElement) -> [XElement] {
        row.children.compactMap {
            if case .element(let cell) = $0, cell.name == "td" || cell.name == "th" { cell } else { nil }
        }
    }

    static func plainText(_ element: XElement) -> String {
        element.children.map { node in
            switch node {
            case .text(let text): text
            case .element(let child): plainText(child)
            }
        }.joined()
    }

    /// A first cell's text without a child row's marks: the em-space indent and "↳".
    private static func rowKey(_ text: String) -> String {
        String(text.unicodeScalars.filter { $0 != "\u{2003}" && $0 != "\u{21B3}" }.map(Character.init))
            .trimmingCharacters(in: .whitespaces)
    }
}
