import JSON

/// A secondary index: for each record of `collection`, `keys` says under which keys to find it
/// (e.g. a partnership under its lead provider id). Kept in memory, rebuilt on load, maintained
/// on every applied write; lookups never scan the collection.
///
/// With an `order` (e.g. a record's `created_at`), the records under each key are also kept sorted
/// by (order, creation), so `Store.forEach` can page through them in that order without reading
/// the others. Creation order alone is not that order for a timestamp: a worker stamps a record
/// before it takes the write lock, so two concurrent creates can reach the journal swapped.
public struct IndexDefinition: Sendable {
    public let collection: String
    public let name: String
    public let order: (@Sendable (JSON) -> String)?
    public let keys: @Sendable (JSON) -> [String]

    public init(collection: String, name: String, order: (@Sendable (JSON) -> String)? = nil,
                keys: @escaping @Sendable (JSON) -> [String]) {
        self.collection = collection
        self.name = name
        self.order = order
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
    /// index name -> key -> positions, ascending by (the index's order, position), or by position
    /// for an index without an order
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
        guard let c = collections[collection] else { return [] }
        return creationOrder(collection, c, index: index, key: key).compactMap { c.ids[$0] }
    }

    func lookupValues(_ collection: String, index: String, key: String) -> [JSON] {
        guard let c = collections[collection] else { return [] }
        return creationOrder(collection, c, index: index, key: key).compactMap { c.values[$0] }
    }

    /// Lookups promise creation order whatever the index's own order is.
    private func creationOrder(_ name: String, _ c: CollectionState, index: String, key: String) -> [Int] {
        guard let positions = c.indexes[index]?[key] else { return [] }
        return definition(name, index)?.order == nil ? positions : positions.sorted()
    }

    func definition(_ collection: String, _ index: String) -> IndexDefinition? {
        indexDefinitions[collection]?.first { $0.name == index }
    }

    /// Visits the records under `key` in the index's order (creation order for an index without
    /// one), from the `offset`-th on, until `body` returns false. `descending` visits the order
    /// values from the largest down and records sharing a value in creation order, as a stable sort
    /// by that value descending does.
    func forEach(_ collection: String, index: String, key: String, descending: Bool, offset: Int,
                 _ body: (JSON) throws -> Bool) rethrows {
        guard let c = collections[collection], let positions = c.indexes[index]?[key], offset >= 0, offset < positions.count else { return }
        guard descending else {
            for p in positions[offset...] where try !body(c.values[p]!) { return }
            return
        }
        guard let order = definition(collection, index)?.order else {
            for p in positions[..<(positions.count - offset)].reversed() where try !body(c.values[p]!) { return }
            return
        }
        // Groups of equal order values, last group first, each in creation (= list) order. The
        // first group visited is the one holding the `offset`-th record, entered part way.
        func sharesValue(_ i: Int, _ value: String) -> Bool { order(c.values[positions[i]]!) == value }
        let target = positions.count - 1 - offset
        let targetValue = order(c.values[positions[target]]!)
        var groupEnd = target + 1
        while groupEnd < positions.count, sharesValue(groupEnd, targetValue) { groupEnd += 1 }
        var start = target
        while start > 0, sharesValue(start - 1, targetValue) { start -= 1 }
        let visitedBefore = positions.count - groupEnd  // records of larger values, all skipped
        for p in positions[(start + offset - visitedBefore)..<groupEnd] where try !body(c.values[p]!) { return }
        var end = start  // positions[..<end] are still to visit
        while end > 0 {
            let value = order(c.values[positions[end - 1]]!)
            start = end - 1
            while start > 0, sharesValue(start - 1, value) { start -= 1 }
            for p in positions[start..<end] where try !body(c.values[p]!) { return }
            end = start
        }
    }

    mutating func put(_ collection: String, _ id: String, _ value: JSON) {
        var c = collections[collection] ?? CollectionState()
        collections[collection] = nil  // keep the arrays uniquely referenced while we mutate them
        let definitions = indexDefinitions[collection] ?? []
        if let p = c.positions[id] {
            let old = c.values[p]!
            var moves: [(IndexDefinition, String)] = []  // entries to insert once the new value is in place
            for definition in definitions {
                let oldKeys = Set(definition.keys(old)), newKeys = Set(definition.keys(value))
                let reordered = definition.order.map { $0(old) != $0(value) } ?? false
                for key in reordered ? oldKeys : oldKeys.subtracting(newKeys) {
                    Self.remove(p, from: &c.indexes[definition.name, default: [:]][key, default: []], values: c.values, order: definition.order)
                }
                for key in reordered ? newKeys : newKeys.subtracting(oldKeys) { moves.append((definition, key)) }
            }
            c.values[p] = value
            for (definition, key) in moves {
                Self.insert(p, into: &c.indexes[definition.name, default: [:]][key, default: []], values: c.values, order: definition.order)
            }
        } else {
            let p = c.ids.count
            c.ids.append(id)
            c.values.append(value)
            c.positions[id] = p
            c.liveCount += 1
            for definition in definitions {
                for key in Set(definition.keys(value)) {
                    Self.insert(p, into: &c.indexes[definition.name, default: [:]][key, default: []], values: c.values, order: definition.order)
                }
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
                Self.remove(p, from: &c.indexes[definition.name, default: [:]][key, default: []], values: c.values, order: definition.order)
                if c.indexes[definition.name]?[key]?.isEmpty == true { c.indexes[definition.name]?[key] = nil }
            }
        }
        c.ids[p] = nil
        c.values[p] = nil
        c.positions[id] = nil
        c.liveCount -= 1
        collections[collection] = c
    }

    /// `position`'s record must hold its new value in `values`. Nearly every insert is an append (a new
    /// record, stamped now): checked first.
    private static func insert(_ position: Int, into list: inout [Int], values: [JSON?], order: ((JSON) -> String)?) {
        let sortKey = SortKey(position, values: values, order: order)
        if let last = list.last, SortKey(last, values: values, order: order) < sortKey { list.append(position); return }
        let i = insertionPoint(sortKey, list, values: values, order: order)
        if i < list.count, list[i] == position { return }
        list.insert(position, at: i)
    }

    /// `position`'s record must still hold the value it was inserted with.
    private static func remove(_ position: Int, from list: inout [Int], values: [JSON?], order: ((JSON) -> String)?) {
        let i = insertionPoint(SortKey(position, values: values, order: order), list, values: values, order: order)
        if i < list.count, list[i] == position { list.remove(at: i) }
    }

    private static func insertionPoint(_ key: SortKey, _ list: [Int], values: [JSON?], order: ((JSON) -> String)?) -> Int {
        var low = 0, high = list.count
        while low < high {
            let mid = (low + high) / 2
            if SortKey(list[mid], values: values, order: order) < key { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// Where a record sits in an index's list: by its order value (none: all equal), then position.
    private struct SortKey: Comparable {
        let order: String
        let position: Int

        init(_ position: Int, values: [JSON?], order: ((JSON) -> String)?) {
            self.order = order.map { $0(values[position]!) } ?? ""
            self.position = position
        }

        static func < (a: SortKey, b: SortKey) -> Bool { a.order != b.order ? a.order < b.order : a.position < b.position }
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
