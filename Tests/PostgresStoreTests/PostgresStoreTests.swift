import Foundation
import JSON
import Postgres
import Store
import Testing

@testable import PostgresStore

/// The server: PARTNERSHIPS_TEST_POSTGRES_URL, set by deploy/test from the cluster it starts.
enum TestDatabase {
    static let url = ProcessInfo.processInfo.environment["PARTNERSHIPS_TEST_POSTGRES_URL"].flatMap {
        $0.isEmpty ? nil : $0
    }
    static let skipNote: Comment =
        "PARTNERSHIPS_TEST_POSTGRES_URL is not set: no PostgreSQL to test against (deploy/test starts one; by hand: deploy/postgres-test-cluster start)"

    static let indexes = [
        // Ordered by "at" (a timestamp-like string), keyed by "group".
        IndexDefinition(collection: "items", name: "by_group", order: { $0["at"]?.stringValue ?? "" }) {
            [$0["group"]?.stringValue ?? ""]
        },
        // Unordered, several keys per record (repeated ones listed once).
        IndexDefinition(collection: "items", name: "by_tag") {
            ($0["tags"]?.arrayValue ?? []).compactMap(\.stringValue)
        },
        IndexDefinition(collection: "partnerships", name: "by_school_year") {
            [($0["school"]?.stringValue ?? "") + "/" + ($0["year"]?.stringValue ?? "")]
        },
    ]

    /// A schema of its own for each test (they run in parallel on one database); dropped by `drop`.
    static func schemaName() -> String { "test_\(getpid())_\(UInt32.random(in: 0...UInt32.max))" }

    static func open(schema: String, uniqueIndexes: [UniqueIndex] = []) throws -> PostgresStore {
        try PostgresStore(url: url!, schema: schema, indexes: indexes, uniqueIndexes: uniqueIndexes)
    }

    static func drop(_ schema: String) throws {
        try PostgresConnection(url!).execute("DROP SCHEMA \(schema) CASCADE")
    }

    /// Ends `connection`'s session on the server, as a database restart or failover would.
    static func terminateSession(of connection: PostgresConnection) throws {
        let pid = try #require(connection.serverProcessID)
        try PostgresConnection(url!).execute("SELECT pg_terminate_backend($1, 10000)", [String(pid)])
    }
}

@Suite(.enabled(if: TestDatabase.url != nil, TestDatabase.skipNote))
struct PostgresStoreTests {
    static func item(_ i: Int, group: String, at: String, tags: [String] = []) -> JSON {
        ["i": .int(i), "group": .string(group), "at": .string(at), "tags": .array(tags.map(JSON.string))]
    }

