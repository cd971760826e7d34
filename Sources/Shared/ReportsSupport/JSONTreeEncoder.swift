import Foundation

/// Encodes an `Encodable` value into the tree `JSONText` writes (dictionaries, arrays, strings,
/// numbers, booleans, `NSNull`), so typed API responses come out byte for byte as the API has always
/// written them: keys sorted, `<` escaped, and an absent optional written as `null` rather than left
/// out (`encodeIfPresent` writes `null`; a type that must leave a key out does so in its own
/// `encode(to:)`). Only what the API's response types use is supported: strings, booleans, integers,
/// doubles, nested objects and arrays. Dates and URLs are formatted by the types themselves.
public enum JSONTreeEncoder {
    public static func encode(_ value: some Encodable) throws -> Any {
        let root = Node()
        try value.encode(to: TreeEncoder(node: root, codingPath: []))
        return root.resolved
    }

    /// The JSON text of `value`, as `JSONText.serialize` writes it.
    public static func serialize(_ value: some Encodable) throws -> String {
        JSONText.serialize(try encode(value))
    }
}

/// One value of the tree while it is being built; containers fill it in place.
private final class Node {
    enum Content {
        case empty
        case leaf(Any)
        case object(ObjectNode)
        case array(ArrayNode)
    }

    var content: Content = .empty

    init(_ content: Content = .empty) { self.content = content }

    var resolved: Any {
        switch content {
        case .empty: NSNull()
        case .leaf(let value): value
        case .object(let object): object.fields.mapValues(\.resolved)
        case .array(let array): array.elements.map(\.resolved)
        }
    }

    /// The object this node holds, made one if it holds nothing yet; a type that encodes its own keys
    /// after another's (a run plus its disposition) adds to the same object.
    var object: ObjectNode {
        if case .object(let object) = content { return object }
        let object = ObjectNode()
        content = .object(object)
        return object
    }

    var array: ArrayNode {
        if case .array(let array) = content { return array }
        let array = ArrayNode()
        content = .array(array)
        return array
    }
}

private final class ObjectNode { var fields: [String: Node] = [:] }
private final class ArrayNode { var elements: [Node] = [] }

