import CSystemShims
import JSON

#if canImport(Glibc)
    import Glibc
#endif

public enum StoreError: Error, CustomStringConvertible, Equatable {
    case system(String)
    /// Damage that recovery must not paper over: the server refuses to start on it.
    case corrupt(file: String, offset: Int, reason: String)
    case malformedOperation
    case notAStoreFile(String)
    /// The disk is full: the write was not made (nothing was acknowledged).
    case diskFull(String)
    /// The folder holds no store (no `store.head`) and the open was told not to create one.
    case noStore(String)
    /// Another engine's database is unreachable (down, restarting, a lock not had in time): the
    /// request answers 503 and the next one tries again. What the engine's client said.
    case unavailable(String)

    public var description: String {
        switch self {
        case .system(let text): return text
        case .corrupt(let file, let offset, let reason):
            return
                "store file \(file) is damaged at byte \(offset) (\(reason)); restore a backup (partnerships store restore) or repair it"
        case .malformedOperation: return "a journal entry holds an operation this version does not understand"
        case .notAStoreFile(let path): return "\(path) is not a store data file or backup"
        case .diskFull(let what): return "no space left on the store's disk (\(what)); the write was not made"
        case .noStore(let directory): return "there is no store in \(directory) (no \(Store.headFileName) there)"
        case .unavailable(let what): return "the store's database is unavailable (\(what)); try again later"
        }
    }

    static func errno(_ what: String) -> StoreError {
        if Glibc.errno == ENOSPC || Glibc.errno == EDQUOT { return .diskFull(what) }
        return .system("\(what): \(String(cString: strerror(Glibc.errno)))")
    }
}

/// Small POSIX file helpers: the store needs exact control over fsync and rename ordering.
enum Files {
    static func openOrThrow(_ path: String, _ flags: Int32, _ mode: mode_t = 0o640) throws(StoreError) -> Int32 {
        let fd = open(path, flags | O_CLOEXEC, mode)
        guard fd >= 0 else { throw StoreError.errno("open \(path)") }
        return fd
    }

    /// Opens a store file to map or read it for a while, holding a shared `flock` on the descriptor
    /// until it is closed: what tells `ReplacedFiles` that a replaced file is still in use. A file
    /// already being given back (its exclusive lock taken) is one a newer generation replaced: the
    /// caller retries against the new head.
    static func openShared(_ path: String, _ flags: Int32, _ mode: mode_t = 0o640) throws(StoreError) -> Int32 {
        let fd = try openOrThrow(path, flags, mode)
        while flock(fd, LOCK_SH | LOCK_NB) != 0 {
            if Glibc.errno == EINTR { continue }
            let reason =
                Glibc.errno == EWOULDBLOCK
                ? "replaced, being given back to the disk" : String(cString: strerror(Glibc.errno))
            close(fd)
            throw StoreError.system("flock \(path): \(reason)")
        }
        return fd
    }

    static func size(_ fd: Int32) throws(StoreError) -> Int {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw StoreError.errno("fstat") }
        return Int(info.st_size)
    }

    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8], at offset: Int? = nil) throws(StoreError) {
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { raw -> Int in
                let base = raw.baseAddress!.advanced(by: written)
                if let offset { return pwrite(fd, base, raw.count - written, off_t(offset + written)) }
                return write(fd, base, raw.count - written)
            }
            if n < 0 {
                if Glibc.errno == EINTR { continue }
                throw StoreError.errno("write")
            }
            written += n
        }
    }

    static func readAll(_ path: String) throws(StoreError) -> [UInt8] {
        let fd = try openOrThrow(path, O_RDONLY)
        defer { close(fd) }
        return try read(fd, from: 0, count: try size(fd))
    }

    static func read(_ fd: Int32, from offset: Int, count: Int) throws(StoreError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            let n = buffer.withUnsafeMutableBytes {
                pread(fd, $0.baseAddress!.advanced(by: got), count - got, off_t(offset + got))
            }
            if n < 0 {
                if Glibc.errno == EINTR { continue }
                throw StoreError.errno("read")
            }
            if n == 0 { break }
            got += n
        }
        if got < count { buffer.removeLast(count - got) }
        return buffer
    }

    static func readWhole(_ path: String) throws(StoreError) -> [UInt8] {
        let fd = try openOrThrow(path, O_RDONLY)
        defer { close(fd) }
        return try read(fd, from: 0, count: try size(fd))
    }

    static func fsyncDirectory(_ path: String) throws(StoreError) {
        let fd = try openOrThrow(path, O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw StoreError.errno("fsync \(path)") }
    }

    static func list(_ directory: String) -> [String] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Writes and fsyncs a new file, syncing every few MiB (see `DataFileWriter.syncEvery`).
    /// Written and synced a MiB at a time; `paced` (a compaction's or restore's files, written beside
    /// a live server) also pauses after each sync (see `pauseAfterSync`).
    static func writeAll(_ bytes: [UInt8], to path: String, paced: Bool = false) throws(StoreError) {
        let fd = try openOrThrow(path, O_WRONLY | O_CREAT | O_TRUNC)
        defer { close(fd) }
        var offset = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + DataFileWriter.syncEvery)
            try writeAll(fd, Array(bytes[offset..<end]))
            let started = monotonicMicroseconds()
            guard fdatasync(fd) == 0 else { throw StoreError.errno("fdatasync \(path)") }
            if paced { pauseAfterSync(took: monotonicMicroseconds() - started) }
            offset = end
        }
        guard fsync(fd) == 0 else { throw StoreError.errno("fsync \(path)") }
    }

    /// Leaves the disk to the workers' journal fsyncs for a while after a merge's own sync: each of
    /// them holds the write lock while it waits, so every millisecond a merge adds to an fsync is a
    /// millisecond every writer waits. A merge yields about twice the time its own syncs take.
    static func pauseAfterSync(took microseconds: Int) {
        let pause = min(microseconds * 2, 50_000)
        var request = timespec(tv_sec: 0, tv_nsec: pause * 1_000), remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && Glibc.errno == EINTR { request = remaining }
    }

    /// temp file (written and fsynced), rename, fsync the folder: the file is there whole or not at all.
    static func writeDurably(_ bytes: [UInt8], to path: String, directory: String) throws(StoreError) {
        let temporary = path + ".tmp"
        do throws(StoreError) {
            try writeAll(bytes, to: temporary)
        } catch {
            unlink(temporary)
            throw error
        }
        guard rename(temporary, path) == 0 else {
            unlink(temporary)
            throw StoreError.errno("rename \(temporary)")
        }
        try fsyncDirectory(directory)
    }

    static func makeDirectory(_ path: String) throws(StoreError) {
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            current += "/" + component
            if mkdir(current, 0o750) != 0 && Glibc.errno != EEXIST { throw StoreError.errno("mkdir \(current)") }
        }
    }
}

