import WorkerPool
import APICore
import HTTP
import JSON
import Store
#if canImport(Glibc)
import Glibc
#endif

/// Routes that let the end-to-end tests provoke what production must survive: a hung request,
/// a crashing worker, and a look at what reached the handler. Mounted only with
/// `serve --enable-test-routes`, which the deploy scripts never pass.
public struct TestSupportFamily: APIFamily {
    public let name = "test-support"
    public let pathPrefix = "/_test"
    public let errorFormatter: any ErrorFormatter = PlainErrorFormatter()
    public let storeIndexes: [IndexDefinition] = []

    public init() {}

    public func registerRoutes(_ routes: RouteRegistry) {
        routes.add(.GET, "/_test/sleep") { context in
            let milliseconds = Int(context.request.query["ms"] ?? "") ?? 1000
            usleep(UInt32(min(max(milliseconds, 0), 600_000)) * 1000)
            return .json(["slept_ms": .int(milliseconds), "pid": .int(Int(getpid()))])
        }
        routes.add(.POST, "/_test/crash") { _ in
            Log.error("test route: crashing on purpose")
            exit(3)
        }
        routes.add(.GET, "/_test/pid") { _ in .json(["pid": .int(Int(getpid()))]) }
        routes.add(.POST, "/_test/echo") { context in
            let request = context.request
            return .json([
                "method": .string(request.method.rawValue),
                "path": .string(request.path),
                "authorization": JSON(request.headers["authorization"]),
                "content_type": JSON(request.headers["content-type"]),
                "body_bytes": .int(request.body.count),
                "request_id": .string(request.requestID),
                "remote_address": .string(request.remoteAddress),
                "query": .object(JSONObject(request.query.pairs.map { ($0.name, JSON.string($0.value)) })),
            ])
        }
    }
}
