import HTTP
import JSON
import WorkerPool

#if canImport(Glibc)
    import Glibc
#endif

/// What `/status` shows: PHP-FPM's status page, from the scoreboard and the kernel's view of the
/// listening socket, as JSON or in the OpenMetrics text format (docs/operations.md lists the fields).
struct StatusReport {
    struct Worker {
        var slot: Scoreboard.Slot
        var busyNanoseconds: Int?
    }

    var pool: String
    var header: Scoreboard.Header
    var now: Int
    var workers: [Worker]
    /// nil when the kernel cannot tell (not under the supervisor, or no sock_diag for unix sockets).
    var listenQueue: (queued: Int, limit: Int)?
    var storeGeneration: Int

    var acceptedRequests: Int { header.retiredRequests + workers.reduce(0) { $0 + $1.slot.requests } }
    var idle: Int { workers.filter { $0.slot.state == .idle }.count }
    var active: Int { workers.filter { $0.slot.state == .busy }.count }
    /// Every worker process: idle, busy, and those starting or finishing their last request.
    var total: Int { workers.count }
    /// The threshold slow requests are counted against; nil when none are (0, or an older supervisor).
    var slowRequestMilliseconds: Int? {
        header.revision >= 2 && header.slowRequestMilliseconds > 0 ? header.slowRequestMilliseconds : nil
    }

    /// Reads the scoreboard; a worker also reads its fd 0, the pool's listening socket.
    init(scoreboard board: Scoreboard, pool: String, listenSocket: Int32?, storeGeneration: Int) {
        self.pool = pool
        listenQueue = listenSocket.flatMap { ListenSocket.queue(fd: $0) }
        if let listenQueue { board.noteListenQueue(listenQueue.queued) }
        header = board.header
        now = Int(time(nil))
        let monotonic = Scoreboard.monotonicNanoseconds()
        workers = board.slots.filter { $0.state != .empty }.map { slot in
            Worker(
                slot: slot,
                busyNanoseconds: slot.state == .busy && slot.busySince > 0 ? max(monotonic - slot.busySince, 0) : nil)
        }
        self.storeGeneration = storeGeneration
    }

    // MARK: JSON

    var json: JSON {
        let slots: [JSON] = workers.map { worker in
            let slot = worker.slot
            return [
                "slot": .int(slot.index), "pid": .int(slot.pid), "state": .string(slot.state.name),
                "generation": .int(slot.generation), "requests": .int(slot.requests),
                "start_time": .int(slot.startedAt), "start_since": .int(max(now - slot.startedAt, 0)),
                "busy_ms": worker.busyNanoseconds.map { .int($0 / 1_000_000) } ?? .null,
                "current_request": slot.state == .busy ? .string(slot.currentRequest) : .null,
                "last_request": slot.lastRequest.map { .string($0) } ?? .null,
                "last_request_duration_ms": slot.lastRequestNanoseconds.map { .double(Self.milliseconds($0)) } ?? .null,
            ]
        }
        return [
            "pool": .string(pool),
            "process_manager": "static",
            "supervisor_pid": .int(header.supervisorPID),
            "start_time": .int(header.startedAt),
            "start_since": .int(now - header.startedAt),
            "uptime_seconds": .int(now - header.startedAt),
            "generation": .int(header.generation),
            "accepted_conn": .int(acceptedRequests),
            "requests_served": .int(acceptedRequests),
            "listen_queue": listenQueue.map { .int($0.queued) } ?? .null,
            "max_listen_queue": .int(max(header.maxListenQueue, listenQueue?.queued ?? 0)),
            "listen_queue_len": listenQueue.map { .int($0.limit) } ?? .null,
            "idle_processes": .int(idle),
            "active_processes": .int(active),
            "total_processes": .int(total),
            "max_active_processes": .int(max(header.maxActiveProcesses, active)),
            "max_children_reached": .int(header.maxChildrenReached),
            "slow_requests": .int(header.slowRequests),
            "slow_request_ms": slowRequestMilliseconds.map { .int($0) } ?? .null,
            "workers": ["total": .int(total), "busy": .int(active), "idle": .int(idle)],
            "restarts": [
                "crashes": .int(header.crashRestarts), "timeout_kills": .int(header.timeoutKills),
                "recycles": .int(header.recycles), "reloads": .int(header.reloads),
            ],
            "store": ["generation": .int(storeGeneration)],
            "slots": .array(slots),
        ]
    }