    @Test func theSchemaIsCreatedOnceAndItsVersionRecorded() throws {
        let schema = TestDatabase.schemaName()
        let connection = try PostgresConnection(TestDatabase.url!)
        #expect(try PostgresSchema.prepare(connection, schema: schema) == 1)
        #expect(try PostgresSchema.prepare(connection, schema: schema) == 0)
        let version = try connection.execute("SELECT version FROM \(schema).schema_version")
        #expect(version.rows == [[String(PostgresSchema.currentVersion)]])

        // A schema written by a newer build is refused, not used.
        try connection.execute("UPDATE \(schema).schema_version SET version = 99")
        #expect(throws: PostgresStoreError.newerSchema(found: 99, supported: PostgresSchema.currentVersion)) {
            try PostgresSchema.prepare(connection, schema: schema)
        }
        try TestDatabase.drop(schema)
    }

    @Test func putGetDeleteKeepRecordsByteForByteAndInCreationOrder() throws {
        let schema = TestDatabase.schemaName()
        let store = try TestDatabase.open(schema: schema)
        // Attribute order is kept as written (the wire format depends on it): `json`, not `jsonb`.
        let value: JSON = ["zeta": 1, "alpha": ["b": 2.5, "a": .null], "text": "grüße \"quoted\" \\ ✓"]
        try store.write { tx in
            try tx.put("items", "x", value)
            try tx.put("items", "y", Self.item(2, group: "g", at: "2"))
            try tx.put("items", "z", Self.item(3, group: "g", at: "3"))
        }
        #expect(try store.get("items", "x")?.text == value.text)
        #expect(try store.get("items", "missing") == nil)
        #expect(try store.count("items") == 3)
        #expect(try store.count("other") == 0)

        // An update keeps the record's place; a delete and a new put makes it last.
        try store.write { tx in try tx.put("items", "x", Self.item(1, group: "g", at: "1")) }
        #expect(try store.all("items").map { $0["i"]?.intValue } == [1, 2, 3])
        try store.write { tx in
            try tx.delete("items", "y")
            try tx.delete("items", "never-there")
        }
        #expect(try store.get("items", "y") == nil)
        try store.write { tx in try tx.put("items", "y", Self.item(2, group: "g", at: "2")) }
        #expect(try store.all("items").map { $0["i"]?.intValue } == [1, 3, 2])
        #expect(try store.count("items") == 3)
        try TestDatabase.drop(schema)
    }

    @Test func lookupsFollowEveryPutAndDelete() throws {
        let schema = TestDatabase.schemaName()
        let store = try TestDatabase.open(schema: schema)
        try store.write { tx in
            try tx.put("items", "a", Self.item(1, group: "g1", at: "5", tags: ["red", "blue", "red"]))
            try tx.put("items", "b", Self.item(2, group: "g1", at: "1", tags: ["blue"]))
            try tx.put("items", "c", Self.item(3, group: "g2", at: "3", tags: []))
        }
        #expect(try store.lookup("items", index: "by_tag", key: "red") == ["a"])  // listed once
        #expect(try store.lookup("items", index: "by_tag", key: "blue") == ["a", "b"])
        // lookup is in creation order even on an ordered index.
        #expect(try store.lookup("items", index: "by_group", key: "g1") == ["a", "b"])
        #expect(try store.lookupRecords("items", index: "by_group", key: "g1").map { $0["i"]?.intValue } == [1, 2])

        // Moving a record between keys, and a delete, take it out of its old keys.
        try store.write { tx in
            try tx.put("items", "a", Self.item(1, group: "g2", at: "5", tags: ["green"]))
            try tx.delete("items", "b")
        }
        #expect(try store.lookup("items", index: "by_tag", key: "red") == [])
        #expect(try store.lookup("items", index: "by_tag", key: "blue") == [])
        #expect(try store.lookup("items", index: "by_tag", key: "green") == ["a"])
        #expect(try store.lookup("items", index: "by_group", key: "g1") == [])
        #expect(try store.lookup("items", index: "by_group", key: "g2") == ["a", "c"])
        let entries = try PostgresConnection(TestDatabase.url!).execute("SELECT count(*) FROM \(schema).index_entries")
        #expect(entries.singleValue() == "3")  // a: by_group g2 and green; c: by_group g2; nothing of b
        try TestDatabase.drop(schema)
    }

    @Test func aTransactionReadsItsOwnWrites() throws {
        let schema = TestDatabase.schemaName()
        let store = try TestDatabase.open(schema: schema)
        try store.write { tx in
            try tx.put("items", "a", Self.item(1, group: "g", at: "1", tags: ["t"]))
            #expect(try tx.get("items", "a")?["i"]?.intValue == 1)
            #expect(try tx.lookup("items", index: "by_tag", key: "t") == ["a"])
            #expect(try tx.count("items") == 1)
            try tx.delete("items", "a")
            #expect(try tx.get("items", "a") == nil)
            #expect(try tx.lookup("items", index: "by_tag", key: "t") == [])
        }
        try TestDatabase.drop(schema)
    }

    /// The order `Store.forEach` defines: a stable sort of creation order by the order value
    /// (descending: largest value first, ties still in creation order), compared byte-wise.
    static func expectedOrder(_ records: [(id: String, at: String)], descending: Bool) -> [String] {
        let ascending = records.enumerated().sorted { a, b in
            a.element.at != b.element.at
                ? a.element.at.utf8.lexicographicallyPrecedes(b.element.at.utf8) : a.offset < b.offset
        }
        if !descending { return ascending.map(\.element.id) }
        return records.enumerated().sorted { a, b in
            a.element.at != b.element.at
                ? b.element.at.utf8.lexicographicallyPrecedes(a.element.at.utf8) : a.offset < b.offset
        }.map(\.element.id)
    }

    @Test func forEachWalksTheIndexOrderAndPagesAcrossBatches() throws {
        let schema = TestDatabase.schemaName()
        let store = try TestDatabase.open(schema: schema)
        // 250 records over 2.5 batches, 40 distinct order values (ties), and some in another group.
        var generator = SystemRandomNumberGenerator()
        var records: [(id: String, at: String)] = []
        try store.write { tx in
            for i in 0..<260 {
                let at = String(format: "2026-01-%02d", Int.random(in: 1...40, using: &generator))
                let group = i % 26 == 25 ? "other" : "main"
                try tx.put("items", "r\(i)", Self.item(i, group: group, at: at))
                if group == "main" { records.append(("r\(i)", at)) }
            }
        }
        #expect(records.count == 250)
        for descending in [false, true] {
            let expected = Self.expectedOrder(records, descending: descending)
            for offset in [0, 1, 99, 100, 101, 199, 200, 249, 250, 300] {
                var seen: [String] = []
                try store.forEach("items", index: "by_group", key: "main", descending: descending, offset: offset) {
                    seen.append("r\($0["i"]!.intValue!)")
                    return true
                }
                #expect(seen == Array(expected.dropFirst(offset)), "descending \(descending), offset \(offset)")
            }
            // A page: stops when the body says so, after exactly that many records.
            var page: [String] = []
            try store.forEach("items", index: "by_group", key: "main", descending: descending, offset: 120) {
                page.append("r\($0["i"]!.intValue!)")
                return page.count < 25
            }
            #expect(page == Array(expected[120..<145]))
        }
        var none = 0
        try store.forEach("items", index: "by_group", key: "absent") { _ in
            none += 1
            return true
        }
        #expect(none == 0)
        try TestDatabase.drop(schema)
    }

    /// A deep page starts from the key's page boundaries once a second deep page at the same
    /// counter made them, gives what OFFSET gives, and a write of another host (a connection that
    /// this store's counter has not seen) makes the page be read by OFFSET again, not from
    /// boundaries that moved.
    @Test func deepPagesStartFromBoundariesThatAnotherHostsWriteEnds() throws {
        let schema = TestDatabase.schemaName()
        let store = try TestDatabase.open(schema: schema)
        let otherHost = try TestDatabase.open(schema: schema)
        var records: [(id: String, at: String)] = []
        try store.write { tx in
            for i in 0..<450 {
                // Ties across boundaries: 30 order values over 450 records.
                let at = String(format: "2026-02-%02d", (i * 7) % 30 + 1)
                try tx.put("items", "r\(i)", Self.item(i, group: "main", at: at))
                records.append(("r\(i)", at))
            }
        }
        func page(_ store: PostgresStore, descending: Bool, offset: Int) throws -> [String] {
            var seen: [String] = []
            try store.forEach("items", index: "by_group", key: "main", descending: descending, offset: offset) {
                seen.append("r\($0["i"]!.intValue!)")
                return seen.count < 100
            }
            return seen
        }
        for descending in [false, true] {
            let expected = Self.expectedOrder(records, descending: descending)
            _ = try page(store, descending: descending, offset: 100)
            #expect(store.pageBoundaries.count == (descending ? 1 : 0))
            for offset in [100, 150, 199, 200, 350, 449, 450, 900] {
                #expect(
                    try page(store, descending: descending, offset: offset)
                        == Array(expected.dropFirst(offset).prefix(100)), "descending \(descending), offset \(offset)")
            }
            #expect(store.pageBoundaries.count == (descending ? 2 : 1))
        }
        // The other host adds the first record of the ascending order: every later page moves by one.
        try otherHost.write { tx in try tx.put("items", "first", Self.item(-1, group: "main", at: "2026-01-01")) }
        #expect(
            !store.pageBoundaries.holds(
                .init(collection: "items", index: "by_group", key: "main", descending: false), at: otherHost.changeCount
            ))
        let expected = ["first"] + Self.expectedOrder(records, descending: false)
        #expect(try page(store, descending: false, offset: 250) == Array(expected[250..<350]))
        #expect(store.pageBoundaries.count == 1)
        try TestDatabase.drop(schema)
    }

    @Test func sequencesCountFromOneDurablyAndARolledBackWriteTakesNone() throws {
        let schema = TestDatabase.schemaName()
        let store = try TestDatabase.open(schema: schema)
        let first = try store.write { tx in
            [try tx.nextSequence("a"), try tx.nextSequence("a"), try tx.nextSequence("b")]
        }
        #expect(first == [1, 2, 1])
        struct Refused: Error {}
        #expect(throws: Refused.self) {
            try store.write { tx in
                _ = try tx.nextSequence("a")
                try tx.put("items", "never", Self.item(0, group: "g", at: "0"))
                throw Refused()
            }
        }
        #expect(try store.get("items", "never") == nil)
        // Another connection (another worker) continues the same counter.
        let other = try TestDatabase.open(schema: schema)
        #expect(try other.write { tx in try tx.nextSequence("a") } == 3)
        try TestDatabase.drop(schema)
    }

    @Test func theChangeCounterMovesWithEveryWriteThatChangesSomething() throws {
        let schema = TestDatabase.schemaName()
        let writer = try TestDatabase.open(schema: schema)
        let reader = try TestDatabase.open(schema: schema)
        let before = reader.changeCount
        try writer.write { tx in try tx.put("items", "a", Self.item(1, group: "g", at: "1")) }
        #expect(writer.changeCount == before + 1)
        try writer.write { tx in _ = try tx.get("items", "a") }  // reads only: no change
        try writer.write { tx in
            try tx.put("items", "b", Self.item(2, group: "g", at: "2"))
            try tx.put("items", "c", Self.item(3, group: "g", at: "3"))
        }
        #expect(reader.changeCount == before)
        try reader.refresh()
        #expect(reader.changeCount == before + 2)
        let written = try PostgresConnection(TestDatabase.url!).execute(
            "SELECT id, written_change FROM \(schema).records ORDER BY id")
        #expect(written.rows == [["a", String(before + 1)], ["b", String(before + 2)], ["c", String(before + 2)]])
        try TestDatabase.drop(schema)
    }

    @Test func aUniqueIndexRefusesASecondRecordUnderAKey() throws {
        let schema = TestDatabase.schemaName()
        let unique = UniqueIndex(collection: "partnerships", index: "by_school_year")
        let store = try TestDatabase.open(schema: schema, uniqueIndexes: [unique])
        let partnership: JSON = ["school": "s1", "year": "2026"]
        try store.write { tx in try tx.put("partnerships", "p1", partnership) }
        // The same record written again is not a second one.
        try store.write { tx in try tx.put("partnerships", "p1", partnership) }
        do {
            try store.write { tx in
                try tx.put("items", "alongside", Self.item(1, group: "g", at: "1"))
                try tx.put("partnerships", "p2", partnership)
            }
            Issue.record("a second partnership for s1/2026 was written")
        } catch let error as PostgresError {
            #expect(error.sqlState == .uniqueViolation)
            #expect(error.constraint == unique.constraintName)
        }
        #expect(try store.get("items", "alongside") == nil)  // the whole write was rolled back
        #expect(try store.lookup("partnerships", index: "by_school_year", key: "s1/2026") == ["p1"])
        // Reopening (another worker, a restart) finds the index there and adds nothing.
        _ = try TestDatabase.open(schema: schema, uniqueIndexes: [unique])
        try TestDatabase.drop(schema)
    }

    @Test func heldWritesCommitTogetherAndNothingIsSeenBefore() throws {
        let schema = TestDatabase.schemaName()
        let store = try TestDatabase.open(schema: schema)
        let other = try TestDatabase.open(schema: schema)
        let before = store.changeCount
        store.holdWrites()
        try store.write { tx in try tx.put("items", "a", Self.item(1, group: "g", at: "1")) }
        try store.write { tx in
            #expect(try tx.get("items", "a") != nil)  // the held series sees its own writes
            try tx.put("items", "b", Self.item(2, group: "g", at: "2"))
        }
        #expect(try other.get("items", "a") == nil)
        try store.commitHeldWrites { tx in try tx.put("keys", "k", ["response": "created"]) }
        #expect(try other.lookup("items", index: "by_group", key: "g") == ["a", "b"])
        #expect(try other.get("keys", "k") != nil)
        // One change for the whole series.
        #expect(store.changeCount == before + 1)
        let stamps = try PostgresConnection(TestDatabase.url!).execute(
            "SELECT DISTINCT written_change FROM \(schema).records")
        #expect(stamps.rows == [[String(before + 1)]])
        try TestDatabase.drop(schema)
    }

    @Test func abandonedHeldWritesLeaveNothingAndAFailedOneTakesBackOnlyItself() throws {
        let schema = TestDatabase.schemaName()
        let store = try TestDatabase.open(schema: schema)
        store.holdWrites()
        try store.write { tx in try tx.put("items", "a", Self.item(1, group: "g", at: "1")) }
        store.abandonHeldWrites()
        #expect(try store.count("items") == 0)

        struct Refused: Error {}
        store.holdWrites()
        try store.write { tx in try tx.put("items", "a", Self.item(1, group: "g", at: "1")) }
        #expect(throws: Refused.self) {
            try store.write { tx in
                try tx.put("items", "b", Self.item(2, group: "g", at: "2"))
                throw Refused()
            }
        }
        try store.commitHeldWrites { tx in try tx.put("items", "c", Self.item(3, group: "g", at: "3")) }
        #expect(try store.lookup("items", index: "by_group", key: "g") == ["a", "c"])

        // A finish that throws takes the whole series with it.
        store.holdWrites()
        try store.write { tx in try tx.put("items", "d", Self.item(4, group: "g", at: "4")) }
        #expect(throws: Refused.self) { try store.commitHeldWrites { _ in throw Refused() } }
        #expect(try store.get("items", "d") == nil)
        // Held writes with nothing held: commit is a plain write.
        store.holdWrites()
        try store.commitHeldWrites { tx in try tx.put("items", "e", Self.item(5, group: "g", at: "5")) }
        #expect(try store.get("items", "e") != nil)
        try TestDatabase.drop(schema)
    }

    @Test func heldWritesKeepTheWriterLockUntilTheyCommit() throws {
        let schema = TestDatabase.schemaName()
        let store = try TestDatabase.open(schema: schema)
        let other = try PostgresStore(url: TestDatabase.url!, schema: schema, writerLockTimeoutMilliseconds: 200)
        store.holdWrites()
        // The lock is taken with the series' first statement, here its read (a series that never
        // reads takes it with its COMMIT: nothing it wrote was decided on what it read).
        try store.write { tx in
            #expect(try tx.get("items", "a") == nil)
            try tx.put("items", "a", Self.item(1, group: "g", at: "1"))
        }
        #expect(throws: PostgresStoreError.self) {
            try other.write { tx in try tx.put("items", "b", Self.item(2, group: "g", at: "2")) }
        }
        try store.commitHeldWrites { _ in }
        try other.write { tx in try tx.put("items", "b", Self.item(2, group: "g", at: "2")) }
        #expect(try other.count("items") == 2)
        try TestDatabase.drop(schema)
    }

    @Test func aWritePreconditionRunsUnderTheLockAndIsConsumed() throws {
        let schema = TestDatabase.schemaName()
        let store = try TestDatabase.open(schema: schema)
        try store.write { tx in try tx.put("items", "a", Self.item(1, group: "g", at: "1")) }
        struct Changed: Error {}
        store.setWritePrecondition {
            // If-Match: the record must still be version 1.
            guard try store.get("items", "a")?["i"]?.intValue == 2 else { throw Changed() }
        }
        #expect(throws: Changed.self) {
            try store.write { tx in try tx.put("items", "a", Self.item(9, group: "g", at: "1")) }
        }
        #expect(try store.get("items", "a")?["i"]?.intValue == 1)
        // Consumed: the next write runs without it.
        try store.write { tx in try tx.put("items", "a", Self.item(2, group: "g", at: "1")) }
        store.setWritePrecondition {
            guard try store.get("items", "a")?["i"]?.intValue == 2 else { throw Changed() }
        }
        try store.write { tx in try tx.put("items", "a", Self.item(3, group: "g", at: "1")) }
        #expect(try store.get("items", "a")?["i"]?.intValue == 3)
        try TestDatabase.drop(schema)
    }

    @Test func aWriterThatCannotHaveTheLockInTimeIsUnavailableNotHung() throws {
        let schema = TestDatabase.schemaName()
        let store = try PostgresStore(url: TestDatabase.url!, schema: schema, writerLockTimeoutMilliseconds: 200)
        // Another host's writer, holding the lock in a long held write.
        let other = try PostgresConnection(TestDatabase.url!)
        try other.begin()
        try other.execute(
            "SELECT pg_advisory_xact_lock($1::int, hashtext($2))", [String(PostgresSchema.writerLockSpace), schema])
        let started = ContinuousClock.now
        #expect {
            try store.write { tx in try tx.put("items", "a", Self.item(1, group: "g", at: "1")) }
        } throws: { error in
            guard case PostgresStoreError.unavailable = error else { return false }
            return true
        }
        #expect(ContinuousClock.now - started < .seconds(3))
        try other.rollback()
        // The lock timeout survives a reconnect (it is set on every new session).
        try TestDatabase.terminateSession(of: store.connection)
        #expect(throws: PostgresStoreError.self) { try store.refresh() }
        #expect(try store.connection.execute("SHOW lock_timeout").singleValue() == "200ms")
        try store.write { tx in try tx.put("items", "a", Self.item(1, group: "g", at: "1")) }
        #expect(try store.count("items") == 1)
        try TestDatabase.drop(schema)
    }

    @Test func aLostConnectionIsUnavailableForOneCallThenTheStoreReconnects() throws {
        let schema = TestDatabase.schemaName()
        let store = try TestDatabase.open(schema: schema)
        try store.write { tx in try tx.put("items", "a", Self.item(1, group: "g", at: "1")) }
        try TestDatabase.terminateSession(of: store.connection)
        #expect {
            _ = try store.get("items", "a")
        } throws: { error in
            guard case PostgresStoreError.unavailable = error else { return false }
            return true
        }
        #expect(try store.get("items", "a")?["i"]?.intValue == 1)
        try store.write { tx in try tx.put("items", "b", Self.item(2, group: "g", at: "2")) }
        #expect(try store.lookup("items", index: "by_group", key: "g") == ["a", "b"])
        try TestDatabase.drop(schema)
    }
}

