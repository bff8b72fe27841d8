import Foundation
import JSON
import Testing

@testable import Store

/// What makes a generation switch cheap for a worker: each record's index keys kept in the hint
/// (a record the journal replaces is not decoded to learn them), and the move onto the new
/// generation done a slice per refresh while the old view keeps serving every acknowledged write.
@Suite struct IncrementalSwitchTests {
    static let indexes = [
        IndexDefinition(collection: "items", name: "by_group", order: { $0["at"]?.stringValue ?? "" }) {
            [$0["group"]?.stringValue ?? ""]
        },
        IndexDefinition(collection: "items", name: "by_tag") {
            ($0["tags"]?.arrayValue ?? []).compactMap(\.stringValue)
        },
        IndexDefinition(collection: "others", name: "by_kind") { [$0["kind"]?.stringValue ?? ""] },
    ]

    static func item(_ i: Int, group: String, at: String, version: Int = 0) -> JSON {
        [
            "group": .string(group), "at": .string(at),
            // Repeated and empty tag lists too: a record is listed once per distinct key.
            "tags": .array(i % 5 == 0 ? [] : [.string("t\(i % 3)"), .string("all"), .string("t\(i % 3)")]),
            "i": .int(i), "version": .int(version),
        ]
    }

    /// A journal record updated with the same keys and order value stays where it is filed (no
    /// removal and re-insertion); one whose order value or keys change moves. Either way the lists
    /// read as a compacted store's (built from the data file, not from journal updates) do.
    @Test func aJournalRecordUpdatedInPlaceKeepsItsPlaceInEveryList() throws {
        let directory = temporaryDirectory("update-in-place")
        let store = try Store(directory: directory, indexes: Self.indexes, options: StoreOptions(fsync: false))
        for i in 0..<40 {
            try store.write { tx in tx.put("items", "i\(i)", Self.item(i, group: "g\(i % 2)", at: "t\(100 + i)")) }
        }
        for i in stride(from: 0, to: 40, by: 3) {
            // Same keys and order value: only the payload changes.
            try store.write { tx in
                tx.put("items", "i\(i)", Self.item(i, group: "g\(i % 2)", at: "t\(100 + i)", version: 1))
            }
        }
        try store.write { tx in
            tx.put("items", "i4", Self.item(4, group: "g0", at: "t050", version: 2))  // order value: moves first
            tx.put("items", "i7", Self.item(7, group: "g0", at: "t107", version: 2))  // keys: g1 -> g0
            tx.put("items", "i10", Self.item(11, group: "g0", at: "t110", version: 2))  // tags change
        }
        func lists(_ store: Store) -> [[JSON]] {
            ["g0", "g1"].flatMap { group in
                [false, true].map {
                    page(store, "items", index: "by_group", key: group, descending: $0, offset: 0, limit: 100)
                }
            } + ["t0", "t1", "t2", "all"].map { store.lookupRecords("items", index: "by_tag", key: $0) }
        }
        let fromJournal = lists(store)
        #expect(fromJournal[0].first?["i"] == 4 && fromJournal[0].contains { $0["i"] == 7 })
        #expect(fromJournal[0].filter { $0["version"] == 1 }.count == 7)
        try store.compact()
        let compacted = try Store(directory: directory, indexes: Self.indexes)
        #expect(fromJournal == lists(compacted))
        #expect(fromJournal == lists(store))
    }

