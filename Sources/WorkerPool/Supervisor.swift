import Logging

#if canImport(Glibc)
    import Glibc
#endif

public struct PoolConfiguration: Sendable {
    public var workers: Int = 2
    /// A worker is replaced after this many requests (0: never). The replacement starts first and
    /// the worker leaves once it is accepting, so a recycle never leaves the pool a worker short.
    public var maxRequests: Int = 10_000
    /// A request running longer than this gets its worker killed and replaced (seconds).
    public var requestTimeout: Double = 30
    /// Requests that run at least this long count as slow in /status (0: none are counted).
    public var slowRequestMilliseconds: Int = 1000
    /// The pool's name in /status (PHP-FPM's `pool`), for telling several pools on a host apart.
    public var poolName: String = "partnerships"
    /// How long a graceful stop or reload waits for in-flight requests (seconds).
    public var gracePeriod: Double = 35
    /// More than `restartLimit` crashes within `restartWindow` seconds: back off before respawning.
    public var restartLimit: Int = 10
    public var restartWindow: Double = 10
    /// argv of a worker; the supervisor adds the slot and scoreboard through the environment.
    public var workerCommand: [String]
    public var scoreboardPath: String
    public var pidFile: String?
    /// argv of a background maintenance job (the store's compaction), started when the check given
    /// to the supervisor says it is due; at most one runs at a time, never inside a request.
    public var maintenanceCommand: [String]?
    public var maintenanceCheckInterval: Double = 1
    /// Opens the log file again (SIGUSR1, after logrotate moved it); the workers get the signal too.
    public var reopenLog: (@Sendable () throws -> Void)?

    public init(workerCommand: [String], scoreboardPath: String) {
        self.workerCommand = workerCommand
        self.scoreboardPath = scoreboardPath
    }
}

/// Environment variables the supervisor gives the processes it starts.
public enum WorkerEnvironment {
    /// A worker's slot in the scoreboard, the scoreboard's path and the worker's generation.
    public static let slot = "PARTNERSHIPS_WORKER_SLOT"
    public static let scoreboard = "PARTNERSHIPS_SCOREBOARD"
    public static let generation = "PARTNERSHIPS_WORKER_GENERATION"
    /// The supervisor's pid, given to workers and the maintenance job alike (`SupervisorLink`).
    public static let supervisorPID = "PARTNERSHIPS_SUPERVISOR_PID"
    /// The pool's name, for /status.
    public static let poolName = "PARTNERSHIPS_POOL_NAME"

    /// Set by this supervisor for each child: never passed on from its own environment (a
    /// supervisor started by a worker, say, in a test).
    static let names = [slot, scoreboard, generation, supervisorPID, poolName]
}

/// The supervisor: owns the listening socket and a static pool of single-threaded workers.
///
/// Signals (documented in docs/operations.md):
/// - SIGTERM, SIGQUIT, SIGINT: graceful stop; in-flight requests finish (up to `gracePeriod`).
/// - SIGHUP: graceful reload; a new generation of workers starts and is accepting before the old
///   generation is asked to finish and leave. The worker executable is re-read, so a rebuilt
///   binary is picked up.
/// - SIGUSR1: reopen the log file, in the supervisor and every worker.
public final class Supervisor {
    private struct Worker {
        var slot: Int
        var generation: Int
        var retiring = false
        var killedForTimeout = false
        /// Asked for a replacement (max_requests); asked to leave once the replacement is ready.
        var recycling = false
        var askedToLeave = false
    }

    private let configuration: PoolConfiguration
    private let socket: ListenSocket
    private let scoreboard: Scoreboard
    private var workers: [pid_t: Worker] = [:]
    private var generation = 1
    private var stopping = false
    private var stopDeadline = 0.0
    private var reloadDeadline: Double? = nil
    private var backoff: RestartBackoff
    private let maintenanceDue: (() -> Bool)?
    private var maintenancePID: pid_t? = nil
    private var maintenanceStarted = 0.0
    private var nextMaintenanceCheck = 0.0
    private let logger = Logger(label: "partnerships.supervisor")

    public init(configuration: PoolConfiguration, socket: ListenSocket, maintenanceDue: (() -> Bool)? = nil) throws {
        self.configuration = configuration
        self.socket = socket
        self.maintenanceDue = maintenanceDue
        self.backoff = RestartBackoff(limit: configuration.restartLimit, window: configuration.restartWindow)
        self.scoreboard = try Scoreboard(path: configuration.scoreboardPath, slotCount: configuration.workers * 2 + 2)
        scoreboard.setSlowRequestThreshold(milliseconds: configuration.slowRequestMilliseconds)
    }

