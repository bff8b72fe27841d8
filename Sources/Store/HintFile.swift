import JSON

#if canImport(Glibc)
    import Glibc
#endif

/// The hint file of one data file (`hint-<g>.bin`): everything a process needs to find records
/// without decoding them, laid out to be searched in place through a shared mapping. Opening a
/// generation maps it; nothing is parsed per record, so start time does not grow with the store.
///
///     "PSHINT02" | u64 meta length | meta (JSON, padded to 8) | sections … | u32 CRC of all before | "HEND"
///
/// Per collection (offsets in the meta): records in creation order (24 bytes: u64 line offset,
/// u32 line length, u32 value start, u32 id offset, u32 id length), record numbers sorted by id
/// (u32), and per secondary index: keys sorted by bytes (16 bytes: u32 key offset, u32 key length,
/// u32 first posting, u32 posting count), postings (u32 record numbers, each key's run ordered by
/// the index's order value, then creation), for an ordered index each record's order value
/// (u32 offset, u32 length), and each record's keys (u32 starts per record, one more than the
/// records, into a list of u32 key numbers): what a record replaced by the journal was listed
/// under, known without decoding it. Strings live in one pool. The meta carries the generation,
/// epoch, last sequence, the durable counters, and the data file's size and CRC. A hint written
/// before the records' keys were kept lacks them; a replaced record of it is decoded instead.
final class HintFile {
    static let magic: [UInt8] = Array("PSHINT02".utf8)
    static let endMagic: [UInt8] = Array("HEND".utf8)

    let file: MappedFile
    let generation: Int
    let epoch: Int
    let lastSequence: Int
    let sequences: [String: Int]
    let dataBytes: Int
    let dataCRC: UInt32
    let collections: [String: HintCollection]
    /// `collection/index` names this hint was built with.
    let indexNames: Set<String>

    var name: String { file.path.split(separator: "/").last.map(String.init) ?? file.path }

