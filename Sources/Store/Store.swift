import JSON
#if canImport(Glibc)
import Glibc
#endif

public struct StoreOptions: Sendable {
    /// When the journal passes this size, the writer that crossed it writes a new snapshot and
    /// starts a new journal generation.
    public var compactionThreshold: Int
    /// fdatasync every write before acknowledging it. Only benchmarks and tests that do not test
    /// durability turn this off.
    public var fsync: Bool

    public init(compactionThreshold: Int = 32 << 20, fsync: Bool = true) {
        self.compactionThreshold = compactionThreshold
        self.fsync = fsync
    }
}

/// The file-locked JSON store shared by every worker process.
///
/// On disk (one folder): `snapshot-<generation>.jsonl` (absent for generation 0), the append-only
/// `journal-<generation>.jsonl`, `store.lock` (flock only, never replaced) and `store.head` (the
/// mmap'd head: current generation, acknowledged journal length, epoch). Every line of both files
/// is JSON carrying a CRC-32. See docs/store.md.
///
/// Each process keeps the whole state in memory. A write takes the exclusive lock, catches up,
/// checks its preconditions against the fresh state, appends one journal line, fsyncs, publishes
/// the new length in the head, and only then returns. Readers never lock: `refresh()` compares the
/// head with what they have applied and reads only the new journal bytes.
public final class Store {
    public let directory: String
    public let options: StoreOptions
    private var state: StoreState
    private let indexes: [IndexDefinition]
    private let head: StoreHead
    private let lockFD: Int32
    private var journalFD: Int32 = -1
    private var appliedGeneration = 0
    private var appliedLength = 0
    private var appliedEpoch = 1
    /// What recovery found and repaired when this process opened the store (e.g. a torn last line).
    public private(set) var recoveryNotes: [String] = []

    public init(directory: String, indexes: [IndexDefinition] = [], options: StoreOptions = StoreOptions()) throws {
        self.directory = directory
        self.options = options
        self.indexes = indexes
        self.state = StoreState(indexes: indexes)
        try Files.makeDirectory(directory)
        lockFD = try Files.openOrThrow(directory + "/store.lock", O_RDWR | O_CREAT)
        head = try StoreHead(path: directory + "/store.head")
        try withLock(LOCK_EX) { try recover() }
    }

    deinit {
        if journalFD >= 0 { close(journalFD) }
        close(lockFD)
    }

    // MARK: reading

    public var generation: UInt64 { UInt64(appliedGeneration) }
    public var lastSequence: Int { state.lastSeq }

    public func get(_ collection: String, _ id: String) -> JSON? { state.get(collection, id) }
    /// Every record of a collection, in creation order.
    public func all(_ collection: String) -> [JSON] { state.all(collection) }
    public func count(_ collection: String) -> Int { state.count(collection) }
    /// Ids under `key` in a secondary index, in creation order.
    public func lookup(_ collection: String, index: String, key: String) -> [String] {
        state.lookup(collection, index: index, key: key)
    }
    /// Records under `key` in a secondary index, in creation order.
    public func lookupRecords(_ collection: String, index: String, key: String) -> [JSON] {
        state.lookupValues(collection, index: index, key: key)
    }
    /// Visits the records under `key` in a secondary index in the index's order (see
    /// `IndexDefinition.order`; creation order without one), from the `offset`-th on, until `body`
    /// returns false, without copying them out: a page of a large list costs the records it reads,
    /// not the whole list. `descending` visits the largest order values first, records sharing a
    /// value in creation order (what a stable sort by that value, descending, gives).
    public func forEach(_ collection: String, index: String, key: String, descending: Bool = false, offset: Int = 0,
                        _ body: (JSON) throws -> Bool) rethrows {
        try state.forEach(collection, index: index, key: key, descending: descending, offset: offset, body)
    }
    public var collectionNames: [String] { state.collections.keys.sorted() }

