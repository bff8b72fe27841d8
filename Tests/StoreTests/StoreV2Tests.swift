import Foundation
import JSON
import Testing

@testable import Store

/// Store v2's own guarantees: crash points of compaction and restore enumerated, damage in every
/// kind of file, a format-1 store migrated, reads that never need the whole store decoded.
@Suite struct StoreCrashPointTests {
    /// Every step of a compaction and of a restore, the process stopped there (as kill -9 would):
    /// every acknowledged write survives, the store opens, verify is clean, the next compaction works.
    static let cases: [String] = CrashPoint.all.flatMap { step -> [String] in
        if step.hasPrefix("compact.") { return ["compact " + step] }
        if step.hasPrefix("restore.") { return ["restore " + step] }
        return ["compact " + step, "restore " + step]
    }

    @Test(arguments: cases)
    func aCrashAtEachStepLosesNothing(_ testCase: String) throws {
        let step = String(testCase.split(separator: " ")[1])
        let isRestore = testCase.hasPrefix("restore")
        let directory = temporaryDirectory("crash")
        var acknowledged = try TortureProcess(["write", directory, "30", "before"]).finish().lines
        let backup = directory + "-backup.jsonl"
        if isRestore { try Store(directory: directory).backup(to: backup) }
        let operation = isRestore ? ["restore", directory, backup] : ["compact-once", directory]
        if !isRestore { acknowledged += try TortureProcess(["write", directory, "10", "mid"]).finish().lines }
        let crashed = try TortureProcess(operation, environment: ["PARTNERSHIPS_STORE_CRASH_AT": step]).finish()
        #expect(crashed.status == 86, "the \(isRestore ? "restore" : "compaction") stopped at \(step)")
        // Writes after the crash land wherever the head says, and are kept.
        acknowledged += try TortureProcess(["write", directory, "20", "after"]).finish().lines
        let verified = Store.verify(directory: directory)
        #expect(verified.problems.isEmpty, "\(verified)")
        let store = try Store(directory: directory)
        let present = Set(store.all("items").compactMap { $0["id"]?.stringValue })
        #expect(
            Set(acknowledged).isSubset(of: present),
            "lost after a crash at \(step): \(Set(acknowledged).subtracting(present).sorted().prefix(5))")
        #expect(store.count("items") == present.count)
        try store.compact()
        let again = try Store(directory: directory)
        #expect(Set(again.all("items").compactMap { $0["id"]?.stringValue }) == present)
        #expect(Store.verify(directory: directory).problems.isEmpty)
        let files = try FileManager.default.contentsOfDirectory(atPath: directory)
        #expect(!files.contains { $0.hasSuffix(".tmp") }, "temporaries are cleaned up: \(files)")
    }
}

@Suite struct StoreDamageTests {
    let indexes = [IndexDefinition(collection: "items", name: "by_group") { [$0["group"]?.stringValue ?? ""] }]

    /// A compacted store (generation 1) with 40 records in the data file and 10 in the journal.
    func sample() throws -> String {
        let directory = temporaryDirectory("damage")
        let store = try Store(directory: directory, indexes: indexes)
        for i in 0..<40 {
            try store.write { tx in tx.put("items", "i\(i)", ["group": .string("g\(i % 4)"), "i": .int(i)]) }
        }
        try store.compact()
        for i in 40..<50 {
            try store.write { tx in tx.put("items", "i\(i)", ["group": .string("g\(i % 4)"), "i": .int(i)]) }
        }
        return directory
    }

    func flip(_ path: String, at offset: (Int) -> Int) throws {
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[offset(bytes.count)] ^= 0x10
        try bytes.write(to: URL(fileURLWithPath: path))
    }

    /// A journal's byte, counted from its entries' length (not the file's: zeros are written ahead).
    func flipJournal(_ path: String, at offset: (Int) -> Int) throws {
        let entries = try journalEntries(path).count
        try flip(path) { _ in offset(entries) }
    }

    /// The open refuses with the file (and offset) in its message, and verify reports the same.
    func expectRefused(_ directory: String, file: String, verifyData: Bool = false) {
        var message = ""
        do {
            _ = try Store(directory: directory, indexes: indexes, options: StoreOptions(verifyDataOnOpen: verifyData))
            Issue.record("the store opened")
        } catch {
            message = String(describing: error)
        }
        #expect(message.contains(file), "\(message)")
        let verified = Store.verify(directory: directory, indexes: indexes)
        #expect(verified.problems == [message], "verify: \(verified.problems) open: \(message)")
    }

