import APICore
import HTTP
import JSON
import Store
import WorkerPool

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

    public var routes: [Route] {
        var routes = OperationGroup<Nobody>("/_test", access: .anyone)
        routes.onPublic(.get, "sleep", doc: nil) { context in
            let milliseconds = Int(context.request.query["ms"] ?? "") ?? 1000
            usleep(UInt32(min(max(milliseconds, 0), 600_000)) * 1000)
            return .json(["slept_ms": .int(milliseconds), "pid": .int(Int(getpid()))])
        }
        routes.onPublic(.post, "crash", doc: nil) { context in
            context.logger.error("test route: crashing on purpose")
            exit(3)
        }
        routes.onPublic(.get, "pid", doc: nil) { _ in .json(["pid": .int(Int(getpid()))]) }
        // One log line from the handler, through the request's logger (request_id, method, path).
        routes.onPublic(.post, "log", doc: nil) { context in
            context.logger.info(
                "test route: a line from the handler", metadata: ["note": .string(context.request.query["note"] ?? "")])
            return .json(["pid": .int(Int(getpid()))])
        }
        // A large response whose worker dies after writing its head and part of its body, as a
        // worker killed while sending a big list page would (the client must see a failure).
        routes.onPublic(.get, "dies-while-writing", doc: nil) { context in
            let size = min(max(Int(context.request.query["bytes"] ?? "") ?? 1_100_000, 2), 16 << 20)
            let written = min(max(Int(context.request.query["die_after"] ?? "") ?? size / 4, 0), size - 1)
            var response = HTTPResponse.json(.string(String(repeating: "x", count: size - 2)))
            response.headers[.testDieAfterBodyBytes] = String(written)
            return response
        }
        routes.onPublic(.post, "echo", doc: nil) { context in
            let request = context.request
            return .json([
                "method": .string(request.method.rawValue),
                "path": .string(request.path),
                "authorization": JSON(request.header(.authorization)),
                "content_type": JSON(request.header(.contentType)),
                "body_bytes": .int(request.body.count),
                "request_id": .string(request.requestID),
                "remote_address": .string(request.remoteAddress),
                "query": .object(JSONObject(request.query.pairs.map { ($0.name, JSON.string($0.value)) })),
            ])
        }
        return routes.routes
    }
}

/// An instruction from a /_test route to the worker loop that no handler could carry out itself:
/// the loop writes the response. Honoured only by a worker started with `--enable-test-routes`
/// (`WorkerOptions.testHooks`); any other worker sends the header on like any other.
enum TestHook {
    /// `X-Test-Die-After-Body-Bytes: N` (`HTTPField.Name.testDieAfterBodyBytes`): write the
    /// response's head and N bytes of its body, then die without finishing the FastCGI request (as
    /// a crash or a kill -9 would). Removes the instruction from the response and returns N.
    static func takeDeathPoint(from response: inout HTTPResponse) -> Int? {
        guard let index = response.headers.firstIndex(where: { $0.name == .testDieAfterBodyBytes }) else { return nil }
        let value = Int(response.headers.remove(at: index).value)
        return value.map { min(max($0, 0), response.body.count) }
    }
}
