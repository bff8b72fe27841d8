import JSON
import Postgres
import Store

/// `Store` on PostgreSQL: what `Store(engine:)` delegates to (see docs/store-postgres.md).
///
/// Reads: a request's reads share one snapshot, a `REPEATABLE READ READ ONLY` transaction begun at
/// its first read and ended by `endReads()` (the request's end), by the next `refresh()` or before
/// a write, so a list's count and its page agree under concurrent writes. Reads made during a
/// write (its precondition, a handler reading between held writes) run inside the write's own
/// transaction instead, and see its changes.
///
/// Writes: `Transaction` (the Store module's, with its overlay) runs against a reader inside the
/// write's PostgreSQL transaction, under the writer lock; its recorded operations are then applied
/// as statements and committed. A lost or refused connection is `StoreError.unavailable` (a 503).
public final class PostgresStoreEngine: StoreEngine {
    public let store: PostgresStore
    public let location: String

    /// `url` may name the schema with a `schema=` query parameter (read here, not passed to libpq):
    /// several stores in one database, e.g. one per test stack.
    public init(
        url given: String, schema defaultSchema: String = "partnerships", indexes: [IndexDefinition] = [],
        uniqueIndexes: [UniqueIndex] = [],
        writerLockTimeoutMilliseconds: Int = PostgresStore.defaultWriterLockTimeoutMilliseconds
    ) throws {
        let (url, named) = Self.splitSchema(given)
        let schema = named ?? defaultSchema
        guard PostgresSchema.isValidName(schema) else {
            throw StoreError.system("schema=\(schema): not a valid schema name (lower-case letters, digits, _)")
        }
        store = try Self.translate {
            try PostgresStore(
                url: url, schema: schema, indexes: indexes, uniqueIndexes: uniqueIndexes,
                writerLockTimeoutMilliseconds: writerLockTimeoutMilliseconds)
        }
        store.readsInSnapshot = true
        location = Self.redacted(given)
    }

    /// The URL without its `schema=` parameter, and that parameter's value.
    public static func splitSchema(_ url: String) -> (url: String, schema: String?) {
        guard let question = url.firstIndex(of: "?") else { return (url, nil) }
        var schema: String?
        var kept: [Substring] = []
        for parameter in url[url.index(after: question)...].split(separator: "&") {
            if parameter.hasPrefix("schema=") {
                schema = String(parameter.dropFirst("schema=".count))
            } else {
                kept.append(parameter)
            }
        }
        let base = String(url[..<question])
        return (kept.isEmpty ? base : base + "?" + kept.joined(separator: "&"), schema)
    }

    /// Whether a store location names this engine rather than a folder.
    public static func handles(_ location: String) -> Bool {
        location.hasPrefix("postgres://") || location.hasPrefix("postgresql://")
    }

    /// The URL without its password, for messages and logs.
    public static func redacted(_ url: String) -> String {
        let characters = Array(url)
        guard
            let scheme = (0..<max(0, characters.count - 2)).first(where: { characters[$0..<$0 + 3] == [":", "/", "/"] })
        else { return url }
        let start = scheme + 3
        let authorityEnd = characters[start...].firstIndex(where: { $0 == "/" || $0 == "?" }) ?? characters.count
        guard let at = characters[start..<authorityEnd].lastIndex(of: "@"),
            let colon = characters[start..<at].firstIndex(of: ":")
        else { return url }
        return String(characters[..<(colon + 1)]) + "***" + String(characters[at...])
    }

    public var changeCount: Int { store.changeCount }

    /// Round trips to the database since this engine opened (see `PostgresConnection.roundTrips`).
    public var roundTrips: Int { store.connection.roundTrips }

    public func refresh() throws {
        try Self.translate { try store.beginReads() }
    }

    public func endReads() { store.endReads() }

