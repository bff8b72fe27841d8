import Foundation
import JSON
import XCTest

@testable import Store

final class LineCodecTests: XCTestCase {
    func testRoundTripAndChecksum() throws {
        let line = LineCodec.encode(["seq": 3, "ops": ["a", 1]])
        XCTAssertEqual(line.last, 0x0A)
        let decoded = try line.dropLast().withUnsafeBufferPointer { try LineCodec.decode($0).get() }
        XCTAssertEqual(decoded["seq"], .int(3))
        var damaged = Array(line.dropLast())
        damaged[5] ^= 0x01
        damaged.withUnsafeBufferPointer { buffer in
            guard case .failure(.checksum) = LineCodec.decode(buffer) else { return XCTFail("damage not detected") }
        }
        Array("{\"seq\":1}".utf8).withUnsafeBufferPointer { buffer in
            guard case .failure(.syntax) = LineCodec.decode(buffer) else { return XCTFail() }
        }
    }

    func testCRCKnownValue() {
        XCTAssertEqual(CRC32.checksum(Array("123456789".utf8)), 0xCBF4_3926)
    }
}

final class StoreBasicsTests: XCTestCase {
    let indexes = [
        IndexDefinition(collection: "partnerships", name: "by_provider") { [$0["provider"]?.stringValue ?? ""] }
    ]

    func testPutGetListIndexAndDeleteSurviveReopen() throws {
        let directory = temporaryDirectory()
        do {
            let store = try Store(directory: directory, indexes: indexes)
            try store.write { tx in
                tx.put("partnerships", "a", ["provider": "p1", "n": 1])
                tx.put("partnerships", "b", ["provider": "p2", "n": 2])
                tx.put("partnerships", "c", ["provider": "p1", "n": 3])
            }
            // Moves between index keys.
            try store.write { tx in tx.put("partnerships", "a", ["provider": "p2", "n": 10]) }
            try store.write { tx in tx.delete("partnerships", "c") }
            XCTAssertEqual(
                store.lookup("partnerships", index: "by_provider", key: "p2"), ["a", "b"], "creation order kept")
            XCTAssertEqual(store.lookup("partnerships", index: "by_provider", key: "p1"), [])
        }
        let reopened = try Store(directory: directory, indexes: indexes)
        XCTAssertEqual(reopened.get("partnerships", "a")?["n"], .int(10))
        XCTAssertNil(reopened.get("partnerships", "c"))
        XCTAssertEqual(reopened.count("partnerships"), 2)
        XCTAssertEqual(reopened.all("partnerships").map { $0["n"] }, [.int(10), .int(2)])
        XCTAssertEqual(reopened.lookup("partnerships", index: "by_provider", key: "p2"), ["a", "b"])
        XCTAssertEqual(reopened.lastSequence, 3)
    }

    func testAFailedTransactionWritesNothingAndSeesItsOwnWrites() throws {
        struct Refused: Error {}
        let store = try Store(directory: temporaryDirectory(), indexes: indexes)
        XCTAssertThrowsError(
            try store.write { tx in
                tx.put("partnerships", "x", ["provider": "p1"])
                XCTAssertEqual(tx.get("partnerships", "x")?["provider"], "p1")
                XCTAssertEqual(tx.lookup("partnerships", index: "by_provider", key: "p1"), ["x"])
                XCTAssertEqual(tx.count("partnerships"), 1)
                throw Refused()
            }
        ) { XCTAssertTrue($0 is Refused) }
        XCTAssertNil(store.get("partnerships", "x"))
        XCTAssertEqual(store.lastSequence, 0)
    }

    func testSequencesAreDurableAndIncreasing() throws {
        let directory = temporaryDirectory()
        let first = try Store(directory: directory).write { tx in [tx.nextSequence("ids"), tx.nextSequence("ids")] }
        XCTAssertEqual(first, [1, 2])
        let next = try Store(directory: directory).write { tx in tx.nextSequence("ids") }
        XCTAssertEqual(next, 3)
    }

