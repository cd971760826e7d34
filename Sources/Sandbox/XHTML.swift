import Foundation

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// A minimal XHTML tree: enough to check well-formedness (docs/microsoft-apis.md §3.1), find elements by
/// `data-id` or generated id, and write the page back out.
indirect enum XNode: Sendable, Equatable {
    case element(XElement)
    case text(String)
}

struct XElement: Sendable, Equatable {
    var name: String
    var attributes: [(String, String)]
    var children: [XNode]

    static func == (lhs: XElement, rhs: XElement) -> Bool {
        lhs.name == rhs.name && lhs.children == rhs.children
            && lhs.attributes.map { "\($0.0)=\($0.1)" } == rhs.attributes.map { "\($0.0)=\($0.1)" }
    }

    func attribute(_ name: String) -> String? { attributes.first { $0.0 == name }?.1 }

    /// Serialises as XHTML; `ids` gives a generated `id` attribute per element path, if any.
    func xhtml(path: [Int] = [], ids: [[Int]: String] = [:]) -> String {
        var attributes = self.attributes.filter { $0.0 != "id" }
        if let id = ids[path] { attributes.append(("id", id)) }
        let rendered = attributes.map { " \($0.0)=\"\(XHTML.escape($0.1, attribute: true))\"" }.joined()
        if children.isEmpty && ["br", "img", "meta", "hr"].contains(name) { return "<\(name)\(rendered)/>" }
        var output = "<\(name)\(rendered)>"
        for (index, child) in children.enumerated() {
            switch child {
            case .text(let text): output += XHTML.escape(text, attribute: false)
            case .element(let element): output += element.xhtml(path: path + [index], ids: ids)
            }
        }
        return output + "</\(name)>"
    }
}

enum XHTML {
    struct ParseError: Error { let message: String }

    /// Parses a whole document or, with `fragment`, a sequence of elements and text.
    static func parse(_ text: String, fragment: Bool = false) throws -> XElement {
        var source = text
        if fragment {
            source = "<fragment>\(text)</fragment>"
        } else if let doctype = source.range(of: "<!DOCTYPE[^>]*>", options: [.regularExpression, .caseInsensitive]) {
            source.removeSubrange(doctype)
        }
        let delegate = Builder()
        let parser = XMLParser(data: Data(source.utf8))
        parser.delegate = delegate
        parser.shouldResolveExternalEntities = false
        guard parser.parse(), let root = delegate.root else {
            throw ParseError(
                message: parser.parserError.map { "not well-formed XHTML (\(($0 as NSError).code))" }
                    ?? "not well-formed XHTML")
        }
        return root
    }

    static func escape(_ text: String, attribute: Bool) -> String {
        var output = text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
        if attribute { output = output.replacingOccurrences(of: "\"", with: "&quot;") }
        return output
    }

    private final class Builder: NSObject, XMLParserDelegate {
        var stack: [XElement] = []
        var root: XElement?

        func parser(
            _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
            attributes: [String: String]
        ) {
            stack.append(
                XElement(
                    name: name.lowercased(),
                    attributes: attributes.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }, children: []))
        }

        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            let element = stack.removeLast()
            if stack.isEmpty { root = element } else { stack[stack.count - 1].children.append(.element(element)) }
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            guard !stack.isEmpty else { return }
            if case .text(let previous)? = stack[stack.count - 1].children.last {
                stack[stack.count - 1].children[stack[stack.count - 1].children.count - 1] = .text(previous + string)
            } else {
                stack[stack.count - 1].children.append(.text(string))
            }
        }
    }
}