/// The head: a small file every process maps shared. It names the current generation (the one
/// data + hint + journal set that recovery trusts), how many journal bytes are acknowledged
/// (written and fsynced) and the epoch (bumped by a restore, which replaces history). Writers change
/// it only under the exclusive lock; readers read it without any lock or syscall through a seqlock,
/// so a request that finds nothing new costs a few memory loads. A generation switch is msynced
/// before the files it replaces are removed, so after a power loss the head names files that exist.
///
/// Slots (Int64): 0 magic, 1 seqlock, 2 generation, 3 acknowledged length, 4 epoch, 5 check value.
final class StoreHead {
    static let magic: Int64 = 0x5354_4F52_4548_4432  // "STOREHD2": this layout (with a check value)
    /// The first store format's head (snapshot-<g>.jsonl + journal): opened once to migrate.
    static let formatOneMagic: Int64 = 0x5354_4F52_4548_4431  // "STOREHD1"
    private let base: UnsafeMutablePointer<Int64>
    let path: String

    struct Value: Equatable {
        var generation: Int
        var committedLength: Int
        var epoch: Int
    }

    init(path: String) throws(StoreError) {
        self.path = path
        let fd = try Files.openOrThrow(path, O_RDWR | O_CREAT)
        defer { close(fd) }
        if try Files.size(fd) < 4096 {
            guard ftruncate(fd, 4096) == 0 else { throw StoreError.errno("ftruncate head") }
        }
        guard let mapped = mmap(nil, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), mapped != MAP_FAILED else {
            throw StoreError.errno("mmap head")
        }
        base = mapped.assumingMemoryBound(to: Int64.self)
    }

    deinit { munmap(base, 4096) }

    var magicValue: Int64 { partnerships_atomic_load(base) }
    var isInitialized: Bool { magicValue == Self.magic }
    var isFormatOne: Bool { magicValue == Self.formatOneMagic }
    var isBlank: Bool { (0..<8).allSatisfy { partnerships_atomic_load(base + $0) == 0 } }

    /// nil when a publish stays half-done: its writer died between the two counter stores. The
    /// caller then repairs the head under the exclusive lock (see `Store.recover`).
    func read() -> Value? {
        for attempt in 0..<10_000 {
            let before = partnerships_atomic_load(base + 1)
            if before & 1 == 1 {
                if attempt > 100 { sched_yield() }
                continue
            }
            let value = Value(
                generation: Int(partnerships_atomic_load(base + 2)),
                committedLength: Int(partnerships_atomic_load(base + 3)),
                epoch: Int(partnerships_atomic_load(base + 4)))
            if partnerships_atomic_load(base + 1) == before { return value }
        }
        return nil
    }

    /// A publish was started and never finished: its writer died between the two sequence stores.
    var isMidPublish: Bool { partnerships_atomic_load(base + 1) & 1 == 1 }

    /// The fields as they are, whatever the sequence says (only for repairing a torn publish).
    func readFields() -> Value {
        Value(
            generation: Int(partnerships_atomic_load(base + 2)),
            committedLength: Int(partnerships_atomic_load(base + 3)),
            epoch: Int(partnerships_atomic_load(base + 4)))
    }

    /// Whether the stored check value matches the stored fields (a damaged head is refused on open).
    var checkValueMatches: Bool {
        guard let value = read() else { return false }
        return partnerships_atomic_load(base + 5) == Self.check(value)
    }

    static func check(_ value: Value) -> Int64 {
        var fields = [Int64(value.generation), Int64(value.committedLength), Int64(value.epoch), magic]
        return fields.withUnsafeMutableBytes { Int64(CRC32.checksum(UnsafeRawBufferPointer($0))) }
    }

    /// Only under the exclusive lock.
    func publish(_ value: Value) {
        // Even when stable; a dead writer may have left it odd, which the next publish repairs.
        let sequence = partnerships_atomic_load(base + 1) | 1
        partnerships_atomic_store(base + 1, sequence)
        partnerships_atomic_store(base + 2, Int64(value.generation))
        partnerships_atomic_store(base + 3, Int64(value.committedLength))
        partnerships_atomic_store(base + 4, Int64(value.epoch))
        partnerships_atomic_store(base + 5, Self.check(value))
        partnerships_atomic_store(base + 1, sequence + 1)
        partnerships_atomic_store(base, Self.magic)
    }

    /// Makes the head durable: after a generation switch, before the old generation's files go.
    func sync() throws(StoreError) {
        guard msync(base, 4096, MS_SYNC) == 0 else { throw StoreError.errno("msync \(path)") }
    }
}