    /// Catches up with the writes other processes acknowledged. Costs a few memory loads when
    /// nothing changed; reads only the new journal bytes when something did.
    public func refresh() throws {
        guard let published = head.read() else {
            try withLock(LOCK_EX) { try recover() }
            return
        }
        if published.generation == appliedGeneration && published.committedLength == appliedLength
            && published.epoch == appliedEpoch {
            return
        }
        if published.generation == appliedGeneration && published.epoch == appliedEpoch
            && published.committedLength > appliedLength {
            try applyJournal(upTo: published.committedLength)
            return
        }
        // A compaction or a restore happened: load the new generation under a shared lock, so no
        // compaction can remove its files while we read them.
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
        try withLock(LOCK_EX) { () throws -> T in
            try catchUpHoldingExclusiveLock()
            // The transaction shares the state's storage (copy-on-write). It must be gone before
            // the state is mutated below, or every write would copy the whole store.
            let (result, operations) = try { () throws -> (T, [JSON]) in
                var transaction = Transaction(base: state)
                let result = try body(&transaction)
                return (result, transaction.operations)
            }()
            guard !operations.isEmpty else { return result }
            let sequence = state.lastSeq + 1
            let line = LineCodec.encode(["seq": .int(sequence), "ops": .array(operations)])
            try Files.writeAll(journalFD, line, at: appliedLength)
            if options.fsync, fdatasync(journalFD) != 0 { throw StoreError.errno("fdatasync journal") }
            try state.apply(operations)
            state.lastSeq = sequence
            appliedLength += line.count
            head.publish(.init(generation: appliedGeneration, committedLength: appliedLength, epoch: appliedEpoch))
            if appliedLength > options.compactionThreshold { try compactHoldingExclusiveLock() }
            return result
        }
    }

    /// Writes a snapshot now and starts a new journal generation.
    public func compact() throws {
        try withLock(LOCK_EX) {
            try catchUpHoldingExclusiveLock()
            try compactHoldingExclusiveLock()
        }
    }

    // MARK: locking

    private func withLock<T>(_ operation: Int32, _ body: () throws -> T) throws -> T {
        while flock(lockFD, operation) != 0 {
            if errno != EINTR { throw StoreError.errno("flock") }
        }
        defer { flock(lockFD, LOCK_UN) }
        return try body()
    }

    // MARK: files

    func snapshotPath(_ generation: Int) -> String { "\(directory)/snapshot-\(generation).jsonl" }
    func journalPath(_ generation: Int) -> String { "\(directory)/journal-\(generation).jsonl" }

    static func generations(in directory: String, prefix: String) -> [Int] {
        Files.list(directory).compactMap { name in
            guard name.hasPrefix(prefix), name.hasSuffix(".jsonl") else { return nil }
            return Int(name.dropFirst(prefix.count).dropLast(6))
        }
    }

    /// Opening (or repairing) under the exclusive lock: the newest complete snapshot wins (a
    /// snapshot is renamed into place only once its journal exists), the journal is replayed, a torn
    /// last line is cut off and reported, anything damaged before the end stops us.
    private func recover() throws(StoreError) {
        let generation = Self.generations(in: directory, prefix: "snapshot-").max() ?? 0
        let epoch = head.isInitialized ? (head.read()?.epoch ?? 1) : 1
        var fresh = StoreState(indexes: indexes)
        if generation > 0 { try Snapshot.load(path: snapshotPath(generation), into: &fresh) }
        let fd = try Files.openOrThrow(journalPath(generation), O_RDWR | O_CREAT)
        let scan: JournalScan
        do {
            scan = try JournalScan.run(fd: fd, path: journalPath(generation), from: 0, to: nil, into: &fresh, allowTornTail: true)
        } catch {
            close(fd)
            throw error
        }
        if scan.tornBytes > 0 {
            guard ftruncate(fd, off_t(scan.validEnd)) == 0, fsync(fd) == 0 else { close(fd); throw StoreError.errno("truncate journal") }
            recoveryNotes.append("journal-\(generation).jsonl: ignored a torn last entry (\(scan.tornBytes) bytes at offset \(scan.validEnd))")
        }
        for stale in Files.list(directory) where Self.isStale(stale, current: generation) {
            unlink(directory + "/" + stale)
        }
        if journalFD >= 0 { close(journalFD) }
        journalFD = fd
        state = fresh
        appliedGeneration = generation
        appliedLength = scan.validEnd
        appliedEpoch = epoch
        head.publish(.init(generation: generation, committedLength: scan.validEnd, epoch: epoch))
    }

    static func isStale(_ name: String, current: Int) -> Bool {
        if name.hasSuffix(".tmp") { return true }
        for prefix in ["snapshot-", "journal-"] where name.hasPrefix(prefix) && name.hasSuffix(".jsonl") {
            if let generation = Int(name.dropFirst(prefix.count).dropLast(6)), generation != current { return true }
        }
        return false
    }

    /// Loads the published generation from scratch (after a compaction or restore elsewhere).
    private func load(_ published: StoreHead.Value) throws(StoreError) {
        var fresh = StoreState(indexes: indexes)
        if published.generation > 0 { try Snapshot.load(path: snapshotPath(published.generation), into: &fresh) }
        let fd = try Files.openOrThrow(journalPath(published.generation), O_RDWR | O_CREAT)
        do {
            _ = try JournalScan.run(fd: fd, path: journalPath(published.generation), from: 0, to: published.committedLength,
                                    into: &fresh, allowTornTail: false)
        } catch {
            close(fd)
            throw error
        }
        if journalFD >= 0 { close(journalFD) }
        journalFD = fd
        state = fresh
        appliedGeneration = published.generation
        appliedLength = published.committedLength
        appliedEpoch = published.epoch
    }

