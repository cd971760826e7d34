/// A JSON object in one of Jira's answers: its members as a list. The objects inside a field's value
/// are small (a user, a status, an option, a node of formatted text: a handful of members), and a report
/// looks members up millions of times, so a member is found by comparing names in turn, which costs
/// far less than hashing each name a dictionary would (BENCHMARKS.md, "The grouped render at 5,000
/// issues"). Names are unique: a later member of the same name replaces the earlier one. Two objects are
/// equal when they hold the same members, in any order.
public struct JiraObject: Sendable, Equatable, Sequence, ExpressibleByDictionaryLiteral {
    public typealias Member = (key: String, value: JiraValue)

    private var members: [Member]

    public init(_ dictionary: [String: JiraValue]) {
        members = dictionary.map { (key: $0.key, value: $0.value) }
    }

    /// Members as read, in order; a repeated name keeps its first value (as `JSONDecoder` does; RFC 8259
    /// leaves it open). Large objects find repeats through an index, so a hostile answer with many
    /// members costs linear time, not quadratic.
    init(members read: [Member]) {
        var unique: [Member] = []
        unique.reserveCapacity(read.count)
        if read.count <= 16 {
            for member in read {
                if !unique.contains(where: { $0.key == member.key }) { unique.append(member) }
            }
        } else {
            var seen: Set<String> = []
            seen.reserveCapacity(read.count)
            for member in read where seen.insert(member.key).inserted { unique.append(member) }
        }
        members = unique
    }

    public init(dictionaryLiteral elements: (String, JiraValue)...) {
        members = []
        members.reserveCapacity(elements.count)
        for (key, value) in elements { self[key] = value }
    }

    public subscript(key: String) -> JiraValue? {
        get {
            // Names of another length are passed over without comparing their bytes (most are).
            let length = key.utf8.count
            for member in members where member.key.utf8.count == length && member.key == key { return member.value }
            return nil
        }
        set {
            let index = members.firstIndex { $0.key == key }
            switch (index, newValue) {
            case (let index?, let value?): members[index].value = value
            case (let index?, nil): members.remove(at: index)
            case (nil, let value?): members.append((key: key, value: value))
            case (nil, nil): break
            }
        }
    }

    public var count: Int { members.count }
    public var keys: [String] { members.map(\.key) }

    public func makeIterator() -> IndexingIterator<[Member]> { members.makeIterator() }

    public static func == (left: JiraObject, right: JiraObject) -> Bool {
        left.count == right.count && left.members.allSatisfy { right[$0.key] == $0.value }
    }
}
