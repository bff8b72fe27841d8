import Foundation
import JSON
import Testing

@testable import Store

/// A record's stored text (what list pages are written from, without decoding) is exactly the
/// serialization of what `get` answers, wherever the record lives: the compacted data file or the
/// journal since, updated, deleted; a damaged line is reported, never served.
@Suite struct StoredTextTests {
    let indexes = [
        IndexDefinition(collection: "items", name: "by_group", order: { $0["rank"]?.stringValue ?? "" }) {
            [$0["group"]?.stringValue ?? ""]
        }
    ]

    /// 30 records compacted into the data file, then 10 more, 5 updates and 3 deletes in the journal.
    func sample(_ directory: String) throws -> Store {
        let store = try Store(directory: directory, indexes: indexes)
        func item(_ i: Int, _ note: String) -> JSON {
            ["group": .string("g\(i % 3)"), "rank": .string("r\(i % 7)"), "i": .int(i), "note": .string(note)]
        }
        for i in 0..<30 { try store.write { tx in tx.put("items", "i\(i)", item(i, "stored \"\(i)\" ü")) } }
        try store.compact()
        for i in 30..<40 { try store.write { tx in tx.put("items", "i\(i)", item(i, "journal\n\(i)")) } }
        for i in [2, 7, 33, 11, 25] { try store.write { tx in tx.put("items", "i\(i)", item(i, "updated \(i)")) } }
        for i in [4, 35, 20] { try store.write { tx in tx.delete("items", "i\(i)") } }
        return store
    }

    @Test func textsAreTheSerializationOfWhatGetAnswers() throws {
        let store = try sample(temporaryDirectory("stored-text"))
        let keys = (0..<42).map { (collection: "items", id: "i\($0)") } + [(collection: "none", id: "x")]
        let texts = store.texts(keys)
        #expect(texts == keys.map { store.get($0.collection, $0.id)?.serialized() })
        #expect(texts.compactMap { $0 }.count == 37)
        #expect(store.takeReadDamage() == nil)
    }

    @Test func anIndexWalkOfTextsVisitsWhatTheWalkOfValuesVisits() throws {
        let store = try sample(temporaryDirectory("stored-text-walk"))
        for group in ["g0", "g1", "g2", "none"] {
            for descending in [false, true] {
                for offset in [0, 2, 9, 50] {
                    var values: [[UInt8]] = [], texts: [[UInt8]] = []
                    store.forEach("items", index: "by_group", key: group, descending: descending, offset: offset) {
                        values.append($0.serialized())
                        return values.count < 5
                    }
                    store.forEachText("items", index: "by_group", key: group, descending: descending, offset: offset) {
                        texts.append($0)
                        return texts.count < 5
                    }
                    #expect(texts == values, "\(group) \(descending) \(offset)")
                }
            }
        }
        // A key the journal never touched is walked straight from the data file.
        let fresh = try sample(temporaryDirectory("stored-text-fresh"))
        try fresh.compact()
        var texts: [[UInt8]] = [], values: [[UInt8]] = []
        fresh.forEachText("items", index: "by_group", key: "g1") {
            texts.append($0)
            return true
        }
        fresh.forEach("items", index: "by_group", key: "g1") {
            values.append($0.serialized())
            return true
        }
        #expect(texts == values)
        #expect(texts.count == 12)
    }

    @Test func aDamagedLineIsReportedNotServed() throws {
        let directory = temporaryDirectory("stored-text-damage")
        _ = try sample(directory)
        let path = directory + "/data-1.jsonl"
        var data = try Data(contentsOf: URL(fileURLWithPath: path))
        let line = data.split(separator: 0x0A, omittingEmptySubsequences: false)
        let offset = line[0].count + 1 + line[1].count + 1 + line[2].count - 12  // in the third line's value
        data[offset] ^= 0x10
        try data.write(to: URL(fileURLWithPath: path))
        let store = try Store(directory: directory, indexes: indexes)
        let texts = store.texts((0..<30).map { (collection: "items", id: "i\($0)") })
        #expect(texts[1] == nil)  // the third line of the file: the header, i0, i1
        #expect(texts.filter { $0 == nil }.count == 3)  // and the two deleted
        #expect(texts[0] == store.get("items", "i0")?.serialized())
        #expect(store.takeReadDamage() != nil)
        #expect(store.takeReadDamage() == nil)
    }

    @Test func eachTextReadIsARecordedDependencyOfAKeptAnswer() throws {
        let store = try sample(temporaryDirectory("stored-text-log"))
        let log = StoreReadLog()
        store.readLog = log
        _ = store.texts([(collection: "items", id: "i1")])
        store.forEachText("items", index: "by_group", key: "g2") { _ in false }
        store.readLog = nil
        #expect(Set(log.dependencies).contains(.record(collection: "items", id: "i1")))
        #expect(Set(log.dependencies).contains(.indexKey(collection: "items", index: "by_group", key: "g2")))
    }
}