    private func applyJournal(upTo length: Int) throws(StoreError) {
        let scan = try JournalScan.run(fd: journalFD, path: journalPath(appliedGeneration), from: appliedLength, to: length,
                                       into: &state, allowTornTail: false)
        appliedLength = scan.validEnd
    }

    /// Under the exclusive lock nobody is mid-append, so bytes past the published length are
    /// either a complete entry whose writer died after fsync but before publishing (kept: it is
    /// durable) or a torn one (cut off).
    private func catchUpHoldingExclusiveLock() throws(StoreError) {
        guard let published = head.read() else { try recover(); return }
        if published.generation != appliedGeneration || published.epoch != appliedEpoch || published.committedLength < appliedLength {
            try load(published)
        } else if published.committedLength > appliedLength {
            try applyJournal(upTo: published.committedLength)
        }
        let size = try Files.size(journalFD)
        guard size > appliedLength else { return }
        let scan = try JournalScan.run(fd: journalFD, path: journalPath(appliedGeneration), from: appliedLength, to: nil,
                                       into: &state, allowTornTail: true)
        if scan.tornBytes > 0 {
            guard ftruncate(journalFD, off_t(scan.validEnd)) == 0 else { throw StoreError.errno("truncate journal") }
        }
        appliedLength = scan.validEnd
        head.publish(.init(generation: appliedGeneration, committedLength: appliedLength, epoch: appliedEpoch))
    }

    /// New snapshot (temp file, fsync), new empty journal (fsync), rename, fsync the folder, then
    /// publish. A crash at any point leaves either the old generation or the new one complete.
    private func compactHoldingExclusiveLock() throws(StoreError) {
        let next = appliedGeneration + 1
        let temporary = snapshotPath(next) + ".tmp"
        try Snapshot.write(state, generation: next, epoch: appliedEpoch, to: temporary)
        let newJournal = try Files.openOrThrow(journalPath(next), O_RDWR | O_CREAT | O_TRUNC)
        guard fsync(newJournal) == 0 else { close(newJournal); throw StoreError.errno("fsync journal") }
        guard rename(temporary, snapshotPath(next)) == 0 else { close(newJournal); throw StoreError.errno("rename snapshot") }
        try Files.fsyncDirectory(directory)
        let previous = appliedGeneration
        head.publish(.init(generation: next, committedLength: 0, epoch: appliedEpoch))
        close(journalFD)
        journalFD = newJournal
        appliedGeneration = next
        appliedLength = 0
        unlink(snapshotPath(previous))
        unlink(journalPath(previous))
    }

    // MARK: admin

    /// A consistent copy of the whole store in snapshot format, taken while the server runs.
    public func backup(to path: String) throws {
        try refresh()
        let temporary = path + ".tmp"
        try Snapshot.write(state, generation: appliedGeneration, epoch: appliedEpoch, to: temporary)
        guard rename(temporary, path) == 0 else { throw StoreError.errno("rename \(path)") }
    }

    /// Replaces the store's content with a backup, atomically and safely while workers run: the
    /// backup becomes the next generation's snapshot and the epoch changes, so every process
    /// reloads on its next request.
    public func restore(from path: String) throws {
        var restored = StoreState(indexes: indexes)
        try Snapshot.load(path: path, into: &restored)  // refuse a damaged backup before touching anything
        try withLock(LOCK_EX) {
            try catchUpHoldingExclusiveLock()
            let next = appliedGeneration + 1
            let temporary = snapshotPath(next) + ".tmp"
            try Snapshot.write(restored, generation: next, epoch: appliedEpoch + 1, to: temporary)
            let newJournal = try Files.openOrThrow(journalPath(next), O_RDWR | O_CREAT | O_TRUNC)
            guard fsync(newJournal) == 0 else { close(newJournal); throw StoreError.errno("fsync journal") }
            guard rename(temporary, snapshotPath(next)) == 0 else { close(newJournal); throw StoreError.errno("rename snapshot") }
            try Files.fsyncDirectory(directory)
            let previous = appliedGeneration
            head.publish(.init(generation: next, committedLength: 0, epoch: appliedEpoch + 1))
            close(journalFD)
            journalFD = newJournal
            state = restored
            appliedGeneration = next
            appliedLength = 0
            appliedEpoch += 1
            unlink(snapshotPath(previous))
            unlink(journalPath(previous))
        }
    }

