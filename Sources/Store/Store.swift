import JSON
import Logging

#if canImport(Glibc)
    import Glibc
#endif

public struct StoreOptions: Sendable {
    /// Past this many journal bytes `needsCompaction` says so; the supervisor (or `store compact`)
    /// then merges in the background. No write ever compacts inside a request.
    public var compactionThreshold: Int
    /// fdatasync every write before acknowledging it. Only benchmarks and tests that do not test
    /// durability turn this off.
    public var fsync: Bool
    /// Check the whole data file against its hint's CRC on open (one sequential read): the
    /// supervisor does it once at start, so a damaged store refuses to start.
    public var verifyDataOnOpen: Bool
    /// Recover under the exclusive lock on open (cut a torn tail, rebuild a hint, remove stale
    /// files). Workers start after the supervisor did that and only attach: they map the published
    /// generation without any lock, so starting (or reloading) a worker never holds up a write.
    /// Anything that needs repair still falls back to recovery.
    public var recoverOnOpen: Bool
    /// Make the folder and a new empty store when there is none (no `store.head`). Only what
    /// starts a store does (`serve`, `store init`); an admin command pointed at the wrong folder
    /// gets `StoreError.noStore` instead of a new empty store, and nothing is created.
    public var createIfMissing: Bool
    /// Move onto a generation a compaction published a slice at a time (`housekeep`) instead of at
    /// once: until the move is done, the view this process had keeps serving and takes the new
    /// journal's entries. What a worker wants (no request waits for the move); a command that acts
    /// on the whole store right after a refresh does not.
    public var incrementalSwitch: Bool
    /// Journal entries such a move replays into the new view per slice at most (~15-30 µs each at
    /// 1M records); a slice also stops at its time budget.
    public var switchSlice: Int
    /// And journal bytes a slice reads at most (whole lines).
    public var switchJournalChunkBytes: Int
    /// What each `refresh` spends on housekeeping (`housekeep`): a pending move, freeing a replaced
    /// view. 0: none; the caller calls `housekeep` itself (a worker does it after each answer, and
    /// while no request is waiting).
    public var refreshHousekeepingMicroseconds: Int
    /// A write that takes the journal past its end writes this many zero bytes ahead of it (rounded
    /// to pages), so the next writes land in space the file already has: their fdatasync then writes
    /// only their data. A write that grows the file also writes its new size, its block bitmap and
    /// its inode, and on ext4 without a journal those wait for buffers a compaction's own syncs are
    /// writing (measured: the stall at a compaction's switch). 0 grows the file write by write.
    public var journalPreallocationBytes: Int
    /// Recovery checks the journal (CRC, sequence, acknowledged length) without holding its
    /// records: for `Store.recoverForStart`, whose caller never reads.
    var checkOnly = false

    public init(
        compactionThreshold: Int = 8 << 20, fsync: Bool = true, verifyDataOnOpen: Bool = false,
        recoverOnOpen: Bool = true, createIfMissing: Bool = true, incrementalSwitch: Bool = false,
        switchSlice: Int = 300, switchJournalChunkBytes: Int = 32 << 10, journalPreallocationBytes: Int = 1 << 20,
        refreshHousekeepingMicroseconds: Int = 1_000
    ) {
        self.refreshHousekeepingMicroseconds = max(0, refreshHousekeepingMicroseconds)
        self.journalPreallocationBytes = max(0, journalPreallocationBytes)
        self.createIfMissing = createIfMissing
        self.incrementalSwitch = incrementalSwitch
        self.switchSlice = max(1, switchSlice)
        self.switchJournalChunkBytes = max(1, switchJournalChunkBytes)
        self.compactionThreshold = compactionThreshold
        self.fsync = fsync
        self.verifyDataOnOpen = verifyDataOnOpen
        self.recoverOnOpen = recoverOnOpen
    }
}

private enum WriteAttempt<T> {
    case written(T)
    case attachFirst
}

/// The file-locked JSON store shared by every worker process: a log-structured store with a key
/// directory on disk (Bitcask's shape, with the key directory as a mapped hint file).
///
/// One folder: `data-<g>.jsonl` (every record of generation g's start, one JSON line each, never
/// written again), `hint-<g>.bin` (ids → offsets, secondary index keys, sorted, mapped shared),
/// the append-only `journal-<g>.jsonl` (writes since), `store.lock` (flock only) and `store.head`
/// (mapped: which generation is current and how many journal bytes are acknowledged). Every line of
/// the JSON files carries a CRC-32. See docs/store.md.
///
/// A process maps the current generation's files (one page-cache copy for all workers) and keeps
/// in its heap only the records of the journal written since that generation began. A write takes
/// the exclusive lock, catches up, checks its preconditions against that fresh view, appends one
/// journal line, fdatasyncs, publishes the new length in the head, and only then returns. Readers
/// never lock. Compaction merges the current generation into the next one off the request path and
/// takes the lock only to switch.
public final class Store {
    public let directory: String
    public let options: StoreOptions
    private let indexes: [IndexDefinition]
    private let definitions: [String: [IndexDefinition]]
    /// Nil (and `lockFD` -1) on another engine: no file of this folder's kind is opened.
    private let head: StoreHead!
    private let lockFD: Int32
    /// The engine every call goes to when the store is not the JSON files (`init(engine:)`).
    private let engine: (any StoreEngine)?
    /// An engine's read that failed since `takeReadDamage()`: reported there, as damage is.
    private var engineFailure: Error?
    private var view: StoreView {
        didSet {
            oldValue.changeObserver = nil
            view.changeObserver = changeObserver
            changeObserver?(.everything)
        }
    }
    /// The published generation whose journal this process follows (`appliedLength` bytes of it):
    /// `view`'s own generation, except while a switch moves the view onto it (`pendingSwitch`).
    private var attached: Generation
    /// A move onto `attached` in progress: `view` (on the generation before) serves meanwhile and
    /// takes every new entry; `target`, a view of `attached`, has taken its journal up to `replayed`
    /// and takes the rest a slice at a time, new entries too, until it has caught up; `started`
    /// (monotonic µs) is for the line that says it is done.
    private var pendingSwitch: (target: StoreView, replayed: Int, started: Int)?
    /// Whether a move onto the published generation is still in progress (see `incrementalSwitch`).
    public var hasPendingSwitch: Bool { pendingSwitch != nil }
    private var journalFD: Int32 = -1
    /// The journal file's size as this process last saw it under the lock (see `writeAhead`); 0 when
    /// not known. Only a hint for when to look: zeros are written only past a size read under the lock.
    private var journalFileSize = 0
    private var appliedLength = 0
    private var appliedEpoch = 1
    /// Views replaced by a generation switch, freed a slice at a time (see `releaseSome`).
    private var retiredViews: [StoreView] = []
    /// Held while this process holds the lock: a write nested in a write (a precondition that
    /// reads through code that also writes) must not take, then release, the lock the outer holds.
    private var lockDepth = 0
    private var heldOperation: Int32 = 0
    private var writePrecondition: (() throws -> Void)?
    private var deferredWrites: [(inout Transaction) throws -> Void] = []
    /// Between `holdWrites` and `commitHeldWrites`: the operations of every write so far (already
    /// visible to this process's reads), their one sequence number, and whether the lock is held.
    private var held: HeldWrites?
    private struct HeldWrites {
        var locked = false
        var sequence = 0
        var operations: [JSON] = []
    }
    /// What recovery found and repaired when this process opened the store (e.g. a torn last line).
    public private(set) var recoveryNotes: [String] = []
    /// Where the store reports a failure it carries on after (a rollback that could not reload, a
    /// fast path that fell back to the slow one).
    public var logger = Logger(label: "partnerships.store")

    public init(directory: String, indexes: [IndexDefinition] = [], options: StoreOptions = StoreOptions()) throws {
        engine = nil
        self.directory = directory
        self.options = options
        self.indexes = indexes
        definitions = Dictionary(grouping: indexes, by: \.collection)
        view = StoreView(generation: .empty(), definitions: definitions)
        attached = view.generation
        if !options.createIfMissing && !Store.exists(directory: directory) { throw StoreError.noStore(directory) }
        try Files.makeDirectory(directory)
        lockFD = try Files.openOrThrow(directory + "/store.lock", O_RDWR | O_CREAT)
        do {
            head = try StoreHead(path: directory + "/" + Store.headFileName)
        } catch {
            close(lockFD)  // not fully initialized: deinit will not run
            throw error
        }
        // From here a failure runs deinit, which closes what was opened.
        if options.recoverOnOpen || !head.isInitialized || !head.checkValueMatches || !attachedUnlocked() {
            try withLock(LOCK_EX) { try recover() }
        }
    }