    /// Checks every table's bounds, so later lookups need no checks, and (with `verifyChecksum`,
    /// which recovery and verify use) the whole file's CRC. A worker mapping a generation that the
    /// supervisor or a compactor just checked or wrote skips the CRC pass over the whole file.
    init(file: MappedFile, verifyChecksum: Bool = true) throws(StoreError) {
        self.file = file
        let name = file.path.split(separator: "/").last.map(String.init) ?? file.path
        func damaged(_ offset: Int, _ reason: String) -> StoreError {
            .corrupt(file: name, offset: offset, reason: reason)
        }
        let bytes = file.bytes
        guard bytes.count >= 24, Array(bytes[0..<8]) == Self.magic else { throw damaged(0, "not a hint file") }
        guard Array(bytes[(bytes.count - 4)...]) == Self.endMagic else {
            throw damaged(bytes.count, "hint file is incomplete")
        }
        let stored = bytes.loadUnaligned(fromByteOffset: bytes.count - 8, as: UInt32.self)
        guard
            !verifyChecksum || CRC32.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<(bytes.count - 8)])) == stored
        else {
            throw damaged(bytes.count - 8, "hint file checksum mismatch")
        }
        let metaLength = Int(bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        guard metaLength > 0, 16 + metaLength <= bytes.count - 8,
            case .object(let meta)? = try? JSON.parse(
                UnsafeRawBufferPointer(rebasing: bytes[16..<(16 + metaLength)]).bindMemory(to: UInt8.self))
        else {
            throw damaged(16, "hint meta is not JSON")
        }
        func int(_ object: JSONObject, _ key: String) throws(StoreError) -> Int {
            guard let value = object[key]?.intValue, value >= 0 else { throw damaged(16, "hint meta lacks \(key)") }
            return value
        }
        generation = try int(meta, "generation")
        epoch = try int(meta, "epoch")
        lastSequence = try int(meta, "seq")
        dataBytes = try int(meta, "data_bytes")
        dataCRC = UInt32(truncatingIfNeeded: try int(meta, "data_crc"))
        var sequences: [String: Int] = [:]
        for (key, value) in meta["sequences"]?.objectValue ?? [:] { sequences[key] = value.intValue ?? 0 }
        self.sequences = sequences
        let stringsOffset = try int(meta, "strings"), stringsLength = try int(meta, "strings_length")
        let end = bytes.count - 8
        guard stringsOffset + stringsLength <= end else { throw damaged(stringsOffset, "string pool out of bounds") }
        let strings = UnsafeRawBufferPointer(rebasing: bytes[stringsOffset..<(stringsOffset + stringsLength)])
        var collections: [String: HintCollection] = [:]
        var indexNames = Set<String>()
        for (ordinal, entry) in (meta["collections"]?.arrayValue ?? []).enumerated() {
            guard case .object(let c) = entry, let collectionName = c["name"]?.stringValue else {
                throw damaged(16, "hint meta collection without a name")
            }
            let count = try int(c, "count"), records = try int(c, "records"), byID = try int(c, "by_id")
            guard records + count * 24 <= end, byID + count * 4 <= end else {
                throw damaged(records, "record table out of bounds")
            }
            var indexes: [String: HintIndex] = [:]
            for indexEntry in c["indexes"]?.arrayValue ?? [] {
                guard case .object(let i) = indexEntry, let indexName = i["name"]?.stringValue else {
                    throw damaged(16, "hint index without a name")
                }
                let keys = try int(i, "keys"), keyCount = try int(i, "key_count"), postings = try int(i, "postings")
                let postingCount = try int(i, "posting_count")
                let ordered = i["ordered"]?.boolValue ?? false
                let orders = ordered ? try int(i, "orders") : 0
                let recordKeys = i["record_keys"] == nil ? nil : try int(i, "record_keys")
                let recordKeyList = recordKeys == nil ? 0 : try int(i, "record_key_list")
                guard keys + keyCount * 16 <= end, postings + postingCount * 4 <= end,
                    !ordered || orders + count * 8 <= end,
                    recordKeys.map({ $0 + (count + 1) * 4 <= end && recordKeyList + postingCount * 4 <= end }) ?? true
                else {
                    throw damaged(keys, "index \(indexName) out of bounds")
                }
                let index = HintIndex(
                    bytes: bytes, strings: strings, keys: keys, keyCount: keyCount, postings: postings,
                    postingCount: postingCount, orders: ordered ? orders : nil, recordCount: count,
                    recordKeys: recordKeys.map { ($0, recordKeyList) })
                guard !verifyChecksum || index.isWellFormed else {
                    throw damaged(keys, "index \(indexName) points outside its tables")
                }
                indexes[indexName] = index
                indexNames.insert("\(collectionName)/\(indexName)")
            }
            let collection = HintCollection(
                ordinal: ordinal, bytes: bytes, strings: strings, count: count, records: records, byID: byID,
                indexes: indexes)
            // A full pass over every entry with the CRC (recovery, verify); otherwise every accessor
            // checks what it reads, so mapping a generation costs nothing per record.
            guard !verifyChecksum || collection.isWellFormed(dataBytes: dataBytes) else {
                throw damaged(records, "records of \(collectionName) point outside the data file")
            }
            collections[collectionName] = collection
        }
        self.collections = collections
        self.indexNames = indexNames
    }

    var recordCount: Int { collections.values.reduce(0) { $0 + $1.count } }
}

/// One collection's tables inside a hint file.
struct HintCollection {
    /// Position among the hint's collections: a cheap key for caches.
    let ordinal: Int
    let bytes: UnsafeRawBufferPointer
    let strings: UnsafeRawBufferPointer
    let count: Int
    let records: Int
    let byID: Int
    let indexes: [String: HintIndex]

    struct Location {
        var lineOffset: Int
        var lineLength: Int
        var valueStart: Int
    }

    @inline(__always) func location(_ record: Int) -> Location {
        let at = records + record * 24
        return Location(
            lineOffset: Int(bytes.load(fromByteOffset: at, as: UInt64.self)),
            lineLength: Int(bytes.load(fromByteOffset: at + 8, as: UInt32.self)),
            valueStart: Int(bytes.load(fromByteOffset: at + 12, as: UInt32.self)))
    }

    @inline(__always) func idBytes(_ record: Int) -> UnsafeRawBufferPointer {
        guard record >= 0, record < count else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return string(at: records + record * 24 + 16, in: bytes, pool: strings)
    }

    func id(_ record: Int) -> String { String(decoding: idBytes(record), as: UTF8.self) }

