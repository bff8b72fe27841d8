import JSON

/// A secondary index: for each record of `collection`, `keys` says under which keys to find it
/// (e.g. a partnership under its lead provider id). Kept in memory, rebuilt on load, maintained
/// on every applied write; lookups never scan the collection.
public struct IndexDefinition: Sendable {
    public let collection: String
    public let name: String
    public let keys: @Sendable (JSON) -> [String]

    public init(collection: String, name: String, keys: @escaping @Sendable (JSON) -> [String]) {
        self.collection = collection
        self.name = name
        self.keys = keys
    }
}

/// One collection in memory. Records keep the position they were created at, so listings come
/// out in creation order and index entries can be kept as sorted positions.
struct CollectionState {
    var ids: [String?] = []
    var values: [JSON?] = []
    var positions: [String: Int] = [:]
    var liveCount = 0
    /// index name -> key -> positions in ascending order
    var indexes: [String: [String: [Int]]] = [:]
}

/// Everything a store holds: collections, sequences and the last journal sequence applied.
struct StoreState {
    var collections: [String: CollectionState] = [:]
    var sequences: [String: Int] = [:]
    var lastSeq = 0
    let indexDefinitions: [String: [IndexDefinition]]

    init(indexes: [IndexDefinition]) {
        indexDefinitions = Dictionary(grouping: indexes, by: \.collection)
    }

    func get(_ collection: String, _ id: String) -> JSON? {
        guard let c = collections[collection], let p = c.positions[id] else { return nil }
        return c.values[p]
    }

    func all(_ collection: String) -> [JSON] {
        guard let c = collections[collection] else { return [] }
        var result: [JSON] = []
        result.reserveCapacity(c.liveCount)
        for value in c.values { if let value { result.append(value) } }
        return result
    }

    func count(_ collection: String) -> Int { collections[collection]?.liveCount ?? 0 }

    func lookup(_ collection: String, index: String, key: String) -> [String] {
        guard let c = collections[collection], let positions = c.indexes[index]?[key] else { return [] }
        return positions.compactMap { c.ids[$0] }
    }

    func lookupValues(_ collection: String, index: String, key: String) -> [JSON] {
        guard let c = collections[collection], let positions = c.indexes[index]?[key] else { return [] }
        return positions.compactMap { c.values[$0] }
    }

    mutating func put(_ collection: String, _ id: String, _ value: JSON) {
        var c = collections[collection] ?? CollectionState()
        collections[collection] = nil  // keep the arrays uniquely referenced while we mutate them
        let definitions = indexDefinitions[collection] ?? []
        if let p = c.positions[id] {
            let old = c.values[p]!
            c.values[p] = value
            for definition in definitions {
                let oldKeys = Set(definition.keys(old)), newKeys = Set(definition.keys(value))
                for key in oldKeys.subtracting(newKeys) { Self.remove(p, from: &c.indexes[definition.name, default: [:]][key, default: []]) }
                for key in newKeys.subtracting(oldKeys) { Self.insert(p, into: &c.indexes[definition.name, default: [:]][key, default: []]) }
            }
        } else {
            let p = c.ids.count
            c.ids.append(id)
            c.values.append(value)
            c.positions[id] = p
            c.liveCount += 1
            for definition in definitions {
                for key in Set(definition.keys(value)) { c.indexes[definition.name, default: [:]][key, default: []].append(p) }
            }
        }
        collections[collection] = c
    }

    mutating func delete(_ collection: String, _ id: String) {
        guard var c = collections[collection], let p = c.positions[id] else { return }
        collections[collection] = nil
        let old = c.values[p]!
        for definition in indexDefinitions[collection] ?? [] {
            for key in Set(definition.keys(old)) {
                Self.remove(p, from: &c.indexes[definition.name, default: [:]][key, default: []])
                if c.indexes[definition.name]?[key]?.isEmpty == true { c.indexes[definition.name]?[key] = nil }
            }
        }
        c.ids[p] = nil
        c.values[p] = nil
        c.positions[id] = nil
        c.liveCount -= 1
        collections[collection] = c
    }

    private static func insert(_ position: Int, into list: inout [Int]) {
        if let last = list.last, last < position { list.append(position); return }
        let i = insertionPoint(position, list)
        if i < list.count, list[i] == position { return }
        list.insert(position, at: i)
    }

    private static func remove(_ position: Int, from list: inout [Int]) {
        let i = insertionPoint(position, list)
        if i < list.count, list[i] == position { list.remove(at: i) }
    }

    private static func insertionPoint(_ position: Int, _ list: [Int]) -> Int {
        var low = 0, high = list.count
        while low < high {
            let mid = (low + high) / 2
            if list[mid] < position { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// Applies one journal entry's operations.
    mutating func apply(_ operations: [JSON]) throws(StoreError) {
        for operation in operations {
            guard case .object(let op) = operation, let kind = op["op"]?.stringValue else { throw .malformedOperation }
            switch kind {
            case "put":
                guard let c = op["c"]?.stringValue, let id = op["id"]?.stringValue, let value = op["v"] else { throw .malformedOperation }
                put(c, id, value)
            case "del":
                guard let c = op["c"]?.stringValue, let id = op["id"]?.stringValue else { throw .malformedOperation }
                delete(c, id)
            case "seq":
                guard let name = op["name"]?.stringValue, let value = op["v"]?.intValue else { throw .malformedOperation }
                sequences[name] = value
            default:
                throw .malformedOperation
            }
        }
    }
}