    /// A store on another engine (PostgreSQL): the same API, every call answered by `engine`.
    /// `directory` is the engine's location; compaction and the JSON files' admin calls do not apply.
    public init(engine: any StoreEngine, indexes: [IndexDefinition] = []) {
        self.engine = engine
        directory = engine.location
        options = StoreOptions(createIfMissing: false)
        self.indexes = indexes
        definitions = Dictionary(grouping: indexes, by: \.collection)
        view = StoreView(generation: .empty(), definitions: definitions)
        attached = view.generation
        head = nil
        lockFD = -1
    }

    /// Whether this store is on another engine than the JSON files.
    public var isEngine: Bool { engine != nil }
    /// The engine's round trips to its database so far (nil on the JSON files, which have none).
    public var engineRoundTrips: Int? { engine?.roundTrips }

    /// Whether `directory` holds a store: its head, `store.head`, which the first open creates
    /// (and every later one keeps). Data, hint and journal files are named by the head.
    public static func exists(directory: String) -> Bool { Files.exists(directory + "/" + headFileName) }

    /// The file whose presence makes a folder a store.
    public static let headFileName = "store.head"

    /// What a supervisor does before it starts workers: recover under the exclusive lock (cut a
    /// torn tail, rebuild a damaged hint, remove stale files) and check every file, the whole data
    /// file included with `verifyData`, without keeping the journal's records: the workers hold
    /// those. Throws with the file and offset of any damage; returns what recovery repaired.
    public static func recoverForStart(
        directory: String, indexes: [IndexDefinition], verifyData: Bool
    ) throws -> [String] {
        var options = StoreOptions(verifyDataOnOpen: verifyData)
        options.checkOnly = true
        return try Store(directory: directory, indexes: indexes, options: options).recoveryNotes
    }

    deinit {
        if journalFD >= 0 { close(journalFD) }
        if lockFD >= 0 { close(lockFD) }
    }

    // MARK: reading

    public var generation: UInt64 { UInt64(attached.number) }
    /// On another engine: its change counter.
    public var lastSequence: Int { engine?.changeCount ?? view.lastSequence }

    /// What this process reads, named: it changes with every write of any process this process
    /// has caught up with (the journal only grows within a generation and epoch), every compaction
    /// and every restore. Two reads under the same version see the same records.
    public struct Version: Hashable, Sendable {
        let generation: Int
        let epoch: Int
        let journalLength: Int
    }

    public var version: Version {
        // Another engine's change counter moves with every committed write of any host.
        if let engine { return Version(generation: -1, epoch: 0, journalLength: engine.changeCount) }
        return Version(generation: attached.number, epoch: appliedEpoch, journalLength: appliedLength)
    }

    /// Told, as this process applies them (its own writes, other processes' on `refresh`), of what
    /// each change may alter; `.everything` when the view is replaced (a compaction, a restore).
    public var changeObserver: ((StoreChange) -> Void)? {
        didSet { view.changeObserver = changeObserver }
    }

    /// While set, every read notes what it depended on (what a kept answer must be dropped for).
    public var readLog: StoreReadLog?

    public func get(_ collection: String, _ id: String) -> JSON? {
        readLog?.note(.record(collection: collection, id: id))
        if let engine { return engineRead(nil) { try engine.get(collection, id) } }
        return view.get(collection, id)
    }
    /// Every record of a collection, in creation order.
    public func all(_ collection: String) -> [JSON] {
        readLog?.note(.collection(collection))
        if let engine { return engineRead([]) { try engine.all(collection) } }
        return view.all(collection)
    }
    public func count(_ collection: String) -> Int {
        readLog?.note(.collection(collection))
        if let engine { return engineRead(0) { try engine.count(collection) } }
        return view.count(collection)
    }
    /// Ids under `key` in a secondary index, in creation order.
    public func lookup(_ collection: String, index: String, key: String) -> [String] {
        readLog?.note(.indexKey(collection: collection, index: index, key: key))
        if let engine { return engineRead([]) { try engine.lookup(collection, index: index, key: key) } }
        return view.lookup(collection, index: index, key: key)
    }
    /// Records under `key` in a secondary index, in creation order.
    public func lookupRecords(_ collection: String, index: String, key: String) -> [JSON] {
        readLog?.note(.indexKey(collection: collection, index: index, key: key))
        if let engine { return engineRead([]) { try engine.lookupRecords(collection, index: index, key: key) } }
        return view.lookupValues(collection, index: index, key: key)
    }
    /// Records by collection and id, answered in the order asked (nil: no such record). On an
    /// engine that pays per read (PostgreSQL) one read answers them all: how a page of records
    /// reads the records each of them refers to.
    public func get(_ keys: [(collection: String, id: String)]) -> [JSON?] {
        for key in keys { readLog?.note(.record(collection: key.collection, id: key.id)) }
        if let engine { return engineRead(Array(repeating: nil, count: keys.count)) { try engine.get(keys) } }
        return keys.map { view.get($0.collection, $0.id) }
    }
    /// `get(_ keys:)` as stored text: each record's value as `JSON.serialize` writes it, not decoded
    /// (`JSONObjectText` reads its members). On the JSON store a page of records costs a copy of
    /// each line instead of a tree per record; on PostgreSQL, the column's text as the database sends it.
    public func texts(_ keys: [(collection: String, id: String)]) -> [[UInt8]?] {
        for key in keys { readLog?.note(.record(collection: key.collection, id: key.id)) }
        if let engine { return engineRead(Array(repeating: nil, count: keys.count)) { try engine.texts(keys) } }
        return keys.map { view.text($0.collection, $0.id) }
    }
    /// `forEach` with each record's stored text (see `texts`) instead of its decoded value.
    public func forEachText(
        _ collection: String, index: String, key: String, descending: Bool = false, offset: Int = 0,
        _ body: ([UInt8]) throws -> Bool
    ) rethrows {
        readLog?.note(.indexKey(collection: collection, index: index, key: key))
        guard let engine else {
            return try view.forEachText(
                collection, index: index, key: key, descending: descending, offset: offset, body)
        }
        try walk(from: offset, body) { offset, after in
            engineRead(StoreBatch(records: [], next: nil)) {
                try engine.textBatch(
                    collection, index: index, key: key, descending: descending, offset: offset, after: after)
            }
        }
    }
    /// The records under each of `keys` in a secondary index (each list in creation order), in the
    /// order of `keys`: `lookupRecords` for a page of keys, in one read on such an engine.
    public func lookupRecords(_ collection: String, index: String, keys: [String]) -> [[JSON]] {
        for key in keys { readLog?.note(.indexKey(collection: collection, index: index, key: key)) }
        if let engine {
            return engineRead(Array(repeating: [], count: keys.count)) {
                try engine.lookupRecords(collection, index: index, keys: keys)
            }
        }
        return keys.map { view.lookupValues(collection, index: index, key: $0) }
    }
    /// Visits the records under `key` in a secondary index in the index's order (see
    /// `IndexDefinition.order`; creation order without one), from the `offset`-th on, until `body`
    /// returns false, without copying them out: a page of a large list costs the records it reads,
    /// not the whole list. `descending` visits the largest order values first, records sharing a
    /// value in creation order (what a stable sort by that value, descending, gives).
    public func forEach(
        _ collection: String, index: String, key: String, descending: Bool = false, offset: Int = 0,
        _ body: (JSON) throws -> Bool
    ) rethrows {
        readLog?.note(.indexKey(collection: collection, index: index, key: key))
        guard let engine else {
            return try view.forEach(collection, index: index, key: key, descending: descending, offset: offset, body)
        }
        try walk(from: offset, body) { offset, after in
            engineRead(StoreBatch(records: [], next: nil)) {
                try engine.batch(
                    collection, index: index, key: key, descending: descending, offset: offset, after: after)
            }
        }
    }
    /// An engine's index walk, batch by batch from `offset`. `batch` reports the engine's errors as
    /// a failed read (the list then ends early; the request fails on it), so only the body's own
    /// errors are rethrown.
    private func walk<Record>(
        from offset: Int, _ body: (Record) throws -> Bool,
        batch: (_ offset: Int, _ after: [String]?) -> StoreBatch<Record>
    ) rethrows {
        var next = batch(offset, nil)
        while true {
            for record in next.records {
                guard try body(record) else { return }
            }
            guard let after = next.next else { return }
            next = batch(0, after)
        }
    }
    public var collectionNames: [String] {
        let names = engine.map { engine in engineRead([]) { try engine.collectionNames() } } ?? view.collectionNames
        for name in names { readLog?.note(.collection(name)) }
        return names
    }

