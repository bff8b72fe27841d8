import CSystemShims

#if canImport(Glibc)
    import Glibc
#endif

/// A small shared-memory table (an mmap'd file in the state folder), as Apache and PHP-FPM keep:
/// the supervisor owns the header and hands out slots; each worker writes only its own slot.
/// The supervisor reads it to find workers stuck past the request timeout, and the status page
/// reads it to show operators who is busy. Fields are aligned 8-byte words: single stores are
/// atomic on the platforms we run on, and a torn *pair* of fields is harmless for statistics.
/// Counters several workers update (slow requests, high-water marks) use atomic read-modify-writes.
///
/// Layout (revision 2): the revision 1 file (a 128-byte header, then 256-byte slots) is unchanged,
/// with the new pool figures in header words it left zero, and an extension table after the slots
/// (one 256-byte entry per slot: the last request's duration and text). So after an upgrade by
/// SIGHUP, the new workers still run under the old supervisor's file: the figures only the newer
/// supervisor writes read as unknown (`revision` < 2) until the next full restart.
public final class Scoreboard {
    public enum WorkerState: Int, Sendable {
        case empty = 0
        case starting, idle, busy, stopping

        public var name: String {
            switch self {
            case .empty: return "empty"
            case .starting: return "starting"
            case .idle: return "idle"
            case .busy: return "busy"
            case .stopping: return "stopping"
            }
        }
    }

    public struct Header: Sendable {
        public var supervisorPID: Int
        public var startedAt: Int
        public var crashRestarts: Int
        public var timeoutKills: Int
        public var recycles: Int
        public var reloads: Int
        public var generation: Int
        /// Requests served by workers that have since exited (live workers count in their slots).
        public var retiredRequests: Int
        /// The longest accept queue seen (the supervisor samples it every 100 ms; /status too).
        public var maxListenQueue: Int
        /// The most workers busy at once, as each worker counts when it starts a request.
        public var maxActiveProcesses: Int
        /// Requests whose start left no worker idle (nor starting): a connection arriving then waits.
        public var maxChildrenReached: Int
        /// Requests that ran at least `slowRequestMilliseconds` (finished, or killed at the timeout).
        public var slowRequests: Int
        /// The slow-request threshold the supervisor was given (0: not counted).
        public var slowRequestMilliseconds: Int
        /// 2 when the supervisor that made the file writes the fields above it writes (the max listen
        /// queue's sampling, the threshold) and the extension table; 0 for an older supervisor's file.
        public var revision: Int
    }

    public struct Slot: Sendable {
        public var index: Int
        public var pid: Int
        public var state: WorkerState
        public var generation: Int
        public var requests: Int
        /// CLOCK_MONOTONIC nanoseconds when the current request started (0 when idle).
        public var busySince: Int
        public var startedAt: Int
        /// The worker reached max_requests and asks to be replaced; it keeps serving until the
        /// supervisor has a replacement ready and tells it to leave.
        public var wantsReplacement: Bool
        /// The request in progress when busy; the last one otherwise (the text stays until the next).
        public var currentRequest: String
        /// How long the last finished request took (nanoseconds), and its method and URI; nil before
        /// the first one, or in an older supervisor's file (no extension table).
        public var lastRequestNanoseconds: Int?
        public var lastRequest: String?
    }

    static let magic: Int = 0x5041_5254_5342_0001  // "PARTSB" v1: revision 2 is a compatible superset
    static let revision = 2
    static let headerSize = 128
    static let slotSize = 256
    static let textOffset = 64
    /// Extension entry (revision 2): last request's duration, its text's length, then the text.
    static let lastTextOffset = 16

    public let slotCount: Int
    private let base: UnsafeMutableRawPointer
    private let length: Int
    /// Whether the file has the extension table (made by a supervisor of revision 2 or later).
    private let hasExtension: Bool

