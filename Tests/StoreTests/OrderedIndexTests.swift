import JSON
import XCTest

@testable import Store

/// An index with an `order` must walk its records exactly as a stable sort of the creation-order
/// lookup by that value does, through puts, moves between keys, re-stamps, deletes and a reopen.
final class OrderedIndexTests: XCTestCase {
    let indexes = [
        IndexDefinition(collection: "items", name: "by_group", order: { $0["stamp"]?.stringValue ?? "" }) {
            [$0["group"]?.stringValue ?? ""]
        }
    ]

    /// A deterministic generator, so a failure can be replayed.
    struct Random: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state >> 11 ^ state << 13
        }
    }

    func walk(_ store: Store, _ group: String, descending: Bool, offset: Int = 0, limit: Int = .max) -> [String] {
        var ids: [String] = []
        store.forEach("items", index: "by_group", key: group, descending: descending, offset: offset) { record in
            ids.append(record["id"]!.stringValue!)
            return ids.count < limit
        }
        return ids
    }

    /// What the list endpoints did before the walk: lookup (creation order), then a stable sort.
    func stableSort(_ store: Store, _ group: String, descending: Bool) -> [String] {
        let records = store.lookupRecords("items", index: "by_group", key: group)
        let ordered = records.indices.sorted { a, b in
            let x = records[a]["stamp"]!.stringValue!, y = records[b]["stamp"]!.stringValue!
            return x != y ? (descending ? x > y : x < y) : a < b
        }
        return ordered.map { records[$0]["id"]!.stringValue! }
    }

    func testWalkEqualsAStableSortThroughRandomWrites() throws {
        let directory = temporaryDirectory()
        let store = try Store(directory: directory, indexes: indexes, options: StoreOptions(fsync: false))
        var random = Random(state: 42)
        var live: [String] = []
        for round in 0..<60 {
            try store.write { tx in
                // Several records per transaction share a stamp, as an import's do; few stamps overall
                // make ties common, and stamps out of creation order are the norm.
                let stamp = "2024-01-01T00:00:\(String(format: "%02d", Int.random(in: 0..<20, using: &random)))Z"
                for n in 0..<Int.random(in: 1...8, using: &random) {
                    let id = "r\(round)-\(n)"
                    tx.put(
                        "items", id,
                        [
                            "id": .string(id), "group": .string(["a", "b"].randomElement(using: &random)!),
                            "stamp": .string(stamp),
                        ])
                    live.append(id)
                }
                if let id = live.randomElement(using: &random), var record = tx.get("items", id) {
                    switch Int.random(in: 0..<3, using: &random) {
                    case 0:
                        record["stamp"] = .string(
                            "2024-01-01T00:00:\(String(format: "%02d", Int.random(in: 0..<20, using: &random)))Z")
                    case 1: record["group"] = .string(record["group"]!.stringValue == "a" ? "b" : "a")
                    default: record["note"] = "touched"
                    }
                    tx.put("items", id, record)
                }
                if round % 3 == 0, let index = live.indices.randomElement(using: &random) {
                    tx.delete("items", live.remove(at: index))
                }
            }
        }
        let reopened = try Store(directory: directory, indexes: indexes)
        for candidate in [store, reopened] {
            for group in ["a", "b"] {
                for descending in [false, true] {
                    let expected = stableSort(candidate, group, descending: descending)
                    XCTAssertGreaterThan(expected.count, 50)
                    XCTAssertEqual(
                        walk(candidate, group, descending: descending), expected, "\(group) descending: \(descending)")
                    XCTAssertEqual(walk(candidate, group, descending: descending, limit: 7), Array(expected.prefix(7)))
                    for offset in [
                        1, 5, 17, expected.count / 2, expected.count - 1, expected.count, expected.count + 3,
                    ] {
                        XCTAssertEqual(
                            walk(candidate, group, descending: descending, offset: offset, limit: 9),
                            Array(expected.dropFirst(offset).prefix(9)), "offset \(offset)")
                    }
                }
            }
        }
        XCTAssertEqual(
            walk(store, "a", descending: false).count + walk(store, "b", descending: false).count, live.count)
    }

    func testLookupsKeepCreationOrderOnAnOrderedIndex() throws {
        let store = try Store(directory: temporaryDirectory(), indexes: indexes, options: StoreOptions(fsync: false))
        for (id, stamp) in [("x", "3"), ("y", "1"), ("z", "2")] {
            try store.write { $0.put("items", id, ["id": .string(id), "group": "g", "stamp": .string(stamp)]) }
        }
        XCTAssertEqual(store.lookup("items", index: "by_group", key: "g"), ["x", "y", "z"])
        XCTAssertEqual(walk(store, "g", descending: false), ["y", "z", "x"])
        XCTAssertEqual(walk(store, "g", descending: true), ["x", "z", "y"])
        XCTAssertEqual(walk(store, "g", descending: true, offset: 1), ["z", "y"])
        XCTAssertEqual(walk(store, "none", descending: true), [])
    }

    func testAnIndexWithoutAnOrderWalksInCreationOrderBothWays() throws {
        let plain = [IndexDefinition(collection: "items", name: "by_group") { [$0["group"]?.stringValue ?? ""] }]
        let store = try Store(directory: temporaryDirectory(), indexes: plain, options: StoreOptions(fsync: false))
        try store.write { tx in for id in ["p", "q", "r"] { tx.put("items", id, ["id": .string(id), "group": "g"]) } }
        var ids: [String] = []
        store.forEach("items", index: "by_group", key: "g", descending: true) {
            ids.append($0["id"]!.stringValue!)
            return true
        }
        store.forEach("items", index: "by_group", key: "g", descending: true, offset: 1) {
            ids.append($0["id"]!.stringValue!)
            return true
        }
        XCTAssertEqual(ids, ["r", "q", "p", "q", "p"])
    }
}
