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
            return try status(context)
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

    /// JSON, or OpenMetrics text for `?openmetrics` / `?format=openmetrics` (StatusReport).
    private func status(_ context: RequestContext) throws -> HTTPResponse {
        let format = StatusReport.Format(context.request.query)
        if case .unknown(let name) = format {
            throw APIError.badRequest("Unknown format \"\(name)\": json (the default) or openmetrics.")
        }
        guard let scoreboardPath else {
            // No pool to describe: an exposition with no metric families.
            if format == .openMetrics { return Self.openMetrics("# EOF\n") }
            return .json(["workers": .null, "detail": "not running under the supervisor"])
        }
        // A worker's fd 0 is the pool's listening socket (the supervisor hands it over).
        let report = StatusReport(
            scoreboard: try Scoreboard(path: scoreboardPath),
            pool: ProcessEnvironment()[WorkerEnvironment.poolName] ?? "partnerships", listenSocket: 0,
            storeGeneration: Int(context.store.generation))
        return format == .openMetrics ? Self.openMetrics(report.openMetrics) : .json(report.json)
    }

    private static func openMetrics(_ text: String) -> HTTPResponse {
        var response = HTTPResponse.text(text)
        response.headers[.contentType] = StatusReport.openMetricsContentType
        return response
    }
}
