import CSystemShims
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// Processes the supervisor starts (workers, the background compaction) end when it dies, even by
/// kill -9. Workers left behind would keep serving unsupervised (no respawn, no request timeout, no
/// reload) and hold the socket, so a new supervisor could not start; a compaction left behind would
/// hold the store's compaction lock, and the new supervisor's compactions would be skipped until it
/// finished. A graceful stop sends both SIGTERM already: the supervisor's death now does the same.
public enum SupervisorLink {
    /// Call first thing in a process: a worker finishes the request in hand and exits (its SIGTERM
    /// handling); the compaction stops where it is, which leaves the published generation as it was.
    /// Does nothing in a process no supervisor started (a worker or `store compact` run by hand).
    public static func endWithSupervisor() {
        guard let text = getenv(WorkerEnvironment.supervisorPID), let supervisor = pid_t(String(cString: text)) else {
            return
        }
        // The kernel signals when the thread that started us ends: the supervisor starts every child
        // from its main thread, which lives as long as it does.
        let logger = Logger(label: "partnerships.supervisor-link")
        if partnerships_set_parent_death_signal(SIGTERM) != 0 {
            logger.warning(
                "cannot ask to end with the supervisor", metadata: ["error": .string(String(cString: strerror(errno)))])
        }
        // A supervisor that died before the line above sends nothing: we were re-parented already.
        if getppid() != supervisor {
            logger.warning(
                "the supervisor that started this process is gone; exiting",
                metadata: ["supervisor_pid": "\(supervisor)"])
            exit(0)
        }
    }
}