    @Test func aDamagedHintIsRebuiltNeverTrusted() throws {
        for damage in ["flip", "missing", "other"] {
            let directory = try sample()
            let hint = directory + "/hint-1.bin"
            switch damage {
            case "flip": try flip(hint) { $0 / 2 }
            case "missing": try FileManager.default.removeItem(atPath: hint)
            default:  // a well-formed hint of another store
                let other = temporaryDirectory("other")
                let store = try Store(directory: other, indexes: indexes)
                try store.write { tx in for i in 0..<45 { tx.put("items", "o\(i)", ["group": "g9", "i": .int(i)]) } }
                try store.compact()
                try FileManager.default.removeItem(atPath: hint)
                try FileManager.default.copyItem(atPath: other + "/hint-1.bin", toPath: hint)
            }
            #expect(Store.verify(directory: directory, indexes: indexes).problems.isEmpty)
            #expect(
                Store.verify(directory: directory, indexes: indexes).notes.contains {
                    $0.contains("hint-1.bin") && $0.contains("rebuilt")
                }, "\(damage)")
            let store = try Store(directory: directory, indexes: indexes, options: StoreOptions(verifyDataOnOpen: true))
            #expect(store.count("items") == 50)
            #expect(store.lookup("items", index: "by_group", key: "g1").count == 13)
            #expect(store.get("items", "i7")?["i"] == .int(7))
            #expect(store.takeReadDamage() == nil)
            #expect(Store.verify(directory: directory, indexes: indexes).notes.contains { $0.contains("agrees") })
        }
    }

    @Test func aDamagedDataFileRefusesToStartAndIsNeverServed() throws {
        let directory = try sample()
        let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/data-1.jsonl"))
        let lines = data.split(separator: 0x0A, omittingEmptySubsequences: false)
        let offset = lines[0].count + 1 + lines[1].count + 1 + 5  // inside the second record
        try flip(directory + "/data-1.jsonl") { _ in offset }
        expectRefused(directory, file: "data-1.jsonl", verifyData: true)
        // A worker (no full check on open) reports the record as damaged instead of answering without it.
        let store = try Store(directory: directory, indexes: indexes)
        #expect(store.get("items", "i1") == nil)
        #expect(store.takeReadDamage() != nil)
        #expect(store.get("items", "i2") != nil)
        #expect(store.takeReadDamage() == nil)
    }

    @Test func aDamagedOrMissingHeadRefusesToOpen() throws {
        let directory = try sample()
        try flip(directory + "/store.head") { _ in 16 }  // the generation slot
        expectRefused(directory, file: "store.head")
        let other = try sample()
        try FileManager.default.removeItem(atPath: other + "/store.head")
        expectRefused(other, file: "store.head")
    }

    @Test func missingFilesRefuseToOpen() throws {
        let directory = try sample()
        try FileManager.default.removeItem(atPath: directory + "/data-1.jsonl")
        expectRefused(directory, file: "data-1.jsonl")
        let other = try sample()
        try FileManager.default.removeItem(atPath: other + "/journal-1.jsonl")
        expectRefused(other, file: "journal-1.jsonl")
        let emptied = try sample()
        try Data().write(to: URL(fileURLWithPath: emptied + "/journal-1.jsonl"))
        expectRefused(emptied, file: "journal-1.jsonl")
        // Zeros where the acknowledged entries were, the file's size unchanged (as a file system
        // can leave a file after a crash): not mistaken for space written ahead.
        let zeroed = try sample()
        let size = try Data(contentsOf: URL(fileURLWithPath: zeroed + "/journal-1.jsonl")).count
        try Data(count: size).write(to: URL(fileURLWithPath: zeroed + "/journal-1.jsonl"))
        expectRefused(zeroed, file: "journal-1.jsonl")
    }

    @Test func anAcknowledgedEntryCutOrDamagedRefusesToOpen() throws {
        let directory = try sample()
        let journal = directory + "/journal-1.jsonl"
        var bytes = try journalEntries(journal)
        bytes.removeLast(7)  // inside the last acknowledged entry
        try bytes.write(to: URL(fileURLWithPath: journal))
        expectRefused(directory, file: "journal-1.jsonl")
        for offset in [-2, -1] {  // the last entry's closing byte and its newline
            let other = try sample()
            try flipJournal(other + "/journal-1.jsonl") { $0 + offset }
            expectRefused(other, file: "journal-1.jsonl")
        }
        // The last entry's bytes zeroed in place, the zeros written ahead after them.
        let zeroed = try sample()
        let entries = try journalEntries(zeroed + "/journal-1.jsonl")
        let lastStart = try #require(entries.dropLast().lastIndex(of: 0x0A)) + 1
        let size = try Data(contentsOf: URL(fileURLWithPath: zeroed + "/journal-1.jsonl")).count
        try (entries.prefix(lastStart) + Data(count: size - lastStart)).write(
            to: URL(fileURLWithPath: zeroed + "/journal-1.jsonl"))
        expectRefused(zeroed, file: "journal-1.jsonl")
    }

    @Test func onlyAnUnacknowledgedTornTailIsDroppedAndReported() throws {
        let directory = try sample()
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: directory + "/journal-1.jsonl"))
        handle.seekToEndOfFile()
        handle.write(Data(#"{"seq":51,"ops":[{"op":"put","c":"items","id":"torn""#.utf8))
        try handle.close()
        let verified = Store.verify(directory: directory, indexes: indexes)
        #expect(verified.problems.isEmpty)
        #expect(verified.notes.contains { $0.contains("torn") })
        let store = try Store(directory: directory, indexes: indexes)
        #expect(store.recoveryNotes.contains { $0.contains("torn") && $0.contains("never acknowledged") })
        #expect(store.count("items") == 50)
        try store.write { tx in tx.put("items", "next", ["group": "g0"]) }
        #expect(try Store(directory: directory, indexes: indexes).count("items") == 51)
        // The same torn entry where a writer writes it: into the zeros written ahead of the end.
        let inPlace = try sample()
        try writeAfterJournalEntries(
            inPlace + "/journal-1.jsonl", Data(#"{"seq":51,"ops":[{"op":"put","c":"items","id":"torn""#.utf8))
        #expect(Store.verify(directory: inPlace, indexes: indexes).notes.contains { $0.contains("torn") })
        let reopened = try Store(directory: inPlace, indexes: indexes)
        #expect(reopened.recoveryNotes.contains { $0.contains("torn") && $0.contains("never acknowledged") })
        #expect(reopened.count("items") == 50)
        try reopened.write { tx in tx.put("items", "next", ["group": "g0"]) }
        #expect(try Store(directory: inPlace, indexes: indexes).count("items") == 51)
    }

    /// A writer that died after its fsync and before publishing the new length: its entry is
    /// durable, past the acknowledged length, in the zeros written ahead. It is kept, not torn.
    @Test func aCompleteEntryPastTheAcknowledgedLengthIsKept() throws {
        let directory = try sample()
        let entry = LineCodec.encode([
            "seq": .int(51),
            "ops": .array([["op": "put", "c": "items", "id": "durable", "v": ["group": "g1"]]]),
        ])
        try writeAfterJournalEntries(directory + "/journal-1.jsonl", Data(entry))
        #expect(Store.verify(directory: directory, indexes: indexes).problems.isEmpty)
        let store = try Store(directory: directory, indexes: indexes)
        #expect(!store.recoveryNotes.contains { $0.contains("torn") }, "\(store.recoveryNotes)")
        #expect(store.count("items") == 51)
        #expect(store.get("items", "durable") != nil)
    }

    /// A process killed inside the head's publish (the kill -9 test found it: every later open
    /// refused the store as damaged) leaves an odd sequence and a mix of two values: the open
    /// rebuilds the head from the files, keeping every acknowledged entry.
    @Test func aPublishCutShortIsRepairedNotRefused() throws {
        for generationTorn in [false, true] {
            let directory = try sample()
            let path = directory + "/store.head"
            var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            func setSlot(_ i: Int, _ value: Int64) {
                withUnsafeBytes(of: value) { bytes.replaceSubrange(i * 8..<(i * 8 + 8), with: $0) }
            }
            let sequence = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 8, as: Int64.self) }
            setSlot(1, sequence | 1)  // the publish began
            if generationTorn { setSlot(2, 1) }  // (the same generation: a writer's publish)
            setSlot(3, 999_999)  // its length was stored, the check value not yet
            try bytes.write(to: URL(fileURLWithPath: path))
            #expect(Store.verify(directory: directory, indexes: indexes).problems.isEmpty)
            let store = try Store(directory: directory, indexes: indexes)
            #expect(store.recoveryNotes.contains { $0.contains("died while publishing") })
            #expect(store.count("items") == 50)
            try store.write { tx in tx.put("items", "after", ["group": "g1"]) }
            #expect(try Store(directory: directory, indexes: indexes).count("items") == 51)
        }
    }

    /// The supervisor's check before it starts workers holds no records but refuses and reports
    /// exactly what an open does.
    @Test func theStartCheckRefusesAndReportsLikeAnOpen() throws {
        let torn = try sample()
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: torn + "/journal-1.jsonl"))
        handle.seekToEndOfFile()
        handle.write(Data(#"{"seq":51,"ops":[{"op":"pu"#.utf8))
        try handle.close()
        let notes = try Store.recoverForStart(directory: torn, indexes: indexes, verifyData: true)
        #expect(notes.contains { $0.contains("torn") && $0.contains("never acknowledged") })
        #expect(try Store(directory: torn, indexes: indexes).count("items") == 50)
        let damaged = try sample()
        try flipJournal(damaged + "/journal-1.jsonl") { $0 / 2 }
        #expect(throws: StoreError.self) {
            try Store.recoverForStart(directory: damaged, indexes: indexes, verifyData: true)
        }
        // Damage after a clean check (which remembers the files it read whole) is still found.
        let damagedData = try sample()
        _ = try Store.recoverForStart(directory: damagedData, indexes: indexes, verifyData: true)
        #expect(VerifiedFiles.unchanged(damagedData, generation: 1))
        try flip(damagedData + "/data-1.jsonl") { $0 / 2 }
        #expect(!VerifiedFiles.unchanged(damagedData, generation: 1))
        #expect(throws: StoreError.self) {
            try Store.recoverForStart(directory: damagedData, indexes: indexes, verifyData: true)
        }
    }
}

