#ifndef PARTNERSHIPS_C_SYSTEM_SHIMS_H
#define PARTNERSHIPS_C_SYSTEM_SHIMS_H
#include <signal.h>

/// Waits until `fd` is readable or a signal in `unblocked`'s complement arrives, swapping the
/// signal mask atomically (ppoll is a GNU extension Swift's Glibc module does not export).
/// With `wait` 0 it only looks (a pending signal is still taken). Returns >0 when readable, 0 when
/// not and not waiting, -1 with errno (EINTR after a signal).
int partnerships_wait_readable(int fd, const sigset_t *unblocked, int wait);

/// The accept queue of a listening socket: connections waiting for accept() in `queued`, the
/// backlog the kernel enforces (after the net.core.somaxconn cap) in `limit`. AF_UNIX through
/// sock_diag netlink (what `ss -xl` shows), TCP through TCP_INFO. Returns 0, or -1 with errno
/// (EINVAL: not a listening socket; ENOENT or EPROTONOSUPPORT: the kernel has no unix_diag).
int partnerships_listen_queue(int fd, unsigned int *queued, unsigned int *limit);

/// The git commit the build was told it is built from (Package.swift, PARTNERSHIPS_BUILD_COMMIT), or "".
const char *partnerships_build_commit(void);

/// Moves the calling thread to SCHED_IDLE: it runs only on a CPU no other task wants (the
/// constant is a GNU extension Swift's Glibc module does not export). Returns 0, or -1 with errno.
int partnerships_run_only_when_idle(void);

/// Asks the kernel to send `signal` to this process when its parent dies (PR_SET_PDEATHSIG; prctl
/// is C-variadic, which Swift cannot call). Returns 0, or -1 with errno.
int partnerships_set_parent_death_signal(int signal);


#include <stdint.h>
/// Sequentially consistent 64-bit loads and stores on shared memory (the store's mmap'd head):
/// a seqlock needs real fences, which plain Swift pointer access does not promise.
static inline int64_t partnerships_atomic_load(const int64_t *address) { return __atomic_load_n(address, __ATOMIC_SEQ_CST); }
static inline void partnerships_atomic_store(int64_t *address, int64_t value) { __atomic_store_n(address, value, __ATOMIC_SEQ_CST); }
/// Counters and high-water marks in shared memory that several processes update (the scoreboard).
static inline void partnerships_atomic_add(int64_t *address, int64_t amount) { __atomic_fetch_add(address, amount, __ATOMIC_SEQ_CST); }
static inline void partnerships_atomic_max(int64_t *address, int64_t value) {
    int64_t seen = __atomic_load_n(address, __ATOMIC_SEQ_CST);
    while (seen < value && !__atomic_compare_exchange_n(address, &seen, value, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {}
}
#endif