/// Two workers (two connections, two threads) creating the same partnership at once: each checks
/// that none exists, waits a moment (so the other's check lands in between), then creates it.
@Suite(.enabled(if: TestDatabase.url != nil, TestDatabase.skipNote))
struct PostgresStoreConcurrentWriterTests {
    final class Outcomes: @unchecked Sendable {
        private let lock = NSLock()
        private var values: [String] = []
        func add(_ value: String) { lock.withLock { values.append(value) } }
        var all: [String] { lock.withLock { values } }
    }

    /// Runs the check-then-create on two threads at once; returns what each did.
    static func race(schema: String, serialized: Bool, uniqueIndexes: [UniqueIndex] = []) throws -> [String] {
        let stores = try (0..<2).map { _ in try TestDatabase.open(schema: schema, uniqueIndexes: uniqueIndexes) }
        for store in stores { store.serializesWrites = serialized }
        let outcomes = Outcomes()
        let start = DispatchSemaphore(value: 0)
        let done = DispatchGroup()
        for (number, store) in stores.enumerated() {
            nonisolated(unsafe) let store = store
            done.enter()
            let thread = Thread {
                defer { done.leave() }
                start.wait()
                do {
                    let created = try store.write { tx -> Bool in
                        guard try tx.lookup("partnerships", index: "by_school_year", key: "s1/2026").isEmpty else {
                            return false
                        }
                        Thread.sleep(forTimeInterval: 0.3)
                        try tx.put("partnerships", "p\(number)", ["school": "s1", "year": "2026"])
                        return true
                    }
                    outcomes.add(created ? "created" : "found")
                } catch let error as PostgresError where error.isUniqueViolation {
                    outcomes.add("unique violation")
                } catch {
                    outcomes.add("failed: \(error)")
                }
            }
            thread.start()
        }
        start.signal()
        start.signal()
        done.wait()
        return outcomes.all.sorted()
    }

