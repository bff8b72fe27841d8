#ifndef PARTNERSHIPS_C_SYSTEM_SHIMS_H
#define PARTNERSHIPS_C_SYSTEM_SHIMS_H
#include <signal.h>

/// Waits until `fd` is readable or a signal in `unblocked`'s complement arrives, swapping the
/// signal mask atomically (ppoll is a GNU extension Swift's Glibc module does not export).
/// Returns >0 when readable, 0 never (no timeout), -1 with errno (EINTR after a signal).
int partnerships_wait_readable(int fd, const sigset_t *unblocked);

/// Length of the accept queue of a listening TCP socket (tcpi_unacked), -1 when unknown.
int partnerships_tcp_listen_queue(int fd);

/// Asks the kernel to send `signal` to this process when its parent dies (PR_SET_PDEATHSIG; prctl
/// is C-variadic, which Swift cannot call). Returns 0, or -1 with errno.
int partnerships_set_parent_death_signal(int signal);


#include <stdint.h>
/// Sequentially consistent 64-bit loads and stores on shared memory (the store's mmap'd head):
/// a seqlock needs real fences, which plain Swift pointer access does not promise.
static inline int64_t partnerships_atomic_load(const int64_t *address) { return __atomic_load_n(address, __ATOMIC_SEQ_CST); }
static inline void partnerships_atomic_store(int64_t *address, int64_t value) { __atomic_store_n(address, value, __ATOMIC_SEQ_CST); }
#endif