    @Test func theHintKeepsEachRecordsIndexKeysAsADecodeFindsThem() throws {
        let directory = temporaryDirectory("record-keys")
        let store = try Store(directory: directory, indexes: Self.indexes, options: StoreOptions(fsync: false))
        try store.write { tx in
            for i in 0..<300 { tx.put("items", "i\(i)", Self.item(i, group: "g\(i % 7)", at: "t\(i % 40)")) }
            for i in 0..<50 { tx.put("others", "o\(i)", ["kind": .string("k\(i % 4)")]) }
        }
        try store.compact()
        var notes: [String] = []
        let generation = try Generation.open(
            directory: directory, number: Int(store.generation),
            definitions: Dictionary(grouping: Self.indexes, by: \.collection), options: .init(), notes: &notes)
        for definition in Self.indexes {
            let base = try #require(generation.collection(definition.collection))
            let index = try #require(base.indexes[definition.name])
            #expect(index.hasRecordKeys)
            for number in 0..<base.count {
                let value = try generation.value(base, number).get()
                #expect(
                    Set(try #require(index.keys(of: number))) == Set(definition.keys(value)),
                    "\(definition.name) record \(number)")
                #expect(index.keys(of: number)!.count == Set(definition.keys(value)).count, "each key once")
            }
            #expect(index.keys(of: base.count) == nil && index.keys(of: -1) == nil)
        }
        #expect(Store.verify(directory: directory, indexes: Self.indexes).problems.isEmpty)
        #expect(
            Store.verify(directory: directory, indexes: Self.indexes).notes.contains {
                $0.contains("agrees with the data file")
            })
    }

    /// A hint written before records' keys were kept still serves: a replaced record is decoded
    /// to learn its keys, and verify compares it with a hint built the same way.
    @Test func aHintWithoutRecordKeysStillServesAndVerifies() throws {
        let directory = temporaryDirectory("old-hint")
        let store = try Store(directory: directory, indexes: Self.indexes, options: StoreOptions(fsync: false))
        try store.write { tx in
            for i in 0..<100 { tx.put("items", "i\(i)", Self.item(i, group: "g\(i % 3)", at: "t\(i)")) }
        }
        try store.compact()
        let g = Int(store.generation)
        let definitions = Dictionary(grouping: Self.indexes, by: \.collection)
        let data = try MappedFile(path: Generation.dataPath(directory, g))
        let old = try Generation.rebuildHint(data: data, generation: g, definitions: definitions, recordKeys: false)
        try Files.writeDurably(old, to: Generation.hintPath(directory, g), directory: directory)
        let verified = Store.verify(directory: directory, indexes: Self.indexes)
        #expect(verified.problems.isEmpty)
        #expect(verified.notes.contains { $0.contains("agrees with the data file") }, "\(verified.notes)")

        let reader = try Store(directory: directory, indexes: Self.indexes)
        try reader.write { tx in
            tx.put("items", "i1", Self.item(1, group: "g2", at: "t500"))
            tx.delete("items", "i2")
        }
        #expect(!reader.lookup("items", index: "by_group", key: "g1").contains("i1"))
        #expect(reader.lookup("items", index: "by_group", key: "g2").contains("i1"))
        #expect(!reader.lookup("items", index: "by_tag", key: "all").contains("i2"))
        var walked: [JSON] = []
        reader.forEach("items", index: "by_group", key: "g1") {
            walked.append($0)
            return true
        }
        #expect(walked.count == reader.lookup("items", index: "by_group", key: "g1").count)
    }

    /// A worker that meets a compaction keeps its view and moves onto the new generation a slice
    /// per refresh. At every refresh of the move, every write acknowledged before it (by another
    /// process, or by this one) reads back with its last value, in lists too, exactly as a fresh
    /// open answers; a second compaction in the middle of the move is followed as well.
    /// With the default chunk, and with the journal taken a few entries per refresh.
    @Test(arguments: [StoreOptions().switchJournalChunkBytes, 4_096])
    func aStaggeredSwitchNeverServesAStaleReadAfterAnAcknowledgedWrite(journalChunk: Int) throws {
        let directory = temporaryDirectory("staggered")
        let writer = try Store(directory: directory, indexes: Self.indexes)
        var expected: [String: JSON] = [:]
        func put(_ store: Store, _ id: String, _ value: JSON) throws {
            try store.write { tx in tx.put("items", id, value) }
            expected[id] = value
        }
        func delete(_ store: Store, _ id: String) throws {
            try store.write { tx in tx.delete("items", id) }
            expected[id] = nil
        }
        try writer.write { tx in
            for i in 0..<400 {
                let value = Self.item(i, group: "g\(i % 4)", at: "t\(1000 + i % 50)")
                tx.put("items", "i\(i)", value)
                expected["i\(i)"] = value
            }
        }
        try writer.compact()
        let worker = try Store(
            directory: directory, indexes: Self.indexes,
            options: StoreOptions(incrementalSwitch: true, switchJournalChunkBytes: journalChunk))
        var version = 1
        // Before the merge: updates of base records and creates, which the worker holds.
        for i in 0..<300 where i % 3 == 0 { try put(writer, "i\(i)", Self.item(i, group: "g\(i % 5)", at: "t0\(i)")) }
        try worker.refresh()
        let compactor = try Store(directory: directory, indexes: Self.indexes)
        var wroteDuringMerge = false
        try compactor.compact { done, total in
            guard done == total, !wroteDuringMerge else { return }
            wroteDuringMerge = true
            // During the merge: far more records than one slice moves, so the move takes refreshes.
            for i in 0..<StoreOptions().switchSlice * 4 {
                version += 1
                if i % 4 == 0 {
                    try? put(
                        writer, "i\(i % 400)", Self.item(i, group: "g\(i % 6)", at: "t1\(i % 90)", version: version))
                } else if i % 9 == 0 {
                    try? delete(writer, "i\(i % 400)")
                } else {
                    try? put(writer, "m\(i)", Self.item(i, group: "g\(i % 3)", at: "t2\(i % 70)", version: version))
                }
            }
            try? worker.refresh()
        }
        #expect(wroteDuringMerge)

        func expectCurrent(_ step: String) throws {
            let fresh = try Store(directory: directory, indexes: Self.indexes)
            #expect(worker.count("items") == expected.count, "\(step)")
            for (id, value) in expected where worker.get("items", id) != value {
                Issue.record(
                    "\(step): \(id) reads \(String(describing: worker.get("items", id))), acknowledged \(value)")
                return
            }
            #expect(worker.all("items") == fresh.all("items"), "\(step)")
            for group in (0..<6).map({ "g\($0)" }) {
                #expect(
                    worker.lookup("items", index: "by_group", key: group)
                        == fresh.lookup("items", index: "by_group", key: group), "\(step) \(group)")
                for descending in [false, true] {
                    #expect(
                        page(
                            worker, "items", index: "by_group", key: group, descending: descending, offset: 3, limit: 20
                        )
                            == page(
                                fresh, "items", index: "by_group", key: group, descending: descending, offset: 3,
                                limit: 20),
                        "\(step) \(group) descending \(descending)")
                }
            }
            for tag in ["t0", "t1", "t2", "all"] {
                #expect(
                    worker.lookup("items", index: "by_tag", key: tag)
                        == fresh.lookup("items", index: "by_tag", key: tag),
                    "\(step) \(tag)")
            }
            #expect(worker.lastSequence == fresh.lastSequence, "\(step)")
        }

        // The first refresh after the switch attaches the new journal and starts the move.
        var refreshes = 0
        var secondCompaction = false
        repeat {
            refreshes += 1
            version += 1
            try put(
                writer, "after\(refreshes)", Self.item(refreshes, group: "g1", at: "t3\(refreshes)", version: version))
            try worker.refresh()
            if refreshes == 2 {
                // The worker's own writes in the middle of a move.
                try put(worker, "i5", Self.item(5, group: "g0", at: "t4", version: version))
                try delete(worker, "m1")
                #expect(worker.hasPendingSwitch)
            }
            #expect(worker.generation == writer.generation, "the worker follows the published generation")
            try expectCurrent("refresh \(refreshes)")
            if refreshes == 1 && !secondCompaction {
                secondCompaction = true
                #expect(
                    worker.hasPendingSwitch,
                    "a move of \(StoreOptions().switchSlice * 4) records takes several refreshes")
                try put(writer, "before-second", Self.item(1, group: "g2", at: "t5"))
                try worker.refresh()
                try compactor.compact()
                for i in 0..<StoreOptions().switchSlice * 2 {
                    try put(writer, "after-second\(i)", Self.item(i, group: "g\(i % 4)", at: "t6\(i % 30)"))
                }
            }
        } while worker.hasPendingSwitch && refreshes < 100
        #expect(!worker.hasPendingSwitch)
        #expect(refreshes >= 3, "the moves were spread over refreshes: \(refreshes)")
        try worker.refresh()
        try expectCurrent("after the move")
        #expect(worker.generation == 3)
    }

    /// The journal read a chunk at a time (what a switch's catch-up does per refresh) stops at whole
    /// lines and, call after call, gives the view everything one read would.
    @Test func aJournalReadInChunksStopsAtWholeLinesAndMissesNothing() throws {
        let directory = temporaryDirectory("journal-chunks")
        let store = try Store(directory: directory, indexes: Self.indexes, options: StoreOptions(fsync: false))
        for i in 0..<60 {
            try store.write { tx in tx.put("items", "i\(i)", Self.item(i, group: "g\(i % 3)", at: "t\(i)")) }
        }
        let path = Generation.journalPath(directory, Int(store.generation))
        let fd = open(path, O_RDONLY)
        defer { close(fd) }
        let length = try store.statistics().journalBytes
        let definitions = Dictionary(grouping: Self.indexes, by: \.collection)
        let whole = StoreView(generation: .empty(), definitions: definitions)
        _ = try JournalScan.run(
            fd: fd, name: "journal", from: 0, to: length, into: whole, lastSequence: 0, allowTornTail: false)
        let chunked = StoreView(generation: .empty(), definitions: definitions)
        var offset = 0
        var calls = 0
        while offset < length {
            let scan = try JournalScan.run(
                fd: fd, name: "journal", from: offset, to: length, into: chunked, lastSequence: chunked.lastSequence,
                allowTornTail: false, maxBytes: 700)
            #expect(scan.validEnd > offset && scan.entries >= 1)
            offset = scan.validEnd
            calls += 1
        }
        #expect(calls > 10, "60 entries of ~200 bytes, 700 bytes a call: \(calls) calls")
        #expect(chunked.lastSequence == whole.lastSequence && chunked.lastSequence == store.lastSequence)
        #expect(chunked.count("items") == 60)
        for i in 0..<60 { #expect(chunked.get("items", "i\(i)") == whole.get("items", "i\(i)")) }
        #expect(
            chunked.lookup("items", index: "by_group", key: "g1") == whole.lookup("items", index: "by_group", key: "g1")
        )
    }

    /// Where a view holding every entry up to a sequence starts reading: never after an entry it
    /// lacks, and past every line but (at most) a few it holds, whatever the line lengths.
    @Test func theLineAfterASequenceIsFoundByBisection() throws {
        let directory = temporaryDirectory("journal-bisect")
        let store = try Store(directory: directory, indexes: Self.indexes, options: StoreOptions(fsync: false))
        for i in 0..<200 {
            // Lines from ~100 bytes to ~20 KB: some longer than a probe's read.
            let text = String(repeating: "x", count: i % 17 == 0 ? 20_000 : i % 50)
            try store.write { tx in tx.put("items", "i\(i)", ["text": .string(text)]) }
        }
        let fd = open(Generation.journalPath(directory, Int(store.generation)), O_RDONLY)
        defer { close(fd) }
        let bytes = try Files.read(fd, from: 0, count: try store.statistics().journalBytes)
        var starts = [0]
        for (i, byte) in bytes.enumerated() where byte == 0x0A && i + 1 < bytes.count { starts.append(i + 1) }
        #expect(starts.count == 200)
        for held in [0, 1, 2, 17, 99, 150, 199, 200, 500] {
            let start = try JournalScan.lineStart(after: held, fd: fd, length: bytes.count)
            let line = try #require(starts.firstIndex(of: start), "\(start) is a line start")
            // Line k holds sequence k + 1: every line before `start` is held.
            #expect(line <= held, "held \(held): starts at line \(line)")
            #expect(min(held, 199) - line <= 2, "held \(held): starts at line \(line) of 200, only a few lines early")
        }
    }

    /// A replay keeps each put's value bytes as the journal line holds them instead of serializing
    /// the parsed value again: the bytes found must be exactly that value, whatever it holds.
    @Test func aReplayFindsEachOperationsValueBytesInTheLine() throws {
        let values: [JSON] = [
            ["text": "quote \" backslash \\ slash / tab \t newline \n é ✓ \u{1}", "n": -12.5e3, "ok": true],
            ["nested": [[1, 2, [3]], ["a": ["b": JSON.null]], [:], []], "empty": ""],
            "a plain string value", 42, false, JSON.null,
        ]
        var operations: [JSON] = [["op": "seq", "name": "counter", "v": 7]]
        for (i, value) in values.enumerated() {
            operations.append(["op": "put", "c": "items", "id": .string("id \"\(i)\""), "v": value])
        }
        operations.append(["op": "del", "c": "items", "id": "gone"])
        let line = LineCodec.encode(["seq": 3, "ops": .array(operations)]).dropLast()  // without its newline
        let ranges = try #require(Array(line).withUnsafeBufferPointer { LineCodec.operationValueRanges($0) })
        #expect(ranges.count == operations.count)
        let bytes = Array(line)
        for (operation, range) in zip(operations, ranges) {
            if let value = operation["v"] {
                #expect(Array(bytes[try #require(range)]) == value.serialized())
            } else {
                #expect(range == nil)
            }
        }
        // Another member order and spacing still finds the values; another shape finds none.
        let spaced = Array(#"{ "ops" : [ { "v" : { "a" : [1, 2] } , "op" : "put" } ] , "seq" : 1 }"#.utf8)
        let found = try #require(spaced.withUnsafeBufferPointer { LineCodec.operationValueRanges($0) })
        #expect(try JSON.parse(Array(spaced[try #require(found.first ?? nil)])) == ["a": [1, 2]])
        let other = Array(#"["ops"]"#.utf8)
        #expect(other.withUnsafeBufferPointer { LineCodec.operationValueRanges($0) } == nil)

        // And a store replaying such entries answers what was written.
        let directory = temporaryDirectory("replay-bytes")
        let writer = try Store(directory: directory, indexes: Self.indexes)
        try writer.write { tx in
            for (i, value) in values.enumerated() { tx.put("others", "v\(i)", ["kind": "k", "value": value]) }
        }
        let reader = try Store(directory: directory, indexes: Self.indexes)
        for (i, value) in values.enumerated() { #expect(reader.get("others", "v\(i)")?["value"] == value) }
        #expect(reader.lookup("others", index: "by_kind", key: "k").count == values.count)
    }

    /// What works on a whole view (statistics, backup, compaction) finishes a pending move first.
    @Test func commandsFinishAPendingMoveFirst() throws {
        let directory = temporaryDirectory("pending-commands")
        let writer = try Store(directory: directory, indexes: Self.indexes)
        let worker = try Store(
            directory: directory, indexes: Self.indexes, options: StoreOptions(incrementalSwitch: true, switchSlice: 2))
        try writer.write { tx in
            for i in 0..<50 { tx.put("items", "i\(i)", Self.item(i, group: "g\(i % 3)", at: "t\(i)")) }
        }
        try worker.refresh()
        let compactor = try Store(directory: directory, indexes: Self.indexes)
        try compactor.compact { done, total in
            guard done == total else { return }
            for i in 0..<20 {
                try? writer.write { tx in tx.put("items", "d\(i)", Self.item(i, group: "g1", at: "u\(i)")) }
            }
            try? worker.refresh()
        }
        try worker.refresh()
        #expect(worker.hasPendingSwitch)
        #expect(try worker.statistics().records["items"] == 70)
        #expect(!worker.hasPendingSwitch)
        try writer.compact()
        for i in 0..<10 {
            try writer.write { tx in tx.put("items", "late\(i)", Self.item(i, group: "g2", at: "v\(i)")) }
        }
        try worker.refresh()
        #expect(worker.hasPendingSwitch)
        let report = try #require(try worker.compact())
        #expect(report.generation == 3 && !worker.hasPendingSwitch)
        let backup = directory + "-backup.jsonl"
        try worker.backup(to: backup)
        let fresh = try Store(directory: directory, indexes: Self.indexes)
        #expect(worker.all("items") == fresh.all("items") && fresh.count("items") == 80)
        #expect(Store.verify(directory: directory, indexes: Self.indexes).problems.isEmpty)
    }
}
