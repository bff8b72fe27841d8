#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include "CSystemShims.h"

int partnerships_wait_readable(int fd, const sigset_t *unblocked, int wait) {
    struct pollfd entry = { .fd = fd, .events = POLLIN, .revents = 0 };
    struct timespec none = { 0, 0 };
    return ppoll(&entry, 1, wait ? NULL : &none, unblocked);
}

/* A listening AF_UNIX socket's accept queue: the kernel shows it only through sock_diag (what
 * `ss -xl` prints as Recv-Q/Send-Q). FIONREAD/SIOCINQ answers EINVAL on a listening unix socket,
 * /proc/net/unix has no queue column, and there is no getsockopt for it. One request for our own
 * socket, by inode (NLM_F_REQUEST without NLM_F_DUMP: the kernel looks up that one socket). */
static int unix_listen_queue(int fd, unsigned int *queued, unsigned int *limit) {
    struct stat info;
    if (fstat(fd, &info) != 0) return -1;
    int diag = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (diag < 0) return -1;
    struct {
        struct nlmsghdr header;
        struct unix_diag_req request;
    } message;
    memset(&message, 0, sizeof message);
    message.header.nlmsg_len = sizeof message;
    message.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    message.header.nlmsg_flags = NLM_F_REQUEST;
    message.header.nlmsg_seq = 1;
    message.request.sdiag_family = AF_UNIX;
    message.request.udiag_states = 1u << 10; /* TCP_LISTEN */
    message.request.udiag_ino = (unsigned int)info.st_ino;
    message.request.udiag_show = UDIAG_SHOW_RQLEN;
    message.request.udiag_cookie[0] = message.request.udiag_cookie[1] = ~0u; /* no cookie check */
    struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
    if (sendto(diag, &message, sizeof message, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0) {
        int saved = errno;
        close(diag);
        errno = saved;
        return -1;
    }
    long buffer[1024];
    ssize_t length = recv(diag, buffer, sizeof buffer, 0);
    int saved = errno;
    close(diag);
    if (length < 0) {
        errno = saved;
        return -1;
    }
    int remaining = (int)length;
    for (struct nlmsghdr *header = (struct nlmsghdr *)buffer; NLMSG_OK(header, remaining);
         header = NLMSG_NEXT(header, remaining)) {
        if (header->nlmsg_type == NLMSG_ERROR) {
            struct nlmsgerr *error = NLMSG_DATA(header);
            errno = error->error < 0 ? -error->error : EIO;
            return -1;
        }
        if (header->nlmsg_type != SOCK_DIAG_BY_FAMILY) continue;
        struct unix_diag_msg *found = NLMSG_DATA(header);
        if (found->udiag_ino != (unsigned int)info.st_ino) continue;
        int attributes = (int)header->nlmsg_len - (int)NLMSG_LENGTH(sizeof *found);
        for (struct rtattr *attribute = (struct rtattr *)(found + 1); RTA_OK(attribute, attributes);
             attribute = RTA_NEXT(attribute, attributes)) {
            if (attribute->rta_type != UNIX_DIAG_RQLEN) continue;
            struct unix_diag_rqlen *lengths = RTA_DATA(attribute);
            /* For a listening socket: connections waiting for accept(), and the backlog. */
            *queued = lengths->udiag_rqueue;
            *limit = lengths->udiag_wqueue;
            return 0;
        }
    }
    errno = ENOENT;
    return -1;
}

int partnerships_listen_queue(int fd, unsigned int *queued, unsigned int *limit) {
    int value = 0;
    socklen_t length = sizeof value;
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &value, &length) != 0) return -1;
    if (!value) {
        errno = EINVAL;
        return -1;
    }
    length = sizeof value;
    if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &value, &length) != 0) return -1;
    if (value == AF_UNIX) return unix_listen_queue(fd, queued, limit);
    if (value != AF_INET && value != AF_INET6) {
        errno = EAFNOSUPPORT;
        return -1;
    }
    /* A listening TCP socket's tcp_info: tcpi_unacked is the accept queue, tcpi_sacked the backlog. */
    struct tcp_info info;
    length = sizeof info;
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &length) != 0) return -1;
    *queued = info.tcpi_unacked;
    *limit = info.tcpi_sacked;
    return 0;
}

#ifndef PARTNERSHIPS_BUILD_COMMIT
#define PARTNERSHIPS_BUILD_COMMIT ""
#endif
const char *partnerships_build_commit(void) { return PARTNERSHIPS_BUILD_COMMIT; }

int partnerships_set_parent_death_signal(int signal) {
    return prctl(PR_SET_PDEATHSIG, (unsigned long)signal, 0UL, 0UL, 0UL);
}

int partnerships_run_only_when_idle(void) {
    struct sched_param parameters = { .sched_priority = 0 };
    return sched_setscheduler(0, SCHED_IDLE, &parameters);
}