    /// A read since the last call found a damaged record (reported instead of served): the
    /// request that made it must fail with this error. Cleared by the call.
    public func takeReadDamage() -> Error? {
        if let failure = engineFailure {
            engineFailure = nil
            return failure
        }
        return view.takeDamage()
    }

    /// The end of a request's reads: another engine ends the read snapshot the request began (a
    /// no-op on the JSON files, whose view is this process's own).
    public func endReads() { engine?.endReads() }

    /// Another engine's read: a failure is kept for `takeReadDamage()` and answered as `empty`.
    private func engineRead<T>(_ empty: T, _ read: () throws -> T) -> T {
        do { return try read() } catch {
            if engineFailure == nil { engineFailure = error }
            return empty
        }
    }

    /// Whether the journal has grown past the compaction threshold: the configured one, or a
    /// sixteenth of the data file when that is larger, so a big store is not rewritten for every
    /// few MiB of writes (the journal tail each process holds stays a small fraction of the store).
    public var needsCompaction: Bool {
        guard engine == nil, let published = head.read() else { return false }
        return CompactionWatch.isDue(
            journalBytes: published.committedLength, dataBytes: attached.data?.size ?? 0,
            threshold: options.compactionThreshold)
    }

    /// Catches up with the writes other processes acknowledged. Costs a few memory loads when
    /// nothing changed; reads only the new journal bytes when something did; maps the new files
    /// (cheap: nothing is decoded) when a compaction or restore published a new generation.
    public func refresh() throws {
        if let engine {
            // What another host wrote is not known record by record: every kept answer goes.
            let before = engine.changeCount
            try engine.refresh()
            if engine.changeCount != before { changeObserver?(.everything) }
            return
        }
        let budget = options.refreshHousekeepingMicroseconds
        // Before catching up: a view this refresh replaces is kept until the next one.
        if budget > 0 { releaseRetiredView(deadline: monotonicMicroseconds() + budget) }
        try catchUp()
        if budget > 0 && pendingSwitch != nil { try advancePendingSwitch(deadline: monotonicMicroseconds() + budget) }
    }

    /// Whether `housekeep` has work: a switch's move in progress, or a replaced view to free.
    public var hasHousekeeping: Bool { pendingSwitch != nil || !retiredViews.isEmpty }

    /// Spends about `microseconds` on what follows a generation switch, off any request: the move
    /// onto the new generation (replaying its journal into a new view, a slice at a time), then
    /// freeing the view it replaced. At 1M records a switch replays ~50k entries (1-1.5 s of CPU)
    /// and a replaced view holds as many small allocations; done inside requests, 1 ms each, they
    /// doubled every request's cost for seconds (write-heavy p99 78-91 ms). Never while writes are
    /// held (their entries are not in the journal yet).
    public func housekeep(microseconds: Int) throws {
        guard engine == nil, held == nil, lockDepth == 0 else { return }
        let deadline = monotonicMicroseconds() + max(0, microseconds)
        try advancePendingSwitch(deadline: deadline)
        if monotonicMicroseconds() < deadline { releaseRetiredView(deadline: deadline) }
    }

    /// Frees the oldest replaced view, or as much of it as fits before `deadline`. One per call: a
    /// process that only refreshes keeps the view its last switch replaced for a while.
    private func releaseRetiredView(deadline: Int) {
        if let oldest = retiredViews.first, oldest.releaseSome(budget: .max, deadline: deadline) {
            retiredViews.removeFirst()
        }
    }

    private func catchUp() throws {
        guard let published = head.read() else {
            try withLock(LOCK_EX) { try recover() }
            return
        }
        if published.generation == attached.number && published.committedLength == appliedLength
            && published.epoch == appliedEpoch
        {
            return
        }
        if published.generation == attached.number && published.epoch == appliedEpoch
            && published.committedLength > appliedLength
        {
            try applyJournal(upTo: published.committedLength)
            return
        }
        // A compaction or restore: map the new generation, without a lock when possible; under the
        // shared lock (its files cannot go away while we hold it) when files keep changing under us.
        if attachedUnlocked() { return }
        try withLock(LOCK_SH) {
            guard let stable = head.read() else { throw StoreError.system("store head is being repaired; retry") }
            try load(stable)
        }
    }

    // MARK: writing

    /// Runs `body` under the exclusive lock against fresh state, then makes its operations durable
    /// as one journal line (fsynced) before returning. If `body` throws, nothing is written.
    @discardableResult
    public func write<T>(_ body: (inout Transaction) throws -> T) throws -> T {
        if let engine {
            // A decision taken on a read that failed must not be written.
            if let failure = engineFailure { throw failure }
            let before = engine.changeCount
            defer { if engine.changeCount != before { changeObserver?(.everything) } }
            return try engine.write { reader in try runBody(body, reader: reader) }
        }
        if held != nil { return try writeHeld(body) }
        // A compaction's switch often lands while this writer waits for the lock (the switch holds
        // it): map the new generation with the lock released, so writers do that in parallel and
        // nobody waits behind it, then take the lock again.
        for attempt in 0..<3 {
            let outcome = try withLock(LOCK_EX) { () throws -> WriteAttempt<T> in
                if attempt < 2, switchedGeneration { return .attachFirst }
                return .written(try writeHoldingExclusiveLock(body))
            }
            if case .written(let result) = outcome { return result }
            try refresh()
        }
        preconditionFailure("the last attempt always writes")
    }

    private var switchedGeneration: Bool {
        guard let published = head.read() else { return false }
        return published.generation != attached.number || published.epoch != appliedEpoch
    }

    /// A check the next write runs under the exclusive lock, against the fresh view, before its
    /// body: what makes `If-Match` atomic with the change it guards. If it throws, nothing is
    /// written. Consumed by that write; `nil` clears it.
    public func setWritePrecondition(_ check: (() throws -> Void)?) {
        writePrecondition = check
    }

    /// A best-effort write made after the request's own (e.g. a token's `last_used_at`): it never
    /// consumes the request's precondition nor runs while one is being checked.
    public func writeLater(_ body: @escaping (inout Transaction) throws -> Void) {
        deferredWrites.append(body)
    }

    /// Runs the writes `writeLater` queued; returns the errors (the request is answered already).
    public func flushDeferredWrites() -> [Error] {
        let queued = deferredWrites
        deferredWrites = []
        var errors: [Error] = []
        for body in queued {
            do { try write { tx in try body(&tx) } } catch { errors.append(error) }
        }
        return errors
    }

    // MARK: held writes

    /// Makes the writes until `commitHeldWrites` one transaction: the first takes the exclusive
    /// lock and keeps it; their operations and whatever `commitHeldWrites` adds become one journal
    /// line, fsynced once. What a request needs when a record of its own outcome (an idempotency
    /// key with its response) must be durable together with the change, or not at all.
    public func holdWrites() {
        if let engine { return engine.holdWrites() }
        precondition(held == nil, "writes are held already")
        held = HeldWrites()
    }

    /// Adds `finish`'s operations to the held ones and makes them durable as one line; runs
    /// `finish` as a normal write when nothing was held. On failure nothing was written, and this
    /// process's view is reloaded from disk.
    public func commitHeldWrites(_ finish: (inout Transaction) throws -> Void) throws {
        if let engine {
            if let failure = engineFailure {
                engine.abandonHeldWrites()
                throw failure
            }
            let before = engine.changeCount
            defer { if engine.changeCount != before { changeObserver?(.everything) } }
            return try engine.commitHeldWrites { reader in try runBody(finish, reader: reader).operations }
        }
        guard let pending = held else { return try write(finish) }
        held = nil
        guard pending.locked else { return try write(finish) }
        defer { releaseLock() }
        do {
            let (_, finishing) = try runBody(finish)
            let operations = pending.operations + finishing
            guard !operations.isEmpty else { return }
            try append(operations, sequence: pending.sequence)
            try view.apply(finishing, sequence: pending.sequence)
            head.publish(.init(generation: attached.number, committedLength: appliedLength, epoch: appliedEpoch))
        } catch {
            if !pending.operations.isEmpty { reloadAfterRollback() }
            throw error
        }
    }

