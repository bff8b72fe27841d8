import ArgumentParser
import Logging
import Server
import Store
import WorkerPool

#if canImport(Glibc)
    import Glibc
#endif

/// Options a worker needs; the supervisor passes them on to every worker it starts.
struct WorkerArguments: ParsableArguments {
    @Option(help: "Folder of the JSON store (created if missing).")
    var data: String = "state/data"

    @Option(help: "Largest request body accepted, in bytes (413 above).")
    var bodyLimit: Int = 1 << 20

    @Option(help: "A worker exits after this many requests and is replaced (0: never).")
    var maxRequests: Int = 10_000

    @Flag(help: "Mount /_test/* routes used by the end-to-end tests. Never in production.")
    var enableTestRoutes = false

    var forwarded: [String] {
        ["--data", data, "--body-limit", String(bodyLimit), "--max-requests", String(maxRequests)]
            + (enableTestRoutes ? ["--enable-test-routes"] : [])
    }
}

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the supervisor: bind the FastCGI socket and keep a pool of workers on it.",
        discussion: """
            Signals: SIGTERM/SIGQUIT/SIGINT stop gracefully (in-flight requests finish); SIGHUP reloads \
            gracefully (new workers start before old ones leave; a rebuilt binary is picked up); SIGUSR1 \
            reopens the log file.
            """
    )

    @Option(help: "Where to listen: unix:/path/to.sock or 127.0.0.1:PORT.")
    var listen: String = "unix:state/run/partnerships.sock"

    @Option(help: "Group that may connect to the unix socket (mode 0660), e.g. www-data.")
    var socketGroup: String?

    @Option(help: "Number of worker processes (default: number of cores).")
    var workers: Int?

    @Option(help: "Seconds a request may run before its worker is killed and replaced.")
    var requestTimeout: Double = 30

    @Option(
        name: .customLong("slow-request-ms"),
        help: "Requests running at least this many milliseconds count as slow in /status and are logged (0: never).")
    var slowRequestMilliseconds: Int = 1000

    @Option(help: "The pool's name in /status, to tell several pools on one host apart (letters, digits, . _ -).")
    var poolName: String = "partnerships"

    @Option(
        help: """
            Connections the socket queues while every worker is busy (listen backlog). When the queue is \
            full, Linux refuses a unix-socket connect at once and nginx answers 503 with Retry-After.
            """)
    var backlog: Int = 64

    @Option(help: "Seconds a graceful stop or reload waits for in-flight requests.")
    var gracePeriod: Double = 35

    @Option(name: .customLong("run-dir"), help: "Folder for the scoreboard and the pid file.")
    var runDirectory: String = "state/run"

    @Option(help: "Log file (JSON lines); '-' for stderr.")
    var log: String = "-"

    @Option(
        help: """
            Lowest level logged, by the supervisor and every process it starts: trace, debug, info, notice, \
            warning, error, critical (default: $PARTNERSHIPS_LOG_LEVEL, else info).
            """)
    var logLevel: Logger.Level?

    @Option(help: "Journal bytes after which the supervisor starts a background compaction.")
    var compactionThreshold: Int = StoreOptions().compactionThreshold

    @OptionGroup var worker: WorkerArguments

    func validate() throws {
        guard ListenAddress.parse(listen) != nil else {
            throw ValidationError("--listen must be unix:/path or HOST:PORT")
        }
        if let workers, workers < 1 || workers > 256 { throw ValidationError("--workers must be between 1 and 256") }
        guard requestTimeout > 0 else { throw ValidationError("--request-timeout must be positive") }
        guard slowRequestMilliseconds >= 0 else { throw ValidationError("--slow-request-ms must be 0 or more") }
        guard !poolName.isEmpty, poolName.utf8.count <= 64,
            poolName.utf8.allSatisfy({ $0 < 0x80 && (isalnum(Int32($0)) != 0 || "._-".utf8.contains($0)) })
        else { throw ValidationError("--pool-name must be 1 to 64 letters, digits, '.', '_' or '-'") }
        guard (1...65_535).contains(backlog) else { throw ValidationError("--backlog must be between 1 and 65535") }
    }

    func run() throws {
        LogSetup.output.component = "supervisor"
        if let logLevel { LogSetup.setLevel(logLevel) }
        if log != "-" { try LogSetup.open(absolutePath(log)) }
        LogSetup.passOn(file: log == "-" ? nil : absolutePath(log))
        let logger = Logger(label: "partnerships.serve")
        try makeDirectories(runDirectory)
        try makeDirectories(worker.data)
        // Open (and recover) the store once before any worker starts, checking the whole data file:
        // a damaged store refuses to start here, with the file and byte, instead of workers crash-looping.
        // The supervisor keeps no store open afterwards: it only watches the head for compaction.
        let compactionWatch: CompactionWatch
        do {
            let started = Scoreboard.monotonicNanoseconds()
            let notes = try Store.recoverForStart(
                directory: absolutePath(worker.data), indexes: ServerAssembly.allIndexes(), verifyData: true)
            for note in notes { logger.warning("store recovery", metadata: ["note": .string(note)]) }
            logger.info(
                "store checked",
                metadata: [
                    "data": .string(worker.data), "ms": "\((Scoreboard.monotonicNanoseconds() - started) / 1_000_000)",
                ])
            compactionWatch = try CompactionWatch(directory: absolutePath(worker.data), threshold: compactionThreshold)
        } catch {
            logger.error(
                "the store cannot be opened; not starting", error: error, metadata: ["data": .string(worker.data)])
            throw RefusedToStart(message: "the store in \(worker.data) cannot be opened: \(error)")
        }
        let address = ListenAddress.parse(
            listen.hasPrefix("unix:") ? "unix:" + absolutePath(String(listen.dropFirst(5))) : listen,
            mode: 0o660, group: socketGroup)!
        let socket = try ListenSocket.bind(address, backlog: Int32(backlog))
        var configuration = PoolConfiguration(
            workerCommand: [executablePath(), "worker"] + WorkerArguments.absolutized(worker).forwarded,
            scoreboardPath: absolutePath(runDirectory + "/scoreboard"))
        configuration.workers = workers ?? Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        configuration.maxRequests = worker.maxRequests
        configuration.requestTimeout = requestTimeout
        configuration.slowRequestMilliseconds = slowRequestMilliseconds
        configuration.poolName = poolName
        configuration.gracePeriod = gracePeriod
        configuration.pidFile = absolutePath(runDirectory + "/partnerships.pid")
        configuration.reopenLog = { try LogSetup.output.reopen() }
        configuration.maintenanceCommand =
            [executablePath(), "store", "compact", "--data", absolutePath(worker.data), "--background"]
            + (log == "-" ? [] : ["--log", absolutePath(log)])
        if case .tcp(let host, let port) = socket.address {
            print("listening on \(host):\(port)")
            fflush(nil)
        }
        let supervisor = try Supervisor(
            configuration: configuration, socket: socket, maintenanceDue: { compactionWatch.isDue })
        throw ExitCode(supervisor.run())
    }
}

