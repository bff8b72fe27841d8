import JSON

/// What a `Transaction` reads besides its own overlay: the store's state as its write sees it.
/// The JSON store's view answers from memory; another engine (PostgreSQL) answers from inside the
/// write's database transaction, under its writer lock. A reader that can fail (a database that
/// went away) answers nil/empty/0 and keeps the first failure in `failure`: the write then throws
/// it after the body, so decisions taken on a failed read are never written.
public protocol StoreReader: AnyObject {
    var definitions: [String: [IndexDefinition]] { get }
    func get(_ collection: String, _ id: String) -> JSON?
    func contains(_ collection: String, _ id: String) -> Bool
    func count(_ collection: String) -> Int
    func lookup(_ collection: String, index: String, key: String) -> [String]
    /// The stored value of a durable counter, nil before its first use.
    func sequenceValue(_ name: String) -> Int?
    /// The first read that failed since the write began.
    var failure: Error? { get }
    /// Records the write is about to `get`, read together: on an engine that pays a round trip per
    /// read (PostgreSQL, under its writer lock) one instead of one each. A hint only: nothing else
    /// changes.
    func prefetch(_ keys: [(collection: String, id: String)])
}

extension StoreReader {
    /// The JSON store's view answers from memory: nothing to read ahead.
    public func prefetch(_ keys: [(collection: String, id: String)]) {}
}

extension StoreView: StoreReader {
    func sequenceValue(_ name: String) -> Int? { sequences[name] }
    var failure: Error? { damage }
}

/// A store engine other than the JSON files, e.g. PostgreSQL (the PostgresStore module): what a
/// `Store` opened with `Store(engine:)` delegates every call to. `Store` keeps its API, the write
/// precondition, deferred writes and `Transaction` (with its overlay and recorded `operations`);
/// an engine runs a write body against its own reader and applies the recorded operations.
///
/// Reads throw: `Store` turns a failure into an empty answer plus a pending error that
/// `takeReadDamage()` reports, so a request that read through a failure fails (503 for
/// `StoreError.unavailable`) instead of answering from a missing record.
public protocol StoreEngine: AnyObject {
    /// Where the store is, for messages (a URL without its password).
    var location: String { get }
    /// Increases with every committed write of any process: what `Store.version` is made of.
    var changeCount: Int { get }
    /// Exchanges with the database this engine waited for since it opened (a statement, or a
    /// batch of statements sent together): what each request costs in latency, logged per request
    /// at debug level.
    var roundTrips: Int { get }
    /// The start of a request: ends any read snapshot the last one left open and reads the change
    /// counter.
    func refresh() throws
    /// The end of a request's reads (its read snapshot, if one was begun).
    func endReads()

    func get(_ collection: String, _ id: String) throws -> JSON?
    func all(_ collection: String) throws -> [JSON]
    func count(_ collection: String) throws -> Int
    func lookup(_ collection: String, index: String, key: String) throws -> [String]
    func lookupRecords(_ collection: String, index: String, key: String) throws -> [JSON]
    /// Records by collection and id in one read, in the order asked (nil: none).
    func get(_ keys: [(collection: String, id: String)]) throws -> [JSON?]
    /// The records under each key (each list in creation order) in one read, in the order of `keys`.
    func lookupRecords(_ collection: String, index: String, keys: [String]) throws -> [[JSON]]
    /// One batch of `Store.forEach`'s walk: from the `offset`-th record, or (when given) after the
    /// position a previous batch returned as `next`.
    func batch(
        _ collection: String, index: String, key: String, descending: Bool, offset: Int, after: [String]?
    ) throws -> StoreBatch<JSON>
    /// `get(_ keys:)` as stored text: each value as `JSON.serialize` wrote it (`Store.texts`).
    func texts(_ keys: [(collection: String, id: String)]) throws -> [[UInt8]?]
    /// `batch` as stored text (`Store.forEachText`).
    func textBatch(
        _ collection: String, index: String, key: String, descending: Bool, offset: Int, after: [String]?
    ) throws -> StoreBatch<[UInt8]>
    func collectionNames() throws -> [String]

    /// One write, under the engine's writer lock: `body` reads through the given reader and returns
    /// its result and the operations its `Transaction` recorded, which the engine then applies and
    /// commits (nothing when `body` throws). Inside held writes (below), one write of the series.
    func write<T>(_ body: (any StoreReader) throws -> (T, [JSON])) throws -> T
    /// The writes until `commitHeldWrites` commit together or not at all.
    func holdWrites()
    func commitHeldWrites(_ finish: (any StoreReader) throws -> [JSON]) throws
    func abandonHeldWrites()

    /// Counts per collection, for `store stats`.
    func statistics() throws -> Store.Statistics
}

/// Records of an index walk (decoded, or as stored text), and where the next batch starts (nil:
/// the walk is over).
public struct StoreBatch<Record> {
    public var records: [Record]
    public var next: [String]?
    public init(records: [Record], next: [String]?) {
        self.records = records
        self.next = next
    }
}
