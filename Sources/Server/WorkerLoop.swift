import FastCGI
import HTTP
import JSON
import Logging
import WorkerPool

#if canImport(Glibc)
    import Glibc
#endif

public struct WorkerOptions: Sendable {
    /// Bodies above this are refused with 413 (nginx's client_max_body_size is the first line).
    public var bodyLimit: Int = 1 << 20
    /// Replaced after this many requests (0: never): under a supervisor the worker asks for a
    /// replacement and leaves when told to; alone it exits.
    public var maxRequests: Int = 10_000
    /// Carry out the /_test routes' instructions to the loop (`TestHook`), such as dying half way
    /// through a response. Only `--enable-test-routes` sets it; production workers never do.
    public var testHooks = false
    /// Opens the log file again (SIGUSR1, after logrotate moved it).
    public var reopenLog: (@Sendable () throws -> Void)?
    /// What starting took, said in the "worker ready" line (a start's cost is part of every reload).
    public var startup: [String: String] = [:]

    public init(
        bodyLimit: Int = 1 << 20, maxRequests: Int = 10_000, testHooks: Bool = false,
        reopenLog: (@Sendable () throws -> Void)? = nil
    ) {
        self.bodyLimit = bodyLimit
        self.maxRequests = maxRequests
        self.testHooks = testHooks
        self.reopenLog = reopenLog
    }
}

/// One single-threaded worker: accept, read, route, answer, repeat. It never dies of a bad
/// request: every failure becomes an error response, and a client that went away is logged.
public final class WorkerLoop {
    private let application: Application
    private let options: WorkerOptions
    private let scoreboard: Scoreboard?
    private let slot: Int?
    private let logger = Logger(label: "partnerships.worker")

    public init(application: Application, options: WorkerOptions) {
        self.application = application
        self.options = options
        let environment = ProcessEnvironment()
        var opened: (Scoreboard, Int)? = nil
        var failure: (path: String, error: Error)? = nil
        if let path = environment[WorkerEnvironment.scoreboard], let slotText = environment[WorkerEnvironment.slot],
            let slot = Int(slotText)
        {
            do { opened = (try Scoreboard(path: path), slot) } catch { failure = (path, error) }
        }
        scoreboard = opened?.0
        slot = opened?.1
        if let failure {
            // Served anyway, but the supervisor cannot see this worker (no request timeout, no recycling).
            logger.error(
                "cannot open the scoreboard; serving without it", error: failure.error,
                metadata: ["path": .string(failure.path)])
        }
    }

    /// Connections accepted without waiting in ppoll first, at most, before it is asked again.
    static let acceptsBeforeWaiting = 16
    /// After each answer, while the store has housekeeping (`Store.housekeep`: the move onto a
    /// generation a compaction published, freeing the view it replaced), a busy worker spends on it
    /// this fraction of the time the answer took (50 µs to 1 ms): requests queued behind it wait at
    /// most a quarter longer, and the move takes as long as it must. At 1M records a move is 1-1.5 s
    /// of CPU; at 1 ms a request it doubled the cost of every request for seconds (write-heavy p99
    /// 78-91 ms).
    static let housekeepingShare = 4
    /// A slice of housekeeping while no connection is queued (a request that comes meanwhile waits
    /// at most this long).
    static let idleHousekeepingMicroseconds = 1_000

    /// After a failed slice, none for `housekeepingPauseNanoseconds` (an idle worker would retry
    /// it in a loop otherwise).
    private var housekeepingPausedUntil = 0
    static let housekeepingPauseNanoseconds = 10_000_000_000

    private var hasHousekeeping: Bool {
        application.store.hasHousekeeping
            && (housekeepingPausedUntil == 0 || Scoreboard.monotonicNanoseconds() >= housekeepingPausedUntil)
    }

    private func housekeep(microseconds: Int) {
        do { try application.store.housekeep(microseconds: microseconds) } catch {
            housekeepingPausedUntil = Scoreboard.monotonicNanoseconds() + Self.housekeepingPauseNanoseconds
            logger.error(
                "store housekeeping failed; the worker keeps serving from the view it has and retries in 10 s",
                error: error)
        }
    }

