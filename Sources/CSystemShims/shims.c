#define _GNU_SOURCE
#include <poll.h>
#include <signal.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include "CSystemShims.h"

int partnerships_wait_readable(int fd, const sigset_t *unblocked) {
    struct pollfd entry = { .fd = fd, .events = POLLIN, .revents = 0 };
    return ppoll(&entry, 1, NULL, unblocked);
}

int partnerships_tcp_listen_queue(int fd) {
    struct tcp_info info;
    socklen_t length = sizeof(info);
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &length) != 0) return -1;
    return (int)info.tcpi_unacked;
}

int partnerships_set_parent_death_signal(int signal) {
    return prctl(PR_SET_PDEATHSIG, (unsigned long)signal, 0UL, 0UL, 0UL);
}
