import Foundation
import JSON
import Testing

@testable import Store

/// The reads of many keys at once (what a list page reads its records' related records with)
/// answer exactly what the same reads one by one answer, in the order asked; on the JSON files they
/// are those reads (PostgreSQL answers each in one statement: `StoreOnPostgresTests`).
@Suite struct BatchedReadsTests {
    let store: Store

    init() throws {
        store = try Store(
            directory: temporaryDirectory("batched-reads"),
            indexes: [IndexDefinition(collection: "people", name: "by_town") { [$0["town"]?.stringValue ?? ""] }])
        try store.write { tx in
            tx.put("people", "a", ["town": "Leeds"])
            tx.put("people", "b", ["town": "York"])
            tx.put("people", "c", ["town": "Leeds"])
            tx.put("towns", "Leeds", ["name": "Leeds"])
        }
    }

    @Test func manyRecordsOfSeveralCollectionsInTheOrderAsked() {
        let keys = [
            (collection: "towns", id: "Leeds"), (collection: "people", id: "c"), (collection: "people", id: "none"),
            (collection: "people", id: "c"),
        ]
        #expect(store.get(keys) == keys.map { store.get($0.collection, $0.id) })
        #expect(store.get(keys).map { $0 != nil } == [true, true, false, true])
        #expect(store.get([]).isEmpty)
    }

    @Test func manyIndexKeysEachInCreationOrder() {
        let keys = ["Leeds", "nowhere", "York", "Leeds"]
        #expect(
            store.lookupRecords("people", index: "by_town", keys: keys)
                == keys.map { store.lookupRecords("people", index: "by_town", key: $0) })
        #expect(store.lookupRecords("people", index: "by_town", keys: ["Leeds"]).first?.count == 2)
    }

    @Test func eachKeyIsARecordedDependencyOfAKeptAnswer() {
        let log = StoreReadLog()
        store.readLog = log
        _ = store.get([(collection: "towns", id: "Leeds")])
        _ = store.lookupRecords("people", index: "by_town", keys: ["York"])
        store.readLog = nil
        #expect(Set(log.dependencies).contains(.record(collection: "towns", id: "Leeds")))
        #expect(Set(log.dependencies).contains(.indexKey(collection: "people", index: "by_town", key: "York")))
    }
}
