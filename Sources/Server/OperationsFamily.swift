import APICore
import HTTP
import JSON
import Store
import WorkerPool

#if canImport(Glibc)
    import Glibc
#endif

/// `/healthz` for load balancers and `/status` for operators. nginx exposes `/status` to loopback
/// only; the handler checks the peer address as well, in case someone routes around nginx.
public struct OperationsFamily: APIFamily {
    public let name = "operations"
    public let pathPrefix = ""
    public let errorFormatter: any ErrorFormatter = PlainErrorFormatter()
    public let storeIndexes: [IndexDefinition] = []
    private let scoreboardPath: String?

    public init(scoreboardPath: String?) {
        self.scoreboardPath = scoreboardPath
    }

    public var routes: [Route] {
        var routes = OperationGroup<Nobody>("", access: .anyone)
        routes.onPublic(.get, "/healthz", doc: nil) { _ in .json(["status": "ok"]) }
        routes.onPublic(.get, "/status", doc: nil) { context in
            guard Self.isLoopback(context.request.remoteAddress) else { throw APIError.notFound() }
            return .json(try status(store: context.store))
        }
        return routes.routes
    }

    /// True only for a peer address that really is loopback: 127.0.0.0/8, ::1 (or an IPv4-mapped
    /// ::ffff:127.x.y.z), or nginx's "unix:" for a client on a local unix-socket listener. A missing
    /// or empty REMOTE_ADDR, or anything that merely starts like one ("127.evil"), is not.
    static func isLoopback(_ address: String) -> Bool {
        if address == "unix:" { return true }
        var v4 = in_addr()
        if inet_pton(AF_INET, address, &v4) == 1 {
            return UInt32(bigEndian: v4.s_addr) >> 24 == 127
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, address, &v6) == 1 else { return false }
        let bytes = withUnsafeBytes(of: &v6) { Array($0) }
        if bytes[0..<15].allSatisfy({ $0 == 0 }) && bytes[15] == 1 { return true }  // ::1
        let mappedPrefix: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]
        return Array(bytes[0..<12]) == mappedPrefix && bytes[12] == 127  // ::ffff:127.x.y.z
    }

    private func status(store: Store) throws -> JSON {
        guard let scoreboardPath else { return ["workers": .null, "detail": "not running under the supervisor"] }
        let board = try Scoreboard(path: scoreboardPath)
        let header = board.header
        let live = board.slots.filter { $0.state != .empty }
        let now = Scoreboard.monotonicNanoseconds()
        let served = header.retiredRequests + live.reduce(0) { $0 + $1.requests }
        let slots: [JSON] = live.map { slot in
            [
                "slot": .int(slot.index), "pid": .int(slot.pid), "state": .string(slot.state.name),
                "generation": .int(slot.generation), "requests": .int(slot.requests),
                "busy_ms": slot.state == .busy && slot.busySince > 0 ? .int((now - slot.busySince) / 1_000_000) : .null,
                "current_request": slot.state == .busy ? .string(slot.currentRequest) : .null,
            ]
        }
        return [
            "supervisor_pid": .int(header.supervisorPID),
            "uptime_seconds": .int(Int(time(nil)) - header.startedAt),
            "generation": .int(header.generation),
            "workers": [
                "total": .int(live.count),
                "busy": .int(live.filter { $0.state == .busy }.count),
                "idle": .int(live.filter { $0.state == .idle }.count),
            ],
            "requests_served": .int(served),
            "restarts": [
                "crashes": .int(header.crashRestarts), "timeout_kills": .int(header.timeoutKills),
                "recycles": .int(header.recycles), "reloads": .int(header.reloads),
            ],
            "store": ["generation": .int(Int(store.generation))],
            "slots": .array(slots),
        ]
    }
}
