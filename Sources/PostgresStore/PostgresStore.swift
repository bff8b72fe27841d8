import JSON
import Postgres
import Store

/// Why the PostgreSQL engine refused or failed an operation, in the store's terms.
public enum PostgresStoreError: Error, CustomStringConvertible, Equatable {
    /// The database is unreachable or the session broke: the request answers 503 and the worker
    /// reconnects on its next call. `message` is the client's.
    case unavailable(String)
    /// The database's schema was written by a newer build: this one refuses to touch it.
    case newerSchema(found: Int, supported: Int)
    /// A value read back is not JSON (a write made around this engine).
    case corruptRecord(collection: String, id: String, reason: String)

    public var description: String {
        switch self {
        case .unavailable(let message): return "the database is unavailable (\(message)); try again later"
        case .newerSchema(let found, let supported):
            return
                "the database's store schema is version \(found), newer than this build's \(supported): upgrade the server first"
        case .corruptRecord(let collection, let id, let reason):
            return "record \(collection)/\(id) in the database is not JSON (\(reason))"
        }
    }
}

/// The store on PostgreSQL, for one single-threaded worker (one connection): the reads and writes
/// of `Store`, with the same meaning, on tables that any number of hosts share.
///
/// Reads outside a write are single statements (each sees every committed write). A write takes
/// the store's one writer lock (`pg_advisory_xact_lock`, held until commit) before anything else:
/// writes are serialized across every worker of every host exactly as the JSON store's `flock`
/// serializes them on one host, so a family's check-then-put ("no partnership for this school yet,
/// create one") holds when two hosts race, and no write ever fails for a serialization conflict.
public final class PostgresStore {
    public let schema: String
    let connection: PostgresConnection
    let definitions: [String: [IndexDefinition]]
    let statements: Statements
    /// The change counter as of the last `refresh()` (or this process's own last write).
    public private(set) var changeCount: Int = 0
    /// Rows fetched per round trip by `forEach`: a page of a list is read in one or two.
    static let forEachBatch = 100
    /// Where this worker's long index keys' pages begin, while no write moves the counter.
    var pageBoundaries = PageBoundaries()
    /// Tests turn it off to show what the writer lock prevents; nothing else should.
    var serializesWrites = true
    private var writePrecondition: (() throws -> Void)?
    /// Between `holdWrites` and `commitHeldWrites`/`abandonHeldWrites`.
    private var held: HeldWrites?

    private struct HeldWrites {
        /// The transaction was begun and the lock taken (by the first held write).
        var began = false
    }

    /// Reads outside a write begin a `REPEATABLE READ READ ONLY` transaction (a request's one
    /// snapshot) when none is open, in the round trip of their statement; `endReads()` ends it.
    /// Off, each read is a statement of its own (admin commands, tests).
    public var readsInSnapshot = false
    /// The open transaction is a read snapshot (not a write).
    public private(set) var readSnapshotOpen = false

    /// The write under way's changes not sent yet (puts, deletes, counters): sent ahead of its
    /// next read, or with its COMMIT, in that round trip. A write pays round trips for its reads
    /// and its commit, not for each change.
    private var pendingWrites: [PostgresConnection.Step] = []
    /// The change counter's bump among `pendingWrites`, until sent (its answer is the number).
    private var pendingBump: Int?
    /// The held write's SAVEPOINT among `pendingWrites`, until sent.
    private var pendingSavepoint: Int?
    /// The write under way bumped the change counter (at its first change; at most once).
    private var writeBumped = false
    /// The number that bump returned, once sent: what the write's records are stamped with.
    private var writeChange: Int?

    /// How long a write waits for the writer lock before it gives up (the request answers 503):
    /// a writer stuck in a held write must not hang every other host's writes with it.
    public static let defaultWriterLockTimeoutMilliseconds = 5_000

