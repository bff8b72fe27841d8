import APICore
import HTTP
import JSON
import Logging
import Store
import WorkerPool

/// Every route of every family in one trie, each route remembering its family's error format.
/// Stateless between requests: everything a request needs comes from the request and the store.
public final class Application {
    private struct Entry {
        let handler: Handler
        let errorFormatter: any ErrorFormatter
        let caching: ResponseCaching
    }

    private let router = Router<Entry>()
    private var prefixes: [(prefix: String, formatter: any ErrorFormatter)] = []
    public let store: Store
    public let families: [any APIFamily]
    /// Answers kept for GETs that declare `ResponseCaching.untilStoreChanges`.
    public let responseCache: ResponseCache
    /// Every header some kept operation varies on: part of every kept answer's key.
    public let varyingHeaders: [HTTPFieldName]
    /// The request `keptAnswer` refreshed the store for and found no kept answer to: its full path
    /// reads from that refresh rather than refreshing again (on PostgreSQL each is a round trip).
    private var refreshedForRequest: String?

    public init(families: [any APIFamily], store: Store, responseCacheBytes: Int = 0) {
        self.families = families
        self.store = store
        self.responseCache = ResponseCache(capacityBytes: responseCacheBytes)
        // `routes` builds every operation's route: once per family.
        let routed = families.map { family in (family, family.routes) }
        var varying: [String: HTTPFieldName] = [:]
        for (_, routes) in routed {
            for route in routes where route.caching.keepsAnswers {
                for name in route.caching.varyingOn { varying[name.canonicalName] = name }
            }
        }
        varyingHeaders = varying.keys.sorted().map { varying[$0]! }
        if responseCache.isEnabled {
            store.changeObserver = { [responseCache] change in responseCache.invalidate(change) }
        }
        for (family, routes) in routed {
            for route in routes {
                router.add(
                    route.method, route.pattern,
                    Entry(handler: route.handler, errorFormatter: family.errorFormatter, caching: route.caching))
            }
            if !family.pathPrefix.isEmpty { prefixes.append((family.pathPrefix, family.errorFormatter)) }
        }
        // Longest prefix first, so `/api/v3` is not answered by a family mounted at `/api`.
        prefixes.sort { $0.prefix.count > $1.prefix.count }
    }

    /// Every store index the composed families declared, plus the shared token index.
    public static func indexes(of families: [any APIFamily]) -> [IndexDefinition] {
        Tokens.indexes + Idempotency.indexes + families.flatMap(\.storeIndexes)
    }

    public func handle(_ request: HTTPRequest) -> HTTPResponse {
        var response: HTTPResponse
        switch router.match(request.method, request.path) {
        case .found(let entry, let parameters, _):
            var routed = request
            routed.pathParameters = parameters
            if entry.caching.keepsAnswers && request.method == .get && responseCache.isEnabled {
                response = runKeepingAnswer(entry, routed)
            } else {
                response = run(entry, routed)
            }
        case .methodNotAllowed(let allowed):
            response = formatter(for: request.path).response(for: [.methodNotAllowed(request.method)])
            response.headers[.allow] = allowed.map(\.rawValue).joined(separator: ", ")
        case .notFound:
            response = formatter(for: request.path).response(for: [.notFound()])
        }
        if (request.method == .get || request.method == .head) && response.status == .ok {
            // Tagged already when kept for the next request.
            let tagged = response.headers.contains(.eTag) ? response : ConditionalRequest.withTag(response)
            response = ConditionalRequest.notModified(tagged, ifNoneMatch: request.header(.ifNoneMatch)) ?? tagged
        }
        if request.method == .head {
            // RFC 9110 9.3.2: HEAD answers the GET's Content-Length, without the body.
            if response.status != .notModified && response.status != .noContent {
                response.headers[.contentLength] = String(response.body.count)
            }
            response.body = []
        }
        response.headers[.requestID] = request.requestID
        return response
    }

