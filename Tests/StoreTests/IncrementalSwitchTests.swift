import Foundation
import JSON
import Testing

@testable import Store

/// What makes a generation switch cheap for a worker: each record's index keys kept in the hint
/// (a record the journal replaces is not decoded to learn them).
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
}