    /// Runs until stopped; returns the process exit code.
    public func run() -> Int32 {
        let signals: [Int32] = [SIGCHLD, SIGTERM, SIGQUIT, SIGINT, SIGHUP, SIGUSR1]
        var set = sigset_t()
        sigemptyset(&set)
        for s in signals { sigaddset(&set, s) }
        sigprocmask(SIG_BLOCK, &set, nil)
        signal(SIGPIPE, SIG_IGN)
        if let pidFile = configuration.pidFile { writePIDFile(pidFile) }
        logger.info(
            "supervisor started",
            metadata: [
                "listen": "\(socket.address)", "workers": "\(configuration.workers)",
                "max_requests": "\(configuration.maxRequests)",
                "request_timeout": "\(configuration.requestTimeout)", "version": .string(BuildInfo.version),
                "commit": .string(BuildInfo.commit ?? "unknown"),
            ])
        ensureWorkers()

        while true {
            var timeout = timespec(tv_sec: 0, tv_nsec: 100_000_000)
            let received = sigtimedwait(&set, nil, &timeout)
            switch received {
            case SIGTERM, SIGQUIT, SIGINT: beginStop(signal: received)
            case SIGHUP: beginReload()
            case SIGUSR1:
                do {
                    try configuration.reopenLog?()
                    logger.info("log reopened")
                } catch {
                    logger.error("cannot reopen the log file; still writing to the one open", error: error)
                }
                for pid in workers.keys { kill(pid, SIGUSR1) }
            default: break
            }
            reapChildren()
            if stopping {
                if workers.isEmpty && maintenancePID == nil { break }
                if now() > stopDeadline {
                    logger.warning(
                        "grace period over; killing remaining workers", metadata: ["count": "\(workers.count)"])
                    for pid in workers.keys { kill(pid, SIGKILL) }
                    stopDeadline = .infinity
                }
                continue
            }
            sampleListenQueue()
            killStuckWorkers()
            progressReload()
            beginRecycles()
            ensureWorkers()
            progressRecycles()
            startMaintenanceIfDue()
        }
        cleanUp()
        logger.info("supervisor stopped")
        return 0
    }

    private func now() -> Double { Double(Scoreboard.monotonicNanoseconds()) / 1e9 }

    private func beginStop(signal: Int32) {
        guard !stopping else { return }
        stopping = true
        stopDeadline = now() + configuration.gracePeriod
        logger.info("graceful stop", metadata: ["signal": "\(signal)", "workers": "\(workers.count)"])
        for pid in workers.keys { kill(pid, SIGTERM) }
        // A compaction stopped part way leaves the published generation as it was (crash-safe by design).
        if let maintenancePID { kill(maintenancePID, SIGTERM) }
    }

    private func beginReload() {
        guard reloadDeadline == nil else {
            logger.warning("reload already in progress; SIGHUP ignored")
            return
        }
        generation += 1
        scoreboard.increment(.reloads)
        scoreboard.increment(.generation)
        reloadDeadline = now() + 15
        logger.info("graceful reload: starting a new generation", metadata: ["generation": "\(generation)"])
        for (pid, worker) in workers where worker.generation < generation {
            workers[pid]?.retiring = true  // not respawned when they leave; asked to leave once the new ones are up
        }
        ensureWorkers()
    }

    /// Old workers leave only once every new worker is accepting, so no request finds the pool empty.
    private func progressReload() {
        guard let deadline = reloadDeadline else { return }
        let current = workers.filter { $0.value.generation == generation }
        let ready =
            current.count == configuration.workers
            && current.values.allSatisfy {
                scoreboard.slot($0.slot).state == .idle || scoreboard.slot($0.slot).state == .busy
            }
        if ready {
            let old = workers.filter { $0.value.generation < generation }
            for pid in old.keys { kill(pid, SIGTERM) }
            logger.info(
                "graceful reload: new generation ready; old workers finishing",
                metadata: ["old_workers": "\(old.count)"])
            reloadDeadline = nil
        } else if now() > deadline {
            logger.error("graceful reload failed: new workers did not become ready; keeping the old generation")
            for (pid, worker) in workers where worker.generation == generation {
                kill(pid, SIGKILL)
                workers[pid]?.retiring = true
            }
            generation -= 1
            for (pid, worker) in workers where worker.generation == generation { workers[pid]?.retiring = false }
            reloadDeadline = nil
        }
    }

    /// A worker that reached max_requests keeps serving while its replacement cold-opens the store
    /// (seconds with a large one): it stops counting as live, so `ensureWorkers` starts another.
    private func beginRecycles() {
        for (pid, worker) in workers where !worker.retiring && scoreboard.slot(worker.slot).wantsReplacement {
            workers[pid]?.retiring = true
            workers[pid]?.recycling = true
            logger.info("worker reached max_requests; starting its replacement", metadata: ["worker_pid": "\(pid)"])
        }
    }