@Suite struct StoreFormatOneTests {
    /// A store written by the first release (snapshot-1.jsonl + journal-1.jsonl + a format-1 head),
    /// made with that release's `partnerships` (token create, directory organization/create, store
    /// compact, token create).
    @Test func aFormatOneStoreIsMigratedOnOpen() throws {
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "Fixtures/format1-store"
        ).path
        let directory = temporaryDirectory("format1")
        for name in try FileManager.default.contentsOfDirectory(atPath: fixture) {
            try FileManager.default.copyItem(atPath: fixture + "/" + name, toPath: directory + "/" + name)
        }
        #expect(Store.verify(directory: directory).notes.contains { $0.contains("format-1") })
        let indexes = [
            IndexDefinition(collection: "api_tokens", name: "by_hash") { [$0["token_hash"]?.stringValue ?? ""] }
        ]
        let store = try Store(directory: directory, indexes: indexes)
        #expect(store.recoveryNotes.contains { $0.contains("migrated a format-1 store") })
        #expect(store.count("api_tokens") == 2)
        #expect(store.count("dir_organizations") == 1)
        #expect(store.count("dir_directories") == 1)
        #expect(
            store.get("api_tokens", "37aa7c53-8c08-4a4c-8369-f381538ee982")?["name"] == "staff After Compaction",
            "the journal's record")
        #expect(
            store.lookup(
                "api_tokens", index: "by_hash", key: "8d5146a89685c883e64197f509107e5ab70efd3201d96b00c445e619f156c804")
                == ["37aa7c53-8c08-4a4c-8369-f381538ee982"])
        #expect(store.lastSequence == 4)
        try store.write { tx in tx.put("api_tokens", "new", ["token_hash": "h"]) }
        try store.compact()
        let reopened = try Store(directory: directory, indexes: indexes)
        #expect(reopened.count("api_tokens") == 3)
        #expect(Store.verify(directory: directory, indexes: indexes).problems.isEmpty)
        let files = try FileManager.default.contentsOfDirectory(atPath: directory)
        #expect(!files.contains { $0.hasPrefix("snapshot-") }, "\(files)")
    }
}