    /// A caller about to exit (the `store compact` command) is told once the switch is done, with
    /// the old files gone, and its store is not moved onto the new generation meanwhile.
    func testACompactionTellsACallerAboutToExitOnceSwitched() throws {
        let directory = temporaryDirectory()
        let store = try Store(directory: directory, indexes: indexes)
        for i in 0..<20 { try store.write { tx in tx.put("partnerships", "id\(i)", ["provider": "p", "i": .int(i)]) } }
        var switched: [[String]] = []
        let report = try XCTUnwrap(
            try store.compact(onSwitched: {
                switched.append(try! FileManager.default.contentsOfDirectory(atPath: directory).sorted())
            }))
        XCTAssertEqual(switched.count, 1)
        XCTAssertEqual(switched.first?.filter { $0.hasPrefix("data-") }, ["data-\(report.generation).jsonl"])
        XCTAssertEqual(store.generation, UInt64(report.generation - 1), "not moved onto the new generation")
        try store.refresh()
        XCTAssertEqual(store.generation, UInt64(report.generation))
        XCTAssertEqual(store.count("partnerships"), 20)
    }

    func testCompactionKeepsEverythingAndStartsANewGeneration() throws {
        let directory = temporaryDirectory()
        let store = try Store(directory: directory, indexes: indexes, options: StoreOptions(compactionThreshold: 2_000))
        for i in 0..<60 {
            try store.write { tx in tx.put("partnerships", "id\(i)", ["provider": .string("p\(i % 3)"), "i": .int(i)]) }
            if store.needsCompaction { try store.compact() }
        }
        XCTAssertGreaterThan(store.generation, 1)
        let files = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        XCTAssertEqual(files.filter { $0.hasPrefix("data-") }.count, 1, "old generations are removed: \(files)")
        XCTAssertEqual(files.filter { $0.hasPrefix("hint-") }.count, 1, "old generations are removed: \(files)")
        XCTAssertEqual(files.filter { $0.hasPrefix("journal-") }.count, 1, "old generations are removed: \(files)")
        let reopened = try Store(directory: directory, indexes: indexes)
        XCTAssertEqual(reopened.count("partnerships"), 60)
        XCTAssertEqual(reopened.lookup("partnerships", index: "by_provider", key: "p1").count, 20)
        XCTAssertEqual(reopened.lastSequence, 60)
        XCTAssertTrue(Store.verify(directory: directory).problems.isEmpty)
    }

    func testAnotherInstanceSeesWritesAfterRefreshAndAfterCompaction() throws {
        let directory = temporaryDirectory()
        let writer = try Store(directory: directory, indexes: indexes)
        let reader = try Store(directory: directory, indexes: indexes)
        try writer.write { tx in tx.put("partnerships", "a", ["provider": "p1"]) }
        XCTAssertNil(reader.get("partnerships", "a"))
        try reader.refresh()
        XCTAssertNotNil(reader.get("partnerships", "a"))
        try writer.compact()
        try writer.write { tx in tx.put("partnerships", "b", ["provider": "p1"]) }
        try reader.refresh()
        XCTAssertEqual(reader.lookup("partnerships", index: "by_provider", key: "p1"), ["a", "b"])
        XCTAssertEqual(reader.generation, writer.generation)
    }