    /// Creates (supervisor) or opens (workers, status page) the scoreboard file.
    public init(path: String, slotCount: Int? = nil) throws {
        let creating = slotCount != nil
        let fd = open(path, creating ? (O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC) : (O_RDWR | O_CLOEXEC), 0o640)
        guard fd >= 0 else { throw SocketError("open scoreboard \(path)") }
        defer { close(fd) }
        var count = slotCount ?? 0
        var extended = creating
        if !creating {
            var header = [Int](repeating: 0, count: 2)
            guard pread(fd, &header, 16, 0) == 16, header[0] == Self.magic else {
                errno = EINVAL
                throw SocketError("scoreboard \(path) is not ours")
            }
            count = header[1]
            var info = stat()
            extended = fstat(fd, &info) == 0 && Int(info.st_size) >= Self.headerSize + 2 * count * Self.slotSize
        }
        hasExtension = extended
        length = Self.headerSize + (extended ? 2 : 1) * count * Self.slotSize
        if creating { guard ftruncate(fd, off_t(length)) == 0 else { throw SocketError("ftruncate scoreboard") } }
        guard let mapped = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), mapped != MAP_FAILED else {
            throw SocketError("mmap scoreboard")
        }
        base = mapped
        self.slotCount = count
        if creating {
            memset(base, 0, length)
            word(0, at: 0).pointee = 0
            word(0, at: 8).pointee = count
            word(0, at: 16).pointee = Int(getpid())
            word(0, at: 24).pointee = Int(time(nil))
            word(0, at: 64).pointee = 1
            word(0, at: 120).pointee = Self.revision
            word(0, at: 0).pointee = Self.magic
        }
    }

    deinit { munmap(base, length) }

    @inline(__always) private func word(_ slotBase: Int, at offset: Int) -> UnsafeMutablePointer<Int> {
        (base + slotBase + offset).assumingMemoryBound(to: Int.self)
    }
    @inline(__always) private func slotBase(_ index: Int) -> Int { Self.headerSize + index * Self.slotSize }
    @inline(__always) private func extensionBase(_ index: Int) -> Int {
        Self.headerSize + (slotCount + index) * Self.slotSize
    }
    @inline(__always) private func shared(_ offset: Int) -> UnsafeMutablePointer<Int64> {
        (base + offset).assumingMemoryBound(to: Int64.self)
    }

    public var header: Header {
        Header(
            supervisorPID: word(0, at: 16).pointee, startedAt: word(0, at: 24).pointee,
            crashRestarts: word(0, at: 32).pointee, timeoutKills: word(0, at: 40).pointee,
            recycles: word(0, at: 48).pointee, reloads: word(0, at: 56).pointee, generation: word(0, at: 64).pointee,
            retiredRequests: word(0, at: 72).pointee,
            maxListenQueue: Int(partnerships_atomic_load(shared(80))),
            maxActiveProcesses: Int(partnerships_atomic_load(shared(88))),
            maxChildrenReached: Int(partnerships_atomic_load(shared(96))),
            slowRequests: Int(partnerships_atomic_load(shared(104))),
            slowRequestMilliseconds: word(0, at: 112).pointee, revision: word(0, at: 120).pointee)
    }

    /// Counters only the supervisor writes.
    public enum Counter: Int {
        case crashRestarts = 32
        case timeoutKills = 40
        case recycles = 48
        case reloads = 56
        case generation = 64
        case retiredRequests = 72
    }

    public func increment(_ counter: Counter, by amount: Int = 1) { word(0, at: counter.rawValue).pointee += amount }

    /// Set by the supervisor once, before it starts any worker.
    public func setSlowRequestThreshold(milliseconds: Int) { word(0, at: 112).pointee = max(milliseconds, 0) }

    /// A sample of the accept queue's length (any process that can see the queue).
    public func noteListenQueue(_ length: Int) { partnerships_atomic_max(shared(80), Int64(length)) }

    /// A request killed at the timeout ran longer than any threshold below the timeout.
    public func noteSlowRequest() { partnerships_atomic_add(shared(104), 1) }

    public func slot(_ index: Int) -> Slot {
        let b = slotBase(index)
        let textLength = min(max(word(b, at: 56).pointee, 0), Self.slotSize - Self.textOffset)
        let text = String(
            decoding: UnsafeRawBufferPointer(start: base + b + Self.textOffset, count: textLength), as: UTF8.self)
        var lastNanoseconds: Int? = nil
        var lastText: String? = nil
        if hasExtension {
            let e = extensionBase(index)
            let lastLength = min(max(word(e, at: 8).pointee, 0), Self.slotSize - Self.lastTextOffset)
            if word(e, at: 0).pointee > 0 {
                lastNanoseconds = word(e, at: 0).pointee
                lastText = String(
                    decoding: UnsafeRawBufferPointer(start: base + e + Self.lastTextOffset, count: lastLength),
                    as: UTF8.self)
            }
        }
        return Slot(
            index: index, pid: word(b, at: 0).pointee, state: WorkerState(rawValue: word(b, at: 8).pointee) ?? .empty,
            generation: word(b, at: 16).pointee, requests: word(b, at: 24).pointee,
            busySince: word(b, at: 32).pointee, startedAt: word(b, at: 40).pointee,
            wantsReplacement: word(b, at: 48).pointee != 0, currentRequest: text,
            lastRequestNanoseconds: lastNanoseconds, lastRequest: lastText)
    }

    public var slots: [Slot] { (0..<slotCount).map(slot) }

    /// The supervisor claims a free slot for a worker it is about to start.
    public func claimSlot(generation: Int) -> Int? {
        for index in 0..<slotCount where word(slotBase(index), at: 8).pointee == WorkerState.empty.rawValue {
            let b = slotBase(index)
            memset(base + b, 0, Self.slotSize)
            if hasExtension { memset(base + extensionBase(index), 0, Self.slotSize) }
            word(b, at: 16).pointee = generation
            word(b, at: 40).pointee = Int(time(nil))
            word(b, at: 8).pointee = WorkerState.starting.rawValue
            return index
        }
        return nil
    }

    public func setPID(_ pid: Int32, slot index: Int) { word(slotBase(index), at: 0).pointee = Int(pid) }

    public func release(slot index: Int) {
        let b = slotBase(index)
        word(b, at: 0).pointee = 0
        word(b, at: 32).pointee = 0
        word(b, at: 8).pointee = WorkerState.empty.rawValue
    }

    // MARK: written by the worker that owns the slot

    /// What `markIdle` learnt of the request that just finished.
    public struct FinishedRequest: Equatable, Sendable {
        public var nanoseconds: Int
        /// At least the supervisor's slow-request threshold (counted in the header's slowRequests).
        public var slow: Bool
    }

    /// The worker is waiting for a connection again. After a request, records how long it took (and
    /// keeps its method and URI as the last request) and counts it when it was slow.
    @discardableResult
    public func markIdle(slot index: Int, requests: Int) -> FinishedRequest? {
        let b = slotBase(index)
        let started = word(b, at: 32).pointee
        var finished: FinishedRequest? = nil
        if started > 0 {
            let elapsed = max(Self.monotonicNanoseconds() - started, 1)
            let threshold = word(0, at: 112).pointee
            let request = FinishedRequest(nanoseconds: elapsed, slow: threshold > 0 && elapsed >= threshold * 1_000_000)
            if request.slow { partnerships_atomic_add(shared(104), 1) }
            finished = request
            if hasExtension {
                let e = extensionBase(index)
                let textLength = min(max(word(b, at: 56).pointee, 0), Self.slotSize - Self.textOffset)
                (base + e + Self.lastTextOffset).copyMemory(from: base + b + Self.textOffset, byteCount: textLength)
                word(e, at: 8).pointee = textLength
                word(e, at: 0).pointee = elapsed
            }
        }
        word(b, at: 24).pointee = requests
        word(b, at: 32).pointee = 0
        word(b, at: 8).pointee = WorkerState.idle.rawValue
        return finished
    }

    public func markBusy(slot index: Int, request: String) {
        let b = slotBase(index)
        let capacity = Self.slotSize - Self.textOffset
        var bytes: [UInt8]
        if request.utf8.count <= capacity {
            bytes = Array(request.utf8)
        } else {
            // Cut whole characters only, so the status page never shows half a UTF-8 sequence.
            bytes = []
            bytes.reserveCapacity(capacity)
            for scalar in request.unicodeScalars {
                let width = UTF8.width(scalar)
                if bytes.count + width > capacity { break }
                bytes.append(contentsOf: String(scalar).utf8)
            }
        }
        bytes.withUnsafeBytes { (base + b + Self.textOffset).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        word(b, at: 56).pointee = bytes.count
        word(b, at: 32).pointee = Self.monotonicNanoseconds()
        partnerships_atomic_store(shared(b + 8), Int64(WorkerState.busy.rawValue))
        // How busy the pool is now that this request has a worker: every worker counts itself in, so
        // two starting at once both see each other. No idle worker left: the next connection waits.
        // Not while a worker is starting (the pool's start, a reload, a replacement): it is about to
        // take connections, and the pool is not at its limit yet.
        var busy = 0
        var available = 0
        for other in 0..<slotCount {
            switch partnerships_atomic_load(shared(slotBase(other) + 8)) {
            case Int64(WorkerState.busy.rawValue): busy += 1
            case Int64(WorkerState.idle.rawValue), Int64(WorkerState.starting.rawValue): available += 1
            default: break
            }
        }
        partnerships_atomic_max(shared(88), Int64(busy))
        if available == 0 { partnerships_atomic_add(shared(96), 1) }
    }

    public func requestReplacement(slot index: Int) { word(slotBase(index), at: 48).pointee = 1 }

    public func markStopping(slot index: Int) {
        word(slotBase(index), at: 8).pointee = WorkerState.stopping.rawValue
    }

    public static func monotonicNanoseconds() -> Int {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return now.tv_sec * 1_000_000_000 + now.tv_nsec
    }
}