    /// Connects, creates or upgrades the schema, adds the unique indexes, prepares the statements.
    public convenience init(
        url: String, schema: String = "partnerships", indexes: [IndexDefinition] = [],
        uniqueIndexes: [UniqueIndex] = [], writerLockTimeoutMilliseconds: Int = defaultWriterLockTimeoutMilliseconds
    ) throws {
        let connection = try Self.mapErrors {
            try PostgresConnection(
                url,
                sessionSettings: [
                    (name: "lock_timeout", value: "\(writerLockTimeoutMilliseconds)ms"),
                    // Every statement is prepared once and its generic plan kept: each is an index
                    // walk whatever its parameters. Left to choose, the server planned the lookups
                    // again on every execution (0.2-0.4 ms each on the 100k seed, more than running
                    // them) and, for a small collection, picked the (collection, id) index with a filter.
                    (name: "plan_cache_mode", value: "force_generic_plan"),
                ])
        }
        try self.init(connection: connection, schema: schema, indexes: indexes, uniqueIndexes: uniqueIndexes)
    }

    public init(
        connection: PostgresConnection, schema: String = "partnerships", indexes: [IndexDefinition] = [],
        uniqueIndexes: [UniqueIndex] = []
    ) throws {
        precondition(PostgresSchema.isValidName(schema), "invalid schema name \(schema)")
        let definitions = Dictionary(grouping: indexes, by: \.collection)
        self.connection = connection
        self.schema = schema
        self.definitions = definitions
        statements = try Self.mapErrors {
            try PostgresSchema.prepare(connection, schema: schema)
            for unique in uniqueIndexes {
                precondition(
                    definitions[unique.collection]?.contains { $0.name == unique.index } == true,
                    "unique index \(unique.collection).\(unique.index) has no IndexDefinition")
                try connection.execute(PostgresSchema.uniqueIndexStatement(schema, unique))
            }
            return try Statements(schema: schema, connection: connection)
        }
        try refresh()
    }

    // MARK: Reads

    /// Reads the change counter: one indexed single-row read, what a worker does at the start of
    /// each request to learn whether anything it cached may have changed.
    public func refresh() throws {
        let value = try query(statements.changeCount, []).singleValue()
        changeCount = Int(value ?? "") ?? 0
    }

    /// The start of a request: reads the change counter, ending in the same round trip a read
    /// snapshot still open. The request's snapshot is begun by its first read (in that read's
    /// round trip), so a request answered from a kept answer costs the counter's statement only.
    public func beginReads() throws {
        let ending = readSnapshotOpen
        readSnapshotOpen = false
        let value = try run { db in
            ending
                ? try db.rollback(then: [.prepared(statements.changeCount, [])]).first?.singleValue()
                : try db.execute(statements.changeCount).singleValue()
        }
        changeCount = Int(value ?? "") ?? 0
    }

    /// The end of a request's reads: its snapshot is rolled back without waiting for the answer
    /// (read before the next statement), so the request does not pay a round trip for it.
    public func endReads() {
        guard readSnapshotOpen else { return }
        readSnapshotOpen = false
        connection.rollbackInBackground()
    }

    /// A read statement: inside the write or snapshot under way, else (with `readsInSnapshot`) in a
    /// snapshot begun in the same round trip.
    func query(_ statement: PostgresConnection.PreparedStatement, _ parameters: [String?]) throws -> PostgresResult {
        try run { db in
            if !db.isInTransaction && readsInSnapshot {
                readSnapshotOpen = true
                return try db.begin(.repeatableRead, readOnly: true, then: [.prepared(statement, parameters)])[0]
            }
            // In a write, after its pending changes: a handler reading between held writes sees them.
            return try inWrite(statement, parameters)
        }
    }

    public func get(_ collection: String, _ id: String) throws -> JSON? {
        try query(statements.get, [dbText(collection), dbText(id)]).rows.first.map { try decode($0[0], collection, id) }
    }

    /// Every record of a collection, in creation order.
    public func all(_ collection: String) throws -> [JSON] {
        try query(statements.all, [dbText(collection)]).rows.map {
            try decode($0[1], collection, fromDBText($0[0] ?? ""))
        }
    }

    public func count(_ collection: String) throws -> Int {
        Int(try query(statements.count, [dbText(collection)]).singleValue() ?? "") ?? 0
    }