struct Worker: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "One worker process (started by `serve`, with the listening socket as fd 0).",
        shouldDisplay: false
    )

    @OptionGroup var worker: WorkerArguments

    func run() throws {
        LogSetup.output.component = "worker"
        LogSetup.adoptSupervisorsFile()
        SupervisorLink.endWithSupervisor()
        let loop = try ServerAssembly.workerLoop(
            dataDirectory: worker.data, bodyLimit: worker.bodyLimit,
            maxRequests: worker.maxRequests, testRoutes: worker.enableTestRoutes,
            reopenLog: { try LogSetup.output.reopen() })
        throw ExitCode(loop.run())
    }
}

extension WorkerArguments {
    /// Workers do not share the supervisor's idea of the current folder forever: pass absolute paths.
    static func absolutized(_ arguments: WorkerArguments) -> WorkerArguments {
        var copy = arguments
        copy.data = absolutePath(arguments.data)
        return copy
    }
}

func makeDirectories(_ path: String) throws {
    var current = path.hasPrefix("/") ? "" : "."
    for component in path.split(separator: "/") {
        current += "/" + component
        if mkdir(current, 0o750) != 0 && errno != EEXIST {
            throw ValidationError("cannot create folder \(current): \(String(cString: strerror(errno)))")
        }
    }
}

/// Printed by ArgumentParser as `Error: <message>`, without the usage text a ValidationError adds.
struct RefusedToStart: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