@Suite struct StoreSharingTests {
    /// The per-process copy is the journal since the last compaction, not the store: after a
    /// compaction a reader holds no record in its heap, however many there are.
    @Test func aReaderKeepsOnlyTheJournalTail() throws {
        let directory = temporaryDirectory("sharing")
        let indexes = [
            IndexDefinition(collection: "items", name: "by_group", order: { $0["at"]?.stringValue ?? "" }) {
                [$0["group"]?.stringValue ?? ""]
            }
        ]
        let writer = try Store(directory: directory, indexes: indexes)
        try writer.write { tx in
            for i in 0..<2_000 {
                tx.put("items", "i\(i)", ["group": .string("g\(i % 10)"), "at": .string("t\(1000 + i)")])
            }
        }
        try writer.compact()
        try writer.write { tx in tx.put("items", "i5", ["group": "g5", "at": "t0500"]) }
        let reader = try Store(directory: directory, indexes: indexes)
        #expect(reader.count("items") == 2_000)
        // The tail: one record, shadowing its older version in the data file.
        #expect(reader.get("items", "i5")?["at"] == "t0500")
        var firstThree: [String] = []
        reader.forEach("items", index: "by_group", key: "g5") {
            firstThree.append($0["at"]!.stringValue!)
            return firstThree.count < 3
        }
        #expect(firstThree == ["t0500", "t1015", "t1025"])
        var page: [String] = []
        reader.forEach("items", index: "by_group", key: "g5", descending: true, offset: 199) {
            page.append($0["at"]!.stringValue!)
            return true
        }
        #expect(page == ["t0500"])
    }
}