    @Test func withTheWriterLockExactlyOneCreates() throws {
        let schema = TestDatabase.schemaName()
        #expect(try Self.race(schema: schema, serialized: true) == ["created", "found"])
        let store = try TestDatabase.open(schema: schema)
        #expect(try store.lookup("partnerships", index: "by_school_year", key: "s1/2026").count == 1)
        try TestDatabase.drop(schema)
    }

    /// What the lock prevents, shown so the test above is known to be able to fail.
    @Test func withoutItBothCreate() throws {
        let schema = TestDatabase.schemaName()
        #expect(try Self.race(schema: schema, serialized: false) == ["created", "created"])
        try TestDatabase.drop(schema)
    }

    /// Two hosts starting at once on an empty database: the schema is created once, both run.
    @Test func twoStoresOpeningANewSchemaAtOnceCreateItOnce() throws {
        let schema = TestDatabase.schemaName()
        let outcomes = Outcomes()
        let done = DispatchGroup()
        for _ in 0..<2 {
            done.enter()
            Thread {
                defer { done.leave() }
                do {
                    let connection = try PostgresConnection(TestDatabase.url!)
                    outcomes.add("applied \(try PostgresSchema.prepare(connection, schema: schema))")
                } catch {
                    outcomes.add("failed: \(error)")
                }
            }.start()
        }
        done.wait()
        #expect(outcomes.all.sorted() == ["applied 0", "applied 1"])
        try TestDatabase.drop(schema)
    }

    /// Without the lock, a declared unique index still lets only one through.
    @Test func aUniqueIndexAloneLetsOneThrough() throws {
        let schema = TestDatabase.schemaName()
        let unique = [UniqueIndex(collection: "partnerships", index: "by_school_year")]
        #expect(
            try Self.race(schema: schema, serialized: false, uniqueIndexes: unique) == ["created", "unique violation"])
        try TestDatabase.drop(schema)
    }
}