    /// Ids under `key` in a secondary index, in creation order.
    public func lookup(_ collection: String, index: String, key: String) throws -> [String] {
        try query(statements.lookup, [dbText(collection), dbText(index), dbText(key)]).rows.compactMap {
            $0[0].map(fromDBText)
        }
    }

    /// Records under `key` in a secondary index, in creation order.
    public func lookupRecords(_ collection: String, index: String, key: String) throws -> [JSON] {
        try query(statements.lookupRecords, [dbText(collection), dbText(index), dbText(key)]).rows.map {
            try decode($0[1], collection, fromDBText($0[0] ?? ""))
        }
    }

    /// Records by collection and id, in the order asked (nil: none), in one statement. A key asked
    /// twice is read once.
    public func get(_ keys: [(collection: String, id: String)]) throws -> [JSON?] {
        try get(keys, as: decode)
    }

    /// `get(_ keys:)` as stored text (`storedText`).
    public func texts(_ keys: [(collection: String, id: String)]) throws -> [[UInt8]?] {
        try get(keys, as: storedText)
    }

    private func get<Record>(
        _ keys: [(collection: String, id: String)], as make: (String?, String, String) throws -> Record
    ) throws -> [Record?] {
        guard !keys.isEmpty else { return [] }
        var position: [String: Int] = [:]
        var collections: [String] = []
        var ids: [String] = []
        let asked = keys.map { key -> Int in
            let stored = (dbText(key.collection), dbText(key.id))
            let joined = stored.0 + "\u{0}" + stored.1
            if let known = position[joined] { return known }
            position[joined] = collections.count
            collections.append(stored.0)
            ids.append(stored.1)
            return collections.count - 1
        }
        var found = [Record?](repeating: nil, count: collections.count)
        for row in try query(statements.getMany, [arrayLiteral(collections), arrayLiteral(ids)]).rows {
            guard let ordinal = Int(row[0] ?? ""), (1...found.count).contains(ordinal) else { continue }
            found[ordinal - 1] = try make(row[1], fromDBText(collections[ordinal - 1]), fromDBText(ids[ordinal - 1]))
        }
        return asked.map { found[$0] }
    }

    /// The records under each of `keys` (each list in creation order), in the order of `keys`, in
    /// one statement. A key asked twice is read once.
    public func lookupRecords(_ collection: String, index: String, keys: [String]) throws -> [[JSON]] {
        guard !keys.isEmpty else { return [] }
        var position: [String: Int] = [:]
        var distinct: [String] = []
        let asked = keys.map { key -> Int in
            let stored = dbText(key)
            if let known = position[stored] { return known }
            position[stored] = distinct.count
            distinct.append(stored)
            return distinct.count - 1
        }
        var found = [[JSON]](repeating: [], count: distinct.count)
        let rows = try query(statements.lookupRecordsMany, [dbText(collection), dbText(index), arrayLiteral(distinct)])
            .rows
        for row in rows {
            guard let ordinal = Int(row[0] ?? ""), (1...found.count).contains(ordinal) else { continue }
            found[ordinal - 1].append(try decode(row[2], collection, fromDBText(row[1] ?? "")))
        }
        return asked.map { found[$0] }
    }

    /// Visits the records under `key` in the index's order (order value, then creation; the largest
    /// order values first when `descending`, ties still in creation order), from the `offset`-th,
    /// until `body` returns false. Fetches a batch at a time: the first by OFFSET, the next ones from
    /// the last (order, rank) seen, so a deep page costs one OFFSET scan, not one per batch.
    public func forEach(
        _ collection: String, index: String, key: String, descending: Bool = false, offset: Int = 0,
        _ body: (JSON) throws -> Bool
    ) throws {
        var next = try batch(collection, index: index, key: key, descending: descending, offset: offset, after: nil)
        while true {
            for value in next.records {
                guard try body(value) else { return }
            }
            guard let position = next.next else { return }
            next = try batch(collection, index: index, key: key, descending: descending, offset: 0, after: position)
        }
    }