@Suite struct StoreBackupUnderLoadTests {
    /// Backups taken while two writers and a compactor run: each is a whole, checked file holding
    /// every write acknowledged before it began, and restores to a store that opens and verifies.
    @Test func backupsStayConsistentDuringWritesAndCompactions() throws {
        let directory = temporaryDirectory("backup-load")
        _ = try Store(directory: directory)
        let writers = try (0..<2).map { try TortureProcess(["write", directory, "400", "b\($0)"]) }
        let compactor = try TortureProcess(["compact", directory, "--threshold", "6000"])
        let reader = try Store(directory: directory)
        var backups: [(path: String, before: Set<String>)] = []
        for round in 0..<8 {
            usleep(30_000)
            try reader.refresh()
            let before = Set(reader.all("items").compactMap { $0["id"]?.stringValue })
            let path = directory + "-backup-\(round).jsonl"
            try reader.backup(to: path)
            backups.append((path, before))
        }
        let acknowledged = writers.flatMap { $0.finish().lines }
        compactor.kill()
        _ = compactor.finish()
        #expect(acknowledged.count == 800)
        for (path, before) in backups {
            let restoredInto = temporaryDirectory("restored")
            let restored = try Store(directory: restoredInto)
            try restored.restore(from: path)
            let ids = Set(restored.all("items").compactMap { $0["id"]?.stringValue })
            #expect(
                before.isSubset(of: ids),
                "\(path) lacks \(before.subtracting(ids).count) records written before it began")
            #expect(ids.isSubset(of: Set(acknowledged)), "\(path) holds records nobody wrote")
            #expect(Store.verify(directory: restoredInto).problems.isEmpty)
        }
        #expect(try Store(directory: directory).count("items") == 800)
    }
}

@Suite struct StoreDiskFullTests {
    /// A real writer process (10 writes) under strace, whose `pwrite64` calls fail with ENOSPC from
    /// the `when`-th on. Its first write writes its entry and then the zeros ahead of it (2 calls),
    /// every later one only its entry.
    func writeWithFailingWrites(when: String) throws -> (directory: String, acknowledged: [String], status: Int32)? {
        guard
            let strace = ["/usr/bin/strace", "/bin/strace"].first(where: {
                FileManager.default.isExecutableFile(atPath: $0)
            })
        else {
            Issue.record("strace is not installed (deploy/test installs it)")
            return nil
        }
        let directory = temporaryDirectory("enospc")
        _ = try Store(directory: directory)  // created before the injection: the journal appends are what fail
        let process = Process()
        process.executableURL = URL(fileURLWithPath: strace)
        process.arguments = [
            "-f", "-o", "/dev/null", "-e", "trace=pwrite64", "-e", "inject=pwrite64:error=ENOSPC:when=\(when)",
            try tortureExecutable(), "write", directory, "10", "full",
        ]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (directory, printed.split(separator: "\n").map(String.init), process.terminationStatus)
    }