    /// The answer kept for a GET or HEAD of this URL with these credentials, as wire bytes, when
    /// the store has not changed since it was made (see `ResponseCache`); nil: take the full path.
    /// `varying`: the values of `varyingHeaders`, in order.
    public func keptAnswer(
        head: Bool, path: String, query: String, authorization: String?, varying: [String?] = [],
        ifNoneMatch: String?, requestID: String
    ) -> [UInt8]? {
        guard responseCache.isEnabled else { return nil }
        refreshedForRequest = nil
        // A failed refresh is the full path's to report, in the family's error format.
        guard (try? store.refresh()) != nil else { return nil }
        let key = ResponseCache.key(path: path, query: query, authorization: authorization, varying: varying)
        guard let answer = responseCache.answer(for: key, now: Scoreboard.monotonicNanoseconds()) else {
            if !requestID.isEmpty { refreshedForRequest = requestID }
            return nil
        }
        return ResponseCache.wireBytes(of: answer, head: head, ifNoneMatch: ifNoneMatch, requestID: requestID)
    }

    /// `run`, keeping a 200 answer for the next identical GET. Tagged here, as `handle` would.
    private func runKeepingAnswer(_ entry: Entry, _ request: HTTPRequest) -> HTTPResponse {
        // The version the handler reads under: the answer is kept only if no write (this request's
        // deferred `last_used_at` among them) moved the store on before it is kept.
        if !takeRefresh(of: request) {
            guard (try? store.refresh()) != nil else { return run(entry, request) }
        }
        let madeUnder = store.version
        let reads = StoreReadLog()
        let context = RequestContext(request: request, store: store)
        store.readLog = reads
        let response = run(entry, request, context: context, refreshed: true)
        store.readLog = nil
        guard response.status == .ok else { return response }
        let tagged = ConditionalRequest.withTag(response)
        responseCache.keep(
            tagged,
            for: ResponseCache.key(
                path: request.path, query: request.query.raw, authorization: request.header(.authorization),
                varying: varyingHeaders.map { request.header($0) }),
            dependencies: reads.dependencies, madeUnder: madeUnder, current: store.version,
            now: Scoreboard.monotonicNanoseconds(),
            lifetime: context.credentialExpiresAt.map { ($0.microseconds - Timestamp.now().microseconds) * 1_000 })
        return tagged
    }

    /// The entity tag of what a GET of `request`'s URL answers now, with the caller's credentials;
    /// nil when it answers anything but 200 (no current representation).
    private func currentTag(of request: HTTPRequest) -> String? {
        guard case .found(let entry, let parameters, _) = router.match(.get, request.path) else { return nil }
        var get = request
        get.method = .get
        get.body = []
        get.pathParameters = parameters
        let response: HTTPResponse
        do { response = try entry.handler(RequestContext(request: get, store: store)) } catch {
            // An API error is the GET's answer (no current representation); anything else is a failure the 412 would hide.
            if !(error is APIError || error is APIErrors) {
                RequestContext.logger(for: request).error(
                    "If-Match: the current representation could not be read", error: error)
            }
            return nil
        }
        guard response.status == .ok else { return nil }
        return ConditionalRequest.tag(of: response.body)
    }

    /// The `Retry-After` of a 503 for a database that is away: about what a restart or failover takes.
    static let unavailableRetryAfterSeconds = 2

    /// Whether `keptAnswer` refreshed the store for this very request (consumed by the call).
    private func takeRefresh(of request: HTTPRequest) -> Bool {
        defer { refreshedForRequest = nil }
        return refreshedForRequest != nil && refreshedForRequest == request.requestID
    }