    /// Returns the process exit code: 0 for a planned exit (stop, reload, recycle).
    public func run() -> Int32 {
        WorkerRuntime.install()
        let connection = FastCGIConnection(listenSocket: 0)
        var served = 0
        if let scoreboard, let slot { scoreboard.markIdle(slot: slot, requests: 0) }
        logger.info(
            "worker ready",
            metadata: options.startup.mapValues { .string($0) }.merging(["slot": .string(slot.map(String.init) ?? "-")])
            {
                $1
            })
        var replacementRequested = false
        var acceptedInARow = 0
        // Only a non-blocking listener (the supervisor's) may be accepted from without ppoll: on a
        // blocking one (spawn-fcgi's) an idle worker would sleep in accept() with signals blocked.
        let listenerIsNonBlocking = fcntl(0, F_GETFL) & O_NONBLOCK != 0
        while true {
            if options.maxRequests > 0 && served >= options.maxRequests && !replacementRequested {
                // Under a supervisor: ask for a replacement and keep serving until it is ready (a
                // new worker's cold open of a large store takes seconds). Alone: just leave.
                guard let scoreboard, let slot else { break }
                scoreboard.requestReplacement(slot: slot)
                replacementRequested = true
                logger.info(
                    "max_requests reached; serving until the replacement is ready", metadata: ["served": "\(served)"])
            }
            // Under load the next connection is usually queued already: accept it straight away (the
            // listener is non-blocking) instead of asking ppoll first, a syscall per request saved.
            // Signals are only taken in ppoll, so it still runs every `acceptsBeforeWaiting`
            // requests: a stop or log reopen waits at most that many requests.
            if listenerIsNonBlocking && acceptedInARow > 0 && acceptedInARow % Self.acceptsBeforeWaiting != 0 {
                // straight to accept
            } else {
                // With housekeeping left, only look: an idle worker does it until a request comes.
                switch WorkerRuntime.waitForConnection(listenSocket: 0, wait: !hasHousekeeping) {
                case .stop:
                    if let scoreboard, let slot { scoreboard.markStopping(slot: slot) }
                    return 0
                case .reopenLogs:
                    do { try options.reopenLog?() } catch {
                        logger.error("cannot reopen the log file; still writing to the one open", error: error)
                    }
                    continue
                case .nothingQueued:
                    housekeep(microseconds: Self.idleHousekeepingMicroseconds)
                    continue
                case .connectionReady:
                    break
                }
            }
            switch connection.accept() {
            case .request:
                acceptedInARow += 1
                let started = Scoreboard.monotonicNanoseconds()
                let requestID = serve(connection)
                let housekeeping = hasHousekeeping
                let took = housekeeping ? Int(Scoreboard.monotonicNanoseconds() - started) / 1_000 : 0
                served += 1
                if let scoreboard, let slot, let finished = scoreboard.markIdle(slot: slot, requests: served),
                    finished.slow
                {
                    logger.warning(
                        "slow request",
                        metadata: [
                            "request": .string(scoreboard.slot(slot).currentRequest), "request_id": .string(requestID),
                            "elapsed_ms": "\(finished.nanoseconds / 1_000_000)",
                        ])
                }
                // Once the request is over for the scoreboard too (its timeout, its slow-request line).
                if housekeeping { housekeep(microseconds: min(max(took / Self.housekeepingShare, 50), 1_000)) }
            case .interrupted:
                acceptedInARow = 0
                continue
            case .failed(let code) where code == EAGAIN || code == EWOULDBLOCK:
                acceptedInARow = 0
                continue  // another worker took this connection, or none was queued
            case .failed(let code):
                logger.error("accept failed; worker exits", metadata: ["errno": "\(code)"])
                return 1
            }
        }
        logger.info("worker recycled after max_requests", metadata: ["served": "\(served)"])
        return 0
    }

    /// Answers one request; returns its id (nginx's $request_id) for the lines logged after it.
    private func serve(_ connection: FastCGIConnection) -> String {
        let roundTripsBefore = application.store.engineRoundTrips
        var requestID = ""
        defer {
            connection.finish()
            // Whatever path answered (a kept answer, an error before routing), the request's read
            // snapshot ends with it: a worker waiting for its next request holds none.
            application.store.endReads()
            if let roundTripsBefore, let after = application.store.engineRoundTrips {
                logger.debug(
                    "store round trips",
                    metadata: ["request_id": .string(requestID), "round_trips": "\(after - roundTripsBefore)"])
            }
        }
        requestID = serveRequest(connection)
        return requestID
    }

