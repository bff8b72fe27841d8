import JSON

/// A secondary index: for each record of `collection`, `keys` says under which keys to find it
/// (e.g. a partnership under its lead provider id). Stored in the hint file of every generation
/// and kept for the journal's records in each process; lookups never scan the collection.
///
/// With an `order` (e.g. a record's `created_at`), the records under each key are also kept sorted
/// by (order, creation), so `Store.forEach` can page through them in that order without reading
/// the others. Creation order alone is not that order for a timestamp: a worker stamps a record
/// before it takes the write lock, so two concurrent creates can reach the journal swapped.
///
/// The hint file remembers indexes by name: when `keys` or `order` changes meaning, change the
/// name too (e.g. `by_school_v2`), so stores written before are re-indexed on open.
public struct IndexDefinition: Sendable {
    public let collection: String
    public let name: String
    public let order: (@Sendable (JSON) -> String)?
    public let keys: @Sendable (JSON) -> [String]

    public init(
        collection: String, name: String, order: (@Sendable (JSON) -> String)? = nil,
        keys: @escaping @Sendable (JSON) -> [String]
    ) {
        self.collection = collection
        self.name = name
        self.order = order
        self.keys = keys
    }
}

/// What one process sees of the store: a generation's mapped files (shared by every process) plus
/// the journal entries applied since that generation began (this process's only copy of records:
/// their serialized bytes, a few MiB at most since compaction keeps the journal short).
///
/// Records have a rank that gives creation order: a base record's number in the data file, a
/// record created since then `base count + n`. An update keeps the rank; a delete then create
/// gets a new one, as the first store did.
final class StoreView {
    let generation: Generation
    let definitions: [String: [IndexDefinition]]
    private(set) var collections: [String: CollectionOverlay] = [:]
    private(set) var sequences: [String: Int]
    private(set) var lastSequence: Int
    /// The first read that found damage since `takeDamage()`: the request or write that made the
    /// read must fail instead of acting on a missing record.
    private(set) var damage: StoreError?
    /// Records decoded recently (data file records by position, journal records by id), so a hot
    /// record (a token, a delivery partner, a page read again) is not parsed on every request.
    /// Bounded by count (`DecodedCache`): its memory stays a few MiB whatever the store's size.
    private var decodedBase = DecodedCache<DecodedKey>(limit: StoreView.decodedLimit)
    private var decodedTail = DecodedCache<TailKey>(limit: StoreView.decodedLimit)
    /// Per cache. A decoded record is a tree of small allocations (~1.5 KB for a partnership); kept
    /// full (oldest out), 8,192 per cache took a worker to 61 MiB private after the load test's
    /// read sweep, near the 64 MiB goal, where emptying when full had kept it nearer half.
    static let decodedLimit = 4_096
    /// Told of every record a put or delete changes, with every index key it was or is under
    /// (`Store.changeObserver`).
    var changeObserver: ((StoreChange) -> Void)?

    private struct DecodedKey: Hashable {
        let collection: Int32
        let record: Int32
    }

    private struct TailKey: Hashable {
        let collection: String
        let id: String
    }

    /// Decoded records held (tests).
    var decodedCount: Int { decodedBase.count + decodedTail.count }

    struct Posting {
        var order: String
        var rank: Int
        var id: String
    }

    struct OverlayRecord {
        var value: [UInt8]?  // nil: deleted
        var rank: Int
        var keys: [[String]]  // per definition of the collection
        var orders: [String?]
    }

    struct CollectionOverlay {
        var records: [String: OverlayRecord] = [:]
        var created = 0
        var live = 0
        var shadowed = Set<Int>()
        var shadowedUnderKey: [[String: Int]]
        var postings: [[String: [Posting]]]

        init(definitions: Int) {
            shadowedUnderKey = Array(repeating: [:], count: definitions)
            postings = Array(repeating: [:], count: definitions)
        }
    }

    init(generation: Generation, definitions: [String: [IndexDefinition]]) {
        self.generation = generation
        self.definitions = definitions
        sequences = generation.sequences
        lastSequence = generation.lastSequence
    }

    func takeDamage() -> StoreError? {
        defer { damage = nil }
        return damage
    }

    private func note<T>(_ result: Result<T, StoreError>) -> T? {
        switch result {
        case .success(let value): return value
        case .failure(let error):
            if damage == nil { damage = error }
            return nil
        }
    }

