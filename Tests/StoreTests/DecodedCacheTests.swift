import Foundation
import JSON
import Testing

@testable import Store

/// The decoded-record cache stays bounded without ever being emptied at once: a read past the
/// bound replaces one entry, so no request pays for freeing thousands.
@Suite struct DecodedCacheTests {
    static let total = StoreView.decodedLimit + 500

    /// Reads every record once, then a sample again: each read is right, and the cache holds one
    /// more record per read up to its bound, then exactly its bound.
    func readAll(_ view: StoreView, _ collection: String) {
        for i in 0..<Self.total {
            #expect(view.get(collection, "r\(i)")?["n"]?.intValue == i)
            if view.decodedCount != min(i + 1, StoreView.decodedLimit) {
                Issue.record("after \(i + 1) reads the cache holds \(view.decodedCount)")
                return
            }
        }
        for i in stride(from: 0, to: Self.total, by: 97) { #expect(view.get(collection, "r\(i)")?["n"]?.intValue == i) }
        #expect(view.decodedCount == StoreView.decodedLimit)
    }

    @Test func recordsOfTheDataFile() throws {
        let directory = temporaryDirectory("decoded-cache")
        let store = try Store(directory: directory, options: StoreOptions(fsync: false))
        try store.write { tx in
            for i in 0..<Self.total { tx.put("items", "r\(i)", ["n": .int(i)]) }
        }
        try store.compact()
        var notes: [String] = []
        let generation = try Generation.open(
            directory: directory, number: Int(store.generation), definitions: [:], options: .init(), notes: &notes)
        readAll(StoreView(generation: generation, definitions: [:]), "items")
    }

    @Test func recordsOfTheJournalTail() throws {
        let view = StoreView(generation: .empty(), definitions: [:])
        for i in 0..<Self.total {
            try view.apply(
                [["op": "put", "c": "items", "id": .string("r\(i)"), "v": ["n": .int(i)]]], sequence: i + 1)
        }
        readAll(view, "items")
    }
}