    /// Binary search over the ids.
    func find(_ id: String) -> Int? {
        var id = id
        return id.withUTF8 { wanted -> Int? in
            let wanted = UnsafeRawBufferPointer(wanted)
            var low = 0, high = count
            while low < high {
                let mid = (low + high) / 2
                let record = Int(bytes.load(fromByteOffset: byID + mid * 4, as: UInt32.self))
                guard record < count else { return nil }
                let order = compareBytes(idBytes(record), wanted)
                if order == 0 { return record }
                if order < 0 { low = mid + 1 } else { high = mid }
            }
            return nil
        }
    }

    func isWellFormed(dataBytes: Int) -> Bool {
        for record in 0..<count {
            let at = records + record * 24
            let location = location(record)
            let idOffset = Int(bytes.load(fromByteOffset: at + 16, as: UInt32.self))
            let idLength = Int(bytes.load(fromByteOffset: at + 20, as: UInt32.self))
            guard location.lineOffset + location.lineLength < dataBytes, location.valueStart < location.lineLength,
                idOffset + idLength <= strings.count,
                Int(bytes.load(fromByteOffset: byID + record * 4, as: UInt32.self)) < count
            else { return false }
        }
        return true
    }
}

/// One secondary index inside a hint file.
struct HintIndex {
    let bytes: UnsafeRawBufferPointer
    let strings: UnsafeRawBufferPointer
    let keys: Int
    let keyCount: Int
    let postings: Int
    let postingCount: Int
    let orders: Int?
    let recordCount: Int
    /// Where each record's key numbers start (`recordCount + 1` u32) and the list they index.
    let recordKeys: (starts: Int, list: Int)?

    var isOrdered: Bool { orders != nil }
    var hasRecordKeys: Bool { recordKeys != nil }

    /// The keys a record is listed under, from the hint alone; nil when this hint does not keep
    /// them or the entry points outside its tables (the caller then decodes the record).
    func keys(of record: Int) -> [String]? {
        guard let numbers = keyNumbers(of: record) else { return nil }
        var keys: [String] = []
        keys.reserveCapacity(numbers.count)
        for number in numbers {
            guard Int(number) < keyCount else { return nil }
            keys.append(String(decoding: keyBytes(Int(number)), as: UTF8.self))
        }
        return keys
    }

    private func keyNumbers(of record: Int) -> UnsafeBufferPointer<UInt32>? {
        guard let recordKeys, record >= 0, record < recordCount else { return nil }
        let start = Int(bytes.load(fromByteOffset: recordKeys.starts + record * 4, as: UInt32.self)),
            end = Int(bytes.load(fromByteOffset: recordKeys.starts + record * 4 + 4, as: UInt32.self))
        guard start <= end, end <= postingCount else { return nil }
        let base = bytes.baseAddress!.advanced(by: recordKeys.list + start * 4).assumingMemoryBound(to: UInt32.self)
        return UnsafeBufferPointer(start: base, count: end - start)
    }

    @inline(__always) func keyBytes(_ i: Int) -> UnsafeRawBufferPointer {
        string(at: keys + i * 16, in: bytes, pool: strings)
    }

    /// Record numbers in a run are checked by their readers (`HintCollection` and `Generation`).
    @inline(__always) func run(_ i: Int) -> UnsafeBufferPointer<UInt32> {
        let at = keys + i * 16
        let start = Int(bytes.load(fromByteOffset: at + 8, as: UInt32.self)),
            count = Int(bytes.load(fromByteOffset: at + 12, as: UInt32.self))
        guard start + count <= postingCount else { return UnsafeBufferPointer(start: nil, count: 0) }
        let base = bytes.baseAddress!.advanced(by: postings + start * 4).assumingMemoryBound(to: UInt32.self)
        return UnsafeBufferPointer(start: base, count: count)
    }

    /// The record numbers under `key`, in (order value, creation) order.
    func postings(_ key: String) -> UnsafeBufferPointer<UInt32> {
        var key = key
        return key.withUTF8 { wanted -> UnsafeBufferPointer<UInt32> in
            let wanted = UnsafeRawBufferPointer(wanted)
            var low = 0, high = keyCount
            while low < high {
                let mid = (low + high) / 2
                let order = compareBytes(keyBytes(mid), wanted)
                if order == 0 { return run(mid) }
                if order < 0 { low = mid + 1 } else { high = mid }
            }
            return UnsafeBufferPointer(start: nil, count: 0)
        }
    }

    /// A record's order value (ordered indexes only).
    @inline(__always) func order(_ record: Int) -> UnsafeRawBufferPointer {
        guard record >= 0, record < recordCount else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return string(at: orders! + record * 8, in: bytes, pool: strings)
    }

