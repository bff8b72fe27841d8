import CSystemShims

#if canImport(Glibc)
    import Glibc
#endif

public enum ListenAddress: Equatable, Sendable, CustomStringConvertible {
    /// A unix socket path; `mode` applies to the socket file (0660: nginx's group may connect).
    case unix(path: String, mode: mode_t, group: String?)
    /// Loopback TCP; port 0 picks a free port.
    case tcp(host: String, port: UInt16)

    public var description: String {
        switch self {
        case .unix(let path, _, _): return "unix:\(path)"
        case .tcp(let host, let port): return "\(host):\(port)"
        }
    }

    /// `unix:/path/to.sock` or `127.0.0.1:9000`.
    public static func parse(_ text: String, mode: mode_t = 0o660, group: String? = nil) -> ListenAddress? {
        if text.hasPrefix("unix:") { return .unix(path: String(text.dropFirst(5)), mode: mode, group: group) }
        if text.hasPrefix("/") { return .unix(path: text, mode: mode, group: group) }
        guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]) else {
            return nil
        }
        return .tcp(host: String(text[..<colon]), port: port)
    }
}

public struct SocketError: Error, CustomStringConvertible {
    public var description: String
    init(_ what: String) { description = "\(what): \(String(cString: strerror(errno)))" }
}

/// The listening socket the supervisor binds itself (libfcgi's FCGX_OpenSocket would unlink any
/// path, exit() on failure and use the umask) and hands to every worker as fd 0.
public struct ListenSocket {
    public let fd: Int32
    public let address: ListenAddress

    public static func bind(_ address: ListenAddress, backlog: Int32 = 1024) throws -> ListenSocket {
        switch address {
        case .unix(let path, let mode, let group):
            return ListenSocket(
                fd: try bindUnix(path: path, mode: mode, group: group, backlog: backlog), address: address)
        case .tcp(let host, let port):
            let (fd, actualPort) = try bindTCP(host: host, port: port, backlog: backlog)
            return ListenSocket(fd: fd, address: .tcp(host: host, port: actualPort))
        }
    }

    private static func bindUnix(path: String, mode: mode_t, group: String?, backlog: Int32) throws -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(path.utf8)
        guard pathBytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw SocketError("socket path too long (\(path))")
        }
        // A socket file left by a crashed supervisor is stale only if nobody answers on it.
        if access(path, F_OK) == 0 {
            if isListening(path: path) {
                errno = EADDRINUSE
                throw SocketError("another server is listening on \(path)")
            }
            unlink(path)
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SocketError("socket") }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in pathBytes.enumerated() { raw[i] = byte }
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else {
            close(fd)
            throw SocketError("bind \(path)")
        }
        guard chmod(path, mode) == 0 else {
            close(fd)
            throw SocketError("chmod \(path)")
        }
        if let group {
            guard let entry = getgrnam(group) else {
                close(fd)
                errno = ENOENT
                throw SocketError("group \(group)")
            }
            guard chown(path, uid_t.max, entry.pointee.gr_gid) == 0 else {
                close(fd)
                throw SocketError("chown \(path)")
            }
        }
        guard listen(fd, backlog) == 0 else {
            close(fd)
            throw SocketError("listen \(path)")
        }
        try makeNonBlocking(fd)
        return fd
    }

    private static func bindTCP(host: String, port: UInt16, backlog: Int32) throws -> (Int32, UInt16) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SocketError("socket") }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else {
            close(fd)
            errno = EINVAL
            throw SocketError("address \(host)")
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            close(fd)
            throw SocketError("bind \(host):\(port)")
        }
        guard listen(fd, backlog) == 0 else {
            close(fd)
            throw SocketError("listen")
        }
        var bound = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &bound) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        try makeNonBlocking(fd)
        return (fd, UInt16(bigEndian: bound.sin_port))
    }

    /// Workers wait in ppoll() and then accept; a non-blocking listener lets the losers of a
    /// wake-up race get EAGAIN instead of sleeping in accept() with signals blocked.
    private static func makeNonBlocking(_ fd: Int32) throws {
        let flags = fcntl(fd, F_GETFL)
        guard flags >= 0, fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0 else { throw SocketError("fcntl") }
    }

    /// What the kernel says of a listening socket's accept queue: connections waiting for a worker
    /// to accept them, and the backlog it allows (`--backlog` capped by `net.core.somaxconn`; Linux
    /// queues one more than that on a unix socket before it refuses a connect). Any process holding
    /// the socket can ask: the supervisor, and a worker for its fd 0. Nil for anything but a
    /// listening socket, or a kernel without sock_diag for unix sockets (`unix_diag`).
    public static func queue(fd: Int32) -> (queued: Int, limit: Int)? {
        var queued: UInt32 = 0
        var limit: UInt32 = 0
        guard partnerships_listen_queue(fd, &queued, &limit) == 0 else { return nil }
        return (Int(queued), Int(limit))
    }

    /// Whether something accepts connections on a unix socket path.
    public static func isListening(path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(path.utf8)
        guard pathBytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in pathBytes.enumerated() { raw[i] = byte }
        }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) == 0
            }
        }
    }
}