    /// Drops the held writes (the request failed): nothing of them reaches the disk.
    public func abandonHeldWrites() {
        if let engine { return engine.abandonHeldWrites() }
        guard let pending = held else { return }
        held = nil
        guard pending.locked else { return }
        if !pending.operations.isEmpty { reloadAfterRollback() }
        releaseLock()
    }

    /// Held writes were applied to this process's view and never committed: reload it from disk.
    private func reloadAfterRollback() {
        do { try recover() } catch {
            // The caller's own error is what the request reports; this one must not go unseen: until
            // the next reload succeeds this process may answer with the writes that were dropped.
            logger.error(
                "cannot reload the store after dropping uncommitted writes", error: error,
                metadata: ["directory": .string(directory)])
        }
    }

    private func writeHeld<T>(_ body: (inout Transaction) throws -> T) throws -> T {
        if held!.locked == false {
            try acquireLock(LOCK_EX)
            held!.locked = true
            do { try catchUpHoldingExclusiveLock() } catch {
                held = nil
                releaseLock()
                throw error
            }
            held!.sequence = view.lastSequence + 1
        }
        let (result, operations) = try runBody(body)
        if !operations.isEmpty {
            try view.apply(operations, sequence: held!.sequence)
            held!.operations += operations
        }
        return result
    }

    /// Under the exclusive lock, against the fresh view: the pending precondition, then `body`;
    /// what every kind of write (plain, held, the held commit) runs before it writes anything.
    /// On another engine, `reader` reads inside its write (under its lock) instead of `view`.
    private func runBody<T>(
        _ body: (inout Transaction) throws -> T, reader: (any StoreReader)? = nil
    ) throws -> (result: T, operations: [JSON]) {
        if let check = writePrecondition {
            writePrecondition = nil
            try check()
        }
        var transaction = Transaction(view: reader ?? view)
        let result = try body(&transaction)
        if let reader {
            // Left for `takeReadDamage()` too: the request that made the read fails on it.
            if let failure = reader.failure ?? engineFailure { throw failure }
        } else if let damage = view.takeDamage() {
            throw damage
        }
        return (result, transaction.operations)
    }

    /// One journal line at the acknowledged end, fsynced; cut off again if anything fails.
    private func append(_ operations: [JSON], sequence: Int) throws {
        let line = LineCodec.encode(["seq": .int(sequence), "ops": .array(operations)])
        do {
            try Files.writeAll(journalFD, line, at: appliedLength)
            try writeAhead(past: appliedLength + line.count)
            if options.fsync, fdatasync(journalFD) != 0 { throw StoreError.errno("fdatasync journal") }
        } catch {
            // Nothing was acknowledged: cut whatever part of the line reached the file.
            _ = ftruncate(journalFD, off_t(appliedLength))
            journalFileSize = 0
            throw error
        }
        appliedLength += line.count
    }

    /// Under the exclusive lock, after an entry that ends at `end`: when the file's written space
    /// runs out within half a chunk, zeros up to a chunk past `end`, synced by the same fdatasync as
    /// the entry. Once per `journalPreallocationBytes` (~3,000 writes at 1 MiB) a write pays for it.
    /// Never fails the write: the entry is in the file whether or not the zeros fit.
    private func writeAhead(past end: Int) throws {
        let chunk = options.journalPreallocationBytes
        guard chunk > 0, end + chunk / 2 > journalFileSize else { return }
        journalFileSize = try Files.size(journalFD)
        guard end + chunk / 2 > journalFileSize else { return }
        let from = max(journalFileSize, end)
        let to = (end + chunk + 4_095) / 4_096 * 4_096
        do {
            try Files.writeAll(journalFD, [UInt8](repeating: 0, count: to - from), at: from)
            journalFileSize = to
        } catch {
            // The entry itself is written; only the space ahead did not fit (a full disk). The write
            // goes on without it, and so does this file (a compaction's next journal tries again).
            _ = ftruncate(journalFD, off_t(end))
            journalFileSize = .max
            logger.warning(
                "cannot write the journal's space ahead; writes grow it one by one until the next compaction",
                error: error, metadata: ["directory": .string(directory)])
        }
    }

    /// Whether an entry starts at `offset` (a writer that died after its fsync, before publishing):
    /// past the entries the file holds zeros written ahead, or nothing. A process killed inside its
    /// write leaves that write's first bytes, never only its last ones; a power cut can, and the open
    /// after it reads the whole file (`recover`).
    private func journalHasEntry(at offset: Int) throws -> Bool {
        let byte = try Files.read(journalFD, from: offset, count: 1)
        return byte.first.map { $0 != 0 } ?? false
    }

    private func writeHoldingExclusiveLock<T>(_ body: (inout Transaction) throws -> T) throws -> T {
        try catchUpHoldingExclusiveLock()
        let (result, operations) = try runBody(body)
        guard !operations.isEmpty else { return result }
        let sequence = view.lastSequence + 1
        try append(operations, sequence: sequence)
        try view.apply(operations, sequence: sequence)
        head.publish(.init(generation: attached.number, committedLength: appliedLength, epoch: appliedEpoch))
        return result
    }

    // MARK: locking

    private func withLock<T>(_ operation: Int32, _ body: () throws -> T) throws -> T {
        // Nested: the outer holder keeps and releases the lock. A shared hold never writes.
        if lockDepth > 0 {
            precondition(
                heldOperation == LOCK_EX || operation == LOCK_SH, "an exclusive lock asked for inside a shared one")
            return try body()
        }
        try acquireLock(operation)
        defer { releaseLock() }
        return try body()
    }

    /// The outermost hold only (see `withLock`, and held writes, which keep it across calls).
    private func acquireLock(_ operation: Int32) throws {
        while flock(lockFD, operation) != 0 {
            if errno != EINTR { throw StoreError.errno("flock") }
        }
        lockDepth += 1
        heldOperation = operation
    }

    private func releaseLock() {
        lockDepth -= 1
        flock(lockFD, LOCK_UN)
    }

    func journalPath(_ generation: Int) -> String { Generation.journalPath(directory, generation) }

    // MARK: recovery