    func testBackupAndLiveRestore() throws {
        let directory = temporaryDirectory()
        let store = try Store(directory: directory, indexes: indexes)
        let other = try Store(directory: directory, indexes: indexes)
        try store.write { tx in tx.put("partnerships", "kept", ["provider": "p1"]) }
        let backup = temporaryDirectory("backup") + "/backup.jsonl"
        try store.backup(to: backup)
        try store.write { tx in tx.put("partnerships", "later", ["provider": "p1"]) }
        try other.refresh()
        XCTAssertNotNil(other.get("partnerships", "later"))
        try store.restore(from: backup)
        try other.refresh()
        XCTAssertNil(other.get("partnerships", "later"), "a running process sees the restored state")
        XCTAssertNotNil(other.get("partnerships", "kept"))
        try other.write { tx in tx.put("partnerships", "after", ["provider": "p1"]) }
        XCTAssertEqual(try Store(directory: directory, indexes: indexes).count("partnerships"), 2)
        // A damaged backup is refused before anything changes.
        var bytes = try Data(contentsOf: URL(fileURLWithPath: backup))
        bytes[bytes.count / 2] ^= 0x20
        try bytes.write(to: URL(fileURLWithPath: backup))
        XCTAssertThrowsError(try store.restore(from: backup))
        try store.refresh()
        XCTAssertEqual(store.count("partnerships"), 2)
    }
}

final class StoreRecoveryTests: XCTestCase {
    /// Builds a store with `count` single-record entries; returns its folder and the journal
    /// offsets at which each entry ends.
    private func sample(count: Int) throws -> (String, [Int]) {
        let directory = temporaryDirectory("sample")
        let store = try Store(directory: directory, options: StoreOptions(fsync: false))
        var ends: [Int] = []
        for i in 0..<count {
            try store.write { tx in
                tx.put("items", "i\(i)", ["i": .int(i), "text": .string(String(repeating: "é", count: i % 5))])
            }
            ends.append(try store.statistics().journalBytes)
        }
        return (directory, ends)
    }

    /// Cut at every byte, as a crash leaves it: the file ends there (a journal that grows write by
    /// write) or zeros follow (one written ahead of its end, `journalPreallocationBytes`).
    func testJournalCutAtEveryByteKeepsExactlyTheCompleteEntries() throws {
        let (directory, ends) = try sample(count: 12)
        let file = try Data(contentsOf: URL(fileURLWithPath: directory + "/journal-0.jsonl"))
        let journal = try journalEntries(directory + "/journal-0.jsonl")
        XCTAssertEqual(journal.count, ends.last)
        XCTAssertGreaterThanOrEqual(file.count, journal.count + (1 << 19), "zeros written ahead of the end")
        let options = StoreOptions(fsync: false, journalPreallocationBytes: 4_096)
        for zerosAfter in [0, 8_192] {
            for cut in 0...journal.count {
                let copy = temporaryDirectory("cut")
                defer { try? FileManager.default.removeItem(atPath: copy) }
                try (journal.prefix(cut) + Data(count: zerosAfter)).write(
                    to: URL(fileURLWithPath: copy + "/journal-0.jsonl"))
                let store = try Store(directory: copy, options: options)
                let complete = ends.filter { $0 <= cut }.count
                XCTAssertEqual(store.count("items"), complete, "cut at \(cut), \(zerosAfter) zeros after")
                // Only the journal was copied (no head, so nothing is known to be acknowledged): a torn tail is cut and reported.
                let torn = store.recoveryNotes.filter { $0.contains("torn") }
                XCTAssertEqual(
                    torn.isEmpty, ends.contains(cut) || cut == 0,
                    "cut at \(cut), \(zerosAfter) zeros after: \(store.recoveryNotes)")
                // The torn tail is gone: new writes append cleanly after the kept entries.
                try store.write { tx in tx.put("items", "new", ["ok": true]) }
                XCTAssertEqual(try Store(directory: copy, options: options).count("items"), complete + 1)
            }
        }
    }

    func testDamageBeforeTheEndStopsTheOpenWithAClearMessage() throws {
        let (directory, ends) = try sample(count: 6)
        let path = directory + "/journal-0.jsonl"
        var journal = try Data(contentsOf: URL(fileURLWithPath: path))
        journal[ends[1] + 3] ^= 0x04  // inside the third entry, with complete entries after it
        try journal.write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try Store(directory: directory)) { error in
            guard case StoreError.corrupt(let file, let offset, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(file, "journal-0.jsonl")
            XCTAssertEqual(offset, ends[1])
            XCTAssertTrue(String(describing: error).contains("restore a backup"))
        }
        XCTAssertFalse(Store.verify(directory: directory).problems.isEmpty)
    }