    private func parse(_ bytes: [UInt8]) -> JSON? {
        note(
            Result { () throws(JSONError) -> JSON in
                try bytes.withUnsafeBufferPointer { (buffer) throws(JSONError) -> JSON in try JSON.parseTrusted(buffer)
                }
            }.mapError {
                StoreError.corrupt(
                    file: "journal-\(generation.number).jsonl", offset: 0, reason: "applied record is not JSON: \($0)")
            })
    }

    private func definitionPosition(_ collection: String, _ index: String) -> Int? {
        definitions[collection]?.firstIndex { $0.name == index }
    }

    // MARK: reads

    private func baseValue(_ base: HintCollection, _ number: Int) -> JSON? {
        let key = DecodedKey(collection: Int32(base.ordinal), record: Int32(number))
        if let cached = decodedBase[key] { return cached }
        guard let value = note(generation.value(base, number)) else { return nil }
        decodedBase.insert(value, for: key)
        return value
    }

    private func tailValue(_ collection: String, _ id: String, _ record: OverlayRecord) -> JSON? {
        guard let bytes = record.value else { return nil }
        let key = TailKey(collection: collection, id: id)
        if let cached = decodedTail[key] { return cached }
        guard let value = parse(bytes) else { return nil }
        decodedTail.insert(value, for: key)
        return value
    }

    /// Frees up to about `budget` of this (retired) view's heap objects, and stops at `deadline`
    /// (monotonic µs) whatever is left; true once nothing is left. After a generation switch the
    /// old view holds every record written since the previous compaction plus the decoded cache
    /// (tens of thousands of small allocations, a decoded record a tree of dozens): freeing them
    /// at once stalled a worker for 100-200 ms, and even 500 decoded records took 3-14 ms; a
    /// slice bounded in time per request costs nothing anyone notices.
    func releaseSome(budget: Int, deadline: Int = .max) -> Bool {
        var left = budget
        var counted = 0
        func more() -> Bool {
            counted += 1
            if counted % 16 == 0, monotonicMicroseconds() > deadline { left = 0 }
            return left > 0
        }
        while more(), decodedBase.freeOne() { left -= 1 }
        while more(), decodedTail.freeOne() { left -= 1 }
        while more(), let (name, popped) = collections.popFirst() {
            var overlay = popped
            while more(), overlay.records.popFirst() != nil { left -= 1 }
            for position in overlay.postings.indices {
                while more(), let (key, popped) = overlay.postings[position].popFirst() {
                    var list = popped
                    let cut = min(left, list.count)
                    list.removeLast(cut)
                    left -= cut + 1
                    if !list.isEmpty { overlay.postings[position][key] = list }
                }
            }
            let emptied = overlay.records.isEmpty && overlay.postings.allSatisfy(\.isEmpty)
            if !emptied { collections[name] = overlay }
        }
        return left > 0
    }

    private func forgetDecoded(_ collection: String, _ id: String) {
        // Nothing decoded yet (a replay, a switch): no lookup per record.
        guard !decodedTail.isEmpty else { return }
        decodedTail.remove(TailKey(collection: collection, id: id))
    }

    func get(_ collection: String, _ id: String) -> JSON? {
        if let record = collections[collection]?.records[id] { return tailValue(collection, id, record) }
        guard let base = generation.collection(collection), let number = base.find(id) else { return nil }
        return baseValue(base, number)
    }

    /// A record's value as stored (what `JSON.serialize` wrote for it), not decoded.
    func text(_ collection: String, _ id: String) -> [UInt8]? {
        if let record = collections[collection]?.records[id] { return record.value }
        guard let base = generation.collection(collection), let number = base.find(id) else { return nil }
        return baseText(base, number)
    }

    private func baseText(_ base: HintCollection, _ number: Int) -> [UInt8]? { note(generation.text(base, number)) }

    func contains(_ collection: String, _ id: String) -> Bool {
        if let record = collections[collection]?.records[id] { return record.value != nil }
        return generation.collection(collection)?.find(id) != nil
    }

    func count(_ collection: String) -> Int {
        let base = generation.collection(collection)?.count ?? 0
        guard let overlay = collections[collection] else { return base }
        return base - overlay.shadowed.count + overlay.live
    }