    /// The fourth entry's append fails: that write is refused with a disk-full error and leaves no
    /// bytes behind; every write acknowledged before is there; later writes work once there is room.
    @Test func aFullDiskRefusesTheWriteAndLeavesNothingBehind() throws {
        guard let (directory, acknowledged, status) = try writeWithFailingWrites(when: "5+") else { return }
        #expect(status != 0, "the fourth write failed")
        #expect(acknowledged == ["full-0", "full-1", "full-2"])
        let verified = Store.verify(directory: directory)
        #expect(verified.problems.isEmpty, "\(verified)")
        #expect(
            !verified.notes.contains { $0.contains("torn") },
            "the partial line was cut off by the writer itself: \(verified.notes)")
        let store = try Store(directory: directory)
        #expect(store.count("items") == 3)
        try store.write { tx in tx.put("items", "after", ["ok": true]) }
        #expect(try Store(directory: directory).count("items") == 4)
    }

    /// Only the zeros ahead do not fit: the entry is in the file, so the write is acknowledged, and
    /// the writes after it grow the file one by one.
    @Test func aFullDiskForTheSpaceAheadNeverFailsAWrite() throws {
        guard let (directory, acknowledged, status) = try writeWithFailingWrites(when: "2") else { return }
        #expect(status == 0)
        #expect(acknowledged == (0..<10).map { "full-\($0)" })
        let verified = Store.verify(directory: directory)
        #expect(verified.problems.isEmpty && !verified.notes.contains { $0.contains("torn") }, "\(verified)")
        #expect(try Store(directory: directory).count("items") == 10)
    }
}

@Suite struct StoreRebaseTests {
    /// A reader that follows a compaction (at once: a new view of the new data file replays the
    /// carried journal) answers what a fresh open answers, with creates, updates that move index
    /// keys and order values, and deletes written during the merge.
    @Test func aReaderMovedOntoTheNextGenerationAnswersLikeAFreshOpen() throws {
        let directory = temporaryDirectory("rebase")
        let indexes = [
            IndexDefinition(collection: "items", name: "by_group", order: { $0["at"]?.stringValue ?? "" }) {
                [$0["group"]?.stringValue ?? ""]
            },
            IndexDefinition(collection: "items", name: "by_tag") {
                ($0["tags"]?.arrayValue ?? []).compactMap(\.stringValue)
            },
        ]
        func item(_ i: Int, group: String, at: String) -> JSON {
            [
                "group": .string(group), "at": .string(at), "tags": .array([.string("t\(i % 3)"), .string("all")]),
                "i": .int(i),
            ]
        }
        let writer = try Store(directory: directory, indexes: indexes)
        try writer.write { tx in
            for i in 0..<200 { tx.put("items", "i\(i)", item(i, group: "g\(i % 4)", at: "t\(1000 + i % 50)")) }
        }
        try writer.write { tx in
            tx.put("items", "i3", item(3, group: "g1", at: "t0999"))
            tx.delete("items", "i4")
        }
        let reader = try Store(directory: directory, indexes: indexes)
        try writer.write { tx in tx.put("items", "early", item(7, group: "g2", at: "t1010")) }
        try reader.refresh()
        let compactor = try Store(directory: directory, indexes: indexes)
        var wroteDuringMerge = false
        try compactor.compact { done, total in
            guard done == total, !wroteDuringMerge else { return }
            wroteDuringMerge = true
            // Acknowledged while the merge runs: carried into the next journal.
            try? writer.write { tx in
                for i in 0..<5 { tx.put("items", "new\(i)", item(i, group: "g\(i % 2)", at: "t10\(i)0")) }
            }
            try? writer.write { tx in tx.put("items", "i7", item(7, group: "g3", at: "t0001")) }
            try? writer.write { tx in
                tx.delete("items", "i9")
                tx.delete("items", "new1")
            }
            try? writer.write { tx in tx.put("items", "i4", item(4, group: "g0", at: "t2000")) }
            try? reader.refresh()  // the reader holds them before the switch: they are what it moves across
        }
        #expect(wroteDuringMerge)
        // Also switches the reader.
        try reader.write { tx in tx.put("items", "after", item(1, group: "g0", at: "t1500")) }
        try reader.refresh()
        let fresh = try Store(directory: directory, indexes: indexes)
        #expect(reader.generation == fresh.generation && reader.generation == 1)
        #expect(reader.count("items") == fresh.count("items"))
        #expect(reader.all("items") == fresh.all("items"))
        for group in ["g0", "g1", "g2", "g3"] {
            #expect(
                reader.lookup("items", index: "by_group", key: group)
                    == fresh.lookup("items", index: "by_group", key: group))
            for descending in [false, true] {
                for offset in [0, 7, 40] {
                    #expect(
                        page(
                            reader, "items", index: "by_group", key: group, descending: descending, offset: offset,
                            limit: 15)
                            == page(
                                fresh, "items", index: "by_group", key: group, descending: descending, offset: offset,
                                limit: 15),
                        "\(group) descending \(descending) offset \(offset)")
                }
            }
        }
        for tag in ["t0", "t1", "t2", "all"] {
            #expect(
                reader.lookupRecords("items", index: "by_tag", key: tag)
                    == fresh.lookupRecords("items", index: "by_tag", key: tag))
        }
        #expect(reader.get("i9") == nil && reader.get("items", "i9") == nil)
        #expect(reader.get("items", "i7")?["group"] == "g3")
        #expect(reader.lastSequence == fresh.lastSequence)
    }
}

