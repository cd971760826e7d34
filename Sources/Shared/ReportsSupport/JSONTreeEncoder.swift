/// Writes an `Encodable` value as the JSON text `JSONText` writes, so typed API responses come out byte
/// for byte as the API has always written them: keys sorted, `<` escaped, and an absent optional
/// written as `null` rather than left out (`encodeIfPresent` writes `null`; a type that must leave a
/// key out does so in its own `encode(to:)`). Leaves are written as text the moment they are encoded;
/// objects keep their members until they are written, sorted. Only what the API's response types use
/// is supported: strings, booleans, integers, doubles, nested objects and arrays; dates and URLs are
/// formatted by the types themselves. Coding paths are not tracked (nothing here can fail).
public enum JSONTreeEncoder {
    /// The JSON text of `value`, as `JSONText.serialize` writes it.
    public static func serialize(_ value: some Encodable) throws -> String {
        let root = Node()
        try value.encode(to: TreeEncoder(node: root))
        var output = ""
        output.reserveCapacity(1024)
        root.write(into: &output)
        return output
    }
}

/// A member or element: text already written, or a nested value still being filled.
private enum Entry {
    case text(String)
    case node(Node)

    func write(into output: inout String) {
        switch self {
        case .text(let text): output += text
        case .node(let node): node.write(into: &output)
        }
    }
}

/// One value being built; containers fill it in place (a type may ask for the same object twice, as a
/// run request adds its disposition to the run's members).
private final class Node {
    enum Content {
        case empty
        case text(String)
        case object([String: Entry])
        case array([Entry])
    }

    var content: Content = .empty

    func write(into output: inout String) {
        switch content {
        case .empty: output += "null"
        case .text(let text): output += text
        case .object(let members):
            output += "{"
            var first = true
            for key in members.keys.sorted() {
                if !first { output += "," }
                first = false
                JSONText.appendString(key, to: &output, escapeAngleBrackets: true)
                output += ":"
                members[key]!.write(into: &output)
            }
            output += "}"
        case .array(let elements):
            output += "["
            for (index, element) in elements.enumerated() {
                if index > 0 { output += "," }
                element.write(into: &output)
            }
            output += "]"
        }
    }

    func setMember(_ key: String, _ entry: Entry) {
        guard case .object(var members) = content else {
            content = .object([key: entry])
            return
        }
        content = .empty  // keeps `members` uniquely referenced while it grows
        members[key] = entry
        content = .object(members)
    }

    func append(_ entry: Entry) {
        guard case .array(var elements) = content else {
            content = .array([entry])
            return
        }
        content = .empty
        elements.append(entry)
        content = .array(elements)
    }

    func makeObject() {
        if case .object = content { return }
        content = .object([:])
    }

    func makeArray() {
        if case .array = content { return }
        content = .array([])
    }
}

private enum Leaf {
    static func string(_ value: String) -> String {
        var text = ""
        JSONText.appendString(value, to: &text, escapeAngleBrackets: true)
        return text
    }

    static func bool(_ value: Bool) -> String { value ? "true" : "false" }

    /// Any other value: written through its own `encode(to:)` into a nested node.
    static func entry(_ value: some Encodable) throws -> Entry {
        switch value {
        case let value as String: return .text(string(value))
        case let value as Bool: return .text(bool(value))
        case let value as Int: return .text(String(value))
        case let value as Double: return .text(JSONText.number(value))
        default:
            let node = Node()
            try value.encode(to: TreeEncoder(node: node))
            return .node(node)
        }
    }
}

private struct TreeEncoder: Encoder {
    let node: Node
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        node.makeObject()
        return KeyedEncodingContainer(KeyedContainer<Key>(node: node))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        node.makeArray()
        return UnkeyedContainer(node: node)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { SingleValueContainer(node: node) }
}

private struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let node: Node
    var codingPath: [any CodingKey] { [] }

    mutating func encodeNil(forKey key: Key) throws { node.setMember(key.stringValue, .text("null")) }
    mutating func encode(_ value: String, forKey key: Key) throws {
        node.setMember(key.stringValue, .text(Leaf.string(value)))
    }
    mutating func encode(_ value: Bool, forKey key: Key) throws {
        node.setMember(key.stringValue, .text(Leaf.bool(value)))
    }
    mutating func encode(_ value: Int, forKey key: Key) throws { node.setMember(key.stringValue, .text(String(value))) }
    mutating func encode(_ value: Int64, forKey key: Key) throws {
        node.setMember(key.stringValue, .text(String(value)))
    }
    mutating func encode(_ value: Double, forKey key: Key) throws {
        node.setMember(key.stringValue, .text(JSONText.number(value)))
    }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        node.setMember(key.stringValue, try Leaf.entry(value))
    }

    // Synthesized conformances call these for optionals: the API writes an absent value as null.
    mutating func encodeIfPresent(_ value: String?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
    }
    mutating func encodeIfPresent(_ value: Bool?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
    }
    mutating func encodeIfPresent(_ value: Int?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
    }
    mutating func encodeIfPresent(_ value: Int64?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
    }
    mutating func encodeIfPresent(_ value: Double?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
    }
    mutating func encodeIfPresent<T: Encodable>(_ value: T?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
    }

    // The remaining primitive types go through the generic path (unused by the API's types).
    mutating func encode(_ value: Float, forKey key: Key) throws { try encode(Double(value), forKey: key) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { try encode(Int(value), forKey: key) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { try encode(Int(value), forKey: key) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { try encode(Int(value), forKey: key) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { try encode(Double(value), forKey: key) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { try encode(Int(value), forKey: key) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { try encode(Int(value), forKey: key) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { try encode(Int(value), forKey: key) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { try encode(Double(value), forKey: key) }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type, forKey key: Key
    ) -> KeyedEncodingContainer<NestedKey> {
        let child = Node()
        child.makeObject()
        node.setMember(key.stringValue, .node(child))
        return KeyedEncodingContainer(KeyedContainer<NestedKey>(node: child))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let child = Node()
        child.makeArray()
        node.setMember(key.stringValue, .node(child))
        return UnkeyedContainer(node: child)
    }

    mutating func superEncoder() -> any Encoder { TreeEncoder(node: node) }
    mutating func superEncoder(forKey key: Key) -> any Encoder {
        let child = Node()
        node.setMember(key.stringValue, .node(child))
        return TreeEncoder(node: child)
    }
}

private struct UnkeyedContainer: UnkeyedEncodingContainer {
    let node: Node
    var codingPath: [any CodingKey] { [] }
    var count: Int {
        if case .array(let elements) = node.content { return elements.count }
        return 0
    }

    mutating func encodeNil() throws { node.append(.text("null")) }
    mutating func encode(_ value: String) throws { node.append(.text(Leaf.string(value))) }
    mutating func encode(_ value: Bool) throws { node.append(.text(Leaf.bool(value))) }
    mutating func encode(_ value: Int) throws { node.append(.text(String(value))) }
    mutating func encode(_ value: Int64) throws { node.append(.text(String(value))) }
    mutating func encode(_ value: Double) throws { node.append(.text(JSONText.number(value))) }
    mutating func encode<T: Encodable>(_ value: T) throws { node.append(try Leaf.entry(value)) }
    mutating func encode(_ value: Float) throws { try encode(Double(value)) }
    mutating func encode(_ value: Int8) throws { try encode(Int(value)) }
    mutating func encode(_ value: Int16) throws { try encode(Int(value)) }
    mutating func encode(_ value: Int32) throws { try encode(Int(value)) }
    mutating func encode(_ value: UInt) throws { try encode(Double(value)) }
    mutating func encode(_ value: UInt8) throws { try encode(Int(value)) }
    mutating func encode(_ value: UInt16) throws { try encode(Int(value)) }
    mutating func encode(_ value: UInt32) throws { try encode(Int(value)) }
    mutating func encode(_ value: UInt64) throws { try encode(Double(value)) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<
        NestedKey
    > {
        let child = Node()
        child.makeObject()
        node.append(.node(child))
        return KeyedEncodingContainer(KeyedContainer<NestedKey>(node: child))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let child = Node()
        child.makeArray()
        node.append(.node(child))
        return UnkeyedContainer(node: child)
    }

    mutating func superEncoder() -> any Encoder {
        let child = Node()
        node.append(.node(child))
        return TreeEncoder(node: child)
    }
}

private struct SingleValueContainer: SingleValueEncodingContainer {
    let node: Node
    var codingPath: [any CodingKey] { [] }

    mutating func encodeNil() throws { node.content = .text("null") }
    mutating func encode(_ value: String) throws { node.content = .text(Leaf.string(value)) }
    mutating func encode(_ value: Bool) throws { node.content = .text(Leaf.bool(value)) }
    mutating func encode(_ value: Int) throws { node.content = .text(String(value)) }
    mutating func encode(_ value: Int64) throws { node.content = .text(String(value)) }
    mutating func encode(_ value: Double) throws { node.content = .text(JSONText.number(value)) }
    mutating func encode<T: Encodable>(_ value: T) throws {
        switch try Leaf.entry(value) {
        case .text(let text): node.content = .text(text)
        case .node(let child): node.content = child.content
        }
    }
    mutating func encode(_ value: Float) throws { try encode(Double(value)) }
    mutating func encode(_ value: Int8) throws { try encode(Int(value)) }
    mutating func encode(_ value: Int16) throws { try encode(Int(value)) }
    mutating func encode(_ value: Int32) throws { try encode(Int(value)) }
    mutating func encode(_ value: UInt) throws { try encode(Double(value)) }
    mutating func encode(_ value: UInt8) throws { try encode(Int(value)) }
    mutating func encode(_ value: UInt16) throws { try encode(Int(value)) }
    mutating func encode(_ value: UInt32) throws { try encode(Int(value)) }
    mutating func encode(_ value: UInt64) throws { try encode(Double(value)) }
}