    /// Milliseconds with microsecond precision.
    static func milliseconds(_ nanoseconds: Int) -> Double { Double(nanoseconds / 1_000) / 1_000 }

    // MARK: OpenMetrics

    static let openMetricsContentType = "application/openmetrics-text; version=1.0.0; charset=utf-8"

    /// `?openmetrics` or `?format=openmetrics`; `?format=json` (or nothing) is JSON.
    enum Format: Equatable {
        case json, openMetrics
        case unknown(String)

        init(_ query: QueryParameters) {
            if query.contains("openmetrics") {
                self = .openMetrics
                return
            }
            switch query["format"] {
            case nil, "json": self = .json
            case "openmetrics": self = .openMetrics
            case let other?: self = .unknown(other)
            }
        }
    }

    /// The OpenMetrics 1.0 text format: a `# TYPE` and `# HELP` line per family, counters' samples
    /// ending in `_total`, every sample labelled with the pool, and `# EOF` last.
    var openMetrics: String {
        var out = OpenMetricsWriter(poolLabel: pool)
        out.family("partnerships_pool", type: "info", help: "The pool and its process manager (always static).")
        out.sample("partnerships_pool_info", ["process_manager": "static"], 1)
        out.family(
            "partnerships_start_time_seconds", type: "gauge", unit: "seconds",
            help: "When the supervisor started, in seconds since the Unix epoch.")
        out.sample("partnerships_start_time_seconds", [:], header.startedAt)
        out.family(
            "partnerships_accepted_connections", type: "counter",
            help: "Requests served since the pool started, by live and retired workers (PHP-FPM's accepted conn).")
        out.sample("partnerships_accepted_connections_total", [:], acceptedRequests)
        if let listenQueue {
            out.family(
                "partnerships_listen_queue", type: "gauge", help: "Connections waiting in the socket's accept queue.")
            out.sample("partnerships_listen_queue", [:], listenQueue.queued)
            out.family(
                "partnerships_listen_queue_length", type: "gauge",
                help: "The accept queue's size (the listen backlog the kernel applies).")
            out.sample("partnerships_listen_queue_length", [:], listenQueue.limit)
        }
        out.family(
            "partnerships_max_listen_queue", type: "gauge",
            help: "The longest accept queue seen since the pool started (sampled every 100 ms and at each /status).")
        out.sample("partnerships_max_listen_queue", [:], max(header.maxListenQueue, listenQueue?.queued ?? 0))
        out.family("partnerships_idle_processes", type: "gauge", help: "Workers waiting for a connection.")
        out.sample("partnerships_idle_processes", [:], idle)
        out.family("partnerships_active_processes", type: "gauge", help: "Workers serving a request.")
        out.sample("partnerships_active_processes", [:], active)
        out.family(
            "partnerships_total_processes", type: "gauge",
            help: "Worker processes, including starting and stopping ones.")
        out.sample("partnerships_total_processes", [:], total)
        out.family(
            "partnerships_max_active_processes", type: "gauge",
            help: "The most workers busy at once since the pool started.")
        out.sample("partnerships_max_active_processes", [:], max(header.maxActiveProcesses, active))
        out.family(
            "partnerships_max_children_reached", type: "counter",
            help: "Requests whose start left no worker idle, so that a connection arriving then waited in the queue.")
        out.sample("partnerships_max_children_reached_total", [:], header.maxChildrenReached)
        out.family(
            "partnerships_slow_requests", type: "counter",
            help: "Requests that ran at least the slow-request threshold (serve --slow-request-ms).")
        out.sample("partnerships_slow_requests_total", [:], header.slowRequests)
        if let slowRequestMilliseconds {
            out.family(
                "partnerships_slow_request_threshold_seconds", type: "gauge", unit: "seconds",
                help: "The slow-request threshold.")
            out.sample("partnerships_slow_request_threshold_seconds", [:], Double(slowRequestMilliseconds) / 1000)
        }
        out.family(
            "partnerships_worker_restarts", type: "counter",
            help: "Workers replaced: crashed, killed at the request timeout, or recycled after max requests.")
        out.sample("partnerships_worker_restarts_total", ["reason": "crash"], header.crashRestarts)
        out.sample("partnerships_worker_restarts_total", ["reason": "timeout"], header.timeoutKills)
        out.sample("partnerships_worker_restarts_total", ["reason": "recycle"], header.recycles)
        out.family("partnerships_reloads", type: "counter", help: "Graceful reloads (SIGHUP).")
        out.sample("partnerships_reloads_total", [:], header.reloads)
        out.family("partnerships_generation", type: "gauge", help: "The current generation of workers.")
        out.sample("partnerships_generation", [:], header.generation)

        out.family("partnerships_worker_state", type: "stateset", help: "Each worker's state.")
        for worker in workers {
            for state in [Scoreboard.WorkerState.starting, .idle, .busy, .stopping] {
                out.sample(
                    "partnerships_worker_state",
                    worker.labels.merging(["partnerships_worker_state": state.name]) { $1 },
                    worker.slot.state == state ? 1 : 0)
            }
        }
        out.family("partnerships_worker_requests", type: "counter", help: "Requests each worker has served.")
        for worker in workers { out.sample("partnerships_worker_requests_total", worker.labels, worker.slot.requests) }
        out.family(
            "partnerships_worker_start_time_seconds", type: "gauge", unit: "seconds",
            help: "When each worker started, in seconds since the Unix epoch.")
        for worker in workers {
            out.sample("partnerships_worker_start_time_seconds", worker.labels, worker.slot.startedAt)
        }
        out.family(
            "partnerships_worker_last_request_duration_seconds", type: "gauge", unit: "seconds",
            help: "How long each worker's last finished request took.")
        for worker in workers {
            guard let nanoseconds = worker.slot.lastRequestNanoseconds else { continue }
            out.sample(
                "partnerships_worker_last_request_duration_seconds", worker.labels, Double(nanoseconds) / 1e9)
        }
        out.family(
            "partnerships_worker_current_request_duration_seconds", type: "gauge", unit: "seconds",
            help: "How long each busy worker's current request has been running.")
        for worker in workers {
            guard let nanoseconds = worker.busyNanoseconds else { continue }
            out.sample(
                "partnerships_worker_current_request_duration_seconds", worker.labels, Double(nanoseconds) / 1e9)
        }
        return out.finish()
    }
}

