import CSystemShims

#if canImport(Glibc)
    import Glibc
#endif

nonisolated(unsafe) private var stopRequested: sig_atomic_t = 0
nonisolated(unsafe) private var reopenRequested: sig_atomic_t = 0

/// The signal side of a worker process.
///
/// Signals are blocked all the time except inside `ppoll()` while the worker waits for a
/// connection. `ppoll` swaps the mask atomically, so a SIGTERM can never slip in between
/// "check the flag" and "go to sleep". libfcgi's own accept path `select()`s on the new
/// connection and drops it if that select is interrupted, so signals must stay blocked while
/// `FCGX_Accept_r` runs; and a request in progress is never interrupted: it finishes, then the
/// worker exits (graceful stop and reload).
public enum WorkerRuntime {
    /// SIGTERM, SIGQUIT, SIGINT: finish the current request, then exit. SIGUSR1: reopen the log.
    public static let handledSignals: [Int32] = [SIGTERM, SIGQUIT, SIGINT, SIGUSR1]

    public enum Wake: Equatable {
        case connectionReady
        case stop
        case reopenLogs
        /// Only when asked not to wait: no connection is queued (the time is the worker's own).
        case nothingQueued
    }

    /// Call first thing in the worker, before libfcgi's FCGX_Init, which installs its own
    /// handlers only where none is set (and its SIGUSR1 handler would mean "shut down").
    public static func install() {
        signal(SIGPIPE, SIG_IGN)
        for signalNumber in handledSignals {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { number in
                if number == SIGUSR1 { reopenRequested = 1 } else { stopRequested = 1 }
            }
            action.sa_flags = 0  // no SA_RESTART: ppoll must return EINTR
            sigemptyset(&action.sa_mask)
            sigaction(signalNumber, &action, nil)
        }
        var blocked = sigset_t()
        sigemptyset(&blocked)
        for signalNumber in handledSignals { sigaddset(&blocked, signalNumber) }
        sigprocmask(SIG_BLOCK, &blocked, nil)
    }

    public static var isStopRequested: Bool { stopRequested != 0 }

    /// Sleeps until the listening socket has a connection or a signal arrives; with `wait: false`
    /// only looks, and takes the signals already pending.
    public static func waitForConnection(listenSocket: Int32 = 0, wait: Bool = true) -> Wake {
        while true {
            if stopRequested != 0 { return .stop }
            if reopenRequested != 0 {
                reopenRequested = 0
                return .reopenLogs
            }
            var unblocked = sigset_t()
            sigemptyset(&unblocked)
            let rc = partnerships_wait_readable(listenSocket, &unblocked, wait ? 1 : 0)
            if rc > 0 { return stopRequested != 0 ? .stop : .connectionReady }
            if rc == 0 && !wait { return stopRequested != 0 ? .stop : .nothingQueued }
            if rc < 0 && errno != EINTR { return .stop }
        }
    }
}