    private func run(
        _ entry: Entry, _ request: HTTPRequest, context given: RequestContext? = nil, refreshed: Bool = false
    ) -> HTTPResponse {
        // Whatever the outcome, a damage report is about this request only.
        defer {
            // The request's read snapshot ends with it (on an engine that keeps one).
            store.endReads()
            _ = store.takeReadDamage()
            store.setWritePrecondition(nil)
            for error in store.flushDeferredWrites() {
                RequestContext.logger(for: request).warning(
                    "a deferred write failed (the request was answered)", error: error)
            }
        }
        do {
            if !refreshed && !takeRefresh(of: request) { try store.refresh() }
            if let ifMatch = request.header(.ifMatch), ConditionalRequest.guardedMethods.contains(request.method) {
                // Checked under the write lock, against what a GET answers at that moment: two
                // clients that read the same version cannot both change it.
                store.setWritePrecondition { [unowned self] in
                    guard ConditionalRequest.matches(ifMatch, currentTag: currentTag(of: request)) else {
                        throw APIError.preconditionFailed()
                    }
                }
            }
            if request.method == .post, let key = try Idempotency.key(for: request) {
                return try runOnce(entry, request, key)
            }
            let response = try entry.handler(given ?? RequestContext(request: request, store: store))
            // A record the handler read was damaged on disk: its answer may rest on a missing record.
            if let damage = store.takeReadDamage() { throw damage }
            return response
        } catch let used as Idempotency.AlreadyUsed {
            return answer(used.found, entry)
        } catch let error as APIError {
            return entry.errorFormatter.response(for: [error])
        } catch let errors as APIErrors {
            return entry.errorFormatter.response(for: errors.errors)
        } catch StoreError.diskFull(let what) {
            RequestContext.logger(for: request).error(
                "write refused: disk full (nothing was written)", metadata: ["error": .string(what)])
            return entry.errorFormatter.response(for: [.insufficientStorage(requestID: request.requestID)])
        } catch StoreError.unavailable(let what) {
            // The database is away (restarting, failing over, out of connections): the client may
            // retry; the worker reconnects on its next request.
            RequestContext.logger(for: request).error(
                "store unavailable", metadata: ["error": .string(what)])
            var response = entry.errorFormatter.response(for: [.serviceUnavailable(requestID: request.requestID)])
            response.headers[.retryAfter] = String(Self.unavailableRetryAfterSeconds)
            return response
        } catch {
            RequestContext.logger(for: request).error("request failed", error: error)
            return entry.errorFormatter.response(for: [.internalError(requestID: request.requestID)])
        }
    }

    /// A POST with an `Idempotency-Key`: replayed when the key was used for the same request,
    /// refused when for another, else run with its writes and the key's record committed together.
    private func runOnce(_ entry: Entry, _ request: HTTPRequest, _ key: Idempotency.Key) throws -> HTTPResponse {
        if let found = Idempotency.lookup(key, store.get, now: Timestamp.now()) { return answer(found, entry) }
        store.holdWrites()
        // Checked again under the lock: a retry sent while the first request runs waits for it.
        store.setWritePrecondition { [unowned self] in
            if let found = Idempotency.lookup(key, store.get, now: Timestamp.now()) {
                throw Idempotency.AlreadyUsed(found: found)
            }
        }
        do {
            let response = try entry.handler(RequestContext(request: request, store: store))
            if let damage = store.takeReadDamage() { throw damage }
            try store.commitHeldWrites { [unowned self] tx in
                // A failure is not remembered: retrying it runs the request again.
                if (200..<300).contains(response.status.code) {
                    Idempotency.remember(key, response, in: &tx, store: store, now: Timestamp.now())
                }
            }
            return response
        } catch {
            store.abandonHeldWrites()
            throw error
        }
    }

    private func answer(_ found: Idempotency.Found, _ entry: Entry) -> HTTPResponse {
        switch found {
        case .replay(let response): return response
        case .reusedWithAnotherRequest:
            return entry.errorFormatter.response(for: [
                APIError(
                    .conflict, status: .unprocessableContent, title: "Idempotency-Key reused",
                    detail:
                        "This Idempotency-Key was already used with a different request (method, path, query or body). Use a new key for a new request."
                )
            ])
        }
    }

    /// An error response in the format of the family that owns `path`.
    public func errorResponse(forPath path: String, _ errors: [APIError]) -> HTTPResponse {
        formatter(for: path).response(for: errors)
    }

    private func formatter(for path: String) -> any ErrorFormatter {
        for (prefix, formatter) in prefixes where path == prefix || path.hasPrefix(prefix + "/") { return formatter }
        return PlainErrorFormatter()
    }
}