extension StatusReport.Worker {
    var labels: [String: String] { ["slot": String(slot.index), "pid": String(slot.pid)] }
}

/// Text in the OpenMetrics 1.0 exposition format.
struct OpenMetricsWriter {
    let poolLabel: String
    private var text = ""

    init(poolLabel: String) { self.poolLabel = poolLabel }

    mutating func family(_ name: String, type: String, unit: String? = nil, help: String) {
        text += "# TYPE \(name) \(type)\n"
        if let unit { text += "# UNIT \(name) \(unit)\n" }
        text += "# HELP \(name) \(Self.escape(help, quotes: false))\n"
    }

    mutating func sample(_ name: String, _ labels: [String: String], _ value: Int) {
        sample(name, labels, text: String(value))
    }

    mutating func sample(_ name: String, _ labels: [String: String], _ value: Double) {
        sample(name, labels, text: value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : "\(value)")
    }

    private mutating func sample(_ name: String, _ labels: [String: String], text value: String) {
        let pairs = [("pool", poolLabel)] + labels.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        let rendered = pairs.map { "\($0.0)=\"\(Self.escape($0.1, quotes: true))\"" }.joined(separator: ",")
        text += "\(name){\(rendered)} \(value)\n"
    }

    mutating func finish() -> String {
        text += "# EOF\n"
        return text
    }

    /// Backslash and newline in HELP text; the double quote too in label values.
    static func escape(_ value: String, quotes: Bool) -> String {
        var out = ""
        for character in value {
            switch character {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\"" where quotes: out += "\\\""
            default: out.append(character)
            }
        }
        return out
    }
}
