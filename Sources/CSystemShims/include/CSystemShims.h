#ifndef PARTNERSHIPS_C_SYSTEM_SHIMS_H
#define PARTNERSHIPS_C_SYSTEM_SHIMS_H
#include <signal.h>

/// Waits until `fd` is readable or a signal in `unblocked`'s complement arrives, swapping the
/// signal mask atomically (ppoll is a GNU extension Swift's Glibc module does not export).
/// Returns >0 when readable, 0 never (no timeout), -1 with errno (EINTR after a signal).
int partnerships_wait_readable(int fd, const sigset_t *unblocked);

/// Length of the accept queue of a listening TCP socket (tcpi_unacked), -1 when unknown.
int partnerships_tcp_listen_queue(int fd);
#endif