    var collectionNames: [String] {
        Set((generation.hint?.collections.keys).map(Array.init) ?? []).union(collections.keys).filter { count($0) > 0 }
            .sorted()
    }

    private enum Ref {
        case base(Int)
        case overlay(String)
    }

    private func value(_ ref: Ref, _ collection: String, _ base: HintCollection?) -> JSON? {
        switch ref {
        case .base(let number): return baseValue(base!, number)
        case .overlay(let id): return collections[collection]?.records[id].flatMap { tailValue(collection, id, $0) }
        }
    }

    private func text(_ ref: Ref, _ collection: String, _ base: HintCollection?) -> [UInt8]? {
        switch ref {
        case .base(let number): return baseText(base!, number)
        case .overlay(let id): return collections[collection]?.records[id]?.value
        }
    }

    private func id(_ ref: Ref, _ base: HintCollection?) -> String {
        switch ref {
        case .base(let number): return base!.id(number)
        case .overlay(let id): return id
        }
    }

    /// Every live record of a collection, in creation order.
    private func allRefs(_ collection: String) -> [Ref] {
        let base = generation.collection(collection)
        let overlay = collections[collection]
        var refs: [Ref] = []
        refs.reserveCapacity(count(collection))
        let added = (overlay?.records ?? [:]).filter { $0.value.value != nil }.map { ($0.value.rank, $0.key) }.sorted {
            $0.0 < $1.0
        }
        var next = 0
        for number in 0..<(base?.count ?? 0) {
            while next < added.count, added[next].0 <= number {
                refs.append(.overlay(added[next].1))
                next += 1
            }
            if overlay?.shadowed.contains(number) != true { refs.append(.base(number)) }
        }
        while next < added.count {
            refs.append(.overlay(added[next].1))
            next += 1
        }
        return refs
    }

    func all(_ collection: String) -> [JSON] {
        let base = generation.collection(collection)
        return allRefs(collection).compactMap { value($0, collection, base) }
    }

    /// The records under `key`, in creation order.
    private func lookupRefs(_ collection: String, _ position: Int, _ index: String, _ key: String) -> [Ref] {
        let base = generation.collection(collection)
        let overlay = collections[collection]
        var numbers = Array(base?.indexes[index]?.postings(key) ?? UnsafeBufferPointer(start: nil, count: 0))
        if base?.indexes[index]?.isOrdered == true { numbers.sort() }
        if let overlay, !overlay.shadowed.isEmpty { numbers.removeAll { overlay.shadowed.contains(Int($0)) } }
        var added = overlay?.postings[position][key] ?? []
        if definitions[collection]![position].order != nil { added.sort { $0.rank < $1.rank } }
        guard !added.isEmpty else { return numbers.map { .base(Int($0)) } }
        var refs: [Ref] = []
        refs.reserveCapacity(numbers.count + added.count)
        var next = 0
        for number in numbers {
            while next < added.count, added[next].rank <= Int(number) {
                refs.append(.overlay(added[next].id))
                next += 1
            }
            refs.append(.base(Int(number)))
        }
        while next < added.count {
            refs.append(.overlay(added[next].id))
            next += 1
        }
        return refs
    }

    func lookup(_ collection: String, index: String, key: String) -> [String] {
        guard let position = definitionPosition(collection, index) else { return [] }
        let base = generation.collection(collection)
        return lookupRefs(collection, position, index, key).map { id($0, base) }
    }

    func lookupValues(_ collection: String, index: String, key: String) -> [JSON] {
        guard let position = definitionPosition(collection, index) else { return [] }
        let base = generation.collection(collection)
        return lookupRefs(collection, position, index, key).compactMap { value($0, collection, base) }
    }

    /// Visits the records under `key` in the index's order (creation order without one), from the
    /// `offset`-th on, until `body` returns false. `descending` visits the order values from the
    /// largest down and records sharing a value in creation order, as a stable sort by that value
    /// descending does. A key the journal has not touched since the generation began is walked
    /// straight from the hint file: a page costs the records it reads.
    func forEach(
        _ collection: String, index: String, key: String, descending: Bool, offset: Int,
        _ body: (JSON) throws -> Bool
    ) rethrows {
        try forEachRef(collection, index: index, key: key, descending: descending, offset: offset) { ref, base in
            guard let value = value(ref, collection, base) else { return true }
            return try body(value)
        }
    }

