import Foundation
import JSON
import Postgres
import Store
import Testing

@testable import PostgresStore

/// `Store` (the API every family uses) opened on the PostgreSQL engine: the same calls, the same
/// answers as on the JSON files, with `Transaction`'s overlay over reads made in the database.
@Suite(.enabled(if: TestDatabase.url != nil, TestDatabase.skipNote))
struct StoreOnPostgresTests {
    static func item(_ i: Int, group: String, at: String, tags: [String] = []) -> JSON {
        PostgresStoreTests.item(i, group: group, at: at, tags: tags)
    }

    static func open(_ schema: String) throws -> Store {
        Store(
            engine: try PostgresStoreEngine(
                url: TestDatabase.url! + "?schema=\(schema)", indexes: TestDatabase.indexes),
            indexes: TestDatabase.indexes)
    }

    @Test func theSchemaParameterIsTakenOutOfTheURLAndThePasswordOutOfMessages() {
        #expect(
            PostgresStoreEngine.splitSchema("postgres://u@h:5/db?schema=s1&sslmode=disable")
                == ("postgres://u@h:5/db?sslmode=disable", "s1"))
        #expect(PostgresStoreEngine.splitSchema("postgres://u@h/db") == ("postgres://u@h/db", nil))
        #expect(PostgresStoreEngine.redacted("postgres://u:secret@h:5/db") == "postgres://u:***@h:5/db")
        #expect(PostgresStoreEngine.redacted("postgres://u@h/db") == "postgres://u@h/db")
        #expect(PostgresStoreEngine.handles("postgresql://h/db") && !PostgresStoreEngine.handles("state/data"))
    }

    @Test func writesAndReadsGoThroughTheStoreAPI() throws {
        let schema = TestDatabase.schemaName()
        let store = try Self.open(schema)
        #expect(store.isEngine)
        let ids = try store.write { tx -> [Int] in
            tx.put("items", "a", Self.item(1, group: "g", at: "2"))
            // The overlay: the transaction sees its own put before anything reached the database.
            #expect(tx.get("items", "a")?["i"]?.intValue == 1)
            #expect(tx.lookup("items", index: "by_group", key: "g") == ["a"])
            #expect(tx.count("items") == 1)
            tx.put("items", "b", Self.item(2, group: "g", at: "1", tags: ["x", "x", "y"]))
            return [tx.nextSequence("n"), tx.nextSequence("n")]
        }
        #expect(ids == [1, 2])
        #expect(try store.write { tx in tx.nextSequence("n") } == 3)
        #expect(store.get("items", "b")?["i"]?.intValue == 2)
        #expect(store.all("items").compactMap { $0["i"]?.intValue } == [1, 2])
        #expect(store.count("items") == 2)
        #expect(store.lookup("items", index: "by_tag", key: "x") == ["b"])
        #expect(store.lookupRecords("items", index: "by_group", key: "g").count == 2)
        var walked: [Int] = []
        store.forEach("items", index: "by_group", key: "g") { record in
            walked.append(record["i"]!.intValue!)
            return true
        }
        #expect(walked == [2, 1])  // by "at"
        #expect(store.collectionNames == ["items"])
        store.endReads()

        // In a later write, the stored state plus the overlay: a delete hides a stored record.
        try store.write { tx in
            tx.delete("items", "a")
            #expect(tx.get("items", "a") == nil)
            #expect(tx.count("items") == 1)
            #expect(tx.lookup("items", index: "by_group", key: "g") == ["b"])
        }
        #expect(store.get("items", "a") == nil)
        #expect(store.takeReadDamage() == nil)
        store.endReads()
        try TestDatabase.drop(schema)
    }

    /// PostgreSQL text holds no NUL, and libpq would cut a parameter at one: a key "a\0b" must not
    /// be looked up as "a" (a schemathesis case sent a slug with \u0000 and got a 500).
    @Test func keysAndIdsWithNULAndControlBytesAreKeptApart() throws {
        let schema = TestDatabase.schemaName()
        let store = try Self.open(schema)
        try store.write { tx in
            tx.put("items", "x\u{0}1", Self.item(1, group: "g\u{0}", at: "\u{1}", tags: ["a\u{0}b"]))
            tx.put("items", "x", Self.item(2, group: "g", at: "\u{0}", tags: ["a"]))
            tx.put("items", "x\u{1}", Self.item(3, group: "g\u{0}", at: "\u{0}\u{0}", tags: ["a\u{1}"]))
        }
        #expect(store.lookup("items", index: "by_tag", key: "a\u{0}b") == ["x\u{0}1"])
        #expect(store.lookup("items", index: "by_tag", key: "a") == ["x"])
        #expect(store.lookup("items", index: "by_tag", key: "a\u{1}") == ["x\u{1}"])
        #expect(store.get("items", "x\u{0}1")?["i"]?.intValue == 1)
        #expect(store.get("items", "x\u{0}") == nil)
        var order: [Int] = []
        store.forEach("items", index: "by_group", key: "g\u{0}") { record in
            order.append(record["i"]!.intValue!)
            return true
        }
        #expect(order == [3, 1])  // "\0\0" sorts before "\1"
        // Quotes, backslashes and non-ASCII in ids and keys go through the array parameters (a
        // put's index rows, a page's records, a page's lookups) intact.
        let odd = ["q\"uote", "back\\slash", "{brace},", "é–ß", "\\\""]
        try store.write { tx in
            for (i, id) in odd.enumerated() { tx.put("items", id, Self.item(10 + i, group: id, at: "t", tags: [id])) }
        }
        #expect(store.get(odd.map { ("items", $0) }).map { $0?["i"]?.intValue } == [10, 11, 12, 13, 14])
        #expect(
            store.lookupRecords("items", index: "by_tag", keys: odd).map { $0.map { $0["i"]?.intValue } } == [
                [10], [11], [12], [13], [14],
            ])
        #expect(store.lookup("items", index: "by_group", key: odd[1]) == [odd[1]])
        #expect(store.takeReadDamage() == nil)
        store.endReads()
        try TestDatabase.drop(schema)
    }

    @Test func aBodyThatThrowsWritesNothing() throws {
        struct Refused: Error {}
        let schema = TestDatabase.schemaName()
        let store = try Self.open(schema)
        #expect(throws: Refused.self) {
            try store.write { tx in
                tx.put("items", "a", Self.item(1, group: "g", at: "1"))
                _ = tx.nextSequence("n")
                throw Refused()
            }
        }
        #expect(store.get("items", "a") == nil)
        #expect(try store.write { tx in tx.nextSequence("n") } == 1)
        store.endReads()
        try TestDatabase.drop(schema)
    }

    @Test func heldWritesCommitTogetherOrNotAtAll() throws {
        let schema = TestDatabase.schemaName()
        let store = try Self.open(schema)
        let other = try Self.open(schema)
        store.holdWrites()
        try store.write { tx in tx.put("items", "a", Self.item(1, group: "g", at: "1")) }
        // Reads between held writes see them (inside the held transaction); another host does not.
        #expect(store.get("items", "a") != nil)
        #expect(other.get("items", "a") == nil)
        other.endReads()
        try store.commitHeldWrites { tx in tx.put("items", "b", Self.item(2, group: "g", at: "2")) }
        #expect(other.lookup("items", index: "by_group", key: "g") == ["a", "b"])
        other.endReads()

        store.holdWrites()
        try store.write { tx in tx.put("items", "c", Self.item(3, group: "g", at: "3")) }
        store.abandonHeldWrites()
        #expect(store.get("items", "c") == nil)
        store.endReads()
        try TestDatabase.drop(schema)
    }

    @Test func aWritePreconditionReadsInsideTheWrite() throws {
        let schema = TestDatabase.schemaName()
        let store = try Self.open(schema)
        try store.write { tx in tx.put("items", "a", Self.item(1, group: "g", at: "1")) }
        struct Gone: Error {}
        store.setWritePrecondition { if store.get("items", "a") == nil { throw Gone() } }
        try store.write { tx in tx.delete("items", "a") }
        store.setWritePrecondition { if store.get("items", "a") == nil { throw Gone() } }
        #expect(throws: Gone.self) { try store.write { tx in tx.delete("items", "a") } }
        store.endReads()
        try TestDatabase.drop(schema)
    }

    @Test func aRequestReadsOneSnapshotAndTheVersionFollowsOtherHostsWrites() throws {
        let schema = TestDatabase.schemaName()
        let store = try Self.open(schema)
        let other = try Self.open(schema)
        var changes = 0
        store.changeObserver = { change in
            if case .everything = change { changes += 1 }
        }
        try store.refresh()
        let before = store.version
        #expect(store.count("items") == 0)
        try other.write { tx in tx.put("items", "a", Self.item(1, group: "g", at: "1")) }
        // Same request: the snapshot its first read began.
        #expect(store.count("items") == 0)
        #expect(store.lookup("items", index: "by_group", key: "g") == [])
        store.endReads()
        #expect(store.count("items") == 1)
        store.endReads()
        try store.refresh()
        #expect(store.version != before)
        #expect(changes == 1)
        try store.refresh()
        #expect(changes == 1)
        // A write reads the latest state, not the request's snapshot.
        #expect(store.count("items") == 1)
        try other.write { tx in tx.put("items", "b", Self.item(2, group: "g", at: "2")) }
        try store.write { tx in #expect(tx.count("items") == 2) }
        store.endReads()
        try TestDatabase.drop(schema)
    }

    @Test func roundTripsPerRequest() throws {
        let schema = TestDatabase.schemaName()
        let engine = try PostgresStoreEngine(
            url: TestDatabase.url! + "?schema=\(schema)", indexes: TestDatabase.indexes)
        let store = Store(engine: engine, indexes: TestDatabase.indexes)
        try store.write { tx in tx.put("items", "a", Self.item(1, group: "g", at: "1")) }
        func cost(_ body: () throws -> Void) rethrows -> Int {
            let before = engine.roundTrips
            try body()
            return engine.roundTrips - before
        }
        // A GET: the change counter and the snapshot begun together, one read, the end not waited for.
        #expect(try cost { try store.refresh() } == 1)
        var found: JSON?
        #expect(cost { found = store.get("items", "a") } == 1)
        #expect(found != nil)
        #expect(cost { store.endReads() } == 0)
        // A write that reads once: BEGIN, lock and the read together (ending the snapshot too), then
        // its changes with COMMIT.
        try store.refresh()
        let readAndPut = try cost {
            try store.write { tx in
                found = tx.get("items", "a")
                tx.put("items", "b", Self.item(2, group: "g", at: "2"))
            }
        }
        #expect(readAndPut == 2)
        #expect(found != nil)
        // Under the lock, "lookup, then get each" is one round trip, and a record read again is
        // not read again: nothing changes under a write's body.
        var gotten: [Int] = []
        let lookupThenGet = try cost {
            try store.write { tx in
                gotten = tx.lookup("items", index: "by_group", key: "g").compactMap {
                    tx.get("items", $0)?["i"]?.intValue
                }
                _ = tx.get("items", "a")
                tx.put("items", "x", Self.item(9, group: "h", at: "9"))
            }
        }
        #expect(lookupThenGet == 2)
        #expect(gotten == [1, 2])
        // Records prefetched are read in one round trip (with BEGIN and the lock), then answered
        // from it; one the write put itself is not asked for, and one not there stays nil.
        var prefetched: [Int?] = []
        let prefetchThenGet = try cost {
            try store.write { tx in
                tx.put("items", "new", Self.item(7, group: "h", at: "7"))
                tx.prefetch([("items", "a"), ("items", "b"), ("items", "none"), ("items", "new")])
                prefetched = ["a", "b", "none", "new"].map { tx.get("items", $0)?["i"]?.intValue }
                tx.delete("items", "new")
            }
        }
        #expect(prefetchThenGet == 2)
        #expect(prefetched == [1, 2, nil, 7])
        try store.write { tx in tx.delete("items", "x") }
        // A write that only writes: one.
        #expect(try cost { try store.write { tx in tx.put("items", "c", Self.item(3, group: "g", at: "3")) } } == 1)
        // A read after a write begins its snapshot in its own round trip.
        var counted = 0
        #expect(cost { counted = store.count("items") } == 1)
        #expect(counted == 3)
        // Many records, of several collections, and many index keys: one round trip each, answered
        // in the order asked (a key asked twice answered twice, one not there as nil / empty).
        try store.write { tx in tx.put("other", "a", ["i": 9]) }
        var records: [JSON?] = []
        let getMany = cost {
            records = store.get([
                (collection: "items", id: "c"), (collection: "other", id: "a"), (collection: "items", id: "none"),
                (collection: "items", id: "c"),
            ])
        }
        #expect(getMany == 1)
        #expect(records.map { $0?["i"]?.intValue } == [3, 9, nil, 3])
        var lists: [[JSON]] = []
        #expect(cost { lists = store.lookupRecords("items", index: "by_group", keys: ["g", "none", "g"]) } == 1)
        #expect(lists.map { $0.compactMap { $0["i"]?.intValue } } == [[1, 2, 3], [], [1, 2, 3]])
        #expect(store.get([]).isEmpty && store.lookupRecords("items", index: "by_group", keys: []).isEmpty)
        // Stored text (what list pages are written from): the serialization, at the same cost.
        var texts: [[UInt8]?] = []
        #expect(cost { texts = store.texts([(collection: "items", id: "c"), (collection: "items", id: "none")]) } == 1)
        #expect(texts == [store.get("items", "c")?.serialized(), nil])
        var walked: [[UInt8]] = []
        store.forEachText("items", index: "by_group", key: "g") {
            walked.append($0)
            return true
        }
        #expect(walked == lists[0].map { $0.serialized() })
        store.endReads()
        try TestDatabase.drop(schema)
    }

    @Test func aLostConnectionFailsTheReadAsUnavailableAndTheNextRequestReconnects() throws {
        let schema = TestDatabase.schemaName()
        let store = try Self.open(schema)
        try store.write { tx in tx.put("items", "a", Self.item(1, group: "g", at: "1")) }
        let engine = try PostgresStoreEngine(
            url: TestDatabase.url! + "?schema=\(schema)", indexes: TestDatabase.indexes)
        let broken = Store(engine: engine, indexes: TestDatabase.indexes)
        #expect(broken.get("items", "a") != nil)
        try TestDatabase.terminateSession(of: engine.store.connection)
        #expect(broken.get("items", "a") == nil)
        // A write after a failed read is refused: nothing decided on that read is written.
        #expect(throws: StoreError.self) {
            try broken.write { tx in tx.put("items", "b", Self.item(2, group: "g", at: "2")) }
        }
        let failure = broken.takeReadDamage()
        guard case StoreError.unavailable = try #require(failure) else {
            Issue.record("expected unavailable, got \(String(describing: failure))")
            return
        }
        try broken.refresh()
        #expect(broken.get("items", "a")?["i"]?.intValue == 1)
        #expect(broken.get("items", "b") == nil)
        broken.endReads()
        try TestDatabase.drop(schema)
    }
}
