import JSON

#if canImport(Glibc)
    import Glibc
#endif

extension Store {
    /// Checks every file of the current generation without changing anything: the head, every
    /// line of the data file, the hint against the data file (and, given the index definitions,
    /// every index entry), every journal entry against the acknowledged length. `problems` are
    /// what makes an open refuse (same messages); `notes` include what an open repairs by itself
    /// (a torn unacknowledged tail, a hint to rebuild).
    /// `progress` gets (bytes of the data file read, its size) now and then while it is scanned.
    public static func verify(
        directory: String, indexes: [IndexDefinition] = [], progress: ((Int, Int) -> Void)? = nil
    ) -> (problems: [String], notes: [String]) {
        var notes: [String] = []
        var problems: [String] = []
        do {
            let (published, formatOne) = try readHead(directory)
            let g = published.generation
            let definitions = Dictionary(grouping: indexes, by: \.collection)
            var lastSequence = 0
            var total = 0
            if g > 0 {
                let dataName =
                    formatOne && !Files.exists(Generation.dataPath(directory, g))
                    ? "snapshot-\(g).jsonl" : "data-\(g).jsonl"
                guard Files.exists("\(directory)/\(dataName)") else {
                    throw StoreError.corrupt(
                        file: dataName, offset: 0, reason: "the data file the head names is missing")
                }
                let data = try MappedFile(path: "\(directory)/\(dataName)")
                var scanned: [String: [(String, Int)]] = [:]
                var records = 0
                let header = try DataFileReader.scan(data) { collection, id, location, _ in
                    scanned[collection, default: []].append((id, location.lineOffset))
                    records += 1
                    if records % 20_000 == 0 { progress?(location.lineOffset, data.size) }
                }
                progress?(data.size, data.size)
                lastSequence = header.sequence
                total = header.records
                notes.append("\(dataName): \(header.records) records, sequence \(header.sequence), \(data.size) bytes")
                if formatOne {
                    notes.append("format-1 store: migrated to data and hint files on the next open")
                } else {
                    let hint = verifyHint(
                        directory: directory, generation: g, data: data, scanned: scanned, definitions: definitions)
                    notes += hint.notes
                    problems += hint.problems
                }
            }
            let path = Generation.journalPath(directory, g)
            if Files.exists(path) {
                let fd = try Files.openShared(path, O_RDONLY)
                defer { close(fd) }
                let scan = try JournalScan.run(
                    fd: fd, name: "journal-\(g).jsonl", from: 0, to: nil, into: nil, lastSequence: lastSequence,
                    allowTornTail: true)
                try Recovery.requireAcknowledged(scan, published)
                notes.append(
                    "journal-\(g).jsonl: \(scan.entries) entries, \(scan.validEnd) bytes (\(published.committedLength) acknowledged)"
                        + (scan.preallocatedBytes > 0
                            ? ", then \(scan.preallocatedBytes) bytes of zeros written ahead" : "")
                )
                if scan.tornBytes > 0 {
                    notes.append(
                        "journal-\(g).jsonl: torn last entry (\(scan.tornBytes) bytes at offset \(scan.validEnd), never acknowledged), dropped on next open"
                    )
                }
            } else if published.committedLength > 0 {
                throw StoreError.corrupt(
                    file: "journal-\(g).jsonl", offset: 0,
                    reason: "the journal is missing; \(published.committedLength) bytes of it were acknowledged")
            }
            let strays = Files.list(directory).filter { Recovery.isStale($0, current: g, formatOne: formatOne) }
            if !strays.isEmpty {
                notes.append(
                    "files of other generations or unfinished compactions, removed on next open: \(strays.sorted().joined(separator: ", "))"
                )
            }
            notes.append("generation \(g), epoch \(published.epoch), \(total) records in the data file")
            return (problems, notes)
        } catch {
            return (problems + [String(describing: error)], notes)
        }
    }

