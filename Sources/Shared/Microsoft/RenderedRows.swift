import Rendering

/// Every row of a document's sections as markup, in page order, written on every core (`RowWork`):
/// slices of rows, each slice one text with each row's end in it, so the rows are neither copied into
/// buffers of their own nor written twice, and each slice's UTF-8 is checked once, on its own core (the
/// parts are then put together from checked text). Read in order, one row at a time, by the part writer.
struct RenderedRows: Sequence {
    struct Slice {
        var markup = ""
        /// Where each of the slice's rows ends in `markup`, in UTF-8 bytes.
        var ends: [Int] = []
    }

    let slices: [Slice]

    init(_ document: ReportDocument, notes: PageNotes) {
        // Each row by its section and its place there, in page order.
        var places: [(section: Int, row: Int)] = []
        places.reserveCapacity(document.sections.reduce(0) { $0 + $1.rows.count })
        for (section, content) in document.sections.enumerated() {
            for row in content.rows.indices { places.append((section, row)) }
        }
        slices = RowWork.slices(of: places.count) { range in
            var markup = MarkupBuffer(capacity: range.count * 512)
            var ends: [Int] = []
            ends.reserveCapacity(range.count)
            for place in places[range] {
                OneNotePageRenderer.writeRow(
                    place.row, of: document.sections[place.section], notesColumn: document.notesColumn, notes: notes,
                    into: &markup)
                ends.append(markup.count)
            }
            return Slice(markup: markup.string, ends: ends)
        }
    }

    struct Iterator: IteratorProtocol {
        let slices: [Slice]
        var slice = 0
        var row = 0

        mutating func next() -> Substring? {
            while slice < slices.count && row == slices[slice].ends.count {
                slice += 1
                row = 0
            }
            guard slice < slices.count else { return nil }
            let (markup, ends) = (slices[slice].markup.utf8, slices[slice].ends)
            // Rows end on a character's end, so each offset is an index of the text.
            let start = markup.index(markup.startIndex, offsetBy: row == 0 ? 0 : ends[row - 1])
            let end = markup.index(markup.startIndex, offsetBy: ends[row])
            row += 1
            return Substring(markup[start..<end])
        }
    }

    func makeIterator() -> Iterator { Iterator(slices: slices) }
}