    func testDamagedSnapshotStopsTheOpen() throws {
        let directory = temporaryDirectory()
        let store = try Store(directory: directory)
        for i in 0..<5 { try store.write { tx in tx.put("items", "i\(i)", ["i": .int(i)]) } }
        try store.compact()
        let path = directory + "/data-1.jsonl"
        var snapshot = try Data(contentsOf: URL(fileURLWithPath: path))
        snapshot[snapshot.count - 10] ^= 0x01
        try snapshot.write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try Store(directory: directory, options: StoreOptions(verifyDataOnOpen: true)))
        XCTAssertFalse(Store.verify(directory: directory).problems.isEmpty)
    }

    func testANewerFormatIsRefused() throws {
        let directory = temporaryDirectory()
        let store = try Store(directory: directory)
        try store.write { tx in tx.put("items", "a", ["i": 1]) }
        try store.compact()
        let header = LineCodec.encode([
            "format": 99, "generation": 1, "epoch": 1, "seq": 0, "sequences": [:], "records": 0,
        ])
        try Data(header).write(to: URL(fileURLWithPath: directory + "/data-1.jsonl"))
        XCTAssertThrowsError(try Store(directory: directory)) {
            XCTAssertTrue(String(describing: $0).contains("newer"), "\($0)")
        }
    }
}

final class StoreMultiProcessTests: XCTestCase {
    func testConcurrentWriterProcessesLoseNothing() throws {
        let directory = temporaryDirectory("concurrent")
        let writers = try (0..<4).map { try TortureProcess(["write", directory, "60", "w\($0)"]) }
        var acknowledged: [String] = []
        for writer in writers {
            let (lines, status) = writer.finish()
            XCTAssertEqual(status, 0)
            acknowledged += lines
        }
        XCTAssertEqual(acknowledged.count, 240)
        let store = try Store(directory: directory)
        XCTAssertEqual(store.count("items"), 240)
        XCTAssertEqual(Set(store.all("items").compactMap { $0["id"]?.stringValue }), Set(acknowledged))
        XCTAssertEqual(store.lastSequence, 240, "one journal entry per acknowledged write, none twice")
    }

    func testKillNineAtRandomMomentsNeverLosesAnAcknowledgedWrite() throws {
        let directory = temporaryDirectory("kill9")
        var acknowledged = Set<String>()
        var generator = SystemRandomNumberGenerator()
        // At least 150 kills, and on until 150 writes were acknowledged: a loaded machine gets fewer
        // writes in per round, so the round count adapts instead of the test failing.
        var round = 0
        while round < 150 || (acknowledged.count <= 150 && round < 3000) {
            // A compactor races the writer: both die at the same random moment, often mid-merge or mid-switch.
            let writer = try TortureProcess(["write", directory, "100000", "r\(round)"])
            let compactor = try TortureProcess(["compact", directory, "--threshold", "4000"])
            usleep(UInt32.random(in: 0...25_000, using: &generator))
            writer.kill()
            compactor.kill()
            _ = compactor.finish()
            let (lines, _) = writer.finish()
            XCTAssertNil(compactor.crash, "the compactor crashed")
            XCTAssertNil(writer.crash, "the writer crashed")
            acknowledged.formUnion(lines)
            round += 1
        }
        XCTAssertGreaterThan(acknowledged.count, 150, "the writers did get some writes in")
        XCTAssertTrue(Store.verify(directory: directory).problems.isEmpty, "\(Store.verify(directory: directory))")
        let store = try Store(directory: directory)
        let present = Set(store.all("items").compactMap { $0["id"]?.stringValue })
        XCTAssertTrue(acknowledged.isSubset(of: present), "lost: \(acknowledged.subtracting(present).prefix(5))")
        XCTAssertTrue(Store.verify(directory: directory).problems.isEmpty)
    }