/// What keeps a generation switch cheap for the workers and the supervisor.
@Suite struct StoreSwitchTests {
    /// A view replaced by a switch is freed in slices, one per request: every slice stays within
    /// its budget, and the slices end with nothing left.
    @Test func aRetiredViewIsFreedInSlices() throws {
        let directory = temporaryDirectory("retire")
        let indexes = [
            IndexDefinition(collection: "items", name: "by_group", order: { $0["at"]?.stringValue ?? "" }) {
                [$0["group"]?.stringValue ?? ""]
            }
        ]
        let store = try Store(directory: directory, indexes: indexes)
        for batch in 0..<10 {
            try store.write { tx in
                for i in 0..<100 {
                    tx.put("items", "b\(batch)-\(i)", ["group": .string("g\(i % 3)"), "at": .string("t\(i)")])
                }
            }
        }
        let view = StoreView(generation: .empty(), definitions: ["items": indexes])
        try view.apply(
            store.all("items").enumerated().map { i, value in
                ["op": "put", "c": "items", "id": .string("r\(i)"), "v": value]
            }, sequence: 1)
        _ = view.get("items", "r1")  // something in the decoded cache too
        var slices = 0
        while !view.releaseSome(budget: 50) {
            slices += 1
            #expect(slices < 200, "a slice that frees nothing would loop forever")
            if slices >= 200 { break }
        }
        #expect(slices >= 1000 / 50 - 1, "1000 records need at least 19 slices of 50: \(slices)")
        #expect(view.collections.isEmpty)

        // A slice also stops at its deadline, whatever its budget: one already past frees a few.
        let timed = StoreView(generation: .empty(), definitions: ["items": indexes])
        try timed.apply(
            store.all("items").enumerated().map { i, value in
                ["op": "put", "c": "items", "id": .string("r\(i)"), "v": value]
            }, sequence: 1)
        var timedSlices = 0
        while !timed.releaseSome(budget: .max, deadline: 0) && timedSlices < 1_000 { timedSlices += 1 }
        #expect(timedSlices >= 1000 / 16, "at most 16 objects freed past the deadline: \(timedSlices) slices")
        #expect(timed.collections.isEmpty)
    }