    var isWellFormed: Bool {
        for i in 0..<keyCount {
            let at = keys + i * 16
            let offset = Int(bytes.load(fromByteOffset: at, as: UInt32.self)),
                length = Int(bytes.load(fromByteOffset: at + 4, as: UInt32.self))
            let start = Int(bytes.load(fromByteOffset: at + 8, as: UInt32.self)),
                count = Int(bytes.load(fromByteOffset: at + 12, as: UInt32.self))
            guard offset + length <= strings.count, start + count <= postingCount else { return false }
        }
        for i in 0..<postingCount
        where Int(bytes.load(fromByteOffset: postings + i * 4, as: UInt32.self)) >= recordCount { return false }
        if let recordKeys {
            var previous = 0
            for record in 0...recordCount {
                let start = Int(bytes.load(fromByteOffset: recordKeys.starts + record * 4, as: UInt32.self))
                guard start >= previous, start <= postingCount else { return false }
                previous = start
            }
            guard previous == postingCount else { return false }
            for i in 0..<postingCount
            where Int(bytes.load(fromByteOffset: recordKeys.list + i * 4, as: UInt32.self)) >= keyCount {
                return false
            }
        }
        if let orders {
            for record in 0..<recordCount {
                let at = orders + record * 8
                let offset = Int(bytes.load(fromByteOffset: at, as: UInt32.self)),
                    length = Int(bytes.load(fromByteOffset: at + 4, as: UInt32.self))
                guard offset + length <= strings.count else { return false }
            }
        }
        return true
    }
}

/// The pool bytes a string reference (u32 offset, u32 length at `at`) names; empty when it points
/// outside the pool, so a damaged entry reads as no match instead of out of bounds.
@inline(__always) func string(
    at: Int, in bytes: UnsafeRawBufferPointer, pool: UnsafeRawBufferPointer
) -> UnsafeRawBufferPointer {
    let offset = Int(bytes.load(fromByteOffset: at, as: UInt32.self)),
        length = Int(bytes.load(fromByteOffset: at + 4, as: UInt32.self))
    guard offset + length <= pool.count else { return UnsafeRawBufferPointer(start: nil, count: 0) }
    return UnsafeRawBufferPointer(rebasing: pool[offset..<(offset + length)])
}

@inline(__always) func slice(_ pool: UnsafeRawBufferPointer, _ ref: (UInt32, UInt32)) -> UnsafeRawBufferPointer {
    UnsafeRawBufferPointer(rebasing: pool[Int(ref.0)..<(Int(ref.0) + Int(ref.1))])
}

/// Byte order of two strings' UTF-8 (what the hint's binary searches compare with memcmp).
@inline(__always) func bytewiseLess(_ a: String, _ b: String) -> Bool {
    var a = a, b = b
    return a.withUTF8 { x in b.withUTF8 { y in compareBytes(UnsafeRawBufferPointer(x), UnsafeRawBufferPointer(y)) < 0 }
    }
}

/// memcmp order, then length: the order hint tables are sorted in.
@inline(__always) func compareBytes(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
    let common = min(a.count, b.count)
    if common > 0 {
        let result = memcmp(a.baseAddress!, b.baseAddress!, common)
        if result != 0 { return Int(result) }
    }
    return a.count - b.count
}

/// Collects a generation's records and index entries, then writes its hint file.
struct HintBuilder {
    struct Record {
        var lineOffset: Int
        var lineLength: Int
        var valueStart: Int
        var id: String
    }

    struct Index {
        let name: String
        let ordered: Bool
        /// Per record (ordered indexes only).
        var orders: [String] = []
        var entries: [(key: String, record: UInt32)] = []
    }

    struct Collection {
        let name: String
        var records: [Record] = []
        var indexes: [Index]
    }

    var collections: [String: Collection] = [:]
    let definitions: [String: [IndexDefinition]]
    /// Whether each index keeps each record's keys (every hint written now does; `store verify`
    /// rebuilds an older hint without them to compare it byte for byte).
    let recordKeys: Bool

    init(definitions: [String: [IndexDefinition]], recordKeys: Bool = true) {
        self.definitions = definitions
        self.recordKeys = recordKeys
    }

