#if canImport(Glibc)
    import Glibc
#endif

/// A small shared-memory table (an mmap'd file in the state folder), as Apache and PHP-FPM keep:
/// the supervisor owns the header and hands out slots; each worker writes only its own slot.
/// The supervisor reads it to find workers stuck past the request timeout, and the status page
/// reads it to show operators who is busy. Fields are aligned 8-byte words: single stores are
/// atomic on the platforms we run on, and a torn *pair* of fields is harmless for statistics.
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
        public var currentRequest: String
    }

    static let magic: Int = 0x5041_5254_5342_0001  // "PARTSB" v1
    static let headerSize = 128
    static let slotSize = 256
    static let textOffset = 64

    public let slotCount: Int
    private let base: UnsafeMutableRawPointer
    private let length: Int

    /// Creates (supervisor) or opens (workers, status page) the scoreboard file.
    public init(path: String, slotCount: Int? = nil) throws {
        let creating = slotCount != nil
        let fd = open(path, creating ? (O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC) : (O_RDWR | O_CLOEXEC), 0o640)
        guard fd >= 0 else { throw SocketError("open scoreboard \(path)") }
        defer { close(fd) }
        var count = slotCount ?? 0
        if !creating {
            var header = [Int](repeating: 0, count: 2)
            guard pread(fd, &header, 16, 0) == 16, header[0] == Self.magic else {
                errno = EINVAL
                throw SocketError("scoreboard \(path) is not ours")
            }
            count = header[1]
        }
        length = Self.headerSize + count * Self.slotSize
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
            word(0, at: 0).pointee = Self.magic
        }
    }

    deinit { munmap(base, length) }

    @inline(__always) private func word(_ slotBase: Int, at offset: Int) -> UnsafeMutablePointer<Int> {
        (base + slotBase + offset).assumingMemoryBound(to: Int.self)
    }
    @inline(__always) private func slotBase(_ index: Int) -> Int { Self.headerSize + index * Self.slotSize }

    public var header: Header {
        Header(
            supervisorPID: word(0, at: 16).pointee, startedAt: word(0, at: 24).pointee,
            crashRestarts: word(0, at: 32).pointee, timeoutKills: word(0, at: 40).pointee,
            recycles: word(0, at: 48).pointee, reloads: word(0, at: 56).pointee, generation: word(0, at: 64).pointee,
            retiredRequests: word(0, at: 72).pointee)
    }

    public enum Counter: Int {
        case crashRestarts = 32
        case timeoutKills = 40
        case recycles = 48
        case reloads = 56
        case generation = 64
        case retiredRequests = 72
    }

    public func increment(_ counter: Counter, by amount: Int = 1) { word(0, at: counter.rawValue).pointee += amount }

    public func slot(_ index: Int) -> Slot {
        let b = slotBase(index)
        let textLength = min(max(word(b, at: 56).pointee, 0), Self.slotSize - Self.textOffset)
        let text = String(
            decoding: UnsafeRawBufferPointer(start: base + b + Self.textOffset, count: textLength), as: UTF8.self)
        return Slot(
            index: index, pid: word(b, at: 0).pointee, state: WorkerState(rawValue: word(b, at: 8).pointee) ?? .empty,
            generation: word(b, at: 16).pointee, requests: word(b, at: 24).pointee,
            busySince: word(b, at: 32).pointee, startedAt: word(b, at: 40).pointee,
            wantsReplacement: word(b, at: 48).pointee != 0, currentRequest: text)
    }

    public var slots: [Slot] { (0..<slotCount).map(slot) }

    /// The supervisor claims a free slot for a worker it is about to start.
    public func claimSlot(generation: Int) -> Int? {
        for index in 0..<slotCount where word(slotBase(index), at: 8).pointee == WorkerState.empty.rawValue {
            let b = slotBase(index)
            memset(base + b, 0, Self.slotSize)
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

    public func markIdle(slot index: Int, requests: Int) {
        let b = slotBase(index)
        word(b, at: 24).pointee = requests
        word(b, at: 32).pointee = 0
        word(b, at: 8).pointee = WorkerState.idle.rawValue
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
        word(b, at: 8).pointee = WorkerState.busy.rawValue
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