    /// One read: in the request's snapshot (begun by `refresh`, or by the first read after a write),
    /// or in the write under way.
    private func read<T>(_ body: () throws -> T) throws -> T {
        try Self.translate {
            do { return try body() } catch {
                // A failed statement aborts the snapshot: the next read begins a new one.
                store.endReads()
                throw error
            }
        }
    }

    public func get(_ collection: String, _ id: String) throws -> JSON? {
        try read { try store.get(collection, id) }
    }

    public func all(_ collection: String) throws -> [JSON] {
        try read { try store.all(collection) }
    }

    public func count(_ collection: String) throws -> Int {
        try read { try store.count(collection) }
    }

    public func lookup(_ collection: String, index: String, key: String) throws -> [String] {
        try read { try store.lookup(collection, index: index, key: key) }
    }

    public func lookupRecords(_ collection: String, index: String, key: String) throws -> [JSON] {
        try read { try store.lookupRecords(collection, index: index, key: key) }
    }

    public func get(_ keys: [(collection: String, id: String)]) throws -> [JSON?] {
        try read { try store.get(keys) }
    }

    public func lookupRecords(_ collection: String, index: String, keys: [String]) throws -> [[JSON]] {
        try read { try store.lookupRecords(collection, index: index, keys: keys) }
    }

    public func batch(
        _ collection: String, index: String, key: String, descending: Bool, offset: Int, after: [String]?
    ) throws -> StoreBatch<JSON> {
        try read {
            try store.batch(collection, index: index, key: key, descending: descending, offset: offset, after: after)
        }
    }

    public func texts(_ keys: [(collection: String, id: String)]) throws -> [[UInt8]?] {
        try read { try store.texts(keys) }
    }

    public func textBatch(
        _ collection: String, index: String, key: String, descending: Bool, offset: Int, after: [String]?
    ) throws -> StoreBatch<[UInt8]> {
        try read {
            try store.textBatch(
                collection, index: index, key: key, descending: descending, offset: offset, after: after)
        }
    }

    public func collectionNames() throws -> [String] {
        try read { try store.collectionCounts().map(\.name) }
    }

    public func write<T>(_ body: (any StoreReader) throws -> (T, [JSON])) throws -> T {
        // A write reads the latest state (under the lock), not the request's snapshot: the store
        // ends the snapshot in the write's first round trip.
        try Self.translate {
            try store.write { transaction in
                let (result, operations) = try body(Reader(transaction, definitions: store.definitions))
                try Self.apply(operations, to: &transaction)
                return result
            }
        }
    }

    public func holdWrites() { store.holdWrites() }

    public func commitHeldWrites(_ finish: (any StoreReader) throws -> [JSON]) throws {
        try Self.translate {
            try store.commitHeldWrites { transaction in
                try Self.apply(try finish(Reader(transaction, definitions: store.definitions)), to: &transaction)
            }
        }
    }

    public func abandonHeldWrites() { store.abandonHeldWrites() }

    public func statistics() throws -> Store.Statistics {
        let counts = try Self.translate {
            defer { store.endReads() }
            try store.beginReads()
            return try store.collectionCounts()
        }
        return Store.Statistics(
            generation: 0, epoch: 0, lastSequence: store.changeCount,
            records: Dictionary(uniqueKeysWithValues: counts.map { ($0.name, $0.count) }), journalBytes: 0,
            dataBytes: 0, hintBytes: 0)
    }

    /// The operations a `Transaction` recorded (`put`, `del`, `seq`; members other than those read
    /// here are the JSON journal's own), as statements in the write's transaction.
    static func apply(_ operations: [JSON], to transaction: inout PostgresTransaction) throws {
        for operation in operations {
            guard let kind = operation["op"]?.stringValue else { throw StoreError.malformedOperation }
            switch kind {
            case "put":
                guard let c = operation["c"]?.stringValue, let id = operation["id"]?.stringValue,
                    let value = operation["v"]
                else { throw StoreError.malformedOperation }
                try transaction.put(c, id, value)
            case "del":
                guard let c = operation["c"]?.stringValue, let id = operation["id"]?.stringValue else {
                    throw StoreError.malformedOperation
                }
                try transaction.delete(c, id)
            case "seq":
                guard let name = operation["name"]?.stringValue, let value = operation["v"]?.intValue else {
                    throw StoreError.malformedOperation
                }
                try transaction.setSequence(name, value)
            default:
                throw StoreError.malformedOperation
            }
        }
    }