    /// Adds a record whose keys and order values are already known (`keys[i]`, `orders[i]` for the
    /// collection's i-th definition).
    mutating func add(collection: String, record: Record, keys: [[String]], orders: [String?]) {
        if collections[collection] == nil {
            collections[collection] = Collection(
                name: collection,
                indexes: (definitions[collection] ?? []).map {
                    Index(name: $0.name, ordered: $0.order != nil)
                })
        }
        let number = UInt32(collections[collection]!.records.count)
        collections[collection]!.records.append(record)
        for i in collections[collection]!.indexes.indices {
            for key in keys[i].count < 2 ? keys[i] : Array(Set(keys[i])) {
                collections[collection]!.indexes[i].entries.append((key, number))
            }
            if collections[collection]!.indexes[i].ordered {
                collections[collection]!.indexes[i].orders.append(orders[i] ?? "")
            }
        }
    }

    /// Adds a record by computing its keys from its value.
    mutating func add(collection: String, record: Record, value: JSON) {
        let definitions = definitions[collection] ?? []
        add(
            collection: collection, record: record, keys: definitions.map { $0.keys(value) },
            orders: definitions.map { $0.order?(value) })
    }

    func build(
        generation: Int, epoch: Int, lastSequence: Int, sequences: [String: Int], dataBytes: Int, dataCRC: UInt32
    ) -> [UInt8] {
        var strings: [UInt8] = []
        func intern(_ text: String) -> (UInt32, UInt32) {
            let offset = strings.count
            strings.append(contentsOf: text.utf8)
            return (UInt32(offset), UInt32(strings.count - offset))
        }
        var sections: [UInt8] = []  // relative to the sections' start, fixed up once the meta's size is known
        func align() { while sections.count % 8 != 0 { sections.append(0) } }
        func put32(_ value: UInt32) { withUnsafeBytes(of: value.littleEndian) { sections.append(contentsOf: $0) } }
        func put64(_ value: UInt64) { withUnsafeBytes(of: value.littleEndian) { sections.append(contentsOf: $0) } }

        struct Placed {
            var name: String
            var count: Int
            var records: Int
            var byID: Int
            var indexes: [JSON]
        }
        var placed: [Placed] = []
        var indexPlacements:
            [(collection: Int, index: Int, keys: Int, postings: Int, orders: Int?, recordKeys: (Int, Int)?)] = []
        for name in collections.keys.sorted() {
            let collection = collections[name]!
            align()
            let recordsAt = sections.count
            var idRefs: [(UInt32, UInt32)] = []
            idRefs.reserveCapacity(collection.records.count)
            for record in collection.records {
                let ref = intern(record.id)
                idRefs.append(ref)
                put64(UInt64(record.lineOffset))
                put32(UInt32(record.lineLength))
                put32(UInt32(record.valueStart))
                put32(ref.0)
                put32(ref.1)
            }
            align()
            let byIDAt = sections.count
            // Sorted by the interned bytes: no String is touched (or retained) per comparison.
            let sortedByID = strings.withUnsafeBytes { pool in
                idRefs.indices.sorted { a, b in compareBytes(slice(pool, idRefs[a]), slice(pool, idRefs[b])) < 0 }
            }
            for record in sortedByID { put32(UInt32(record)) }
            var indexMetas: [JSON] = []
            for (position, index) in collection.indexes.enumerated() {
                // Runs grouped by key (bytewise), each ordered by (order value, creation): group by
                // hashing, then sort the distinct keys and each run (records arrive in creation order).
                let orderRefs = index.ordered ? index.orders.map(intern) : []
                var runs: [String: [UInt32]] = [:]
                for entry in index.entries { runs[entry.key, default: []].append(entry.record) }
                // Interned in key order, so the same records always give the same file (verify compares bytes).
                let keyed = runs.keys.sorted(by: bytewiseLess).map { (ref: intern($0), run: runs[$0]!) }
                var sorted: [UInt32] = []
                sorted.reserveCapacity(index.entries.count)
                var keyTable: [(UInt32, UInt32, UInt32, UInt32)] = []
                strings.withUnsafeBytes { pool in
                    for entry in keyed {
                        var run = entry.run
                        if index.ordered {
                            run.sort { a, b in
                                let order = compareBytes(slice(pool, orderRefs[Int(a)]), slice(pool, orderRefs[Int(b)]))
                                return order == 0 ? a < b : order < 0
                            }
                        }
                        keyTable.append((entry.ref.0, entry.ref.1, UInt32(sorted.count), UInt32(run.count)))
                        sorted.append(contentsOf: run)
                    }
                }
                align()
                let keysAt = sections.count
                for entry in keyTable {
                    put32(entry.0)
                    put32(entry.1)
                    put32(entry.2)
                    put32(entry.3)
                }
                align()
                let postingsAt = sections.count
                for record in sorted { put32(record) }
                var ordersAt: Int? = nil
                if index.ordered {
                    align()
                    ordersAt = sections.count
                    for ref in orderRefs {
                        put32(ref.0)
                        put32(ref.1)
                    }
                }
                var recordKeysAt: (Int, Int)? = nil
                if recordKeys {
                    // Each record's key numbers, in key order: counted, summed into starts, filled.
                    var starts = [UInt32](repeating: 0, count: collection.records.count + 1)
                    for record in sorted { starts[Int(record) + 1] += 1 }
                    for record in collection.records.indices { starts[record + 1] += starts[record] }
                    var list = [UInt32](repeating: 0, count: sorted.count)
                    var next = starts
                    for (number, entry) in keyTable.enumerated() {
                        for i in Int(entry.2)..<Int(entry.2 + entry.3) {
                            let record = Int(sorted[i])
                            list[Int(next[record])] = UInt32(number)
                            next[record] += 1
                        }
                    }
                    align()
                    let startsAt = sections.count
                    for start in starts { put32(start) }
                    align()
                    let listAt = sections.count
                    for number in list { put32(number) }
                    recordKeysAt = (startsAt, listAt)
                }
                indexPlacements.append((placed.count, position, keysAt, postingsAt, ordersAt, recordKeysAt))
                indexMetas.append([
                    "name": .string(index.name), "ordered": .bool(index.ordered), "key_count": .int(keyTable.count),
                    "posting_count": .int(sorted.count),
                ])
            }
            placed.append(
                Placed(
                    name: name, count: collection.records.count, records: recordsAt, byID: byIDAt, indexes: indexMetas))
        }
        align()
        let stringsAt = sections.count
        sections.append(contentsOf: strings)

        // The meta's length decides where the sections start, and the meta holds absolute offsets.
        func meta(sectionsStart: Int) -> [UInt8] {
            var collectionsJSON: [JSON] = []
            for (c, p) in placed.enumerated() {
                var indexes = p.indexes
                for placement in indexPlacements where placement.collection == c {
                    guard case .object(var object) = indexes[placement.index] else { continue }
                    object["keys"] = .int(sectionsStart + placement.keys)
                    object["postings"] = .int(sectionsStart + placement.postings)
                    if let orders = placement.orders { object["orders"] = .int(sectionsStart + orders) }
                    if let (starts, list) = placement.recordKeys {
                        object["record_keys"] = .int(sectionsStart + starts)
                        object["record_key_list"] = .int(sectionsStart + list)
                    }
                    indexes[placement.index] = .object(object)
                }
                collectionsJSON.append([
                    "name": .string(p.name), "count": .int(p.count), "records": .int(sectionsStart + p.records),
                    "by_id": .int(sectionsStart + p.byID), "indexes": .array(indexes),
                ])
            }
            let document: JSON = [
                "format": 1, "generation": .int(generation), "epoch": .int(epoch), "seq": .int(lastSequence),
                "sequences": .object(JSONObject(sequences.sorted { $0.key < $1.key }.map { ($0.key, .int($0.value)) })),
                "data_bytes": .int(dataBytes), "data_crc": .int(Int(dataCRC)),
                "strings": .int(sectionsStart + stringsAt), "strings_length": .int(strings.count),
                "collections": .array(collectionsJSON),
            ]
            return document.serialized()
        }
        // Growing `start` only grows the numbers in the meta, so this settles in a step or two.
        var start = 16
        var metaBytes = meta(sectionsStart: start)
        while (16 + metaBytes.count + 7) / 8 * 8 > start {
            start = (16 + metaBytes.count + 7) / 8 * 8
            metaBytes = meta(sectionsStart: start)
        }
        var out: [UInt8] = HintFile.magic
        withUnsafeBytes(of: UInt64(metaBytes.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: metaBytes)
        while out.count < start { out.append(0x20) }  // JSON-neutral padding
        out.append(contentsOf: sections)
        let crc = CRC32.checksum(out)
        withUnsafeBytes(of: crc.littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: HintFile.endMagic)
        return out
    }
}