    /// The supervisor holds the published generation's files (data, hint, journal), so that the last
    /// process to drop them once replaced is never a worker inside a request; it gives a replaced
    /// generation's back only once due and once no process maps or reads them any more.
    @Test func theWatchHoldsAReplacedGenerationsFilesUntilNothingUsesThem() throws {
        func replacedFiles(_ directory: String) -> [String] {
            openFileNames(in: directory).filter {
                $0.hasPrefix("data-1.jsonl") || $0.hasPrefix("hint-1.bin") || $0.hasPrefix("journal-1.jsonl")
            }
        }
        for hold in [0, 60_000_000] {
            let directory = temporaryDirectory("watch-hold")
            var store: Store? = try Store(directory: directory)
            try store!.write { tx in tx.put("items", "a", ["n": 1]) }
            _ = try store!.compact()
            let watch = try CompactionWatch(directory: directory, threshold: 1 << 20, holdAfterSwitchMicroseconds: hold)
            _ = watch.watch()
            _ = try store!.compact()
            _ = watch.watch()
            // This process's store still maps generation 1's data and hint (its retired view, kept
            // a while): those wait. Its journal nobody reads any more: given back unless not yet due.
            let waiting = hold > 0 ? 3 : 2
            let held = replacedFiles(directory)
            #expect(held.count == waiting + 2, "the watch's and the store's mapped two: \(held)")
            #expect(held.allSatisfy { $0.hasSuffix("(deleted)") })
            #expect(watch.replacedFilesWaiting == waiting)
            store = nil
            _ = watch.watch()
            #expect(replacedFiles(directory).count == (hold > 0 ? 3 : 0), "held for \(hold) µs")
            #expect(watch.replacedFilesWaiting == (hold > 0 ? 3 : 0))
            #expect(
                openFileNames(in: directory).filter {
                    $0.hasPrefix("data-2.jsonl") || $0.hasPrefix("hint-2.bin") || $0.hasPrefix("journal-2.jsonl")
                }.count == 3)
        }
    }

    /// A hint that passes every check an open makes (its checksum, generation, size, index names) but
    /// whose index entries are not the records' (here: a key function changed under the same index
    /// name) is a problem `verify` reports with the remedy, not a note promising a rebuild no open does.
    @Test func verifyReportsAHintWhoseIndexEntriesDisagreeAndHowToRepairIt() throws {
        let directory = temporaryDirectory("hint-disagrees")
        let byColour = IndexDefinition(collection: "items", name: "by_colour") { [$0["colour"]?.stringValue ?? ""] }
        let changed = IndexDefinition(collection: "items", name: "by_colour") { [$0["size"]?.stringValue ?? ""] }
        do {
            let store = try Store(directory: directory, indexes: [byColour])
            try store.write { tx in
                tx.put("items", "a", ["colour": "red", "size": "s"])
                tx.put("items", "b", ["colour": "blue", "size": "m"])
            }
            _ = try store.compact()
        }
        #expect(Store.verify(directory: directory, indexes: [byColour]).problems.isEmpty)
        let (problems, _) = Store.verify(directory: directory, indexes: [changed])
        #expect(problems.count == 1)
        #expect(problems.first?.contains("index entries disagree with the records") == true, "\(problems)")
        #expect(problems.first?.contains("remove hint-1.bin") == true, "\(problems)")
        // The remedy works: without the hint, the next open rebuilds it with the definitions it has.
        unlink(directory + "/hint-1.bin")
        let reopened = try Store(directory: directory, indexes: [changed])
        #expect(reopened.lookup("items", index: "by_colour", key: "m") == ["b"])
        #expect(Store.verify(directory: directory, indexes: [changed]).problems.isEmpty)
    }

    /// While a compaction runs (an operator's, say), the watch does not start another: it would open
    /// the store, replaying the journal beside the workers, only to be refused the lock.
    @Test func theWatchIsNotDueWhileACompactionRuns() throws {
        let directory = temporaryDirectory("watch-running")
        let store = try Store(directory: directory, options: StoreOptions(compactionThreshold: 4_096))
        try store.write { tx in
            for i in 0..<80 { tx.put("items", "i\(i)", ["text": .string(String(repeating: "x", count: 60))]) }
        }
        let watch = try CompactionWatch(directory: directory, threshold: 4_096)
        #expect(!CompactionWatch.compactionRunning(directory: directory))
        #expect(watch.watch())
        let compactor = open(directory + "/compact.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o640)
        #expect(flock(compactor, LOCK_EX | LOCK_NB) == 0)
        #expect(CompactionWatch.compactionRunning(directory: directory))
        #expect(!watch.watch())
        #expect(try store.compact() == nil, "the lock the check saw is the one compactions take")
        close(compactor)
        #expect(!CompactionWatch.compactionRunning(directory: directory))
        #expect(watch.watch())
    }

    /// The supervisor watches the head, not a whole store: due past the threshold, not due once a
    /// compaction has started the next journal.
    @Test func theCompactionWatchFollowsTheHead() throws {
        let directory = temporaryDirectory("watch")
        let store = try Store(directory: directory, options: StoreOptions(compactionThreshold: 4_096))
        let watch = try CompactionWatch(directory: directory, threshold: 4_096)
        #expect(!watch.isDue)
        try store.write { tx in
            for i in 0..<80 { tx.put("items", "i\(i)", ["text": .string(String(repeating: "x", count: 60))]) }
        }
        #expect(store.needsCompaction && watch.isDue)
        _ = try store.compact()
        #expect(!store.needsCompaction && !watch.isDue)
    }
}

/// The files of `directory` this process holds open, by name (`/proc/self/fd`).
func openFileNames(in directory: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []).compactMap {
        try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + $0)
    }.filter { $0.hasPrefix(directory + "/") }.map { String($0.dropFirst(directory.count + 1)) }
}

private extension Store {
    func get(_ id: String) -> JSON? { get("items", id) }
}