    /// `forEach` with each record's stored text (`text(_:_:)`) instead of its decoded value.
    func forEachText(
        _ collection: String, index: String, key: String, descending: Bool, offset: Int,
        _ body: ([UInt8]) throws -> Bool
    ) rethrows {
        try forEachRef(collection, index: index, key: key, descending: descending, offset: offset) { ref, base in
            guard let text = text(ref, collection, base) else { return true }
            return try body(text)
        }
    }

    private func forEachRef(
        _ collection: String, index: String, key: String, descending: Bool, offset: Int,
        _ visit: (Ref, HintCollection?) throws -> Bool
    ) rethrows {
        guard let position = definitionPosition(collection, index), offset >= 0 else { return }
        let ordered = definitions[collection]![position].order != nil
        let base = generation.collection(collection)
        let overlay = collections[collection]
        let untouched =
            (overlay?.postings[position][key]?.isEmpty ?? true) && (overlay?.shadowedUnderKey[position][key] ?? 0) == 0
        if untouched {
            guard let base, let hintIndex = base.indexes[index] else { return }
            let run = hintIndex.postings(key)
            try walk(
                count: run.count, descending: descending, offset: offset,
                sameOrder: ordered
                    ? { compareBytes(hintIndex.order(Int(run[$0])), hintIndex.order(Int(run[$1]))) == 0 } : nil
            ) { i in try visit(.base(Int(run[i])), base) }
            return
        }
        // Merge the hint's run (less what the journal replaced) with the journal's postings.
        var entries: [(order: String, rank: Int, ref: Ref)] = []
        if let base, let hintIndex = base.indexes[index] {
            for number in hintIndex.postings(key) where overlay?.shadowed.contains(Int(number)) != true {
                entries.append(
                    (
                        ordered ? String(decoding: hintIndex.order(Int(number)), as: UTF8.self) : "", Int(number),
                        .base(Int(number))
                    ))
            }
        }
        for posting in overlay?.postings[position][key] ?? [] {
            entries.append((posting.order, posting.rank, .overlay(posting.id)))
        }
        entries.sort { a, b in
            a.order != b.order ? a.order.utf8.lexicographicallyPrecedes(b.order.utf8) : a.rank < b.rank
        }
        try walk(
            count: entries.count, descending: descending, offset: offset,
            sameOrder: ordered ? { entries[$0].order == entries[$1].order } : nil
        ) { i in try visit(entries[i].ref, base) }
    }

    /// The page walk over a list sorted by (order, creation): ascending from `offset`; descending by
    /// groups of equal order values, last group first, each group in creation order.
    private func walk(
        count: Int, descending: Bool, offset: Int, sameOrder: ((Int, Int) -> Bool)?,
        _ visit: (Int) throws -> Bool
    ) rethrows {
        guard offset < count else { return }
        guard descending else {
            for i in offset..<count where try !visit(i) { return }
            return
        }
        guard let same = sameOrder else {
            for i in (0..<(count - offset)).reversed() where try !visit(i) { return }
            return
        }
        let target = count - 1 - offset
        var groupEnd = target + 1
        while groupEnd < count, same(groupEnd, target) { groupEnd += 1 }
        var start = target
        while start > 0, same(start - 1, target) { start -= 1 }
        let visitedBefore = count - groupEnd  // records of larger values, all skipped
        for i in (start + offset - visitedBefore)..<groupEnd where try !visit(i) { return }
        var end = start
        while end > 0 {
            start = end - 1
            while start > 0, same(start - 1, end - 1) { start -= 1 }
            for i in start..<end where try !visit(i) { return }
            end = start
        }
    }

    // MARK: applying journal entries

    /// Applies one journal entry's operations (already checked by the caller). `values`, when
    /// given, holds each operation's serialized value as the journal line has it.
    func apply(_ operations: [JSON], sequence: Int, values: [[UInt8]?]? = nil) throws(StoreError) {
        for (position, operation) in operations.enumerated() {
            guard case .object(let op) = operation, let kind = op["op"]?.stringValue else { throw .malformedOperation }
            switch kind {
            case "put":
                guard let c = op["c"]?.stringValue, let id = op["id"]?.stringValue, let value = op["v"] else {
                    throw .malformedOperation
                }
                let definitions = definitions[c] ?? []
                put(
                    c, id, bytes: values?[position] ?? value.serialized(),
                    keys: definitions.map { distinct($0.keys(value)) },
                    orders: definitions.map { $0.order?(value) })
            case "del":
                guard let c = op["c"]?.stringValue, let id = op["id"]?.stringValue else { throw .malformedOperation }
                delete(c, id)
            case "seq":
                guard let name = op["name"]?.stringValue, let value = op["v"]?.intValue else {
                    throw .malformedOperation
                }
                sequences[name] = value
            default:
                throw .malformedOperation
            }
        }
        lastSequence = sequence
    }

