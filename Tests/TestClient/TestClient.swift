import APICore
import Foundation
import HTTP
import JSON
import Server
import Store

/// The whole application in-process, for testing a family's rules in Swift in milliseconds: a
/// temporary store, every family mounted as the workers mount them, tokens minted into the store,
/// and requests answered by `Application.handle` exactly as a worker answers them (routing,
/// authentication, ETags, idempotency, error formats). What only nginx and the worker pool can
/// show (TLS, FastCGI framing, crashes, reloads) stays in the end-to-end suite (IntegrationTests/).
public final class TestClient {
    public let store: Store
    public let application: Application
    private let directory: String
    private var requests = 0

    /// `families`: the production set (without test routes) unless given.
    public init(families: [any APIFamily]? = nil) throws {
        directory = NSTemporaryDirectory() + "test-client-\(UUID().uuidString)"
        let mounted = families ?? ServerAssembly.families(scoreboardPath: nil, testRoutes: false)
        store = try Store(directory: directory, indexes: Application.indexes(of: mounted))
        application = Application(families: mounted, store: store)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A token for `principal`, as `partnerships token create` makes one.
    public func token(for principal: any TokenPrincipal) throws -> String {
        try Tokens.create(in: store, principal: principal, name: "test").token
    }

    /// Sends one request. `path` may carry a query (`/v1/projects/1?extra_fields=partnerships`);
    /// `token` goes into `Authorization` with `scheme` (nil: the raw token, the Directory style).
    @discardableResult
    public func send(
        _ method: HTTPMethod, _ path: String, token: String? = nil, scheme: String? = "Bearer",
        json: JSON? = nil, headers: HTTPFields? = nil
    ) -> TestResponse {
        requests += 1
        let parts = path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        var fields = headers ?? HTTPFields()
        if let token { fields.append(HTTPField(name: .authorization, value: scheme.map { "\($0) \(token)" } ?? token)) }
        if json != nil { fields.append(HTTPField(name: .contentType, value: "application/json")) }
        let request = HTTPRequest(
            method: method, path: String(parts[0]),
            query: QueryParameters(parts.count > 1 ? String(parts[1]) : ""),
            headers: fields, body: json?.serialized() ?? [], requestID: "test-\(requests)")
        let response = application.handle(request)
        _ = store.flushDeferredWrites()
        return TestResponse(response)
    }

    public func get(_ path: String, token: String? = nil, scheme: String? = "Bearer") -> TestResponse {
        send(.get, path, token: token, scheme: scheme)
    }
}

/// An answer, with its body parsed when it is JSON.
public struct TestResponse {
    public let status: Int
    public let headers: HTTPFields
    public let body: [UInt8]
    public let json: JSON?

    init(_ response: HTTPResponse) {
        status = response.status.code
        headers = response.headers
        body = response.body
        json = response.body.isEmpty ? nil : try? JSON.parse(response.body)
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.name.canonicalName == name.lowercased() }?.value
    }
}