    /// One batch of `forEach`: by OFFSET, or after `after` (the (order, rank) of the last row of the
    /// previous batch, which `next` gives; nil once a batch came back short). A deep OFFSET starts
    /// from the key's page boundaries when this worker has them (`PageBoundaries`).
    public func batch(
        _ collection: String, index: String, key: String, descending: Bool, offset: Int, after: [String]?
    ) throws -> StoreBatch<JSON> {
        try batch(collection, index: index, key: key, descending: descending, offset: offset, after: after, as: decode)
    }

    /// `batch` as stored text (`storedText`).
    public func textBatch(
        _ collection: String, index: String, key: String, descending: Bool, offset: Int, after: [String]?
    ) throws -> StoreBatch<[UInt8]> {
        try batch(
            collection, index: index, key: key, descending: descending, offset: offset, after: after, as: storedText)
    }

    private func batch<Record>(
        _ collection: String, index: String, key: String, descending: Bool, offset: Int, after: [String]?,
        as make: (String?, String, String) throws -> Record
    ) throws -> StoreBatch<Record> {
        let size = String(Self.forEachBatch)
        let rows: [[String?]]
        if let after, after.count == 2 {
            rows = try query(
                descending ? statements.nextPageDescending : statements.nextPageAscending,
                [dbText(collection), dbText(index), dbText(key), after[0], after[1], size]
            ).rows
        } else if let fromBoundary = try pageFromBoundary(
            PageBoundaries.Key(collection: collection, index: index, key: key, descending: descending), offset: offset)
        {
            rows = fromBoundary
        } else {
            rows = try query(
                descending ? statements.pageDescending : statements.pageAscending,
                [dbText(collection), dbText(index), dbText(key), String(offset), size]
            ).rows
        }
        let records = try rows.map { try make($0[1], collection, fromDBText($0[0] ?? "")) }
        guard rows.count == Self.forEachBatch, let last = rows.last else {
            return StoreBatch(records: records, next: nil)
        }
        return StoreBatch(records: records, next: [last[2] ?? "", last[3] ?? ""])
    }

    /// A page's rows (as the OFFSET statement gives them) read from the key's page boundaries, or
    /// nil when there are none that hold: the caller reads it by OFFSET. Makes the boundaries when
    /// `PageBoundaries` says it is worth it.
    private func pageFromBoundary(_ key: PageBoundaries.Key, offset: Int) throws -> [[String?]]? {
        var start = pageBoundaries.start(of: key, offset: offset, changeCount: changeCount)
        if start == nil, pageBoundaries.shouldMake(key, offset: offset, changeCount: changeCount) {
            let rows = try query(
                key.descending ? statements.boundariesDescending : statements.boundariesAscending,
                [dbText(key.collection), dbText(key.index), dbText(key.key), String(PageBoundaries.stride)]
            ).rows
            guard let counted = Self.changeCount(of: rows) else { return nil }
            pageBoundaries.keep(
                key, changeCount: counted,
                starts: rows.compactMap { row in row[1].flatMap { ord in row[2].map { (ord, $0) } } })
            start = pageBoundaries.start(of: key, offset: offset, changeCount: counted)
        }
        guard let start else { return nil }
        let rows = try query(
            key.descending ? statements.pageFromBoundaryDescending : statements.pageFromBoundaryAscending,
            [
                dbText(key.collection), dbText(key.index), dbText(key.key), start.ord, start.rank, String(start.skip),
                String(Self.forEachBatch),
            ]
        ).rows
        guard let seen = Self.changeCount(of: rows), pageBoundaries.holds(key, at: seen) else {
            pageBoundaries.drop(key)
            return nil
        }
        // The counter column off; the one row of an empty page (no id) is no row.
        return rows.compactMap { $0[1] == nil ? nil : Array($0.dropFirst()) }
    }

    /// The snapshot's change counter that the boundary statements return first in every row.
    private static func changeCount(of rows: [[String?]]) -> Int? { rows.first.flatMap { $0[0] }.flatMap { Int($0) } }