    /// The engine's errors in the store's terms: an unreachable database (or a writer lock not had
    /// in time) is `StoreError.unavailable`; anything else is left as it is (a 500).
    static func translate<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch PostgresStoreError.unavailable(let message) {
            throw StoreError.unavailable(message)
        } catch let error as PostgresError where error.isConnectionProblem || error.sqlState == .lockNotAvailable {
            throw StoreError.unavailable(error.description)
        }
    }

    /// What `Transaction` reads, inside the write's PostgreSQL transaction (it sees the write's
    /// earlier statements; `Transaction`'s overlay adds the body's own pending changes).
    ///
    /// Each record and each lookup is read once per body: nothing changes in the database while a
    /// body runs (the writer lock keeps every other write out, and the body's own changes are
    /// applied after it), so a record read again, or one a lookup brought, is answered from memory. A lookup brings
    /// the records of its first `lookupRecordsRead` ids: "lookup, then get each" costs one round
    /// trip under the lock instead of one per record.
    final class Reader: StoreReader {
        let transaction: PostgresTransaction
        let definitions: [String: [IndexDefinition]]
        private(set) var failure: Error?
        /// By collection, then id; nil: read, and not there.
        private var known: [String: [String: JSON?]] = [:]
        /// Lookups made, by collection, index and key.
        private var looked: [String: [String]] = [:]

        static let lookupRecordsRead = 64

        init(_ transaction: PostgresTransaction, definitions: [String: [IndexDefinition]]) {
            self.transaction = transaction
            self.definitions = definitions
        }

        /// A read that fails answers `empty` and is kept: the write throws it after the body.
        private func attempt<T>(_ empty: T, _ read: () throws -> T) -> T {
            do { return try PostgresStoreEngine.translate(read) } catch {
                if failure == nil { failure = error }
                return empty
            }
        }

        func get(_ collection: String, _ id: String) -> JSON? {
            if let found = known[collection]?[id] { return found }
            let value = attempt(nil) { try transaction.get(collection, id) }
            if failure == nil { known[collection, default: [:]][id] = .some(value) }
            return value
        }
        /// The records not read yet, in one statement; each is then answered from `known`.
        func prefetch(_ keys: [(collection: String, id: String)]) {
            let unread = keys.filter { known[$0.collection]?[$0.id] == nil }
            guard !unread.isEmpty, failure == nil else { return }
            let values = attempt([]) { try transaction.get(unread) }
            guard failure == nil, values.count == unread.count else { return }
            for (key, value) in zip(unread, values) { known[key.collection, default: [:]][key.id] = .some(value) }
        }
        func contains(_ collection: String, _ id: String) -> Bool { get(collection, id) != nil }
        func count(_ collection: String) -> Int { attempt(0) { try transaction.count(collection) } }
        func lookup(_ collection: String, index: String, key: String) -> [String] {
            let asked = [collection, index, key].joined(separator: "\u{0}")
            if let ids = looked[asked] { return ids }
            let found = attempt([]) {
                try transaction.lookupWithRecords(collection, index: index, key: key, limit: Self.lookupRecordsRead)
            }
            guard failure == nil else { return [] }
            for (id, value) in found {
                if let value { known[collection, default: [:]][id] = .some(value) }
            }
            let ids = found.map(\.id)
            looked[asked] = ids
            return ids
        }
        func sequenceValue(_ name: String) -> Int? { attempt(nil) { try transaction.sequenceValue(name) } }
    }
}