    /// Opening (or repairing) under the exclusive lock. The head names the generation; nothing is
    /// chosen by file names. The journal is replayed up to its end: a bad or incomplete last line
    /// past the acknowledged length is a torn write (cut off and reported); anything damaged or
    /// missing inside the acknowledged length stops the open with the file and offset.
    private func recover() throws {
        if head.isFormatOne {
            try migrateFormatOne()
        } else if head.isBlank {
            try Recovery.requireNothingButGenerationZero(directory)
            var info = stat()
            if stat(journalPath(0), &info) == 0, info.st_size > 0 {
                recoveryNotes.append("store.head was blank: opened generation 0 from journal-0.jsonl")
            }
            head.publish(.init(generation: 0, committedLength: 0, epoch: 1))
            try head.sync()
        } else if head.isInitialized && head.isMidPublish {
            try repairInterruptedPublish()
        } else if !head.isInitialized || !head.checkValueMatches {
            throw StoreError.corrupt(
                file: "store.head", offset: 0, reason: "the head is damaged (check value mismatch)")
        }
        guard let published = head.read() else {
            throw StoreError.corrupt(file: "store.head", offset: 0, reason: "unreadable")
        }
        var notes: [String] = []
        // The start check reads the data and hint files whole only when they changed since the
        // last time it did (see VerifiedFiles).
        let alreadyVerified =
            options.checkOnly && options.verifyDataOnOpen
            && VerifiedFiles.unchanged(directory, generation: published.generation)
        let generation = try Generation.open(
            directory: directory, number: published.generation, definitions: definitions,
            options: .init(
                verifyData: options.verifyDataOnOpen && !alreadyVerified, persistRebuiltHint: true,
                verifyHintChecksum: !alreadyVerified),
            notes: &notes)
        if options.checkOnly && options.verifyDataOnOpen && !alreadyVerified {
            VerifiedFiles.record(directory, generation: published.generation, logger: logger)
        }
        recoveryNotes += notes
        let path = journalPath(published.generation)
        if !Files.exists(path) && published.committedLength > 0 {
            throw StoreError.corrupt(
                file: "journal-\(published.generation).jsonl", offset: 0,
                reason: "the journal is missing; \(published.committedLength) bytes of it were acknowledged")
        }
        let fd = try Files.openShared(path, O_RDWR | O_CREAT)
        let fresh = StoreView(generation: generation, definitions: definitions)
        let scan: JournalScan
        do {
            scan = try JournalScan.run(
                fd: fd, name: "journal-\(published.generation).jsonl", from: 0, to: nil,
                into: options.checkOnly ? nil : fresh,
                lastSequence: generation.lastSequence, allowTornTail: true, parse: !options.checkOnly)
            try Recovery.requireAcknowledged(scan, published)
            if scan.tornBytes > 0 {
                guard ftruncate(fd, off_t(scan.validEnd)) == 0, fsync(fd) == 0 else {
                    throw StoreError.errno("truncate journal")
                }
                recoveryNotes.append(
                    "journal-\(published.generation).jsonl: ignored a torn last entry (\(scan.tornBytes) bytes at offset \(scan.validEnd), never acknowledged)"
                )
            }
        } catch {
            close(fd)
            throw error
        }
        if journalFD >= 0 { close(journalFD) }
        journalFD = fd
        journalFileSize = 0
        pendingSwitch = nil
        view = fresh
        attached = generation
        appliedLength = scan.validEnd
        appliedEpoch = published.epoch
        if scan.validEnd != published.committedLength {
            head.publish(
                .init(generation: published.generation, committedLength: scan.validEnd, epoch: published.epoch))
        }
        removeStaleFiles(current: published.generation)
    }

    /// A process was killed inside `publish` (we hold the exclusive lock, so it is not running):
    /// the head's fields are partly its new value and partly the one before, and the check value
    /// may match neither. Both values were safe to publish (a writer publishes a length only after
    /// its fsync; a switch publishes a generation only once its files are complete), so: the
    /// generation the head names if its files are there, its epoch from its own files, and no
    /// acknowledged length to hold the journal to; the replay then keeps every complete entry and
    /// cuts only a torn last one, and the head gets the length found.
    private func repairInterruptedPublish() throws {
        let fields = head.readFields()
        let generation = fields.generation
        guard generation >= 0, generation == 0 || Files.exists(Generation.dataPath(directory, generation)),
            Files.exists(journalPath(generation)) || generation == 0
        else {
            throw StoreError.corrupt(
                file: "store.head", offset: 0,
                reason: "a publish was interrupted and the generation it names (\(generation)) has no files")
        }
        var notes: [String] = []
        let epoch =
            generation == 0
            ? 1
            : try Generation.open(
                directory: directory, number: generation, definitions: definitions,
                options: .init(persistRebuiltHint: true),
                notes: &notes
            ).hint?.epoch ?? 1
        head.publish(.init(generation: generation, committedLength: 0, epoch: epoch))
        try head.sync()
        recoveryNotes.append(
            "store.head: a process died while publishing it; rebuilt from generation \(generation)'s files")
    }