    private func serveRequest(_ connection: FastCGIConnection) -> String {
        if let requestID = serveKeptAnswer(connection) { return requestID }
        let params = connection.params()
        if let scoreboard, let slot {
            scoreboard.markBusy(
                slot: slot, request: "\(params["REQUEST_METHOD"] ?? "?") \(params["REQUEST_URI"] ?? "?")")
        }
        var response: HTTPResponse
        switch connection.readBody(
            contentLength: params["CONTENT_LENGTH"].flatMap { Int($0) }, limit: options.bodyLimit)
        {
        case .tooLarge:
            response = respondWithoutRouting(params, .payloadTooLarge(limit: options.bodyLimit))
        case .truncated:
            logger.warning(
                "request body ended early; client went away",
                metadata: ["request_id": .string(params["REQUEST_ID"] ?? "")])
            return params["REQUEST_ID"] ?? ""
        case .body(let body):
            switch RequestMapping.request(from: params, body: body) {
            case .success(let request):
                response = application.handle(request)
            case .failure(.repeatedAuthorization):
                response = respondWithoutRouting(
                    params, .badRequest("The request carries more than one Authorization header."))
            case .failure(.unsupportedMethod(let name)):
                response = respondWithoutRouting(
                    params,
                    APIError(
                        .methodNotAllowed, status: .methodNotAllowed,
                        title: "Method not allowed", detail: "Method \"\(name)\" not allowed."))
            }
        }
        let deathPoint = options.testHooks ? TestHook.takeDeathPoint(from: &response) : nil
        let bytes = CGIResponse.encode(
            status: response.status.code, reason: response.status.reason,
            headers: response.headers, body: response.body)
        if let deathPoint {
            connection.write(Array(bytes.prefix(bytes.count - response.body.count + deathPoint)), complete: false)
            logger.error(
                "test hook: dying part way through a response", metadata: ["body_bytes_written": "\(deathPoint)"])
            _exit(3)
        }
        if !connection.write(bytes) {
            logger.warning(
                "client went away before the response was written",
                metadata: ["request_id": .string(params["REQUEST_ID"] ?? "")])
        }
        return params["REQUEST_ID"] ?? ""
    }

    /// The params a kept answer depends on (`ResponseCache`): these, then the headers some kept
    /// operation varies on (`Application.varyingHeaders`, as nginx names them: `HTTP_ULULE_VERSION`).
    private static let keptAnswerParams = [
        "REQUEST_METHOD", "DOCUMENT_URI", "QUERY_STRING", "HTTP_AUTHORIZATION", "HTTP_IF_NONE_MATCH", "REQUEST_ID",
        "CONTENT_LENGTH", "REQUEST_URI",
    ]
    private lazy var keptAnswerParamNames = ParamNames(
        Self.keptAnswerParams
            + application.varyingHeaders.map { "HTTP_" + $0.canonicalName.uppercased().replacing("-", with: "_") })

    /// Sends the kept answer to a GET or HEAD without a body when there is one, reading only the
    /// few params it depends on; returns the request id, or nil when the full path must answer
    /// (anything unusual is left to it: a body, two Authorization headers, no request id).
    private func serveKeptAnswer(_ connection: FastCGIConnection) -> String? {
        guard application.responseCache.isEnabled else { return nil }
        let (values, repeated) = connection.params(named: keptAnswerParamNames)
        guard let method = values[0], method == "GET" || method == "HEAD", let path = values[1],
            let requestID = values[5], !requestID.isEmpty, (values[6] ?? "").isEmpty || values[6] == "0",
            // Two Authorization headers are refused, and a repeated header an answer varies on is
            // read differently by the full path (its last copy): both are left to it.
            repeated & ~((1 << 4) | (1 << 5) | (1 << 6) | (1 << 7)) == 0
        else { return nil }
        guard
            let bytes = application.keptAnswer(
                head: method == "HEAD", path: path, query: values[2] ?? "", authorization: values[3],
                varying: Array(values[Self.keptAnswerParams.count...]), ifNoneMatch: values[4], requestID: requestID)
        else { return nil }
        if let scoreboard, let slot { scoreboard.markBusy(slot: slot, request: method + " " + (values[7] ?? path)) }
        if !connection.write(bytes) {
            logger.warning(
                "client went away before the response was written", metadata: ["request_id": .string(requestID)])
        }
        return requestID
    }

    /// Errors found before routing still use the format of the family the path belongs to.
    private func respondWithoutRouting(_ params: FastCGIParams, _ error: APIError) -> HTTPResponse {
        var response = application.errorResponse(forPath: params["DOCUMENT_URI"] ?? "/", [error])
        response.headers[.requestID] = params["REQUEST_ID"] ?? ""
        return response
    }
}

/// The process environment as a dictionary (Foundation-free).
struct ProcessEnvironment {
    private var values: [String: String] = [:]
    init() {
        var cursor = environ
        while let entry = cursor.pointee {
            let text = String(cString: entry)
            if let equals = text.firstIndex(of: "=") {
                values[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            cursor += 1
        }
    }
    subscript(name: String) -> String? { values[name] }
}