    public struct Statistics: Sendable {
        public var generation: Int
        public var epoch: Int
        public var lastSequence: Int
        public var records: [String: Int]
        public var journalBytes: Int
        public var snapshotBytes: Int
    }

    public func statistics() throws -> Statistics {
        try refresh()
        var snapshotBytes = 0
        if appliedGeneration > 0 {
            var info = stat()
            if stat(snapshotPath(appliedGeneration), &info) == 0 { snapshotBytes = Int(info.st_size) }
        }
        return Statistics(generation: appliedGeneration, epoch: appliedEpoch, lastSequence: state.lastSeq,
                          records: state.collections.mapValues(\.liveCount), journalBytes: appliedLength,
                          snapshotBytes: snapshotBytes)
    }

    /// Checks every line of the current snapshot and journal without changing anything.
    public static func verify(directory: String) -> (problems: [String], notes: [String]) {
        var notes: [String] = []
        let generation = generations(in: directory, prefix: "snapshot-").max() ?? 0
        var state = StoreState(indexes: [])
        do {
            if generation > 0 {
                try Snapshot.load(path: "\(directory)/snapshot-\(generation).jsonl", into: &state)
                notes.append("snapshot-\(generation).jsonl: \(state.collections.values.reduce(0) { $0 + $1.liveCount }) records, sequence \(state.lastSeq)")
            }
            let path = "\(directory)/journal-\(generation).jsonl"
            if Files.exists(path) {
                let fd = try Files.openOrThrow(path, O_RDONLY)
                defer { close(fd) }
                let before = state.lastSeq
                let scan = try JournalScan.run(fd: fd, path: path, from: 0, to: nil, into: &state, allowTornTail: true)
                notes.append("journal-\(generation).jsonl: \(state.lastSeq - before) entries, \(scan.validEnd) bytes")
                if scan.tornBytes > 0 {
                    notes.append("journal-\(generation).jsonl: torn last entry (\(scan.tornBytes) bytes), dropped on next open")
                }
            }
            let total = state.collections.values.reduce(0) { $0 + $1.liveCount }
            notes.append("generation \(generation), \(total) records in \(state.collections.count) collections")
            return ([], notes)
        } catch {
            return ([String(describing: error)], notes)
        }
    }
}

/// A write in progress: reads see the store's fresh state plus this transaction's own changes.
public struct Transaction {
    private let base: StoreState
    private var overlay: [String: [String: JSON]] = [:]
    private var deleted: [String: Set<String>] = [:]
    private var sequenceOverlay: [String: Int] = [:]
    public private(set) var operations: [JSON] = []

    init(base: StoreState) { self.base = base }

    public func get(_ collection: String, _ id: String) -> JSON? {
        if let value = overlay[collection]?[id] { return value }
        if deleted[collection]?.contains(id) == true { return nil }
        return base.get(collection, id)
    }

    public func count(_ collection: String) -> Int {
        let added = overlay[collection]?.keys.filter { base.get(collection, $0) == nil }.count ?? 0
        let removed = deleted[collection]?.filter { base.get(collection, $0) != nil }.count ?? 0
        return base.count(collection) + added - removed
    }

    /// Index lookup that also sees this transaction's puts and deletes.
    public func lookup(_ collection: String, index: String, key: String) -> [String] {
        var ids = base.lookup(collection, index: index, key: key)
        let touched = Set(overlay[collection]?.keys.map { $0 } ?? []).union(deleted[collection] ?? [])
        guard !touched.isEmpty else { return ids }
        ids.removeAll { touched.contains($0) }
        if let definition = base.indexDefinitions[collection]?.first(where: { $0.name == index }) {
            for (id, value) in overlay[collection] ?? [:] where definition.keys(value).contains(key) { ids.append(id) }
        }
        return ids
    }

    public mutating func put(_ collection: String, _ id: String, _ value: JSON) {
        overlay[collection, default: [:]][id] = value
        deleted[collection]?.remove(id)
        operations.append(["op": "put", "c": .string(collection), "id": .string(id), "v": value])
    }

    public mutating func delete(_ collection: String, _ id: String) {
        overlay[collection]?[id] = nil
        deleted[collection, default: []].insert(id)
        operations.append(["op": "del", "c": .string(collection), "id": .string(id)])
    }

    /// The next value of a durable counter (1, 2, 3, ...): integer ids.
    public mutating func nextSequence(_ name: String) -> Int {
        let next = (sequenceOverlay[name] ?? base.sequences[name] ?? 0) + 1
        sequenceOverlay[name] = next
        operations.append(["op": "seq", "name": .string(name), "v": .int(next)])
        return next
    }
}