    /// Every record of a collection with its id, in creation order (`store migrate`).
    public func records(_ collection: String) throws -> [(id: String, value: JSON)] {
        try run { db in
            try db.execute(statements.all, [dbText(collection)]).rows.map { row in
                let id = fromDBText(row[0] ?? "")
                return (id, try decode(row[1], collection, id))
            }
        }
    }

    /// Every durable counter's value.
    public func sequences() throws -> [String: Int] {
        try run { db in
            Dictionary(
                uniqueKeysWithValues: try db.execute(statements.allSequences).rows.map {
                    (fromDBText($0[0] ?? ""), Int($0[1] ?? "") ?? 0)
                })
        }
    }

    /// Every collection that has records, with its count.
    public func collectionCounts() throws -> [(name: String, count: Int)] {
        try query(statements.collections, []).rows.map { (fromDBText($0[0] ?? ""), Int($0[1] ?? "") ?? 0) }
    }

    // MARK: Writes

    /// Runs `body` as one PostgreSQL transaction holding the store's writer lock; committed when it
    /// returns, rolled back (nothing written) when it throws. Its reads see its own writes.
    ///
    /// READ COMMITTED, on purpose: each statement takes a new snapshot, so every statement after the
    /// lock sees every write committed before it was granted. Under REPEATABLE READ the snapshot
    /// would be taken by the lock statement itself, before it waited, and a check-then-put would not
    /// see the write it waited for.
    ///
    /// Round trips: the BEGIN and the lock go with the first read (or with the COMMIT when the body
    /// reads nothing), and the changes with the next read or the COMMIT: a write costs its reads
    /// plus one. A read snapshot still open is ended in the first of them.
    @discardableResult
    public func write<Result>(_ body: (inout PostgresTransaction) throws -> Result) throws -> Result {
        if held != nil { return try writeHeld(body) }
        let result: Result = try Self.mapErrors {
            try beginWrite()
            do {
                var transaction = PostgresTransaction(store: self)
                let result = try runBody(&transaction, body)
                try commitWrite()
                return result
            } catch {
                dropWrite()
                throw error
            }
        }
        // Only once committed: a write that failed changed nothing this process should believe in.
        if let change = writeChange { changeCount = change }
        return result
    }

    /// A check the next write runs after taking the writer lock, before its body, in its transaction
    /// (what makes `If-Match` atomic with the change it guards). If it throws, nothing is written.
    /// Consumed by that write; `nil` clears it.
    public func setWritePrecondition(_ check: (() throws -> Void)?) {
        writePrecondition = check
    }

    /// Makes the writes until `commitHeldWrites` one PostgreSQL transaction (the first takes the
    /// writer lock and keeps it): a request's change and the record of its outcome (an idempotency
    /// key with its response) commit together, or neither does.
    public func holdWrites() {
        precondition(held == nil, "writes are held already")
        held = HeldWrites()
    }

    /// Runs `finish` in the held transaction and commits it all; runs `finish` as a normal write when
    /// nothing was held. On failure nothing of the held writes was written.
    public func commitHeldWrites(_ finish: (inout PostgresTransaction) throws -> Void) throws {
        guard let pending = held else { return try write(finish) }
        guard pending.began else {
            held = nil
            return try write(finish)
        }
        do {
            try writeHeld(finish)
            held = nil
            try Self.mapErrors { try commitWrite() }
            if let change = writeChange { changeCount = change }
        } catch {
            abandonHeldWrites()
            throw error
        }
    }

    /// Drops the held writes (the request failed): rolls their transaction back.
    public func abandonHeldWrites() {
        guard let pending = held else { return }
        held = nil
        guard pending.began else { return }
        dropWrite()
    }