private struct TreeEncoder: Encoder {
    let node: Node
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(KeyedContainer<Key>(object: node.object, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        UnkeyedContainer(array: node.array, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleValueContainer(node: node, codingPath: codingPath)
    }
}

/// Leaves the tree writer understands; anything else is encoded through its own `encode(to:)`.
private func leaf(_ value: some Encodable) -> Any? {
    switch value {
    case let value as String: value
    case let value as Bool: value
    case let value as Int: value
    case let value as any BinaryInteger: Int64(clamping: value)
    case let value as Double: value
    case let value as Float: Double(value)
    default: nil
    }
}

private func encodeNode(_ value: some Encodable, codingPath: [any CodingKey]) throws -> Node {
    if let leaf = leaf(value) { return Node(.leaf(leaf)) }
    let node = Node()
    try value.encode(to: TreeEncoder(node: node, codingPath: codingPath))
    return node
}

private struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let object: ObjectNode
    let codingPath: [any CodingKey]

    mutating func encodeNil(forKey key: Key) throws { object.fields[key.stringValue] = Node(.leaf(NSNull())) }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws { try encodeValue(value, forKey: key) }

    private mutating func encodeValue(_ value: some Encodable, forKey key: Key) throws {
        object.fields[key.stringValue] = try encodeNode(value, codingPath: codingPath + [key])
    }

    mutating func encode(_ value: Bool, forKey key: Key) throws { try encodeValue(value, forKey: key) }
    mutating func encode(_ value: String, forKey key: Key) throws { try encodeValue(value, forKey: key) }
    mutating func encode(_ value: Double, forKey key: Key) throws { try encodeValue(value, forKey: key) }
    mutating func encode(_ value: Float, forKey key: Key) throws { try encodeValue(value, forKey: key) }
    mutating func encode(_ value: Int, forKey key: Key) throws { try encodeValue(value, forKey: key) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { try encodeValue(value, forKey: key) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { try encodeValue(value, forKey: key) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { try encodeValue(value, forKey: key) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { try encodeValue(value, forKey: key) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { try encodeValue(value, forKey: key) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { try encodeValue(value, forKey: key) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { try encodeValue(value, forKey: key) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { try encodeValue(value, forKey: key) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { try encodeValue(value, forKey: key) }

    // Synthesized conformances call these for optionals: the API writes an absent value as null.
    mutating func encodeIfPresent<T: Encodable>(_ value: T?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
    }
    mutating func encodeIfPresent(_ value: String?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
    }
    mutating func encodeIfPresent(_ value: Int?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
    }
    mutating func encodeIfPresent(_ value: Int64?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
    }
    mutating func encodeIfPresent(_ value: Bool?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
    }
    mutating func encodeIfPresent(_ value: Double?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key)
        -> KeyedEncodingContainer<NestedKey>
    {
        let node = Node()
        object.fields[key.stringValue] = node
        return KeyedEncodingContainer(KeyedContainer<NestedKey>(object: node.object, codingPath: codingPath + [key]))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let node = Node()
        object.fields[key.stringValue] = node
        return UnkeyedContainer(array: node.array, codingPath: codingPath + [key])
    }

    mutating func superEncoder() -> any Encoder { superEncoder(forKey: Key(stringValue: "super")!) }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        let node = Node()
        object.fields[key.stringValue] = node
        return TreeEncoder(node: node, codingPath: codingPath + [key])
    }
}

private struct IndexKey: CodingKey {
    let intValue: Int?
    let stringValue: String
    init(_ index: Int) {
        intValue = index
        stringValue = String(index)
    }
    init?(stringValue: String) { return nil }
    init?(intValue: Int) { self.init(intValue) }
}

private struct UnkeyedContainer: UnkeyedEncodingContainer {
    let array: ArrayNode
    let codingPath: [any CodingKey]
    var count: Int { array.elements.count }

    mutating func encodeNil() throws { array.elements.append(Node(.leaf(NSNull()))) }

    mutating func encode<T: Encodable>(_ value: T) throws { try encodeValue(value) }

    private mutating func encodeValue(_ value: some Encodable) throws {
        array.elements.append(try encodeNode(value, codingPath: codingPath + [IndexKey(count)]))
    }

    mutating func encode(_ value: Bool) throws { try encodeValue(value) }
    mutating func encode(_ value: String) throws { try encodeValue(value) }
    mutating func encode(_ value: Double) throws { try encodeValue(value) }
    mutating func encode(_ value: Float) throws { try encodeValue(value) }
    mutating func encode(_ value: Int) throws { try encodeValue(value) }
    mutating func encode(_ value: Int8) throws { try encodeValue(value) }
    mutating func encode(_ value: Int16) throws { try encodeValue(value) }
    mutating func encode(_ value: Int32) throws { try encodeValue(value) }
    mutating func encode(_ value: Int64) throws { try encodeValue(value) }
    mutating func encode(_ value: UInt) throws { try encodeValue(value) }
    mutating func encode(_ value: UInt8) throws { try encodeValue(value) }
    mutating func encode(_ value: UInt16) throws { try encodeValue(value) }
    mutating func encode(_ value: UInt32) throws { try encodeValue(value) }
    mutating func encode(_ value: UInt64) throws { try encodeValue(value) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<
        NestedKey
    > {
        let node = Node()
        array.elements.append(node)
        return KeyedEncodingContainer(
            KeyedContainer<NestedKey>(object: node.object, codingPath: codingPath + [IndexKey(count - 1)]))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let node = Node()
        array.elements.append(node)
        return UnkeyedContainer(array: node.array, codingPath: codingPath + [IndexKey(count - 1)])
    }

    mutating func superEncoder() -> any Encoder {
        let node = Node()
        array.elements.append(node)
        return TreeEncoder(node: node, codingPath: codingPath + [IndexKey(count - 1)])
    }
}

private struct SingleValueContainer: SingleValueEncodingContainer {
    let node: Node
    let codingPath: [any CodingKey]

    mutating func encodeNil() throws { node.content = .leaf(NSNull()) }

    mutating func encode<T: Encodable>(_ value: T) throws { try encodeValue(value) }

    private mutating func encodeValue(_ value: some Encodable) throws {
        node.content = try encodeNode(value, codingPath: codingPath).content
    }

    mutating func encode(_ value: Bool) throws { try encodeValue(value) }
    mutating func encode(_ value: String) throws { try encodeValue(value) }
    mutating func encode(_ value: Double) throws { try encodeValue(value) }
    mutating func encode(_ value: Float) throws { try encodeValue(value) }
    mutating func encode(_ value: Int) throws { try encodeValue(value) }
    mutating func encode(_ value: Int8) throws { try encodeValue(value) }
    mutating func encode(_ value: Int16) throws { try encodeValue(value) }
    mutating func encode(_ value: Int32) throws { try encodeValue(value) }
    mutating func encode(_ value: Int64) throws { try encodeValue(value) }
    mutating func encode(_ value: UInt) throws { try encodeValue(value) }
    mutating func encode(_ value: UInt8) throws { try encodeValue(value) }
    mutating func encode(_ value: UInt16) throws { try encodeValue(value) }
    mutating func encode(_ value: UInt32) throws { try encodeValue(value) }
    mutating func encode(_ value: UInt64) throws { try encodeValue(value) }
}
