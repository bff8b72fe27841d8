import ArgumentParser
import Logging
import PostgresStore
import Server
import Settings
import Store
import WorkerPool

#if canImport(Glibc)
    import Glibc
#endif

/// Options a worker needs; the supervisor passes every one of them to every worker it starts (a
/// worker reads no config file and no PARTNERSHIPS_* setting of its own).
struct WorkerArguments: ParsableArguments {
    @Option(help: "Folder of the JSON store, or the store's postgres:// URL.")
    var data: String = Knob.data.defaultValue!

    @Option(help: "Largest request body accepted, in bytes (413 above).")
    var bodyLimit: Int = Int(Knob.bodyLimit.defaultValue!)!

    @Option(help: "A worker exits after this many requests and is replaced (0: never).")
    var maxRequests: Int = Int(Knob.maxRequests.defaultValue!)!

    @Option(
        name: .customLong("response-cache-mib"), help: "MiB of answers each worker keeps for repeated GETs (0: none).")
    var responseCacheMiB: Int = Int(Knob.responseCacheMiB.defaultValue!)!

    @Flag(help: "Mount /_test/* routes used by the end-to-end tests. Never in production.")
    var enableTestRoutes = false
}

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the supervisor: bind the FastCGI socket and keep a pool of workers on it.",
        discussion: """
            Every setting but --enable-test-routes can also come from a PARTNERSHIPS_* environment \
            variable or a config file (--config FILE or $PARTNERSHIPS_CONFIG; see deploy/partnerships.conf.example); \
            a flag wins over the variable, the variable over the file, the file over the default. The \
            store's folder is created with an empty store if it holds none.

            Signals: SIGTERM/SIGQUIT/SIGINT stop gracefully (in-flight requests finish); SIGHUP reloads \
            gracefully (new workers start before old ones leave; a rebuilt binary is picked up; the \
            settings stay those read at start); SIGUSR1 reopens the log file.
            """
    )

    @OptionGroup var location: StoreLocation

    @Option(help: ArgumentHelp(Knob.listen.help("Where to listen: unix:/path/to.sock or 127.0.0.1:PORT.")))
    var listen: String?

    @Option(
        help: ArgumentHelp(
            Knob.socketGroup.help(
                "Group that may connect to the unix socket (mode 0660), e.g. www-data.", default: "default: none")))
    var socketGroup: String?

    @Option(help: ArgumentHelp(Knob.workers.help("Number of worker processes.", default: "default: number of cores")))
    var workers: Int?

    @Option(
        help: ArgumentHelp(Knob.maxRequests.help("A worker exits after this many requests and is replaced (0: never)."))
    )
    var maxRequests: Int?

    @Option(help: ArgumentHelp(Knob.bodyLimit.help("Largest request body accepted, in bytes (413 above).")))
    var bodyLimit: Int?

    @Option(
        help: ArgumentHelp(
            Knob.requestTimeout.help("Seconds a request may run before its worker is killed and replaced.")))
    var requestTimeout: Double?

    @Option(
        name: .customLong("slow-request-ms"),
        help: ArgumentHelp(
            Knob.slowRequestMilliseconds.help(
                "Requests running at least this many milliseconds count as slow in /status and are logged (0: never)."))
    )
    var slowRequestMilliseconds: Int?

    @Option(
        help: ArgumentHelp(
            Knob.poolName.help(
                "The pool's name in /status, to tell several pools on one host apart (letters, digits, . _ -).")))
    var poolName: String?

    @Option(
        help: ArgumentHelp(
            Knob.backlog.help(
                """
                Connections the socket queues while every worker is busy (listen backlog). When the queue is \
                full, Linux refuses a unix-socket connect at once and nginx answers 503 with Retry-After.
                """)))
    var backlog: Int?

    @Option(
        help: ArgumentHelp(Knob.gracePeriod.help("Seconds a graceful stop or reload waits for in-flight requests.")))
    var gracePeriod: Double?

    @Option(
        name: .customLong("run-dir"),
        help: ArgumentHelp(Knob.runDirectory.help("Folder for the scoreboard and the pid file.")))
    var runDirectory: String?

    @Option(help: ArgumentHelp(Knob.logFile.help("Log file (JSON lines); '-' for stderr.")))
    var log: String?

    @Option(
        help: ArgumentHelp(
            Knob.logLevel.help(
                "Lowest level logged, by the supervisor and every process it starts: trace, debug, info, notice, warning, error, critical."
            )))
    var logLevel: Logger.Level?

    @Option(
        help: ArgumentHelp(
            Knob.compactionThreshold.help("Journal bytes after which the supervisor starts a background compaction.")))
    var compactionThreshold: Int?

    @Option(
        name: .customLong("response-cache-mib"),
        help: ArgumentHelp(
            Knob.responseCacheMiB.help(
                "MiB of answers each worker keeps for repeated GETs of one record, until the store changes (0: none)."))
    )
    var responseCacheMiB: Int?

    @Flag(help: "Mount /_test/* routes used by the end-to-end tests. Never in production.")
    var enableTestRoutes = false

    /// The options given on the command line, as the resolver takes them.
    var flags: [Knob: String] {
        var flags: [Knob: String] = [:]
        flags[.listen] = listen
        flags[.socketGroup] = socketGroup
        flags[.workers] = workers.map { String($0) }
        flags[.maxRequests] = maxRequests.map { String($0) }
        flags[.bodyLimit] = bodyLimit.map { String($0) }
        flags[.requestTimeout] = requestTimeout.map { String($0) }
        flags[.slowRequestMilliseconds] = slowRequestMilliseconds.map { String($0) }
        flags[.poolName] = poolName
        flags[.backlog] = backlog.map { String($0) }
        flags[.gracePeriod] = gracePeriod.map { String($0) }
        flags[.runDirectory] = runDirectory
        flags[.logFile] = log
        flags[.logLevel] = logLevel?.rawValue
        flags[.compactionThreshold] = compactionThreshold.map { String($0) }
        flags[.responseCacheMiB] = responseCacheMiB.map { String($0) }
        return flags
    }

    func run() throws {
        let settings = try location.settings(flags: flags)
        // Every process this one starts gets its settings as flags: none reads the file again
        // (an edit while the pool runs takes effect at the next start, never halfway).
        unsetenv(Settings.configVariable)
        // The store: `store` (a postgres:// URL) wins over `data`'s folder.
        let data = settings.text(.store) ?? settings.text(.data)!
        let postgres = PostgresStoreEngine.handles(data)
        let runDirectory = settings.text(.runDirectory)!
        let log = settings.text(.logFile)!
        let listen = settings.text(.listen)!
        LogSetup.output.component = "supervisor"
        LogSetup.setLevel(Logger.Level(rawValue: settings.text(.logLevel)!.lowercased())!)
        if log != "-" { try LogSetup.open(absolutePath(log)) }
        LogSetup.passOn(file: log == "-" ? nil : absolutePath(log))
        let logger = Logger(label: "partnerships.serve")
        if let file = settings.configFile {
            logger.info("settings read", metadata: ["config": .string(absolutePath(file))])
        }
        try makeDirectories(runDirectory)
        if !postgres { try makeDirectories(data) }
        let compactionWatch: CompactionWatch?
        if postgres {
            // The database is checked (reachable, schema created or upgraded) once before any
            // worker starts; there is nothing to compact, so no watch.
            do {
                let store = try ServerAssembly.openStore(data, indexes: ServerAssembly.allIndexes())
                logger.info("store checked", metadata: ["store": .string(store.directory)])
            } catch {
                let shown = PostgresStoreEngine.redacted(data)
                logger.error(
                    "the store cannot be opened; not starting", error: error, metadata: ["store": .string(shown)])
                throw CommandFailure(message: "the store at \(shown) cannot be opened: \(error)")
            }
            compactionWatch = nil
        } else {
            compactionWatch = try checkFolderStore(data, settings: settings, logger: logger)
        }
        let address = ListenAddress.parse(
            listen.hasPrefix("unix:") ? "unix:" + absolutePath(String(listen.dropFirst(5))) : listen,
            mode: 0o660, group: settings.text(.socketGroup))!
        let socket = try ListenSocket.bind(address, backlog: Int32(settings.int(.backlog)!))
        // Workers do not share the supervisor's idea of the current folder forever: absolute paths.
        let workerArguments =
            [
                "--data", postgres ? data : absolutePath(data), "--body-limit", String(settings.int(.bodyLimit)!),
                "--max-requests", String(settings.int(.maxRequests)!),
                "--response-cache-mib", String(settings.int(.responseCacheMiB)!),
            ] + (enableTestRoutes ? ["--enable-test-routes"] : [])
        var configuration = PoolConfiguration(
            workerCommand: [executablePath(), "worker"] + workerArguments,
            scoreboardPath: absolutePath(runDirectory + "/scoreboard"))
        configuration.workers = settings.int(.workers) ?? Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        configuration.maxRequests = settings.int(.maxRequests)!
        configuration.requestTimeout = settings.double(.requestTimeout)!
        configuration.slowRequestMilliseconds = settings.int(.slowRequestMilliseconds)!
        configuration.poolName = settings.text(.poolName)!
        configuration.gracePeriod = settings.double(.gracePeriod)!
        configuration.pidFile = absolutePath(runDirectory + "/partnerships.pid")
        configuration.reopenLog = { try LogSetup.output.reopen() }
        if !postgres {
            configuration.maintenanceCommand =
                [executablePath(), "store", "compact", "--data", absolutePath(data), "--background"]
                + (log == "-" ? [] : ["--log", absolutePath(log)])
        }
        if case .tcp(let host, let port) = socket.address {
            print("listening on \(host):\(port)")
            fflush(nil)
        }
        let supervisor = try Supervisor(
            configuration: configuration, socket: socket,
            maintenanceDue: compactionWatch.map { watch in { watch.watch() } })
        throw ExitCode(supervisor.run())
    }

    /// The JSON store's check before any worker starts: open (and recover) the store checking the
    /// whole data file, so a damaged store refuses to start here, with the file and byte, instead of
    /// workers crash-looping. The supervisor keeps no store open afterwards: it only watches the head
    /// for compaction. A folder without a store gets a new empty one (serve, like `store init`,
    /// creates it).
    private func checkFolderStore(_ data: String, settings: Settings, logger: Logger) throws -> CompactionWatch {
        do {
            let started = Scoreboard.monotonicNanoseconds()
            let notes = try Store.recoverForStart(
                directory: absolutePath(data), indexes: ServerAssembly.allIndexes(), verifyData: true)
            for note in notes { logger.warning("store recovery", metadata: ["note": .string(note)]) }
            logger.info(
                "store checked",
                metadata: [
                    "data": .string(data), "ms": "\((Scoreboard.monotonicNanoseconds() - started) / 1_000_000)",
                ])
            return try CompactionWatch(
                directory: absolutePath(data), threshold: settings.int(.compactionThreshold)!)
        } catch {
            logger.error("the store cannot be opened; not starting", error: error, metadata: ["data": .string(data)])
            throw CommandFailure(message: "the store in \(data) cannot be opened: \(error)")
        }
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
            maxRequests: worker.maxRequests, responseCacheBytes: worker.responseCacheMiB << 20,
            testRoutes: worker.enableTestRoutes,
            reopenLog: { try LogSetup.output.reopen() })
        throw ExitCode(loop.run())
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