    private func put(
        _ collection: String, _ id: String, bytes: [UInt8], keys: [[String]], orders: [String?]
    ) {
        forgetDecoded(collection, id)
        let definitions = definitions[collection] ?? []
        var overlay = collections.removeValue(forKey: collection) ?? CollectionOverlay(definitions: definitions.count)
        defer { collections[collection] = overlay }
        let rank: Int
        var oldKeys: [[String]] = []
        // Per definition: the record stays filed where it is (same keys, same order value). Most
        // updates keep `created_at` and their keys; a removal and insertion in the middle of a
        // posting list each move half of it (at 1M records, a fifth of a switch's replay).
        var kept = [Bool](repeating: false, count: definitions.count)
        if let existing = overlay.records[id] {
            if existing.value != nil {
                for position in definitions.indices
                where position < existing.keys.count && position < existing.orders.count {
                    kept[position] =
                        existing.keys[position] == keys[position] && existing.orders[position] == orders[position]
                }
                removePostings(existing, id: id, from: &overlay, except: kept)
                rank = existing.rank
                oldKeys = existing.keys
            } else {
                rank = newRank(collection, &overlay)
                overlay.live += 1
            }
        } else if let base = generation.collection(collection), let number = base.find(id) {
            oldKeys = shadow(number, base, collection, &overlay)
            rank = number
            overlay.live += 1
        } else {
            rank = newRank(collection, &overlay)
            overlay.live += 1
        }
        notifyChange(collection, id, oldKeys, keys)
        let record = OverlayRecord(value: bytes, rank: rank, keys: keys, orders: orders)
        overlay.records[id] = record
        for position in definitions.indices where !kept[position] {
            for key in keys[position] {
                // In place (one lookup, no copy of the list), and nearly always an append: a new
                // record, stamped now.
                file(
                    Posting(order: orders[position] ?? "", rank: rank, id: id),
                    in: &overlay.postings[position][key, default: []])
            }
        }
    }

    private func delete(_ collection: String, _ id: String) {
        forgetDecoded(collection, id)
        let definitions = definitions[collection] ?? []
        var overlay = collections.removeValue(forKey: collection) ?? CollectionOverlay(definitions: definitions.count)
        defer { collections[collection] = overlay }
        if let existing = overlay.records[id] {
            guard existing.value != nil else { return }
            removePostings(existing, id: id, from: &overlay)
            overlay.records[id]!.value = nil
            overlay.live -= 1
            notifyChange(collection, id, existing.keys, [])
        } else if let base = generation.collection(collection), let number = base.find(id) {
            let oldKeys = shadow(number, base, collection, &overlay)
            overlay.records[id] = OverlayRecord(value: nil, rank: number, keys: [], orders: [])
            notifyChange(collection, id, oldKeys, [])
        }
    }

    /// The record, its collection and every index key it was or now is under: whatever read any of
    /// them may answer differently. (An order value change moves the record within its keys.)
    private func notifyChange(_ collection: String, _ id: String, _ oldKeys: [[String]], _ newKeys: [[String]]) {
        guard let changeObserver else { return }
        var affected: [StoreDependency] = [.record(collection: collection, id: id), .collection(collection)]
        for (position, definition) in (definitions[collection] ?? []).enumerated() {
            var keys = Set(position < oldKeys.count ? oldKeys[position] : [])
            if position < newKeys.count { keys.formUnion(newKeys[position]) }
            for key in keys { affected.append(.indexKey(collection: collection, index: definition.name, key: key)) }
        }
        changeObserver(.affected(affected))
    }

    private func newRank(_ collection: String, _ overlay: inout CollectionOverlay) -> Int {
        defer { overlay.created += 1 }
        return (generation.collection(collection)?.count ?? 0) + overlay.created
    }

    private func precedes(_ a: Posting, _ b: Posting) -> Bool {
        a.order != b.order ? bytewiseLess(a.order, b.order) : a.rank < b.rank
    }