    /// Recycling workers leave once the pool has its full count of ready workers without them.
    private func progressRecycles() {
        let waiting = workers.filter { $0.value.recycling && !$0.value.askedToLeave }
        guard !waiting.isEmpty else { return }
        let ready = workers.values.filter {
            $0.generation == generation && !$0.retiring
                && [.idle, .busy].contains(scoreboard.slot($0.slot).state)
        }.count
        guard ready >= configuration.workers else { return }
        for pid in waiting.keys {
            kill(pid, SIGTERM)
            workers[pid]?.askedToLeave = true
        }
    }

    /// The accept queue every tick (100 ms, sooner after a signal), for /status's max listen queue.
    /// A sample: a burst that comes and goes between two ticks is not seen (PHP-FPM samples once
    /// a second).
    private func sampleListenQueue() {
        if let queue = ListenSocket.queue(fd: socket.fd) { scoreboard.noteListenQueue(queue.queued) }
    }

    private func killStuckWorkers() {
        let limit = Int(configuration.requestTimeout * 1e9)
        let nowNanoseconds = Scoreboard.monotonicNanoseconds()
        for (pid, worker) in workers where !worker.killedForTimeout {
            let slot = scoreboard.slot(worker.slot)
            guard slot.state == .busy, slot.busySince > 0, nowNanoseconds - slot.busySince > limit else { continue }
            logger.warning(
                "slow request: worker killed after the request timeout",
                metadata: [
                    "worker_pid": "\(pid)", "slot": "\(worker.slot)", "request": .string(slot.currentRequest),
                    "elapsed_ms": "\((nowNanoseconds - slot.busySince) / 1_000_000)",
                ])
            kill(pid, SIGKILL)
            workers[pid]?.killedForTimeout = true
            scoreboard.increment(.timeoutKills)
            let threshold = configuration.slowRequestMilliseconds
            if threshold > 0 && Double(threshold) <= configuration.requestTimeout * 1000 {
                scoreboard.noteSlowRequest()
            }
        }
    }

    private func reapChildren() {
        while true {
            var status: Int32 = 0
            let pid = waitpid(-1, &status, WNOHANG)
            guard pid > 0 else { return }
            if pid == maintenancePID {
                maintenanceFinished(status: status)
                continue
            }
            guard let worker = workers.removeValue(forKey: pid) else { continue }
            scoreboard.increment(.retiredRequests, by: scoreboard.slot(worker.slot).requests)
            scoreboard.release(slot: worker.slot)
            let exitedNormally = (status & 0x7f) == 0
            let exitCode = (status >> 8) & 0xff
            let signalNumber = status & 0x7f
            if worker.recycling && exitedNormally && exitCode == 0 {
                scoreboard.increment(.recycles)
                continue
            }
            if stopping || worker.retiring { continue }
            if worker.killedForTimeout { continue }  // replaced by ensureWorkers, already logged
            if exitedNormally && exitCode == 0 {
                scoreboard.increment(.recycles)
                continue
            }
            scoreboard.increment(.crashRestarts)
            let how = exitedNormally ? "exit status \(exitCode)" : "signal \(signalNumber)"
            logger.error(
                "worker died; restarting",
                metadata: ["worker_pid": "\(pid)", "slot": "\(worker.slot)", "cause": .string(how)])
            noteCrash()
        }
    }

    private func noteCrash() {
        guard let pause = backoff.noteCrash(at: now()) else { return }
        logger.error(
            "restart storm: backing off before restarting workers",
            metadata: [
                "crashes": "\(configuration.restartLimit + 1)", "window_s": "\(configuration.restartWindow)",
                "backoff_s": "\(pause)",
            ])
    }

    private func ensureWorkers() {
        guard !stopping, backoff.mayRestart(at: now()) else { return }
        let live = workers.values.filter { $0.generation == generation && !$0.retiring }.count
        guard live < configuration.workers else { return }
        // While other workers serve (a reload, a recycle, a crashed worker's replacement), new ones
        // start one at a time: each one's store attach (the journal tail replayed, 0.1-0.2 s of CPU
        // at 100k records, ~1 s at 1M) then takes at most one core from the workers serving meanwhile,
        // instead of all of them at once. A cold start starts them all together.
        let serving = workers.values.contains { [.idle, .busy].contains(scoreboard.slot($0.slot).state) }
        let starting = workers.values.contains {
            $0.generation == generation && !$0.retiring && scoreboard.slot($0.slot).state == .starting
        }
        let count = serving ? (starting ? 0 : 1) : configuration.workers - live
        for _ in 0..<count {
            guard let slot = scoreboard.claimSlot(generation: generation) else {
                logger.error("no free scoreboard slot; cannot start a worker")
                return
            }
            if let pid = spawnWorker(slot: slot) {
                scoreboard.setPID(pid, slot: slot)
                workers[pid] = Worker(slot: slot, generation: generation)
                logger.info("worker started", metadata: ["worker_pid": "\(pid)", "slot": "\(slot)"])
                // A reload's deadline counts from its last worker's start, not from the first one's.
                if let deadline = reloadDeadline { reloadDeadline = max(deadline, now() + 15) }
            } else {
                scoreboard.release(slot: slot)
                noteCrash()
                return
            }
        }
    }

