import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Where JSON log lines go: one file descriptor (standard error in the server, so a crash message
/// of the runtime lands in the same file), shared by every `JSONLinesLogHandler` of the process,
/// with what is the same for all of its lines: the component (which process: supervisor, worker,
/// compactor) and the level below which nothing is written.
///
/// Every line is one `write(2)` on an `O_APPEND` file, so the processes sharing the file (the
/// supervisor and every worker inherit it) never interleave inside a line.
public final class JSONLinesLogOutput: Sendable {
    /// Standard error: what `open(path:)` points at the log file.
    public static let standardError = JSONLinesLogOutput(fileDescriptor: STDERR_FILENO)

    public let fileDescriptor: Int32
    private let state: Mutex<State>
    private let level: Atomic<UInt8>

    private struct State {
        var component: String
        var path: String?
    }

    /// `fileDescriptor` is written to, never closed; `open(path:)` replaces what it refers to.
    public init(fileDescriptor: Int32, component: String = "partnerships", logLevel: Logger.Level = .info) {
        self.fileDescriptor = fileDescriptor
        state = Mutex(State(component: component, path: nil))
        level = Atomic(logLevel.rank)
    }

    /// The `component` field of every line (the process's role).
    public var component: String {
        get { state.withLock { $0.component } }
        set { state.withLock { $0.component = newValue } }
    }

    /// The level of every handler that was not given its own (`Logger.logLevel`).
    public var logLevel: Logger.Level {
        get { Logger.Level(rank: level.load(ordering: .relaxed)) }
        set { level.store(newValue.rank, ordering: .relaxed) }
    }

    /// The log file, once `open(path:)` named one.
    public var path: String? { state.withLock { $0.path } }

    /// Points the descriptor at `path` (append, created 0640). Call `reopen()` after logrotate moved it.
    public func open(path: String) throws(LogFileError) {
        try attach(path)
        state.withLock { $0.path = path }
    }

    /// Opens the file `open(path:)` named again (SIGUSR1 after a rotation); nothing without one.
    public func reopen() throws(LogFileError) {
        guard let path else { return }
        try attach(path)
    }

    private func attach(_ path: String) throws(LogFileError) {
        let fd = Glibc.open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
        guard fd >= 0 else { throw LogFileError(path: path, errno: errno) }
        defer { close(fd) }
        guard fd == fileDescriptor || dup2(fd, fileDescriptor) >= 0 else {
            throw LogFileError(path: path, errno: errno)
        }
    }

    /// One line, whole, in one `write(2)` (a second one only if the kernel took part of it).
    public func write(_ line: [UInt8]) {
        line.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(fileDescriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return  // nowhere left to say so
                }
                offset += written
            }
        }
    }
}

public struct LogFileError: Error, CustomStringConvertible {
    public let path: String
    public let errno: Int32
    public var description: String { "cannot open log file \(path): \(String(cString: strerror(errno)))" }
}

extension Logger.Level {
    var rank: UInt8 {
        switch self {
        case .trace: 0
        case .debug: 1
        case .info: 2
        case .notice: 3
        case .warning: 4
        case .error: 5
        case .critical: 6
        }
    }

    init(rank: UInt8) {
        self = [.trace, .debug, .info, .notice, .warning, .error, .critical][Int(min(rank, 6))]
    }
}