    /// Each key once (a record is listed once per key); most records have one or none.
    private func distinct(_ keys: [String]) -> [String] {
        keys.count < 2 ? keys : Array(Set(keys))
    }

    private func file(_ posting: Posting, in list: inout [Posting]) {
        if let last = list.last, precedes(posting, last) {
            list.insert(posting, at: insertionPoint(posting, list))
        } else {
            list.append(posting)
        }
    }

    /// First position whose posting does not precede `posting` (the lists are sorted by (order, rank)).
    private func insertionPoint(_ posting: Posting, _ list: [Posting]) -> Int {
        var low = 0, high = list.count
        while low < high {
            let mid = (low + high) / 2
            if precedes(list[mid], posting) { low = mid + 1 } else { high = mid }
        }
        return low
    }

    private func removePostings(
        _ record: OverlayRecord, id: String, from overlay: inout CollectionOverlay, except kept: [Bool] = []
    ) {
        for position in record.keys.indices where position >= kept.count || !kept[position] {
            for key in record.keys[position] {
                // Found through a borrow that ends before the removal: a copy of the list held
                // meanwhile would make the removal copy the whole list (every posting retained).
                let probe = Posting(order: record.orders[position] ?? "", rank: record.rank, id: id)
                guard
                    let found = overlay.postings[position][key].map({ list -> Int? in
                        let at = insertionPoint(probe, list)
                        return at < list.count && list[at].id == id ? at : nil
                    })
                else { continue }
                if let at = found {
                    overlay.postings[position][key]!.remove(at: at)
                } else {
                    overlay.postings[position][key]!.removeAll { $0.id == id }
                }
                if overlay.postings[position][key]!.isEmpty { overlay.postings[position][key] = nil }
            }
        }
    }

    /// A base record the journal replaces or deletes: its hint entries are skipped from now on.
    /// Returns the index keys it was under: read from the hint (each record's keys are kept there),
    /// decoded from the record only for a hint written before they were.
    @discardableResult
    private func shadow(
        _ number: Int, _ base: HintCollection, _ collection: String, _ overlay: inout CollectionOverlay
    ) -> [[String]] {
        overlay.shadowed.insert(number)
        guard let oldKeys = baseKeys(base, number, collection) else { return [] }
        for (position, keys) in oldKeys.enumerated() {
            for key in keys { overlay.shadowedUnderKey[position][key, default: 0] += 1 }
        }
        return oldKeys
    }

    /// The keys of a base record under each of its collection's definitions (distinct per definition).
    func baseKeys(_ base: HintCollection, _ number: Int, _ collection: String) -> [[String]]? {
        let definitions = definitions[collection] ?? []
        var fromHint: [[String]] = []
        fromHint.reserveCapacity(definitions.count)
        for definition in definitions {
            guard let keys = base.indexes[definition.name]?.keys(of: number) else { break }
            fromHint.append(keys)
        }
        if fromHint.count == definitions.count { return fromHint }
        guard let old = baseValue(base, number) else { return nil }
        return definitions.map { Array(Set($0.keys(old))) }
    }

    /// Every live record for a merge (compaction, backup): base records by number (their lines are
    /// copied as they are) and journal records by their bytes, in creation order.
    enum MergeRecord {
        case base(HintCollection, Int)
        case journal(id: String, value: [UInt8], keys: [[String]], orders: [String?])
    }

    func mergeRecords(_ collection: String) -> [MergeRecord] {
        let base = generation.collection(collection)
        return allRefs(collection).map { ref in
            switch ref {
            case .base(let number): return .base(base!, number)
            case .overlay(let id):
                let record = collections[collection]!.records[id]!
                return .journal(id: id, value: record.value!, keys: record.keys, orders: record.orders)
            }
        }
    }
}

/// What a read depended on (`Store.readLog`), and what a change may alter (`Store.changeObserver`):
/// one record, the ids under one index key (and their order), or a whole collection.
public enum StoreDependency: Hashable, Sendable {
    case record(collection: String, id: String)
    case indexKey(collection: String, index: String, key: String)
    case collection(String)
}

public enum StoreChange: Sendable {
    /// A put or delete: reads of any of these may answer differently now.
    case affected([StoreDependency])
    /// The process's view was replaced (another generation, a restore, a reload): any read may.
    case everything
}