    private func spawnWorker(slot: Int) -> pid_t? {
        spawn(
            configuration.workerCommand,
            environment: [
                "\(WorkerEnvironment.slot)=\(slot)", "\(WorkerEnvironment.scoreboard)=\(configuration.scoreboardPath)",
                "\(WorkerEnvironment.generation)=\(generation)",
                "\(WorkerEnvironment.poolName)=\(configuration.poolName)",
            ], stdinFromSocket: true)
    }

    /// posix_spawn with default signal handling; workers get the listening socket as fd 0. Every child
    /// learns our pid, to end when we do (`SupervisorLink`).
    private func spawn(_ command: [String], environment extra: [String], stdinFromSocket: Bool) -> pid_t? {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if stdinFromSocket {
            posix_spawn_file_actions_adddup2(&actions, socket.fd, 0)
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for s in [SIGCHLD, SIGTERM, SIGQUIT, SIGINT, SIGHUP, SIGUSR1, SIGPIPE] { sigaddset(&defaults, s) }
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var environment: [String] = []
        var cursor = environ
        while let entry = cursor.pointee {
            let text = String(cString: entry)
            if !WorkerEnvironment.names.contains(where: { text.hasPrefix($0 + "=") }) { environment.append(text) }
            cursor += 1
        }
        environment += extra + ["\(WorkerEnvironment.supervisorPID)=\(getpid())"]

        let argv = command.map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, command[0], &actions, &attributes, argv, envp)
        guard rc == 0 else {
            logger.error(
                "cannot start process",
                metadata: ["command": .string(command[0]), "error": .string(String(cString: strerror(rc)))])
            return nil
        }
        return pid
    }

    private func startMaintenanceIfDue() {
        guard maintenancePID == nil, let command = configuration.maintenanceCommand, let due = maintenanceDue else {
            return
        }
        let t = now()
        guard t >= nextMaintenanceCheck else { return }
        nextMaintenanceCheck = t + configuration.maintenanceCheckInterval
        guard due() else { return }
        guard let pid = spawn(command, environment: [], stdinFromSocket: false) else {
            nextMaintenanceCheck = t + 30
            return
        }
        maintenancePID = pid
        maintenanceStarted = t
        logger.info(
            "maintenance started",
            metadata: ["command": .string(command.dropFirst().joined(separator: " ")), "maintenance_pid": "\(pid)"])
    }

    private func maintenanceFinished(status: Int32) {
        let milliseconds = String(Int((now() - maintenanceStarted) * 1000))
        if (status & 0x7f) == 0 && (status >> 8) & 0xff == 0 {
            logger.info(
                "maintenance finished",
                metadata: ["maintenance_pid": "\(maintenancePID ?? 0)", "duration_ms": .string(milliseconds)])
        } else {
            // Retried later: a failed compaction leaves the published generation as it was.
            logger.error(
                "maintenance failed; retrying in 30 s",
                metadata: [
                    "maintenance_pid": "\(maintenancePID ?? 0)", "duration_ms": .string(milliseconds),
                    "status": "\(status)",
                ])
            nextMaintenanceCheck = now() + 30
        }
        maintenancePID = nil
    }

    private func writePIDFile(_ path: String) {
        let text = "\(getpid())\n"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            logger.warning(
                "cannot write pid file",
                metadata: ["path": .string(path), "error": .string(String(cString: strerror(errno)))])
            return
        }
        let written = text.withCString { Glibc.write(fd, $0, strlen($0)) }
        if written != text.utf8.count {
            logger.warning(
                "cannot write pid file",
                metadata: [
                    "path": .string(path),
                    "error": .string(written < 0 ? String(cString: strerror(errno)) : "short write"),
                ])
        }
        close(fd)
    }

    private func cleanUp() {
        if case .unix(let path, _, _) = socket.address { unlink(path) }
        if let pidFile = configuration.pidFile { unlink(pidFile) }
        close(socket.fd)
    }
}