    /// Files of other generations and temporaries: only when no compaction or restore is running
    /// (it holds `compact.lock` while it writes its files).
    private func removeStaleFiles(current: Int) {
        let compactLock = open(directory + "/compact.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o640)
        guard compactLock >= 0 else { return }
        defer { close(compactLock) }
        guard flock(compactLock, LOCK_EX | LOCK_NB) == 0 else { return }
        defer { flock(compactLock, LOCK_UN) }
        for name in Files.list(directory) {
            if Recovery.isStale(name, current: current, formatOne: false) {
                unlink(directory + "/" + name)
            }
        }
    }

    /// `attachUnlocked`, false when it failed: the caller falls back to doing it under a lock, which
    /// reports a real problem itself.
    private func attachedUnlocked() -> Bool {
        do { return try attachUnlocked() } catch {
            logger.debug(
                "attaching without the lock failed; trying under the lock", error: error,
                metadata: ["directory": .string(directory)])
            return false
        }
    }

    /// Maps the published generation without taking any lock. A generation's files are removed only
    /// after a newer one is published: a failure while the head stays the same is a real problem
    /// (thrown), one after the head moved on is retried against the new head.
    private func attachUnlocked() throws -> Bool {
        for _ in 0..<8 {
            guard let published = head.read() else { return false }
            do {
                try load(published, allowHintRebuild: false)
                return true
            } catch {
                guard let current = head.read(), current != published else { throw error }
            }
        }
        return false
    }

    /// Loads the published generation (after a compaction or restore elsewhere).
    private func load(_ published: StoreHead.Value, allowHintRebuild: Bool = true) throws {
        var notes: [String] = []
        let generation =
            published.generation == attached.number && published.epoch == appliedEpoch && attached.hint != nil
            ? attached
            : try Generation.open(
                directory: directory, number: published.generation, definitions: definitions,
                options: .init(allowHintRebuild: allowHintRebuild, verifyHintChecksum: allowHintRebuild), notes: &notes)
        let fd = try Files.openShared(journalPath(published.generation), O_RDWR)
        // After a compaction (same epoch) this view already holds what the new journal starts with:
        // it can keep serving, taking the new journal's entries past those it holds (the carried
        // ones are skipped by sequence), while a view of the new generation replays its journal a
        // slice at a time (`housekeep`). Otherwise the new view replays it now.
        let canMove =
            published.epoch == appliedEpoch && generation !== view.generation
            && generation.lastSequence <= view.lastSequence && generation.lastSequence >= view.generation.lastSequence
        let moveLater = canMove && options.incrementalSwitch && held == nil
        let fresh = moveLater ? view : StoreView(generation: generation, definitions: definitions)
        do {
            // The view kept serving holds the entries the journal starts with.
            let from =
                moveLater
                ? try JournalScan.lineStart(after: fresh.lastSequence, fd: fd, length: published.committedLength) : 0
            _ = try JournalScan.run(
                fd: fd, name: "journal-\(published.generation).jsonl", from: from, to: published.committedLength,
                into: fresh, lastSequence: fresh.lastSequence, allowTornTail: false)
        } catch {
            close(fd)
            throw error
        }
        if journalFD >= 0 { close(journalFD) }
        journalFD = fd
        journalFileSize = 0
        // A move to the generation before, overtaken: its view is freed in slices, as a replaced one.
        if let overtaken = pendingSwitch?.target { retire(overtaken) }
        pendingSwitch = nil
        if view !== fresh {
            retire(view)
            view = fresh
        }
        attached = generation
        appliedLength = published.committedLength
        appliedEpoch = published.epoch
        if moveLater {
            pendingSwitch = (StoreView(generation: generation, definitions: definitions), 0, monotonicMicroseconds())
        }
    }

    private func retire(_ old: StoreView) {
        retiredViews.append(old)
        // A process that writes without refreshing (a command, a benchmark) frees them here.
        if retiredViews.count > 2 { retiredViews.removeFirst() }
    }

    /// Replays a slice more of the new generation's journal into a pending switch's view (until
    /// `deadline`, or all of it when `.max`); once it holds what the serving view does, it replaces
    /// it. The serving view goes on taking new entries meanwhile, so the replay chases the journal's
    /// end: a slice replays several entries, a request writes at most one.
    private func advancePendingSwitch(deadline: Int = .max) throws {
        guard let (target, replayed, started) = pendingSwitch, held == nil, lockDepth == 0 else { return }
        let slice = deadline != .max
        let scan = try JournalScan.run(
            fd: journalFD, name: "journal-\(attached.number).jsonl", from: replayed, to: appliedLength,
            into: target, lastSequence: target.lastSequence, allowTornTail: false,
            maxBytes: slice ? options.switchJournalChunkBytes : nil, maxEntries: slice ? options.switchSlice : .max,
            deadline: deadline)
        guard scan.validEnd >= appliedLength else {
            pendingSwitch = (target, scan.validEnd, started)
            return
        }
        pendingSwitch = nil
        retire(view)
        view = target
        if slice {
            logger.info(
                "moved onto the compacted generation",
                metadata: [
                    "generation": "\(attached.number)", "journal_bytes": "\(appliedLength)",
                    "elapsed_ms": "\((monotonicMicroseconds() - started) / 1_000)",
                ])
        }
    }

    /// A pending switch finished now: for what works on the whole view at once (compaction,
    /// backup, restore, statistics).
    private func completePendingSwitch() throws {
        try advancePendingSwitch()
    }

    private func applyJournal(upTo length: Int) throws {
        let scan = try JournalScan.run(
            fd: journalFD, name: "journal-\(attached.number).jsonl", from: appliedLength, to: length,
            into: view, lastSequence: view.lastSequence, allowTornTail: false)
        appliedLength = scan.validEnd
    }

    /// Under the exclusive lock nobody is mid-append, so bytes past the published length are
    /// either a complete entry whose writer died after fsync but before publishing (kept: it is
    /// durable) or a torn one (cut off).
    private func catchUpHoldingExclusiveLock() throws {
        guard let published = head.read() else {
            try recover()
            return
        }
        if published.generation != attached.number || published.epoch != appliedEpoch
            || published.committedLength < appliedLength
        {
            // The same cheap attach as a reader's (hint entries are checked as they are used): a
            // whole-hint checksum here would hold every other writer up for tens of milliseconds.
            do { try load(published, allowHintRebuild: false) } catch {
                logger.warning(
                    "cannot attach the published generation; recovering it under the lock", error: error,
                    metadata: ["directory": .string(directory), "generation": "\(published.generation)"])
                try recover()
            }
        } else if published.committedLength > appliedLength {
            try applyJournal(upTo: published.committedLength)
        }
        guard try journalHasEntry(at: appliedLength) else { return }
        let scan = try JournalScan.run(
            fd: journalFD, name: "journal-\(attached.number).jsonl", from: appliedLength, to: nil,
            into: view, lastSequence: view.lastSequence, allowTornTail: true)
        if scan.tornBytes > 0 {
            guard ftruncate(journalFD, off_t(scan.validEnd)) == 0 else { throw StoreError.errno("truncate journal") }
            journalFileSize = 0
        }
        appliedLength = scan.validEnd
        head.publish(.init(generation: attached.number, committedLength: appliedLength, epoch: appliedEpoch))
    }

    // MARK: compaction

    /// Where a compaction stands, for logs and progress.
    public struct CompactionReport: Sendable {
        public var generation: Int
        public var records: Int
        public var dataBytes: Int
        public var carriedJournalBytes: Int
        public var lockedMicroseconds: Int
    }

    /// Merges the current generation and its journal into the next generation, off the request
    /// path: the new data and hint files are written without the store's lock (writers keep
    /// appending to the current journal); only the switch takes the exclusive lock, to carry over the
    /// journal entries written meanwhile and publish. Returns nil when another compaction or restore
    /// is running. A caller about to exit (the `store compact` command) passes `onSwitched`: called
    /// once the new generation is published and the old files are gone, instead of mapping the new
    /// generation into this process. What is left then is freeing the merge's memory, which (with
    /// the mapping) took a core for ~0.2 s at 100k records right when the workers move onto the new
    /// generation.
    @discardableResult
    public func compact(
        progress: ((Int, Int) -> Void)? = nil, onSwitched: (() -> Void)? = nil
    ) throws
        -> CompactionReport?
    {
        try requireFiles("compact")
        guard let compactLock = try acquireCompactionLock() else { return nil }
        defer { close(compactLock) }
        try refresh()
        try withLock(LOCK_EX) { try catchUpHoldingExclusiveLock() }
        try completePendingSwitch()
        let base = view
        let startGeneration = base.generation.number, startLength = appliedLength, epoch = appliedEpoch
        let next = startGeneration + 1
        let dataTemporary = Generation.dataPath(directory, next) + ".tmp"
        let hintTemporary = Generation.hintPath(directory, next) + ".tmp"
        let writer = try DataFileWriter.writeView(
            base, to: dataTemporary, generation: next, epoch: epoch, definitions: definitions,
            progress: progress)
        CrashPoint.reached("compact.data-written")
        do {
            let hint = writer.hint.build(
                generation: next, epoch: epoch, lastSequence: base.lastSequence, sequences: base.sequences,
                dataBytes: writer.written, dataCRC: writer.crc)
            try Files.writeAll(hint, to: hintTemporary, paced: true)
            CrashPoint.reached("compact.hint-written")
            let journal = try prepareNextGeneration(next, dataTemporary: dataTemporary, hintTemporary: hintTemporary)
            do {
                // Most of what was acknowledged since the merge began is copied without the lock,
                // so the locked part is a small tail and one fsync.
                var copied = startLength
                for _ in 0..<4 {
                    guard let published = head.read(), published.generation == startGeneration,
                        published.epoch == epoch,
                        published.committedLength - copied > 64 << 10
                    else { break }
                    try copyJournal(from: copied, to: published.committedLength, into: journal, paced: true)
                    copied = published.committedLength
                }
                // The writers that follow append into space the file already has (see `writeAhead`);
                // `write` goes on at the file's position, which `pwrite` leaves where it is.
                let chunk = options.journalPreallocationBytes
                if chunk > 0 {
                    try Files.writeAll(journal, [UInt8](repeating: 0, count: chunk), at: copied - startLength)
                }
                guard fdatasync(journal) == 0 else { throw StoreError.errno("fdatasync journal-\(next).jsonl") }
                let report = try withLock(LOCK_EX) { () throws -> CompactionReport in
                    let started = monotonicMicroseconds()
                    guard let published = head.read(), published.generation == startGeneration,
                        published.epoch == epoch,
                        published.committedLength >= copied
                    else {
                        throw StoreError.system(
                            "the store changed generation during the compaction (a restore?); nothing was switched")
                    }
                    var end = published.committedLength
                    // Bytes past the acknowledged length: a writer died after its fsync but before
                    // publishing (rare). Catching up keeps such an entry (it is durable) and cuts a torn one.
                    if try journalHasEntry(at: end) {
                        try catchUpHoldingExclusiveLock()
                        end = appliedLength
                    }
                    // The entries themselves are copied, not applied: this process has no use for them.
                    try copyJournal(from: copied, to: end, into: journal)
                    // fdatasync: the file, its name and its size were synced before the lock; under it
                    // only the tail's bytes (and the size, if they outgrew the zeros) need to be.
                    guard fdatasync(journal) == 0 else { throw StoreError.errno("fdatasync journal-\(next).jsonl") }
                    CrashPoint.reached("switch.journal-written")
                    try publishNextGeneration(next, epoch: epoch, journalLength: end - startLength)
                    return CompactionReport(
                        generation: next, records: writer.records, dataBytes: writer.written,
                        carriedJournalBytes: end - startLength, lockedMicroseconds: monotonicMicroseconds() - started)
                }
                close(journal)
                removeGeneration(startGeneration)
                // Files this process wrote whole, with the data file's CRC computed as it went:
                // the next start need not read them again to trust them.
                VerifiedFiles.record(directory, generation: next, logger: logger)
                if let onSwitched {
                    onSwitched()
                } else {
                    try refresh()  // this process maps the new generation too, outside the lock
                }
                return report
            } catch {
                close(journal)
                if head.read()?.generation != next { removeGeneration(next) }
                throw error
            }
        } catch {
            unlink(dataTemporary)
            unlink(hintTemporary)
            throw error
        }
    }

    /// Without the store's lock (the head still names the current generation, so recovery would
    /// remove these files after a crash): the data and hint files take their names, the folder is
    /// fsynced, and the next journal is created. Returns the journal's descriptor.
    private func prepareNextGeneration(_ next: Int, dataTemporary: String, hintTemporary: String) throws -> Int32 {
        guard rename(dataTemporary, Generation.dataPath(directory, next)) == 0 else {
            throw StoreError.errno("rename data-\(next).jsonl")
        }
        CrashPoint.reached("switch.data-renamed")
        guard rename(hintTemporary, Generation.hintPath(directory, next)) == 0 else {
            unlink(Generation.dataPath(directory, next))
            throw StoreError.errno("rename hint-\(next).bin")
        }
        CrashPoint.reached("switch.hint-renamed")
        let journal: Int32
        do {
            journal = try Files.openOrThrow(journalPath(next), O_RDWR | O_CREAT | O_TRUNC)
            try Files.fsyncDirectory(directory)
        } catch {
            removeGeneration(next)
            throw error
        }
        CrashPoint.reached("switch.folder-synced")
        return journal
    }

    /// `paced` (outside the lock): synced a MiB at a time with a pause after each sync, as the merge's
    /// files are. The entries written during a merge are several MB at 100k records; written and
    /// synced at once, that flush held every writer's journal fsync (and so the write lock) for
    /// tens of milliseconds right before the switch.
    private func copyJournal(from start: Int, to end: Int, into journal: Int32, paced: Bool = false) throws {
        var offset = start
        while offset < end {
            let chunkEnd = paced ? min(end, offset + DataFileWriter.syncEvery) : end
            let bytes = try Files.read(journalFD, from: offset, count: chunkEnd - offset)
            guard bytes.count == chunkEnd - offset else {
                throw StoreError.system("journal shrank during the compaction")
            }
            try Files.writeAll(journal, bytes)
            if paced {
                let started = monotonicMicroseconds()
                guard fdatasync(journal) == 0 else { throw StoreError.errno("fdatasync the next journal") }
                Files.pauseAfterSync(took: monotonicMicroseconds() - started)
            }
            offset = chunkEnd
        }
    }

    /// Under the exclusive lock, with the next generation's files complete and fsynced: publish,
    /// then msync the head. A crash before the publish leaves the head naming the old generation,
    /// whose files are all still there; after it, the new generation is complete. This process maps
    /// the new generation on its next refresh, outside the lock, as every other process does.
    private func publishNextGeneration(_ next: Int, epoch: Int, journalLength: Int) throws {
        head.publish(.init(generation: next, committedLength: journalLength, epoch: epoch))
        CrashPoint.reached("switch.published")
        try head.sync()
        CrashPoint.reached("switch.head-synced")
    }

    /// A replaced generation's files (after its successor is published and synced), or an
    /// unpublished one's (after a failure). Readers still mapping them keep their pages.
    private func removeGeneration(_ generation: Int) {
        unlink(journalPath(generation))
        CrashPoint.reached("switch.old-journal-removed")
        unlink(Generation.dataPath(directory, generation))
        unlink(Generation.hintPath(directory, generation))
        unlink(directory + "/snapshot-\(generation).jsonl")
    }

    private func acquireCompactionLock() throws -> Int32? {
        let fd = try Files.openOrThrow(directory + "/compact.lock", O_RDWR | O_CREAT)
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            return nil
        }
        return fd
    }

