import Foundation
import JSON
import Testing

@testable import Store

/// A transaction's index lookups see its own puts and deletes, under the keys the records have
/// now, without passing over every record it has put (an import of 50k rows checks each one).
@Suite struct TransactionLookupTests {
    let directory = NSTemporaryDirectory() + "transaction-lookup-\(UUID().uuidString)"
    let store: Store

    init() throws {
        store = try Store(
            directory: directory,
            indexes: [
                IndexDefinition(collection: "schools", name: "by_town") { [$0["town"]?.stringValue ?? ""] },
                // Several keys per record, one of them repeated: the record is listed once per key.
                IndexDefinition(collection: "schools", name: "by_tag") {
                    ($0["tags"]?.arrayValue ?? []).compactMap(\.stringValue)
                },
            ])
        try store.write { tx in
            tx.put("schools", "stored-a", ["town": "Leeds"])
            tx.put("schools", "stored-b", ["town": "York"])
        }
    }

    @Test func putsDeletesAndMovesAreSeenUnderTheirCurrentKeys() throws {
        try store.write { tx in
            tx.put("schools", "new-1", ["town": "Leeds", "tags": ["x", "y", "x"]])
            tx.put("schools", "new-2", ["town": "Leeds"])
            #expect(tx.lookup("schools", index: "by_town", key: "Leeds") == ["stored-a", "new-1", "new-2"])
            #expect(tx.lookup("schools", index: "by_tag", key: "x") == ["new-1"])
            // A stored record moved to another key, a pending one moved, a pending one deleted.
            tx.put("schools", "stored-a", ["town": "York"])
            tx.put("schools", "new-1", ["town": "York", "tags": ["y"]])
            tx.delete("schools", "new-2")
            tx.delete("schools", "stored-b")
            #expect(tx.lookup("schools", index: "by_town", key: "Leeds") == [])
            #expect(tx.lookup("schools", index: "by_town", key: "York") == ["stored-a", "new-1"])
            #expect(tx.lookup("schools", index: "by_tag", key: "x") == [])
            #expect(tx.lookup("schools", index: "by_tag", key: "y") == ["new-1"])
            // Deleted, then put again.
            tx.put("schools", "new-2", ["town": "Leeds"])
            #expect(tx.lookup("schools", index: "by_town", key: "Leeds") == ["new-2"])
        }
        #expect(Set(store.lookup("schools", index: "by_town", key: "York")) == ["stored-a", "new-1"])
        #expect(store.lookup("schools", index: "by_town", key: "Leeds") == ["new-2"])
    }

    @Test func aLookupInABigTransactionDoesNotPassOverEveryPendingRecord() throws {
        // 20,000 puts each preceded by a lookup: quadratic work would be 2 x 10^8 key computations.
        final class Counter: @unchecked Sendable { var value = 0 }
        let computed = Counter()
        let counting = try Store(
            directory: directory + "-counting",
            indexes: [
                IndexDefinition(collection: "rows", name: "by_urn") { record in
                    computed.value += 1
                    return [record["urn"]?.stringValue ?? ""]
                }
            ])
        try counting.write { tx in
            for n in 0..<20_000 {
                #expect(tx.lookup("rows", index: "by_urn", key: String(n)).isEmpty)
                tx.put("rows", "r\(n)", ["urn": .string(String(n))])
            }
        }
        #expect(computed.value < 100_000, "index keys computed \(computed.value) times for 20,000 rows")
    }
}