    /// One write of a held series: in the held transaction (begun, and the lock taken, by the
    /// first), inside a savepoint, so a body that throws takes back its own statements and only
    /// those, as the JSON store drops a failed held write's operations and keeps the earlier ones.
    @discardableResult
    private func writeHeld<Result>(_ body: (inout PostgresTransaction) throws -> Result) throws -> Result {
        try Self.mapErrors {
            if held?.began == false {
                try beginWrite()
                held?.began = true
            }
            // What the savepoint takes back, this process's own bookkeeping included.
            let (bumped, change) = (writeBumped, writeChange)
            pendingSavepoint = pendingWrites.count
            pendingWrites.append(.prepared(statements.savepoint, []))
            var transaction = PostgresTransaction(store: self)
            do {
                let result = try runBody(&transaction, body)
                pendingWrites.append(.prepared(statements.releaseSavepoint, []))
                pendingSavepoint = nil
                return result
            } catch let error as PostgresError where error.isConnectionProblem {
                throw error
            } catch {
                (writeBumped, writeChange) = (bumped, change)
                if let start = pendingSavepoint {
                    // Nothing of this write was sent: it is enough not to send it.
                    pendingWrites.removeSubrange(start...)
                    if pendingBump.map({ $0 >= start }) == true { pendingBump = nil }
                    pendingSavepoint = nil
                } else {
                    pendingWrites = []
                    pendingBump = nil
                    try connection.execute(statements.rollbackToSavepoint)
                }
                throw error
            }
        }
    }

    /// BEGIN and the writer lock, deferred to the write's first statement; a read snapshot still
    /// open is rolled back in that round trip.
    private func beginWrite() throws {
        pendingWrites = []
        pendingBump = nil
        pendingSavepoint = nil
        writeBumped = false
        writeChange = nil
        let lock: [PostgresConnection.Step] =
            serializesWrites
            ? [.prepared(statements.writerLock, [String(PostgresSchema.writerLockSpace), schema])] : []
        try connection.begin(.readCommitted, replacing: readSnapshotOpen, deferred: true, then: lock)
        readSnapshotOpen = false
    }

    /// Sends the pending changes and COMMIT in one round trip; a write that neither read nor changed
    /// anything only ends its (never sent) transaction.
    private func commitWrite() throws {
        if pendingWrites.isEmpty && connection.isDeferred {
            try connection.rollback()
            return
        }
        let steps = pendingWrites
        let bump = pendingBump
        pendingWrites = []
        pendingBump = nil
        pendingSavepoint = nil
        let results = try connection.commit(after: steps)
        if let bump { writeChange = Int(results[bump].singleValue() ?? "") }
    }

    /// Rolls the write under way back (nothing of it is written) and forgets what it had pending.
    private func dropWrite() {
        pendingWrites = []
        pendingBump = nil
        pendingSavepoint = nil
        writeChange = nil
        do {
            try connection.rollback()
        } catch {
            // The session broke: the server rolled the transaction back itself, and the next call
            // opens a new session. Nothing is left to undo.
        }
    }

    /// A statement of the write under way, after its pending changes, in one round trip.
    func inWrite(_ statement: PostgresConnection.PreparedStatement, _ parameters: [String?]) throws -> PostgresResult {
        guard !pendingWrites.isEmpty else { return try connection.execute(statement, parameters) }
        let steps = pendingWrites + [.prepared(statement, parameters)]
        let bump = pendingBump
        pendingWrites = []
        pendingBump = nil
        pendingSavepoint = nil
        let results = try connection.pipeline(steps)
        if let bump { writeChange = Int(results[bump].singleValue() ?? "") }
        return results[results.count - 1]
    }

    /// A change of the write under way, sent with its next statement; the first also bumps the
    /// change counter (the number its records are stamped with).
    func queueChange(_ statement: PostgresConnection.PreparedStatement, _ parameters: [String?]) {
        queueBump()
        pendingWrites.append(.prepared(statement, parameters))
    }

    /// The write's bump of the change counter, queued by its first change.
    func queueBump() {
        guard !writeBumped else { return }
        writeBumped = true
        pendingBump = pendingWrites.count
        pendingWrites.append(.prepared(statements.bumpChangeCount, []))
    }

    /// The pending precondition, then `body`: what every kind of write runs once it holds the lock.
    private func runBody<Result>(
        _ transaction: inout PostgresTransaction, _ body: (inout PostgresTransaction) throws -> Result
    ) throws -> Result {
        if let check = writePrecondition {
            writePrecondition = nil
            try check()
        }
        return try body(&transaction)
    }