    // MARK: admin

    /// A consistent copy of the whole store in data file format, taken while the server runs:
    /// the view it copies keeps its files mapped even if a compaction replaces them meanwhile.
    public func backup(to path: String, progress: ((Int, Int) -> Void)? = nil) throws {
        try requireFiles("backup")
        try refresh()
        try completePendingSwitch()
        let temporary = path + ".tmp"
        _ = try DataFileWriter.writeView(
            view, to: temporary, generation: view.generation.number, epoch: appliedEpoch,
            definitions: [:], progress: progress)
        guard rename(temporary, path) == 0 else {
            unlink(temporary)
            throw StoreError.errno("rename \(path)")
        }
        let folder = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
        try Files.fsyncDirectory(folder.isEmpty ? "/" : folder)
    }

    /// Replaces the store's content with a backup, atomically and safely while workers run: the
    /// backup becomes the next generation with a new epoch, so every process reloads on its next
    /// request. The backup is checked whole before anything changes.
    public func restore(from path: String) throws {
        try requireFiles("restore")
        let backup = try MappedFile(path: path)
        guard let compactLock = try acquireCompactionLock() else {
            throw StoreError.system("a compaction or restore is running; retry when it is done")
        }
        defer { close(compactLock) }
        try refresh()
        try completePendingSwitch()
        let startGeneration = attached.number, epoch = appliedEpoch + 1, next = startGeneration + 1
        let dataTemporary = Generation.dataPath(directory, next) + ".tmp"
        let hintTemporary = Generation.hintPath(directory, next) + ".tmp"
        var pending: DataFileWriter? = nil
        do {
            pending = try DataFileWriter(path: dataTemporary, definitions: definitions)
            var writer = pending!
            defer { pending = writer }
            var records: [(String, String, HintCollection.Location, JSON)] = []
            let header = try DataFileReader.scan(backup) { records.append(($0, $1, $2, $3)) }
            try writer.header(
                generation: next, epoch: epoch, sequence: header.sequence, sequences: header.sequences,
                records: records.count)
            for (collection, id, location, value) in records {
                let line = backup.slice(location.lineOffset, location.lineLength)
                let collectionDefinitions = definitions[collection] ?? []
                try writer.copy(
                    line: line, collection: collection, id: id, valueStart: location.valueStart,
                    keys: collectionDefinitions.map { $0.keys(value) },
                    orders: collectionDefinitions.map { $0.order?(value) })
            }
            try writer.finish()
            CrashPoint.reached("restore.data-written")
            let hint = writer.hint.build(
                generation: next, epoch: epoch, lastSequence: header.sequence, sequences: header.sequences,
                dataBytes: writer.written, dataCRC: writer.crc)
            try Files.writeAll(hint, to: hintTemporary, paced: true)
            CrashPoint.reached("restore.hint-written")
            let journal = try prepareNextGeneration(next, dataTemporary: dataTemporary, hintTemporary: hintTemporary)
            defer { close(journal) }
            do {
                guard fsync(journal) == 0 else { throw StoreError.errno("fsync journal-\(next).jsonl") }
                CrashPoint.reached("switch.journal-written")
                try withLock(LOCK_EX) {
                    try catchUpHoldingExclusiveLock()
                    guard attached.number == startGeneration else {
                        throw StoreError.system("the store changed generation during the restore")
                    }
                    try publishNextGeneration(next, epoch: epoch, journalLength: 0)
                }
            } catch {
                if head.read()?.generation != next { removeGeneration(next) }
                throw error
            }
            removeGeneration(startGeneration)
            VerifiedFiles.record(directory, generation: next, logger: logger)
            try refresh()
        } catch {
            pending?.abandon()
            unlink(dataTemporary)
            unlink(hintTemporary)
            throw error
        }
    }

    public struct Statistics: Sendable {
        public var generation: Int
        public var epoch: Int
        public var lastSequence: Int
        public var records: [String: Int]
        public var journalBytes: Int
        public var dataBytes: Int
        public var hintBytes: Int

        public init(
            generation: Int, epoch: Int, lastSequence: Int, records: [String: Int], journalBytes: Int, dataBytes: Int,
            hintBytes: Int
        ) {
            self.generation = generation
            self.epoch = epoch
            self.lastSequence = lastSequence
            self.records = records
            self.journalBytes = journalBytes
            self.dataBytes = dataBytes
            self.hintBytes = hintBytes
        }
    }

    /// The JSON files' own admin calls (compaction, backup files, restore) on another engine: refused
    /// with what to use instead.
    private func requireFiles(_ what: String) throws {
        guard engine == nil else {
            throw StoreError.system(
                "store \(what) works on the JSON store's files; on \(directory) use `partnerships store migrate` (see docs/store-postgres.md)"
            )
        }
    }

    public func statistics() throws -> Statistics {
        if let engine { return try engine.statistics() }
        try refresh()
        try completePendingSwitch()
        var records: [String: Int] = [:]
        for name in view.collectionNames { records[name] = view.count(name) }
        return Statistics(
            generation: view.generation.number, epoch: appliedEpoch, lastSequence: view.lastSequence, records: records,
            journalBytes: appliedLength, dataBytes: view.generation.data?.size ?? 0,
            hintBytes: view.generation.hint?.file.size ?? 0)
    }

    // MARK: format 1