    private static func readHead(_ directory: String) throws(StoreError) -> (StoreHead.Value, formatOne: Bool) {
        let path = directory + "/store.head"
        guard Files.exists(path) else {
            try Recovery.requireNothingButGenerationZero(directory)
            return (.init(generation: 0, committedLength: 0, epoch: 1), false)
        }
        let bytes = try Files.readWhole(path)
        guard bytes.count >= 64 else {
            throw StoreError.corrupt(file: "store.head", offset: bytes.count, reason: "the head is cut short")
        }
        func slot(_ i: Int) -> Int64 {
            bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: i * 8, as: Int64.self) }
        }
        let value = StoreHead.Value(generation: Int(slot(2)), committedLength: Int(slot(3)), epoch: Int(slot(4)))
        if slot(0) == StoreHead.formatOneMagic { return (value, true) }
        if bytes.allSatisfy({ $0 == 0 }) {
            try Recovery.requireNothingButGenerationZero(directory)
            return (.init(generation: 0, committedLength: 0, epoch: 1), false)
        }
        // A publish cut short by a dead process: the next open rebuilds the head (see
        // Store.repairInterruptedPublish); nothing acknowledged is at stake.
        if slot(0) == StoreHead.magic && slot(1) & 1 == 1 {
            return (.init(generation: value.generation, committedLength: 0, epoch: value.epoch), false)
        }
        guard slot(0) == StoreHead.magic, slot(5) == StoreHead.check(value) else {
            throw StoreError.corrupt(
                file: "store.head", offset: 0, reason: "the head is damaged (check value mismatch)")
        }
        return (value, false)
    }

    /// The hint against its data file. Notes: what an open rebuilds by itself (a missing, unreadable
    /// or stale hint), or that it agrees. Problems: a hint that passes an open's checks (its own
    /// checksum, generation, size) yet names other records or other index entries than the data
    /// file holds, which only a full comparison finds; an open would trust it.
    private static func verifyHint(
        directory: String, generation g: Int, data: MappedFile, scanned: [String: [(String, Int)]],
        definitions: [String: [IndexDefinition]]
    ) -> (problems: [String], notes: [String]) {
        let path = Generation.hintPath(directory, g)
        let remedy = "stop the server and remove hint-\(g).bin: the next start rebuilds it from data-\(g).jsonl"
        guard Files.exists(path) else {
            return ([], ["hint-\(g).bin is missing: rebuilt from the data file on next open"])
        }
        let hint: HintFile
        do { hint = try HintFile(file: try MappedFile(path: path)) } catch {
            return ([], ["hint-\(g).bin \(error): rebuilt from the data file on next open"])
        }
        if hint.generation != g || hint.dataBytes != data.size || hint.dataCRC != CRC32.checksum(data.bytes) {
            return (
                [],
                ["hint-\(g).bin disagrees with data-\(g).jsonl (generation, size or checksum): rebuilt on next open"]
            )
        }
        for (collection, records) in scanned {
            guard let tables = hint.collections[collection], tables.count == records.count else {
                return (["hint-\(g).bin disagrees with data-\(g).jsonl on \(collection)'s records; \(remedy)"], [])
            }
            for (number, (id, offset)) in records.enumerated()
            where tables.id(number) != id || tables.location(number).lineOffset != offset || tables.find(id) != number {
                return (["hint-\(g).bin disagrees with data-\(g).jsonl at \(collection)/\(id); \(remedy)"], [])
            }
        }
        let defined = Set(
            definitions.filter { hint.collections[$0.key] != nil }.flatMap { c, list in list.map { "\(c)/\($0.name)" } }
        )
        if !defined.isEmpty {
            if !defined.isSubset(of: hint.indexNames) {
                return (
                    [],
                    ["hint-\(g).bin lacks indexes \(defined.subtracting(hint.indexNames).sorted()): built on next open"]
                )
            }
            if defined == hint.indexNames {
                // Compared with a hint built afresh (the same way: a hint written before records' keys
                // were kept is compared with one built without them); a build that fails is
                // reported, not taken for agreement.
                let recordKeys = hint.collections.values.contains { $0.indexes.values.contains(where: \.hasRecordKeys) }
                let rebuilt: [UInt8]
                do {
                    rebuilt = try Generation.rebuildHint(
                        data: data, generation: g, definitions: definitions, recordKeys: recordKeys)
                } catch {
                    return (["hint-\(g).bin index entries could not be compared with the records: \(error)"], [])
                }
                if !rebuilt.elementsEqual(hint.file.bytes) {
                    return (["hint-\(g).bin index entries disagree with the records; \(remedy)"], [])
                }
            }
        }
        return (
            [],
            ["hint-\(g).bin: \(hint.recordCount) records, indexes \(hint.indexNames.count), agrees with the data file"]
        )
    }
}