    // MARK: Helpers

    func run<Result>(_ body: (PostgresConnection) throws -> Result) throws -> Result {
        try Self.mapErrors { try body(connection) }
    }

    /// A lost or refused connection, or a writer lock not had in time, becomes the store's
    /// `.unavailable` (a 503 for the request); a
    /// statement the server refused stays a PostgresError (a 500, or the caller's to handle, e.g. a
    /// unique violation).
    static func mapErrors<Result>(_ body: () throws -> Result) throws -> Result {
        do {
            return try body()
        } catch let error as PostgresError where error.isConnectionProblem || error.sqlState == .lockNotAvailable {
            throw PostgresStoreError.unavailable(error.description)
        }
    }

    /// A value as stored: the text the engine wrote (`JSON.serialize`'s), which the `json` column
    /// keeps as it is and has checked to be JSON, so it is handed out without parsing it again.
    func storedText(_ text: String?, _ collection: String, _ id: String) throws -> [UInt8] {
        guard let text else { throw PostgresStoreError.corruptRecord(collection: collection, id: id, reason: "NULL") }
        return Array(text.utf8)
    }

    func decode(_ text: String?, _ collection: String, _ id: String) throws -> JSON {
        guard let text else { throw PostgresStoreError.corruptRecord(collection: collection, id: id, reason: "NULL") }
        do {
            return try JSON.parse(text)
        } catch {
            throw PostgresStoreError.corruptRecord(collection: collection, id: id, reason: error.description)
        }
    }

    /// The index rows of a record: for each of its collection's indexes, each distinct key once (a
    /// record is listed once per key, as in the JSON store), with the order value ("" when the index
    /// has none, so the list is in creation order).
    func indexRows(_ collection: String, _ value: JSON) -> (names: [String], keys: [String], orders: [String]) {
        var names: [String] = []
        var keys: [String] = []
        var orders: [String] = []
        for definition in definitions[dbText(collection)] ?? [] {
            let order = definition.order?(value) ?? ""
            var seen = Set<String>()
            for key in definition.keys(value) where seen.insert(key).inserted {
                names.append(dbText(definition.name))
                keys.append(dbText(key))
                orders.append(dbText(order))
            }
        }
        return (names, keys, orders)
    }
}

/// A write in progress, inside the write's PostgreSQL transaction (under the writer lock). Changes
/// are sent with the next read or the COMMIT, in order, so reads see this transaction's own puts and
/// deletes without an overlay; a change the server refuses (a unique violation) fails that read or
/// the commit, and so the write.
public struct PostgresTransaction {
    let store: PostgresStore

    init(store: PostgresStore) {
        self.store = store
    }

    private var statements: Statements { store.statements }

    public func get(_ collection: String, _ id: String) throws -> JSON? {
        try store.inWrite(statements.get, [dbText(collection), dbText(id)]).rows.first.map {
            try store.decode($0[0], collection, id)
        }
    }

    /// Records by collection and id in one statement, in the order asked (nil: none).
    public func get(_ keys: [(collection: String, id: String)]) throws -> [JSON?] { try store.get(keys) }

    public func count(_ collection: String) throws -> Int {
        Int(try store.inWrite(statements.count, [dbText(collection)]).singleValue() ?? "") ?? 0
    }

    public func lookup(_ collection: String, index: String, key: String) throws -> [String] {
        try store.inWrite(statements.lookup, [dbText(collection), dbText(index), dbText(key)]).rows.compactMap {
            $0[0].map(fromDBText)
        }
    }

    /// The ids under `key`, in creation order, with the records of the first `limit` of them.
    public func lookupWithRecords(
        _ collection: String, index: String, key: String, limit: Int
    ) throws -> [(
        id: String, value: JSON?
    )] {
        try store.inWrite(
            statements.lookupWithRecords, [dbText(collection), dbText(index), dbText(key), String(limit)]
        )
        .rows.map { row in
            let id = fromDBText(row[0] ?? "")
            return (id, try row[1].map { try store.decode($0, collection, id) })
        }
    }

