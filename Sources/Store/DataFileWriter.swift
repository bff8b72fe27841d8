import JSON

#if canImport(Glibc)
    import Glibc
#endif

/// Writes a data file (or a backup: same format) and collects its hint as it goes. Used by
/// compaction, backup and restore; none of them holds the store's lock while writing.
struct DataFileWriter {
    let path: String
    private let fd: Int32
    private var buffer: [UInt8] = []
    private(set) var written = 0
    private(set) var crc: UInt32 = 0
    private(set) var hint: HintBuilder
    private(set) var records = 0
    private var closed = false
    private var unsynced = 0
    /// Written data is synced every few MiB: a merge's final fsync would otherwise push the whole
    /// file to disk at once, and every worker's journal fsync would wait behind it.
    static let syncEvery = 1 << 20

    init(path: String, definitions: [String: [IndexDefinition]]) throws(StoreError) {
        self.path = path
        fd = try Files.openOrThrow(path, O_WRONLY | O_CREAT | O_TRUNC)
        hint = HintBuilder(definitions: definitions)
        buffer.reserveCapacity(1 << 20)
    }

    mutating func header(
        generation: Int, epoch: Int, sequence: Int, sequences: [String: Int], records: Int
    ) throws(StoreError) {
        buffer.append(
            contentsOf: LineCodec.encode([
                "format": .int(DataFileReader.formatVersion), "generation": .int(generation), "epoch": .int(epoch),
                "seq": .int(sequence),
                "sequences": .object(JSONObject(sequences.sorted { $0.key < $1.key }.map { ($0.key, .int($0.value)) })),
                "records": .int(records),
            ]))
        try flushIfFull()
    }

    /// A record line copied as it is (already checked), with its index entries known.
    mutating func copy(
        line: UnsafeRawBufferPointer, collection: String, id: String, valueStart: Int, keys: [[String]],
        orders: [String?]
    ) throws(StoreError) {
        let offset = written + buffer.count
        buffer.append(contentsOf: line)
        buffer.append(0x0A)
        hint.add(
            collection: collection,
            record: .init(lineOffset: offset, lineLength: line.count, valueStart: valueStart, id: id),
            keys: keys, orders: orders)
        records += 1
        try flushIfFull()
    }

    /// A record line built from a value's serialized bytes.
    mutating func add(
        collection: String, id: String, value: [UInt8], keys: [[String]], orders: [String?]
    ) throws(StoreError) {
        let base = written
        let placed = value.withUnsafeBytes {
            LineCodec.recordLine(collection: collection, id: id, value: $0, into: &buffer)
        }
        hint.add(
            collection: collection,
            record: .init(
                lineOffset: base + placed.start, lineLength: placed.length,
                valueStart: placed.valueStart, id: id), keys: keys, orders: orders)
        records += 1
        try flushIfFull()
    }

    private mutating func flushIfFull() throws(StoreError) {
        if buffer.count >= 1 << 20 { try flush() }
    }

    private mutating func flush() throws(StoreError) {
        guard !buffer.isEmpty else { return }
        try Files.writeAll(fd, buffer)
        crc = buffer.withUnsafeBytes { CRC32.checksum($0, continuing: crc) }
        written += buffer.count
        unsynced += buffer.count
        buffer.removeAll(keepingCapacity: true)
        if unsynced >= Self.syncEvery {
            let started = monotonicMicroseconds()
            guard fdatasync(fd) == 0 else { throw StoreError.errno("fdatasync \(path)") }
            unsynced = 0
            Files.pauseAfterSync(took: monotonicMicroseconds() - started)
        }
    }

    /// Flushes and fsyncs, then closes the file.
    mutating func finish() throws(StoreError) {
        try flush()
        guard fsync(fd) == 0 else { throw StoreError.errno("fsync \(path)") }
        close(fd)
        closed = true
    }

    /// After a failure: closes (once) and removes the file.
    mutating func abandon() {
        if !closed { close(fd) }
        closed = true
        unlink(path)
    }

    /// Writes every live record a view holds, base records copied line for line, index entries
    /// carried over from the old hint (no record is decoded unless an index is new).
    static func writeView(
        _ view: StoreView, to path: String, generation: Int, epoch: Int,
        definitions: [String: [IndexDefinition]], progress: ((Int, Int) -> Void)? = nil
    ) throws(StoreError) -> DataFileWriter {
        var writer = try DataFileWriter(path: path, definitions: definitions)
        do throws(StoreError) {
            let names = Set((view.generation.hint?.collections.keys).map(Array.init) ?? []).union(view.collections.keys)
                .sorted()
            var merged: [(String, [StoreView.MergeRecord])] = []
            var total = 0
            for name in names {
                let records = view.mergeRecords(name)
                if records.isEmpty { continue }
                merged.append((name, records))
                total += records.count
            }
            try writer.header(
                generation: generation, epoch: epoch, sequence: view.lastSequence, sequences: view.sequences,
                records: total)
            var done = 0
            for (name, records) in merged {
                let collectionDefinitions = definitions[name] ?? []
                let carried = view.generation.collection(name).map { carriedKeys($0, collectionDefinitions) }
                for record in records {
                    switch record {
                    case .base(let base, let number):
                        let line: UnsafeRawBufferPointer
                        switch view.generation.line(base, number) {
                        case .success(let checked): line = checked
                        case .failure(let error): throw error
                        }
                        let location = base.location(number)
                        var keys: [[String]] = [], orders: [String?] = []
                        if let carried, carried.complete {
                            keys = carried.keys.map { $0[number] }
                            orders = carried.orders.map { $0?[number] }
                        } else {
                            let value: JSON
                            switch view.generation.value(base, number) {
                            case .success(let decoded): value = decoded
                            case .failure(let error): throw error
                            }
                            keys = collectionDefinitions.map { $0.keys(value) }
                            orders = collectionDefinitions.map { $0.order?(value) }
                        }
                        try writer.copy(
                            line: line, collection: name, id: base.id(number), valueStart: location.valueStart,
                            keys: keys, orders: orders)
                    case .journal(let id, let value, let keys, let orders):
                        try writer.add(collection: name, id: id, value: value, keys: keys, orders: orders)
                    }
                    done += 1
                    if done % 50_000 == 0 { progress?(done, total) }
                }
            }
            try writer.finish()
            progress?(done, total)
            return writer
        } catch {
            writer.abandon()
            throw error
        }
    }

    /// Each base record's keys and order values per definition, read back from the hint's
    /// postings; `complete` is false when the hint lacks one of the definitions.
    private static func carriedKeys(
        _ base: HintCollection, _ definitions: [IndexDefinition]
    ) -> (complete: Bool, keys: [[[String]]], orders: [[String]?]) {
        var keys: [[[String]]] = []
        var orders: [[String]?] = []
        for definition in definitions {
            guard let index = base.indexes[definition.name] else { return (false, [], []) }
            var perRecord = [[String]](repeating: [], count: base.count)
            for k in 0..<index.keyCount {
                let key = String(decoding: index.keyBytes(k), as: UTF8.self)
                for number in index.run(k) { perRecord[Int(number)].append(key) }
            }
            keys.append(perRecord)
            orders.append(
                index.isOrdered ? (0..<base.count).map { String(decoding: index.order($0), as: UTF8.self) } : nil)
        }
        return (true, keys, orders)
    }
}