    /// Worker-like processes (moving onto each new generation a slice per refresh) write and read
    /// back their own writes while a compactor switches generations every few hundred writes, then
    /// die by kill -9 at random moments with it: nothing acknowledged is lost or read stale.
    func testWorkersSwitchingInSlicesAmidCompactionsLoseNothingAndReadNothingStale() throws {
        let directory = temporaryDirectory("workers-switching")
        let workers = try (0..<2).map { try TortureProcess(["worker", directory, "600", "w\($0)"]) }
        let compactor = try TortureProcess(["compact", directory, "--threshold", "6000"])
        let finished = workers.map { $0.finish() }
        compactor.kill()
        let compactions = compactor.finish().lines.count
        for (worker, outcome) in zip(workers, finished) {
            XCTAssertEqual(
                outcome.status, 0, "a worker read a stale value: \(worker.crash ?? "exit \(outcome.status)")")
        }
        XCTAssertGreaterThan(compactions, 3, "the workers met several switches")
        var acknowledged = Set(finished.flatMap(\.lines))
        var generator = SystemRandomNumberGenerator()
        for round in 0..<40 {
            let worker = try TortureProcess(["worker", directory, "100000", "k\(round)"])
            let compactor = try TortureProcess(["compact", directory, "--threshold", "3000"])
            usleep(UInt32.random(in: 0...40_000, using: &generator))
            worker.kill()
            compactor.kill()
            _ = compactor.finish()
            let (lines, status) = worker.finish()
            XCTAssertNotEqual(status, 3, "a worker read a stale value")
            XCTAssertNil(worker.crash, "the worker crashed")
            acknowledged.formUnion(lines)
        }
        XCTAssertTrue(Store.verify(directory: directory).problems.isEmpty, "\(Store.verify(directory: directory))")
        let present = Set(try Store(directory: directory).all("items").compactMap { $0["id"]?.stringValue })
        XCTAssertTrue(acknowledged.isSubset(of: present), "lost: \(acknowledged.subtracting(present).prefix(5))")
    }

    func testTwoProcessesRacingAUniquenessRuleExactlyOneWins() throws {
        let directory = temporaryDirectory("unique")
        let racers = try (0..<2).map { _ in try TortureProcess(["unique", directory, "key", "40"]) }
        let outcomes = racers.map { $0.finish().lines }
        for i in 0..<40 {
            let wins = outcomes.filter { $0.contains("won key-\(i)") }.count
            let duplicates = outcomes.filter { $0.contains("duplicate key-\(i)") }.count
            XCTAssertEqual(wins, 1, "key-\(i)")
            XCTAssertEqual(duplicates, 1, "key-\(i)")
        }
        XCTAssertEqual(try Store(directory: directory).count("unique"), 40)
    }

    func testAReaderSeesAnotherProcessesAcknowledgedWriteOnItsNextRefresh() throws {
        let directory = temporaryDirectory("reader")
        let reader = try Store(directory: directory)
        let (lines, status) = try TortureProcess(["write", directory, "3", "seen"]).finish()
        XCTAssertEqual(status, 0)
        XCTAssertEqual(lines, ["seen-0", "seen-1", "seen-2"])
        try reader.refresh()
        XCTAssertEqual(reader.count("items"), 3)
    }

    func testCompactionRacingWritersLosesNothing() throws {
        let directory = temporaryDirectory("compaction-race")
        let writers = try (0..<2).map { try TortureProcess(["write", directory, "300", "c\($0)"]) }
        let compactor = try TortureProcess(["compact", directory, "--threshold", "8000"])
        let acknowledged = writers.flatMap { $0.finish().lines }
        compactor.kill()
        _ = compactor.finish()
        XCTAssertEqual(acknowledged.count, 600)
        let store = try Store(directory: directory)
        XCTAssertGreaterThan(store.generation, 3)
        XCTAssertEqual(Set(store.all("items").compactMap { $0["id"]?.stringValue }), Set(acknowledged))
        XCTAssertEqual(store.count("items"), 600)
    }
}