    /// Creates or replaces a record (an update keeps its place in creation order) and files it under
    /// its index keys as they are now.
    public mutating func put(_ collection: String, _ id: String, _ value: JSON) throws {
        store.queueChange(statements.put, [dbText(collection), dbText(id), value.text])
        let rows = store.indexRows(collection, value)
        guard !rows.keys.isEmpty else { return }
        store.queueChange(
            statements.fileKeys,
            [
                dbText(collection), dbText(id), arrayLiteral(rows.names), arrayLiteral(rows.keys),
                arrayLiteral(rows.orders),
            ])
    }

    /// Deletes a record and its index entries (by cascade); a later put of the same id is a new
    /// record, last in creation order.
    public mutating func delete(_ collection: String, _ id: String) throws {
        store.queueChange(statements.delete, [dbText(collection), dbText(id)])
    }

    /// A durable counter's stored value; nil before its first use.
    public func sequenceValue(_ name: String) throws -> Int? {
        try store.inWrite(statements.sequenceValue, [dbText(name)]).singleValue().flatMap { Int($0) }
    }

    /// Sets a durable counter (what `Transaction.nextSequence` recorded).
    public mutating func setSequence(_ name: String, _ value: Int) throws {
        store.queueChange(statements.setSequence, [dbText(name), String(value)])
    }

    /// The next value of a durable counter (1, 2, 3, ...).
    public mutating func nextSequence(_ name: String) throws -> Int {
        store.queueBump()
        // Sent at once: its answer is the value.
        return Int(try store.inWrite(statements.nextSequence, [dbText(name)]).singleValue() ?? "") ?? 0
    }
}

/// A string as the database stores it: PostgreSQL text cannot hold NUL (and libpq's parameters are C
/// strings, so a NUL would silently cut a key short and a lookup could find another key's records).
/// NUL becomes 0x01 0x01 and 0x01 becomes 0x01 0x02: one-to-one, and byte order is kept (what
/// `ord` and keyset paging compare). Nearly every string has neither: returned as it is.
func dbText(_ text: String) -> String {
    guard text.utf8.contains(where: { $0 < 2 }) else { return text }
    var escaped = ""
    for scalar in text.unicodeScalars {
        switch scalar.value {
        case 0: escaped += "\u{1}\u{1}"
        case 1: escaped += "\u{1}\u{2}"
        default: escaped.unicodeScalars.append(scalar)
        }
    }
    return escaped
}

/// The string `dbText` stored.
func fromDBText(_ text: String) -> String {
    guard text.utf8.contains(1) else { return text }
    var plain = ""
    var escape = false
    for scalar in text.unicodeScalars {
        if escape {
            plain.unicodeScalars.append(Unicode.Scalar(scalar.value == 1 ? 0 : 1)!)
            escape = false
        } else if scalar.value == 1 {
            escape = true
        } else {
            plain.unicodeScalars.append(scalar)
        }
    }
    return plain
}

/// A PostgreSQL array literal of text elements, for `$n::text[]` parameters: every element quoted,
/// with backslash and double quote escaped (the array input syntax), so any key is carried intact.
/// Built as UTF-8 bytes (neither escaped byte occurs inside a multi-byte sequence): appended
/// scalar by scalar to a String, a page's 200 ids and collections were 15% of a list's worker time.
func arrayLiteral(_ elements: [String]) -> String {
    var bytes: [UInt8] = []
    bytes.reserveCapacity(elements.reduce(2) { $0 + $1.utf8.count + 3 })
    bytes.append(UInt8(ascii: "{"))
    for (position, element) in elements.enumerated() {
        if position > 0 { bytes.append(UInt8(ascii: ",")) }
        bytes.append(UInt8(ascii: "\""))
        for byte in element.utf8 {
            if byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "\"") { bytes.append(UInt8(ascii: "\\")) }
            bytes.append(byte)
        }
        bytes.append(UInt8(ascii: "\""))
    }
    bytes.append(UInt8(ascii: "}"))
    return String(decoding: bytes, as: UTF8.self)
}