    /// The first store kept `snapshot-<g>.jsonl` (same lines as a data file) and a format-1 head.
    /// Its snapshot becomes generation g's data file (a hard link, so a worker of the old release
    /// still running during a reload keeps its file), a hint is built, the head is rewritten.
    private func migrateFormatOne() throws {
        guard let published = head.read() else {
            throw StoreError.corrupt(file: "store.head", offset: 0, reason: "unreadable format-1 head")
        }
        let g = published.generation
        let snapshot = "\(directory)/snapshot-\(g).jsonl"
        if g > 0 {
            guard Files.exists(snapshot) || Files.exists(Generation.dataPath(directory, g)) else {
                throw StoreError.corrupt(
                    file: "snapshot-\(g).jsonl", offset: 0, reason: "the format-1 head names a snapshot that is missing"
                )
            }
            if !Files.exists(Generation.dataPath(directory, g)) {
                guard link(snapshot, Generation.dataPath(directory, g)) == 0 else {
                    throw StoreError.errno("link snapshot-\(g).jsonl")
                }
                try Files.fsyncDirectory(directory)
            }
        }
        head.publish(published)
        try head.sync()
        recoveryNotes.append(
            "migrated a format-1 store (generation \(g)): snapshot-\(g).jsonl is now data-\(g).jsonl, with a hint file")
    }
}

/// A write in progress: reads see the store's fresh view plus this transaction's own changes.
public struct Transaction {
    private let view: any StoreReader
    private var overlay: [String: [String: JSON]] = [:]
    private var deleted: [String: Set<String>] = [:]
    private var sequenceOverlay: [String: Int] = [:]
    /// This transaction's puts under each index key (collection -> index -> key -> ids, in put
    /// order), kept as they happen: a lookup inside a big transaction (an import checking each
    /// row's uniqueness) costs the rows under its key, not a pass over every row put so far.
    private var pendingIDs: [String: [String: [String: [String]]]] = [:]
    /// The index keys each pending record was filed under (collection -> id -> index -> keys).
    private var pendingKeys: [String: [String: [String: [String]]]] = [:]
    public private(set) var operations: [JSON] = []

    init(view: any StoreReader) { self.view = view }

    public func get(_ collection: String, _ id: String) -> JSON? {
        if let value = overlay[collection]?[id] { return value }
        if deleted[collection]?.contains(id) == true { return nil }
        return view.get(collection, id)
    }

    public func count(_ collection: String) -> Int {
        let added = overlay[collection]?.keys.filter { !view.contains(collection, $0) }.count ?? 0
        let removed = deleted[collection]?.filter { view.contains(collection, $0) }.count ?? 0
        return view.count(collection) + added - removed
    }

    /// Tells the store which records this write is about to `get` (see `StoreReader.prefetch`):
    /// call it before the checks that read them one by one.
    public func prefetch(_ keys: [(collection: String, id: String)]) {
        view.prefetch(
            keys.filter { overlay[$0.collection]?[$0.id] == nil && deleted[$0.collection]?.contains($0.id) != true })
    }

    /// Index lookup that also sees this transaction's puts and deletes.
    public func lookup(_ collection: String, index: String, key: String) -> [String] {
        var ids = view.lookup(collection, index: index, key: key)
        let puts = overlay[collection] ?? [:]
        let gone = deleted[collection] ?? []
        guard !puts.isEmpty || !gone.isEmpty else { return ids }
        // The stored versions of records this transaction changed no longer count: their pending
        // versions (under whatever keys they have now) take their place.
        ids.removeAll { puts[$0] != nil || gone.contains($0) }
        return ids + (pendingIDs[collection]?[index]?[key] ?? [])
    }

    public mutating func put(_ collection: String, _ id: String, _ value: JSON) {
        unfile(collection, id)
        for definition in view.definitions[collection] ?? [] {
            var seen = Set<String>()
            let keys = definition.keys(value).filter { seen.insert($0).inserted }  // a record is listed once per key
            pendingKeys[collection, default: [:]][id, default: [:]][definition.name] = keys
            for key in keys {
                pendingIDs[collection, default: [:]][definition.name, default: [:]][key, default: []].append(id)
            }
        }
        overlay[collection, default: [:]][id] = value
        deleted[collection]?.remove(id)
        operations.append(["op": "put", "c": .string(collection), "id": .string(id), "v": value])
    }

    public mutating func delete(_ collection: String, _ id: String) {
        unfile(collection, id)
        overlay[collection]?[id] = nil
        deleted[collection, default: []].insert(id)
        operations.append(["op": "del", "c": .string(collection), "id": .string(id)])
    }

    /// Takes a pending record out of the index keys it was filed under (a second put of the same
    /// record in one transaction, or its delete).
    private mutating func unfile(_ collection: String, _ id: String) {
        guard let filed = pendingKeys[collection]?.removeValue(forKey: id) else { return }
        for (index, keys) in filed {
            for key in keys { pendingIDs[collection]?[index]?[key]?.removeAll { $0 == id } }
        }
    }

    /// The next value of a durable counter (1, 2, 3, ...): integer ids.
    public mutating func nextSequence(_ name: String) -> Int {
        let next = (sequenceOverlay[name] ?? view.sequenceValue(name) ?? 0) + 1
        sequenceOverlay[name] = next
        operations.append(["op": "seq", "name": .string(name), "v": .int(next)])
        return next
    }
}

/// `data-3.jsonl`, `hint-3.bin`, `journal-3.jsonl` (and their `.tmp`): which generation a file is of.
struct StoreFileName {
    let generation: Int

    init?(_ name: String) {
        var base = name
        if base.hasSuffix(".tmp") { base.removeLast(4) }
        for (prefix, suffix) in [("data-", ".jsonl"), ("hint-", ".bin"), ("journal-", ".jsonl")]
        where base.hasPrefix(prefix) && base.hasSuffix(suffix) {
            guard let number = Int(base.dropFirst(prefix.count).dropLast(suffix.count)) else { return nil }
            generation = number
            return
        }
        return nil
    }
}

func monotonicMicroseconds() -> Int {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return now.tv_sec * 1_000_000 + now.tv_nsec / 1_000
}

/// Named steps of compaction and restore where the crash tests stop the process (`_exit`, as a
/// kill -9 would) through `PARTNERSHIPS_STORE_CRASH_AT`: every step is enumerated, not sampled.
public enum CrashPoint {
    public static let all = [
        "compact.data-written", "compact.hint-written", "restore.data-written", "restore.hint-written",
        "switch.journal-written", "switch.data-renamed", "switch.hint-renamed", "switch.folder-synced",
        "switch.published", "switch.head-synced", "switch.old-journal-removed",
    ]
    private static let target: String? = getenv("PARTNERSHIPS_STORE_CRASH_AT").map { String(cString: $0) }

    @inline(__always) static func reached(_ name: String) {
        if let target, target == name { _exit(86) }
    }
}

/// The rules recovery applies, shared by an open (which acts on them) and `Store.verify` (which
/// only reports), so both say the same thing about the same files.
enum Recovery {
    /// A blank or missing head is accepted only for a folder holding nothing but generation 0.
    static func requireNothingButGenerationZero(_ directory: String) throws(StoreError) {
        let leftovers = Files.list(directory).filter {
            StoreFileName($0)?.generation ?? 0 > 0 || $0.hasPrefix("snapshot-")
        }
        guard leftovers.isEmpty else {
            throw StoreError.corrupt(
                file: "store.head", offset: 0,
                reason:
                    "the head is missing or blank while \(leftovers.sorted().joined(separator: ", ")) exist; it names the current generation, so the store cannot be opened without it"
            )
        }
    }

    /// Every acknowledged journal byte must have been read back whole.
    static func requireAcknowledged(_ scan: JournalScan, _ published: StoreHead.Value) throws(StoreError) {
        guard scan.validEnd < published.committedLength else { return }
        throw StoreError.corrupt(
            file: "journal-\(published.generation).jsonl", offset: scan.validEnd,
            reason: scan.tornBytes > 0
                ? "an acknowledged entry is damaged or cut (\(published.committedLength) bytes were acknowledged)"
                : scan.preallocatedBytes > 0
                    ? "zeros where acknowledged entries should be (\(published.committedLength) bytes were acknowledged)"
                    : "the journal is shorter than its acknowledged length (\(published.committedLength) bytes)")
    }

    /// Temporaries and files of other generations (a format-1 store keeps its snapshot until migrated).
    static func isStale(_ name: String, current: Int, formatOne: Bool) -> Bool {
        name.hasSuffix(".tmp") || (StoreFileName(name).map { $0.generation != current } ?? false)
            || (!formatOne && name.hasPrefix("snapshot-"))
    }
}

/// The reads one piece of work made (`Store.readLog`).
public final class StoreReadLog {
    public private(set) var dependencies: [StoreDependency] = []
    public init() {}
    func note(_ dependency: StoreDependency) { dependencies.append(dependency) }
}
