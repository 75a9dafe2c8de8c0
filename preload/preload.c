/*
 * preload/preload.c: libtern_preload.so, unmodified programs on tern.
 *
 *   LD_PRELOAD=libtern_preload.so TERN_ADDR=10.0.0.2/24 TERN_LINUX_ADDR=10.0.0.1/24 PROGRAM
 *
 * The library defines the libc calls a network program makes (socket,
 * connect, read, poll, epoll_wait, sendfile...). The dynamic linker binds
 * the program's calls to these definitions before libc's; each one asks
 * whether its fd is a tern socket and either hands the call to tern's
 * socket API (include/tern/socket.h) or passes it on, untouched, to the
 * next definition (libc's, found with dlsym(RTLD_NEXT)). AF_INET and
 * AF_INET6 stream and datagram sockets are tern's; files, pipes, AF_UNIX,
 * netlink, raw sockets and everything else stay the kernel's.
 *
 * The stack comes up at the first socket the program asks tern for: a TUN
 * (or TAP) device configured from the environment (docs/preload.md lists
 * the variables), a socket runtime whose thread runs it, and an exit
 * handler that lets closed connections deliver what they still hold.
 *
 * State. An interposer has nothing to go on but libc's arguments, so this
 * file keeps the one process-wide state the program's calls need (struct
 * preload below): the runtime, the configuration read at load, and one
 * byte per fd number saying "a tern socket" or "a tern epoll", read without
 * a lock so that a read() of a file costs one load before libc. The byte
 * is a hint: tern's own calls check the fd's identity and pass anything
 * that is not theirs to the kernel, so a stale byte costs a lookup, never
 * a wrong answer.
 *
 * Re-entry. tern's socket layer itself calls libc (close, poll, recv on the
 * mirror fds of its sockets); those calls land here again. A per-thread
 * depth counter sends every call made from inside tern (and from the
 * runtime's thread, which is all tern) straight to libc.
 *
 * fork: a child has no runtime thread (threads do not survive fork), so
 * its tern sockets cannot work, and tern's locks may have been held by a
 * thread that is gone: a child never calls into tern. Every call on a tern
 * socket except close() fails with EBADFD after one line on stderr, socket()
 * for tern fails with EAFNOSUPPORT, close() just closes the fd, and epoll
 * instances are the kernel's (a tern socket in one shows only its mirror). A child
 * that execs a preloaded program starts a stack of its own (on another
 * device, if it makes sockets: TERN_DEV must name a free one). A child of a
 * process that never called into tern (no socket, no epoll yet: a daemon
 * forking into the background before it listens) holds no tern state and no
 * tern lock, so it is no forked child here: it brings up a stack of its own.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "tern/dns.h"
#include "tern/socket.h"
#include "tern/stack.h"
#include "tern/tcp.h"
#include "tern/tun.h"

#define EXPORT __attribute__((visibility("default")))

/* glibc's checked variants (_FORTIFY_SOURCE), declared here since the
 * headers declare them only for fortified builds. */
ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen);
ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags);
ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags, struct sockaddr *from,
                       socklen_t *fromlen);
int __poll_chk(struct pollfd *fds, nfds_t n, int ms, size_t fdslen);
/* glibc still exports it; its header no longer declares it. */
sighandler_t bsd_signal(int sig, sighandler_t h);

/* What a byte of the fd map says. */
enum { FD_KERNEL = 0, FD_SOCK = 1, FD_EPOLL = 2 };

/* The libc definitions the interposers pass calls on to. */
struct real {
    int (*socket)(int, int, int);
    int (*bind)(int, const struct sockaddr *, socklen_t);
    int (*listen)(int, int);
    int (*accept)(int, struct sockaddr *, socklen_t *);
    int (*accept4)(int, struct sockaddr *, socklen_t *, int);
    int (*connect)(int, const struct sockaddr *, socklen_t);
    ssize_t (*read)(int, void *, size_t);
    ssize_t (*write)(int, const void *, size_t);
    ssize_t (*readv)(int, const struct iovec *, int);
    ssize_t (*writev)(int, const struct iovec *, int);
    ssize_t (*recv)(int, void *, size_t, int);
    ssize_t (*recvfrom)(int, void *, size_t, int, struct sockaddr *, socklen_t *);
    ssize_t (*recvmsg)(int, struct msghdr *, int);
    ssize_t (*send)(int, const void *, size_t, int);
    ssize_t (*sendto)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
    ssize_t (*sendmsg)(int, const struct msghdr *, int);
    int (*sendmmsg)(int, struct mmsghdr *, unsigned, int);
    int (*recvmmsg)(int, struct mmsghdr *, unsigned, int, struct timespec *);
    ssize_t (*sendfile)(int, int, off_t *, size_t);
    ssize_t (*splice)(int, loff_t *, int, loff_t *, size_t, unsigned);
    int (*close)(int);
    int (*shutdown)(int, int);
    int (*dup)(int);
    int (*dup2)(int, int);
    int (*dup3)(int, int, int);
    int (*fcntl)(int, int, ...);
    int (*ioctl)(int, unsigned long, ...);
    int (*getsockopt)(int, int, int, void *, socklen_t *);
    int (*setsockopt)(int, int, int, const void *, socklen_t);
    int (*getsockname)(int, struct sockaddr *, socklen_t *);
    int (*getpeername)(int, struct sockaddr *, socklen_t *);
    int (*select)(int, fd_set *, fd_set *, fd_set *, struct timeval *);
    int (*pselect)(int, fd_set *, fd_set *, fd_set *, const struct timespec *, const sigset_t *);
    int (*poll)(struct pollfd *, nfds_t, int);
    int (*ppoll)(struct pollfd *, nfds_t, const struct timespec *, const sigset_t *);
    int (*epoll_create)(int);
    int (*epoll_create1)(int);
    int (*epoll_ctl)(int, int, int, struct epoll_event *);
    int (*epoll_wait)(int, struct epoll_event *, int, int);
    int (*epoll_pwait)(int, struct epoll_event *, int, int, const sigset_t *);
    int (*getaddrinfo)(const char *, const char *, const struct addrinfo *, struct addrinfo **);
    int (*sigaction)(int, const struct sigaction *, struct sigaction *);
};

/* The configuration, read from the environment when the library loads. */
struct conf {
    struct tern_tun_config tun;
    struct tern_config stack;
    uint32_t dns[TERN_DNS_MAX_SERVERS];
    unsigned n_dns;
    int linger_ms; /* how long exit waits for closed connections to finish */
    int txqlen;    /* the device's kernel-to-tern queue, packets; 0: left as it is */
    char dev[16];
    char pcap[256];
    char trace[256];
};

static struct preload {
    struct real real;
    struct conf conf;
    pthread_once_t once;
    struct tern_rt *rt;
    int up_err;          /* errno of a failed bring-up, 0 when up */
    bool child;          /* a fork()ed child: no runtime thread */
    atomic_bool touched; /* this process called into tern (its children are children) */
    _Atomic(unsigned char) *map;
    int map_cap;
    FILE *trace;
    pthread_mutex_t trace_mu;
    atomic_bool warned_child;
    /* The program's signal handlers, called by sig_wrap (see "signals"). */
    struct {
        _Atomic(void *) fn;
        atomic_int flags;
    } sigs[NSIG];
    pthread_key_t efd_key; /* closes a thread's wake eventfd when it ends */
} pl = {.once = PTHREAD_ONCE_INIT, .trace_mu = PTHREAD_MUTEX_INITIALIZER};

/* Calls made from inside tern, or on the runtime's thread, go to libc. */
static __thread int tl_depth __attribute__((tls_model("initial-exec")));
/* What the handlers that ran on this thread since its current tern call
 * began ask for (enum tern_intr), and the thread's wake eventfd + 1. */
static __thread volatile sig_atomic_t tl_sig __attribute__((tls_model("initial-exec")));
static __thread int tl_efd1 __attribute__((tls_model("initial-exec")));

/* ---- the fd map ---- */

static int
fd_kind(int fd)
{
    if (fd < 0) {
        return FD_KERNEL;
    }
    if (fd < pl.map_cap) {
        return atomic_load_explicit(&pl.map[fd], memory_order_relaxed);
    }
    /* Past the map (a raised RLIMIT_NOFILE): ask tern. */
    if (pl.rt == NULL) {
        return FD_KERNEL;
    }
    tl_depth++;
    bool t = tern_is_socket(fd);
    tl_depth--;
    return t ? FD_SOCK : FD_KERNEL;
}

static void
fd_mark(int fd, int kind)
{
    if (fd >= 0 && fd < pl.map_cap) {
        atomic_store_explicit(&pl.map[fd], (unsigned char)kind, memory_order_relaxed);
    }
}

/* ---- resolving libc ---- */

#define RESOLVE(name)                                                                              \
    do {                                                                                           \
        if (pl.real.name == NULL) {                                                                \
            *(void **)&pl.real.name = dlsym(RTLD_NEXT, #name);                                     \
        }                                                                                          \
    } while (0)

static void
resolve_all(void)
{
    RESOLVE(socket);
    RESOLVE(bind);
    RESOLVE(listen);
    RESOLVE(accept);
    RESOLVE(accept4);
    RESOLVE(connect);
    RESOLVE(read);
    RESOLVE(write);
    RESOLVE(readv);
    RESOLVE(writev);
    RESOLVE(recv);
    RESOLVE(recvfrom);
    RESOLVE(recvmsg);
    RESOLVE(send);
    RESOLVE(sendto);
    RESOLVE(sendmsg);
    RESOLVE(sendmmsg);
    RESOLVE(recvmmsg);
    RESOLVE(sendfile);
    RESOLVE(splice);
    RESOLVE(close);
    RESOLVE(shutdown);
    RESOLVE(dup);
    RESOLVE(dup2);
    RESOLVE(dup3);
    RESOLVE(fcntl);
    RESOLVE(ioctl);
    RESOLVE(getsockopt);
    RESOLVE(setsockopt);
    RESOLVE(getsockname);
    RESOLVE(getpeername);
    RESOLVE(select);
    RESOLVE(pselect);
    RESOLVE(poll);
    RESOLVE(ppoll);
    RESOLVE(epoll_create);
    RESOLVE(epoll_create1);
    RESOLVE(epoll_ctl);
    RESOLVE(epoll_wait);
    RESOLVE(epoll_pwait);
    RESOLVE(getaddrinfo);
    RESOLVE(sigaction);
}

/* The libc definition of `name`, resolved on first use (a constructor of
 * another library may call before ours ran). */
#define REAL(name) (pl.real.name != NULL ? pl.real.name : (resolve_all(), pl.real.name))

/* ---- messages ---- */

static void
say(const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return;
    }
    if ((size_t)n > sizeof(line) - 2) {
        n = (int)sizeof(line) - 2;
    }
    line[n++] = '\n';
    tl_depth++;
    (void)!REAL(write)(2, line, (size_t)n);
    tl_depth--;
}

/* TERN_TRACE: one line per call that tern answered. */
static void
trace_call(const char *call, int fd, long r, int err)
{
    if (pl.trace == NULL) {
        return;
    }
    tl_depth++;
    pthread_mutex_lock(&pl.trace_mu);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    if (r < 0) {
        fprintf(pl.trace, "%lld.%06ld %d %s(%d) = -1 %s\n", (long long)ts.tv_sec, ts.tv_nsec / 1000,
                (int)getpid(), call, fd, strerrorname_np(err));
    } else {
        fprintf(pl.trace, "%lld.%06ld %d %s(%d) = %ld\n", (long long)ts.tv_sec, ts.tv_nsec / 1000,
                (int)getpid(), call, fd, r);
    }
    pthread_mutex_unlock(&pl.trace_mu);
    tl_depth--;
}

/* ---- configuration ---- */

static bool
parse_v4(const char *s, uint32_t *out)
{
    struct in_addr a;
    if (inet_pton(AF_INET, s, &a) != 1) {
        return false;
    }
    *out = ntohl(a.s_addr);
    return true;
}

/* "ADDR/N" into its parts; false when malformed. */
static bool
split_prefix(const char *v, char *host, size_t cap, long *n, long max)
{
    const char *slash = strrchr(v, '/');
    if (slash == NULL || (size_t)(slash - v) >= cap || slash[1] == '\0') {
        return false;
    }
    char *end;
    errno = 0;
    *n = strtol(slash + 1, &end, 10);
    if (errno != 0 || *end != '\0' || *n < 1 || *n > max) {
        return false;
    }
    memcpy(host, v, (size_t)(slash - v));
    host[slash - v] = '\0';
    return true;
}

static bool
parse_long(const char *v, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0' || n < min || n > max) {
        return false;
    }
    *out = n;
    return true;
}

/* A bad variable: the program cannot run as asked, so it does not run. */
__attribute__((noreturn)) static void
conf_fail(const char *var, const char *val, const char *want)
{
    say("tern-preload: %s=%s: %s (docs/preload.md)", var, val, want);
    _exit(2);
}

/* One address of TERN_ADDR: IPv4 A.B.C.D/N (one) or IPv6 X:X::X/N. */
static void
conf_addr(struct conf *c, const char *v)
{
    char host[64];
    long n;
    struct tern_netif_config *ni = &c->stack.netifs[0];
    if (strchr(v, ':') == NULL) {
        if (!split_prefix(v, host, sizeof(host), &n, 32) || !parse_v4(host, &ni->addr)) {
            conf_fail("TERN_ADDR", v, "want A.B.C.D/N or X:X::X/N, comma-separated");
        }
        if (ni->prefix_len != 0) {
            conf_fail("TERN_ADDR", v, "one IPv4 address only");
        }
        ni->prefix_len = (uint8_t)n;
        return;
    }
    struct in6_addr a6;
    if (!split_prefix(v, host, sizeof(host), &n, 128) || inet_pton(AF_INET6, host, &a6) != 1) {
        conf_fail("TERN_ADDR", v, "want A.B.C.D/N or X:X::X/N, comma-separated");
    }
    if (ni->n_addr6 == TERN_NETIF_ADDR6_MAX) {
        conf_fail("TERN_ADDR", v, "too many IPv6 addresses");
    }
    struct tern_netif_addr6 *a = &ni->addr6[ni->n_addr6++];
    memcpy(a->addr.b, a6.s6_addr, 16);
    a->prefix_len = (uint8_t)n;
}

static void
conf_read(struct conf *c)
{
    memset(c, 0, sizeof(*c));
    tern_config_init(&c->stack);
    c->stack.n_netifs = 1;
    /* Sized for a server program, not an embedded device: 1024
     * connections, 64 MiB of buffers shared by all (TERN_MEM_MIB). */
    c->stack.tcp.max_connections = 1024;
    c->stack.tcp.backlog = 128;
    c->stack.pool_bytes = (size_t)64 << 20;
    c->stack.udp.max_sockets = 256;
    c->linger_ms = 10000;
    /* The device's queue from the kernel to tern holds 500 packets when
     * created: a server's connections fill that in a burst (iperf3 -P 4 from
     * Linux lost one segment in nine there, halving the goodput), so the
     * preload deepens it to 4096 (TERN_TXQLEN). */
    c->txqlen = 4096;

    const char *v = getenv("TERN_ADDR");
    if (v == NULL || *v == '\0') {
        conf_fail("TERN_ADDR", "", "tern's address is required, e.g. 10.0.0.2/24");
    }
    char list[512];
    if (strlen(v) >= sizeof(list)) {
        conf_fail("TERN_ADDR", v, "too long");
    }
    strcpy(list, v);
    for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok != NULL;
         tok = strtok_r(NULL, ",", &save)) {
        conf_addr(c, tok);
    }
    if ((v = getenv("TERN_MODE")) != NULL && *v != '\0') {
        if (strcmp(v, "tap") == 0) {
            c->tun.tap = true;
        } else if (strcmp(v, "tun") != 0) {
            conf_fail("TERN_MODE", v, "want tun or tap");
        }
    }
    v = getenv("TERN_DEV");
    v = v != NULL && *v != '\0' ? v : "tern0";
    if (strlen(v) >= sizeof(c->dev)) {
        conf_fail("TERN_DEV", v, "a device name has at most 15 characters");
    }
    strcpy(c->dev, v);
    c->tun.dev = c->dev;
    if ((v = getenv("TERN_LINUX_ADDR")) != NULL && *v != '\0') {
        char host[64];
        long n;
        if (!split_prefix(v, host, sizeof(host), &n, 32) || !parse_v4(host, &c->tun.linux_addr)) {
            conf_fail("TERN_LINUX_ADDR", v, "want A.B.C.D/N (the kernel's end of the device)");
        }
        c->tun.linux_prefix_len = (uint8_t)n;
    }
    if ((v = getenv("TERN_GW")) != NULL && *v != '\0') {
        struct in6_addr a6;
        if (strchr(v, ':') != NULL && inet_pton(AF_INET6, v, &a6) == 1) {
            memcpy(c->stack.gateway6.b, a6.s6_addr, 16);
        } else if (!parse_v4(v, &c->stack.default_gateway)) {
            conf_fail("TERN_GW", v, "want an IPv4 or IPv6 address");
        }
    }
    long n;
    if ((v = getenv("TERN_MTU")) != NULL && *v != '\0') {
        if (!parse_long(v, 576, 65535, &n)) {
            conf_fail("TERN_MTU", v, "want 576..65535");
        }
        c->tun.mtu = (uint16_t)n;
    }
    if ((v = getenv("TERN_MEM_MIB")) != NULL && *v != '\0') {
        if (!parse_long(v, 1, 65536, &n)) {
            conf_fail("TERN_MEM_MIB", v, "want 1..65536 (MiB of buffers for all connections)");
        }
        c->stack.pool_bytes = (size_t)n << 20;
    }
    if ((v = getenv("TERN_CONNS")) != NULL && *v != '\0') {
        if (!parse_long(v, 4, 1 << 20, &n)) {
            conf_fail("TERN_CONNS", v, "want 4..1048576");
        }
        c->stack.tcp.max_connections = (unsigned)n;
    }
    if ((v = getenv("TERN_LINGER_MS")) != NULL && *v != '\0') {
        if (!parse_long(v, 0, 600000, &n)) {
            conf_fail("TERN_LINGER_MS", v, "want 0..600000");
        }
        c->linger_ms = (int)n;
    }
    if ((v = getenv("TERN_TXQLEN")) != NULL && *v != '\0') {
        if (!parse_long(v, 0, 1000000, &n)) {
            conf_fail("TERN_TXQLEN", v, "want 0..1000000 (packets; 0 leaves the device's)");
        }
        c->txqlen = (int)n;
    }
    if ((v = getenv("TERN_DNS")) != NULL && *v != '\0') {
        if (strlen(v) >= sizeof(list)) {
            conf_fail("TERN_DNS", v, "too long");
        }
        strcpy(list, v);
        for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok != NULL;
             tok = strtok_r(NULL, ",", &save)) {
            if (c->n_dns == TERN_DNS_MAX_SERVERS || !parse_v4(tok, &c->dns[c->n_dns])) {
                conf_fail("TERN_DNS", v, "want up to 3 IPv4 addresses, comma-separated");
            }
            c->n_dns++;
        }
    }
    if ((v = getenv("TERN_PCAP")) != NULL && *v != '\0') {
        if (strlen(v) >= sizeof(c->pcap)) {
            conf_fail("TERN_PCAP", v, "path too long");
        }
        strcpy(c->pcap, v);
        c->tun.pcap_path = c->pcap;
    }
    if ((v = getenv("TERN_TRACE")) != NULL && *v != '\0') {
        if (strlen(v) >= sizeof(c->trace)) {
            conf_fail("TERN_TRACE", v, "path too long");
        }
        strcpy(c->trace, v);
    }
}

/* ---- the runtime ---- */

/* The runtime's thread is all tern: its calls go to libc. The wrapped
 * driver marks the thread at its first turn (before any socket event runs
 * there). */
static const struct tern_driver_ops *inner_ops;

static int
drv_service(void *ctx, int64_t now)
{
    tl_depth = 1;
    return inner_ops->service(ctx, now);
}

static int64_t
drv_next_wake(void *ctx)
{
    return inner_ops->next_wake != NULL ? inner_ops->next_wake(ctx) : INT64_MAX;
}

static void
drv_flush(void *ctx)
{
    if (inner_ops->flush != NULL) {
        inner_ops->flush(ctx);
    }
}

static void
drv_close(void *ctx)
{
    if (inner_ops->close != NULL) {
        inner_ops->close(ctx);
    }
}

static int64_t
drv_now(void *ctx)
{
    return inner_ops->now != NULL ? inner_ops->now(ctx) : tern_tun_now_ns();
}

static const struct tern_driver_ops wrapped_ops = {
    .now = drv_now,
    .service = drv_service,
    .next_wake = drv_next_wake,
    .flush = drv_flush,
    .close = drv_close,
};

/* Closed connections still deliver what they hold after the program
 * returns from main, as they would from the kernel: exit waits (at most
 * TERN_LINGER_MS) until no connection has unacknowledged data or FIN. */
static bool
draining(struct tern_stack *st)
{
    for (int id = 1; id <= (int)pl.conf.stack.tcp.max_connections; id++) {
        struct tern_tcp_status s;
        if (tern_tcp_status(st, id, &s) != TERN_OK) {
            continue;
        }
        switch (s.state) {
        case TERN_TCP_FIN_WAIT_1:
        case TERN_TCP_CLOSING:
        case TERN_TCP_LAST_ACK:
        case TERN_TCP_SYN_SENT:
            return true;
        case TERN_TCP_ESTABLISHED:
        case TERN_TCP_CLOSE_WAIT:
            if (s.send_queued > 0) {
                return true;
            }
            break;
        default:
            break;
        }
    }
    return false;
}

static void
at_exit(void)
{
    if (pl.rt == NULL || pl.child) {
        return;
    }
    tl_depth++;
    /* Every socket the program left open is closed as exit(2) closes it. */
    for (int fd = 0; fd < pl.map_cap; fd++) {
        if (atomic_load(&pl.map[fd]) == FD_SOCK) {
            (void)tern_close(fd);
            fd_mark(fd, FD_KERNEL);
        }
    }
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        tern_rt_lock(pl.rt);
        bool busy = draining(tern_rt_stack(pl.rt, 0));
        tern_rt_unlock(pl.rt);
        clock_gettime(CLOCK_MONOTONIC, &now);
        long ms = (now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
        if (!busy || ms >= pl.conf.linger_ms) {
            break;
        }
        /* The exit path only: look again every 10 ms. */
        struct timespec ten = {0, 10000000};
        nanosleep(&ten, NULL);
    }
    tern_rt_free(pl.rt);
    pl.rt = NULL;
    tl_depth--;
}

/* ---- signals ----
 *
 * Linux ends a blocked socket call when a signal handler runs: EINTR, or
 * a restart when the handler was installed with SA_RESTART (and the
 * socket has no timeout for the call: signal(7)). tern's blocked calls
 * sleep in ppoll on the thread's eventfd (tern_rt_set_intr), which a
 * handler interrupts; to tell EINTR from a restart, tern must know whether
 * the handler that ran had SA_RESTART. So sigaction() and signal() are
 * interposed: the program's handler is kept in pl.sigs and the kernel is
 * given sig_wrap, which notes the handler's SA_RESTART for the thread
 * (tl_sig) and calls it; a query returns the program's handler as it set
 * it. Synchronous faults (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP,
 * SIGSYS) interrupt no call and are left alone. A handler installed some
 * other way (sigset, a raw syscall) is not seen: its signal leaves the
 * blocked call waiting, as SA_RESTART would. A handler that longjmps out
 * of a blocked tern call is not supported. */

static int
intr_wake_fd(void *ctx)
{
    (void)ctx;
    if (tl_efd1 == 0) {
        int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (fd < 0) {
            return -1; /* this call sleeps on the condition variable */
        }
        tl_efd1 = fd + 1;
        pthread_setspecific(pl.efd_key, (void *)(intptr_t)tl_efd1);
    }
    return tl_efd1 - 1;
}

static void
efd_release(void *v)
{
    tl_depth++;
    (void)REAL(close)((int)(intptr_t)v - 1);
    tl_depth--;
}

static int
intr_signalled(void *ctx)
{
    (void)ctx;
    int r = tl_sig;
    tl_sig = TERN_INTR_NONE;
    return r;
}

static void
sig_wrap(int sig, siginfo_t *si, void *uc)
{
    void *fn = atomic_load(&pl.sigs[sig].fn);
    int flags = atomic_load(&pl.sigs[sig].flags);
    if (tl_sig != TERN_INTR_EINTR) {
        tl_sig = (flags & SA_RESTART) ? TERN_INTR_RESTART : TERN_INTR_EINTR;
    }
    if (fn == NULL) {
        return;
    }
    if (flags & SA_SIGINFO) {
        ((void (*)(int, siginfo_t *, void *))fn)(sig, si, uc);
    } else {
        ((void (*)(int))fn)(sig);
    }
}

static bool
sig_wrappable(int sig)
{
    return sig > 0 && sig < NSIG && sig != SIGSEGV && sig != SIGBUS && sig != SIGILL &&
           sig != SIGFPE && sig != SIGTRAP && sig != SIGSYS && sig != SIGKILL && sig != SIGSTOP;
}

EXPORT int
sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
    if (!sig_wrappable(sig)) {
        return REAL(sigaction)(sig, act, old);
    }
    void *prev_fn = atomic_load(&pl.sigs[sig].fn);
    int prev_flags = atomic_load(&pl.sigs[sig].flags);
    struct sigaction mine;
    const struct sigaction *use = act;
    if (act != NULL && !(act->sa_flags & SA_SIGINFO) &&
        (act->sa_handler == SIG_DFL || act->sa_handler == SIG_IGN)) {
        atomic_store(&pl.sigs[sig].fn, NULL);
    } else if (act != NULL) {
        atomic_store(&pl.sigs[sig].flags, act->sa_flags);
        atomic_store(&pl.sigs[sig].fn, (act->sa_flags & SA_SIGINFO) ? (void *)act->sa_sigaction
                                                                    : (void *)act->sa_handler);
        mine = *act;
        mine.sa_sigaction = sig_wrap;
        mine.sa_flags |= SA_SIGINFO;
        use = &mine;
    }
    int r = REAL(sigaction)(sig, use, old);
    int e = errno;
    if (r != 0 && act != NULL) {
        atomic_store(&pl.sigs[sig].fn, prev_fn);
        atomic_store(&pl.sigs[sig].flags, prev_flags);
    }
    if (r == 0 && old != NULL && (old->sa_flags & SA_SIGINFO) && old->sa_sigaction == sig_wrap) {
        /* The program sees its own handler, as it set it. */
        old->sa_flags = prev_flags;
        if (prev_flags & SA_SIGINFO) {
            old->sa_sigaction = (void (*)(int, siginfo_t *, void *))prev_fn;
        } else {
            old->sa_handler = (void (*)(int))prev_fn;
        }
    }
    errno = e;
    return r;
}

/* signal() with glibc's semantics (BSD's: SA_RESTART, the signal blocked
 * in its handler), over the sigaction above. */
static sighandler_t
signal_with(int sig, sighandler_t h, int flags)
{
    struct sigaction sa, old;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = h;
    sigemptyset(&sa.sa_mask);
    if (!(flags & SA_NODEFER)) {
        sigaddset(&sa.sa_mask, sig);
    }
    sa.sa_flags = flags;
    if (sigaction(sig, &sa, &old) != 0) {
        return SIG_ERR;
    }
    return old.sa_handler;
}

EXPORT sighandler_t
signal(int sig, sighandler_t h)
{
    return signal_with(sig, h, SA_RESTART);
}

EXPORT sighandler_t
bsd_signal(int sig, sighandler_t h)
{
    return signal_with(sig, h, SA_RESTART);
}

EXPORT sighandler_t
sysv_signal(int sig, sighandler_t h)
{
    return signal_with(sig, h, SA_RESETHAND | SA_NODEFER);
}

EXPORT int
siginterrupt(int sig, int flag)
{
    struct sigaction sa;
    if (sigaction(sig, NULL, &sa) != 0) {
        return -1;
    }
    if (flag) {
        sa.sa_flags &= ~SA_RESTART;
    } else {
        sa.sa_flags |= SA_RESTART;
    }
    return sigaction(sig, &sa, NULL);
}

/* TERN_TXQLEN onto the device tern just opened (the kernel's queue of
 * packets waiting for tern to read them); a failure is said, not fatal. */
static void
set_txqlen(void)
{
    if (pl.conf.txqlen == 0) {
        return;
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    memcpy(ifr.ifr_name, pl.conf.dev, strlen(pl.conf.dev)); /* at most 15 bytes: conf_read */
    ifr.ifr_qlen = pl.conf.txqlen;
    int s = REAL(socket)(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0 || REAL(ioctl)(s, SIOCSIFTXQLEN, &ifr) < 0) {
        say("tern-preload: TERN_TXQLEN=%d: cannot set it on %s: %s", pl.conf.txqlen, pl.conf.dev,
            strerror(errno));
    }
    if (s >= 0) {
        REAL(close)(s);
    }
}

static void
bring_up(void)
{
    tl_depth++;
    char err[256];
    struct tern_driver drv;
    int r = tern_tun_driver_new(&pl.conf.tun, &pl.conf.stack, &drv, err, sizeof(err));
    if (r != TERN_OK) {
        int e = errno != 0 ? errno : EINVAL;
        say("tern-preload: cannot bring up %s %s: %s", pl.conf.tun.tap ? "TAP" : "TUN", pl.conf.dev,
            err);
        pl.up_err = e;
        tl_depth--;
        return;
    }
    set_txqlen();
    inner_ops = drv.ops;
    drv.ops = &wrapped_ops;
    /* The runtime's thread takes no signal: the program's handlers run on
     * the program's threads, where they interrupt blocked calls. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    r = tern_rt_start(&drv, &pl.rt);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r != TERN_OK) {
        say("tern-preload: cannot start the runtime: %s", tern_strerror(r));
        pl.up_err = ENOMEM;
        pl.rt = NULL;
        tl_depth--;
        return;
    }
    tern_rt_set_default(pl.rt, 0);
    const struct tern_rt_intr intr = {.wake_fd = intr_wake_fd, .signalled = intr_signalled};
    (void)tern_rt_set_intr(pl.rt, &intr);
    if (pl.conf.n_dns > 0 && tern_rt_set_dns(pl.rt, 0, pl.conf.dns, pl.conf.n_dns) != 0) {
        say("tern-preload: TERN_DNS: cannot make the resolver: %s", strerror(errno));
    }
    atexit(at_exit);
    tl_depth--;
}

/* True when the stack is up (bringing it up at the first call). */
static bool
up(void)
{
    atomic_store(&pl.touched, true);
    pthread_once(&pl.once, bring_up);
    if (pl.rt == NULL) {
        errno = pl.up_err != 0 ? pl.up_err : ENETDOWN;
        return false;
    }
    return true;
}

static void
child_after_fork(void)
{
    if (atomic_load(&pl.touched)) {
        pl.child = true;
    }
}

__attribute__((constructor)) static void
preload_init(void)
{
    resolve_all();
    conf_read(&pl.conf);
    struct rlimit rl;
    rlim_t cap = 65536;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max != RLIM_INFINITY && rl.rlim_max > cap) {
        cap = rl.rlim_max > (1u << 20) ? (1u << 20) : rl.rlim_max;
    }
    pl.map = calloc(cap, 1);
    if (pl.map == NULL) {
        say("tern-preload: no memory for the fd map");
        _exit(2);
    }
    pl.map_cap = (int)cap;
    if (pl.conf.trace[0] != '\0') {
        pl.trace = strcmp(pl.conf.trace, "-") == 0 ? stderr : fopen(pl.conf.trace, "ae");
        if (pl.trace == NULL) {
            conf_fail("TERN_TRACE", pl.conf.trace, strerror(errno));
        }
        setvbuf(pl.trace, NULL, _IOLBF, 0);
    }
    pthread_atfork(NULL, NULL, child_after_fork);
    if (pthread_key_create(&pl.efd_key, efd_release) != 0) {
        say("tern-preload: no thread key");
        _exit(2);
    }
}

/* ---- the calls ---- */

/* A call on tern socket `fd` in a forked child. */
static int
child_fail(int fd, const char *call)
{
    if (!atomic_exchange(&pl.warned_child, true)) {
        say("tern-preload: %s(%d) in a forked child: tern sockets belong to the parent's "
            "stack and cannot be used here (docs/preload.md)",
            call, fd);
    }
    errno = EBADFD;
    return -1;
}

/* Is this call tern's? The depth check comes first: tern's own calls and
 * the runtime thread's never are. */
#define TERN_FD(fd) (tl_depth == 0 && fd_kind(fd) != FD_KERNEL)

/* Runs `expr` (a tern_ call) inside tern, keeping its errno, and traces. */
#define IN_TERN(call, fd, type, expr)                                                              \
    do {                                                                                           \
        if (pl.child) {                                                                            \
            return (type)child_fail(fd, call);                                                     \
        }                                                                                          \
        tl_sig = TERN_INTR_NONE;                                                                   \
        tl_depth++;                                                                                \
        type r_ = (expr);                                                                          \
        int e_ = errno;                                                                            \
        tl_depth--;                                                                                \
        trace_call(call, fd, (long)r_, e_);                                                        \
        errno = e_;                                                                                \
        return r_;                                                                                 \
    } while (0)

/* Which sockets tern makes: TCP and UDP over IPv4 and IPv6. */
static bool
for_tern(int domain, int type, int protocol)
{
    int t = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (domain != AF_INET && domain != AF_INET6) {
        return false;
    }
    if (t == SOCK_STREAM) {
        return protocol == 0 || protocol == IPPROTO_TCP;
    }
    if (t == SOCK_DGRAM) {
        return protocol == 0 || protocol == IPPROTO_UDP;
    }
    return false;
}

/* A socket tern made (socket, accept, a dup): `r`, marked when it is a
 * fd, with the call traced against `fd` and errno `e` restored. */
static int
new_sock(const char *call, int fd, int r, int e)
{
    if (r >= 0) {
        fd_mark(r, FD_SOCK);
    }
    trace_call(call, fd, r, e);
    errno = e;
    return r;
}

EXPORT int
socket(int domain, int type, int protocol)
{
    if (tl_depth > 0 || !for_tern(domain, type, protocol)) {
        return REAL(socket)(domain, type, protocol);
    }
    if (pl.child) {
        if (!atomic_exchange(&pl.warned_child, true)) {
            say("tern-preload: socket() in a forked child: the parent's tern stack does not "
                "run here (docs/preload.md)");
        }
        errno = EAFNOSUPPORT;
        return -1;
    }
    if (!up()) {
        return -1;
    }
    tl_depth++;
    int fd = tern_socket(domain, type, protocol);
    int e = errno;
    tl_depth--;
    return new_sock("socket", fd, fd, e);
}

/* ---- loopback stays the kernel's ---- */

/* 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104. */
static bool
is_loopback(const struct sockaddr *a, socklen_t len)
{
    if (a == NULL) {
        return false;
    }
    if (a->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)a;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (a->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
        const struct in6_addr *x = &((const struct sockaddr_in6 *)a)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(x) || (IN6_IS_ADDR_V4MAPPED(x) && x->s6_addr[12] == 127);
    }
    return false;
}

/* The options a program sets before bind or connect, copied to the kernel
 * socket that takes a tern socket's place. */
static const struct {
    int level, name;
} carried[] = {
    {SOL_SOCKET, SO_REUSEADDR},  {SOL_SOCKET, SO_REUSEPORT},   {SOL_SOCKET, SO_KEEPALIVE},
    {SOL_SOCKET, SO_BROADCAST},  {SOL_SOCKET, SO_OOBINLINE},   {SOL_SOCKET, SO_LINGER},
    {SOL_SOCKET, SO_RCVTIMEO},   {SOL_SOCKET, SO_SNDTIMEO},    {IPPROTO_TCP, TCP_NODELAY},
    {IPPROTO_TCP, TCP_KEEPIDLE}, {IPPROTO_TCP, TCP_KEEPINTVL}, {IPPROTO_TCP, TCP_KEEPCNT},
    {IPPROTO_TCP, TCP_MAXSEG},   {IPPROTO_IPV6, IPV6_V6ONLY},  {IPPROTO_IP, IP_TOS},
};

/*
 * tern's stack is reachable only through its device; 127.0.0.1 and ::1
 * are the kernel's loopback, where the program's local peers are. So a
 * fresh tern socket (not yet bound to a port, not connected) that is bound
 * or connected to a loopback address becomes a kernel socket under the
 * same number first: same family, type, flags and options; the call then
 * goes to the kernel. Returns true when the fd is the kernel's now.
 */
static bool
to_kernel(int fd, const struct sockaddr *a, socklen_t len)
{
    if (!is_loopback(a, len) || pl.child) {
        return false;
    }
    tl_depth++;
    bool moved = false;
    int domain, type, proto;
    socklen_t l = sizeof(int);
    union {
        struct sockaddr_storage ss;
        struct sockaddr_in in;
        struct sockaddr_in6 in6;
    } name;
    socklen_t nl = sizeof(name);
    if (tern_getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &l) != 0 ||
        tern_getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &(socklen_t){sizeof(int)}) != 0 ||
        tern_getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &(socklen_t){sizeof(int)}) != 0 ||
        tern_getsockname(fd, (struct sockaddr *)&name, &nl) != 0) {
        goto out;
    }
    uint16_t port = name.ss.ss_family == AF_INET6 ? name.in6.sin6_port : name.in.sin_port;
    struct sockaddr_storage peer;
    socklen_t pl_len = sizeof(peer);
    if (port != 0 || tern_getpeername(fd, (struct sockaddr *)&peer, &pl_len) == 0) {
        goto out; /* bound or connected on tern already: tern answers */
    }
    int fl = tern_fcntl(fd, F_GETFL), fdfl = tern_fcntl(fd, F_GETFD);
    int k = REAL(socket)(domain,
                         type | ((fl >= 0 && (fl & O_NONBLOCK)) ? SOCK_NONBLOCK : 0) |
                             ((fdfl >= 0 && (fdfl & FD_CLOEXEC)) ? SOCK_CLOEXEC : 0),
                         proto);
    if (k < 0) {
        goto out;
    }
    for (size_t i = 0; i < sizeof(carried) / sizeof(carried[0]); i++) {
        char v[32];
        socklen_t vl = sizeof(v);
        if (tern_getsockopt(fd, carried[i].level, carried[i].name, v, &vl) == 0) {
            (void)REAL(setsockopt)(k, carried[i].level, carried[i].name, v, vl);
        }
    }
    int rcv, snd;
    socklen_t bl = sizeof(int);
    if (tern_getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, &bl) == 0) {
        rcv /= 2; /* reported doubled, as Linux */
        (void)REAL(setsockopt)(k, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
    }
    bl = sizeof(int);
    if (tern_getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &snd, &bl) == 0) {
        snd /= 2;
        (void)REAL(setsockopt)(k, SOL_SOCKET, SO_SNDBUF, &snd, sizeof(snd));
    }
    /* The kernel socket replaces tern's end of the pair under the number
     * at once (no moment where the number is free); tern then forgets a
     * socket whose fd is no longer its own. */
    if (REAL(dup3)(k, fd, (fdfl >= 0 && (fdfl & FD_CLOEXEC)) ? O_CLOEXEC : 0) == fd) {
        (void)tern_forget(fd);
        fd_mark(fd, FD_KERNEL);
        moved = true;
    }
    (void)REAL(close)(k);
out:
    tl_depth--;
    if (moved) {
        trace_call("to-kernel", fd, fd, 0);
    }
    return moved;
}

EXPORT int
bind(int fd, const struct sockaddr *a, socklen_t len)
{
    if (!TERN_FD(fd) || to_kernel(fd, a, len)) {
        return REAL(bind)(fd, a, len);
    }
    IN_TERN("bind", fd, int, tern_bind(fd, a, len));
}

EXPORT int
listen(int fd, int backlog)
{
    if (!TERN_FD(fd)) {
        return REAL(listen)(fd, backlog);
    }
    IN_TERN("listen", fd, int, tern_listen(fd, backlog));
}

/* Runs `expr`, a tern call that makes a socket, inside tern (new_sock). */
#define SOCK_IN_TERN(call, fd, expr)                                                               \
    do {                                                                                           \
        if (pl.child) {                                                                            \
            return child_fail(fd, call);                                                           \
        }                                                                                          \
        tl_sig = TERN_INTR_NONE;                                                                   \
        tl_depth++;                                                                                \
        int r_ = (expr);                                                                           \
        int e_ = errno;                                                                            \
        tl_depth--;                                                                                \
        return new_sock(call, fd, r_, e_);                                                         \
    } while (0)

EXPORT int
accept(int fd, struct sockaddr *a, socklen_t *len)
{
    if (!TERN_FD(fd)) {
        return REAL(accept)(fd, a, len);
    }
    SOCK_IN_TERN("accept", fd, tern_accept(fd, a, len));
}

EXPORT int
accept4(int fd, struct sockaddr *a, socklen_t *len, int flags)
{
    if (!TERN_FD(fd)) {
        return REAL(accept4)(fd, a, len, flags);
    }
    SOCK_IN_TERN("accept4", fd, tern_accept4(fd, a, len, flags));
}

EXPORT int
connect(int fd, const struct sockaddr *a, socklen_t len)
{
    if (!TERN_FD(fd) || to_kernel(fd, a, len)) {
        return REAL(connect)(fd, a, len);
    }
    IN_TERN("connect", fd, int, tern_connect(fd, a, len));
}

EXPORT ssize_t
read(int fd, void *buf, size_t n)
{
    if (!TERN_FD(fd)) {
        return REAL(read)(fd, buf, n);
    }
    IN_TERN("read", fd, ssize_t, tern_read(fd, buf, n));
}

EXPORT ssize_t
__read_chk(int fd, void *buf, size_t n, size_t buflen)
{
    if (n > buflen) {
        abort(); /* glibc's __chk_fail: the buffer is smaller than the read */
    }
    return read(fd, buf, n);
}

EXPORT ssize_t
write(int fd, const void *buf, size_t n)
{
    if (!TERN_FD(fd)) {
        return REAL(write)(fd, buf, n);
    }
    IN_TERN("write", fd, ssize_t, tern_write(fd, buf, n));
}

EXPORT ssize_t
readv(int fd, const struct iovec *iov, int n)
{
    if (!TERN_FD(fd)) {
        return REAL(readv)(fd, iov, n);
    }
    IN_TERN("readv", fd, ssize_t, tern_readv(fd, iov, n));
}

EXPORT ssize_t
writev(int fd, const struct iovec *iov, int n)
{
    if (!TERN_FD(fd)) {
        return REAL(writev)(fd, iov, n);
    }
    IN_TERN("writev", fd, ssize_t, tern_writev(fd, iov, n));
}

EXPORT ssize_t
recv(int fd, void *buf, size_t n, int flags)
{
    if (!TERN_FD(fd)) {
        return REAL(recv)(fd, buf, n, flags);
    }
    IN_TERN("recv", fd, ssize_t, tern_recv(fd, buf, n, flags));
}

EXPORT ssize_t
__recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags)
{
    if (n > buflen) {
        abort();
    }
    return recv(fd, buf, n, flags);
}

EXPORT ssize_t
recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *from, socklen_t *fromlen)
{
    if (!TERN_FD(fd)) {
        return REAL(recvfrom)(fd, buf, n, flags, from, fromlen);
    }
    IN_TERN("recvfrom", fd, ssize_t, tern_recvfrom(fd, buf, n, flags, from, fromlen));
}

EXPORT ssize_t
__recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags, struct sockaddr *from,
               socklen_t *fromlen)
{
    if (n > buflen) {
        abort();
    }
    return recvfrom(fd, buf, n, flags, from, fromlen);
}

EXPORT ssize_t
recvmsg(int fd, struct msghdr *msg, int flags)
{
    if (!TERN_FD(fd)) {
        return REAL(recvmsg)(fd, msg, flags);
    }
    IN_TERN("recvmsg", fd, ssize_t, tern_recvmsg(fd, msg, flags));
}

EXPORT ssize_t
send(int fd, const void *buf, size_t n, int flags)
{
    if (!TERN_FD(fd)) {
        return REAL(send)(fd, buf, n, flags);
    }
    IN_TERN("send", fd, ssize_t, tern_send(fd, buf, n, flags));
}

EXPORT ssize_t
sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *to, socklen_t tolen)
{
    if (!TERN_FD(fd) || to_kernel(fd, to, tolen)) {
        return REAL(sendto)(fd, buf, n, flags, to, tolen);
    }
    IN_TERN("sendto", fd, ssize_t, tern_sendto(fd, buf, n, flags, to, tolen));
}

EXPORT ssize_t
sendmsg(int fd, const struct msghdr *msg, int flags)
{
    if (!TERN_FD(fd) ||
        (msg != NULL && to_kernel(fd, (const struct sockaddr *)msg->msg_name, msg->msg_namelen))) {
        return REAL(sendmsg)(fd, msg, flags);
    }
    IN_TERN("sendmsg", fd, ssize_t, tern_sendmsg(fd, msg, flags));
}

/* sendmmsg(2) and recvmmsg(2): one tern call per message. As Linux, the
 * count of messages done is returned, and an error only when the first
 * fails; recvmmsg blocks for every message unless MSG_WAITFORONE (then
 * only for the first) or MSG_DONTWAIT, and looks at `timeout` only after
 * each message, as the kernel does. */
static int
sendmmsg_tern(int fd, struct mmsghdr *v, unsigned n, int flags)
{
    unsigned i = 0;
    for (; i < n; i++) {
        ssize_t r = tern_sendmsg(fd, &v[i].msg_hdr, flags);
        if (r < 0) {
            return i == 0 ? -1 : (int)i;
        }
        v[i].msg_len = (unsigned)r;
    }
    return (int)i;
}

static int
recvmmsg_tern(int fd, struct mmsghdr *v, unsigned n, int flags, struct timespec *timeout)
{
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    unsigned i = 0;
    int f = flags & ~MSG_WAITFORONE;
    for (; i < n; i++) {
        ssize_t r = tern_recvmsg(fd, &v[i].msg_hdr, f);
        if (r < 0) {
            return i == 0 ? -1 : (int)i;
        }
        v[i].msg_len = (unsigned)r;
        if (flags & MSG_WAITFORONE) {
            f |= MSG_DONTWAIT;
        }
        if (timeout != NULL) {
            struct timespec now;
            clock_gettime(CLOCK_MONOTONIC, &now);
            long long used =
                (now.tv_sec - start.tv_sec) * 1000000000LL + (now.tv_nsec - start.tv_nsec);
            long long lim = (long long)timeout->tv_sec * 1000000000LL + timeout->tv_nsec;
            if (used >= lim) {
                i++;
                break;
            }
        }
    }
    return (int)i;
}

EXPORT int
sendmmsg(int fd, struct mmsghdr *v, unsigned n, int flags)
{
    if (!TERN_FD(fd)) {
        return REAL(sendmmsg)(fd, v, n, flags);
    }
    IN_TERN("sendmmsg", fd, int, sendmmsg_tern(fd, v, n, flags));
}

EXPORT int
recvmmsg(int fd, struct mmsghdr *v, unsigned n, int flags, struct timespec *timeout)
{
    if (!TERN_FD(fd)) {
        return REAL(recvmmsg)(fd, v, n, flags, timeout);
    }
    IN_TERN("recvmmsg", fd, int, recvmmsg_tern(fd, v, n, flags, timeout));
}

/* sendfile(2) into a tern socket: the file is read (pread at *off, or
 * read at its position) and written with tern_write, a chunk at a time,
 * until `count`, a short write (a non-blocking socket full) or the end of
 * the file. As Linux: *off advances and the file position does not when
 * `off` is given; otherwise the position advances by what was sent. */
static ssize_t
sendfile_tern(int out, int in, off_t *off, size_t count)
{
    char buf[16384];
    off_t pos = off != NULL ? *off : lseek(in, 0, SEEK_CUR);
    if (pos < 0) {
        return -1; /* ESPIPE: Linux wants a file it can seek */
    }
    size_t done = 0;
    while (done < count) {
        size_t want = count - done < sizeof(buf) ? count - done : sizeof(buf);
        ssize_t got = pread(in, buf, want, pos);
        if (got <= 0) {
            if (got < 0 && done == 0) {
                return -1;
            }
            break;
        }
        ssize_t put = tern_write(out, buf, (size_t)got);
        if (put <= 0) {
            if (done == 0) {
                return -1;
            }
            break;
        }
        done += (size_t)put;
        pos += put;
        if (put < got) {
            break;
        }
    }
    if (off != NULL) {
        *off = pos;
    } else if (lseek(in, pos, SEEK_SET) < 0) {
        return -1;
    }
    return (ssize_t)done;
}

EXPORT ssize_t
sendfile(int out, int in, off_t *off, size_t count)
{
    if (tl_depth > 0 || (fd_kind(out) != FD_SOCK && fd_kind(in) != FD_SOCK)) {
        return REAL(sendfile)(out, in, off, count);
    }
    if (fd_kind(in) == FD_SOCK) {
        errno = EINVAL; /* Linux: the source must be a file it can map */
        return -1;
    }
    IN_TERN("sendfile", out, ssize_t, sendfile_tern(out, in, off, count));
}

EXPORT ssize_t
sendfile64(int out, int in, off_t *off, size_t count)
{
    return sendfile(out, in, off, count);
}

EXPORT ssize_t
splice(int in, loff_t *off_in, int out, loff_t *off_out, size_t len, unsigned flags)
{
    if (tl_depth > 0 || (fd_kind(in) == FD_KERNEL && fd_kind(out) == FD_KERNEL)) {
        return REAL(splice)(in, off_in, out, off_out, len, flags);
    }
    errno = EINVAL; /* no pipe buffers inside tern: docs/preload.md */
    return -1;
}

EXPORT int
close(int fd)
{
    int k = tl_depth > 0 ? FD_KERNEL : fd_kind(fd);
    if (k == FD_KERNEL) {
        return REAL(close)(fd);
    }
    if (pl.child) {
        /* The parent's socket: only this process's fd goes. */
        fd_mark(fd, FD_KERNEL);
        return REAL(close)(fd);
    }
    tl_sig = TERN_INTR_NONE;
    tl_depth++;
    int r = tern_close(fd);
    int e = errno;
    tl_depth--;
    fd_mark(fd, FD_KERNEL);
    trace_call("close", fd, r, e);
    errno = e;
    return r;
}

EXPORT int
shutdown(int fd, int how)
{
    if (!TERN_FD(fd)) {
        return REAL(shutdown)(fd, how);
    }
    IN_TERN("shutdown", fd, int, tern_shutdown(fd, how));
}

/* dup2/dup3 onto a tern socket's number close that socket first, as the
 * kernel closes whatever the new number held. */
static void
free_target(int oldfd, int newfd)
{
    if (newfd != oldfd && fd_kind(newfd) != FD_KERNEL) {
        (void)close(newfd);
    }
}

EXPORT int
dup(int fd)
{
    if (!TERN_FD(fd)) {
        return REAL(dup)(fd);
    }
    SOCK_IN_TERN("dup", fd, tern_dup(fd));
}

EXPORT int
dup2(int fd, int newfd)
{
    if (tl_depth > 0) {
        return REAL(dup2)(fd, newfd);
    }
    if (fd_kind(fd) == FD_KERNEL) {
        free_target(fd, newfd);
        return REAL(dup2)(fd, newfd);
    }
    SOCK_IN_TERN("dup2", fd, tern_dup2(fd, newfd));
}

EXPORT int
dup3(int fd, int newfd, int flags)
{
    if (tl_depth > 0) {
        return REAL(dup3)(fd, newfd, flags);
    }
    if (fd_kind(fd) == FD_KERNEL) {
        if (fd != newfd) {
            free_target(fd, newfd);
        }
        return REAL(dup3)(fd, newfd, flags);
    }
    SOCK_IN_TERN("dup3", fd, tern_dup3(fd, newfd, flags));
}

static int
fcntl_any(int fd, int cmd, long arg)
{
    if (!TERN_FD(fd)) {
        return REAL(fcntl)(fd, cmd, arg);
    }
    if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) {
        SOCK_IN_TERN("fcntl", fd, tern_fcntl(fd, cmd, arg));
    }
    IN_TERN("fcntl", fd, int, tern_fcntl(fd, cmd, arg));
}

EXPORT int
fcntl(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    long arg = va_arg(ap, long);
    va_end(ap);
    return fcntl_any(fd, cmd, arg);
}

/* glibc's name for fcntl under _FILE_OFFSET_BITS=64: the same call. */
EXPORT int fcntl64(int fd, int cmd, ...) __attribute__((alias("fcntl")));

EXPORT int
ioctl(int fd, unsigned long req, ...)
{
    va_list ap;
    va_start(ap, req);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    if (!TERN_FD(fd)) {
        return REAL(ioctl)(fd, req, arg);
    }
    IN_TERN("ioctl", fd, int, tern_ioctl(fd, req, arg));
}

EXPORT int
getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
    if (!TERN_FD(fd)) {
        return REAL(getsockopt)(fd, level, name, val, len);
    }
    IN_TERN("getsockopt", fd, int, tern_getsockopt(fd, level, name, val, len));
}

EXPORT int
setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
    if (!TERN_FD(fd)) {
        return REAL(setsockopt)(fd, level, name, val, len);
    }
    IN_TERN("setsockopt", fd, int, tern_setsockopt(fd, level, name, val, len));
}

EXPORT int
getsockname(int fd, struct sockaddr *a, socklen_t *len)
{
    if (!TERN_FD(fd)) {
        return REAL(getsockname)(fd, a, len);
    }
    IN_TERN("getsockname", fd, int, tern_getsockname(fd, a, len));
}

EXPORT int
getpeername(int fd, struct sockaddr *a, socklen_t *len)
{
    if (!TERN_FD(fd)) {
        return REAL(getpeername)(fd, a, len);
    }
    IN_TERN("getpeername", fd, int, tern_getpeername(fd, a, len));
}

/* ---- readiness ---- */

static bool
any_tern(const struct pollfd *fds, nfds_t n)
{
    if (tl_depth > 0 || fds == NULL) {
        return false;
    }
    for (nfds_t i = 0; i < n; i++) {
        if (fd_kind(fds[i].fd) == FD_SOCK) {
            return true;
        }
    }
    return false;
}

static int
ts_ms(const struct timespec *ts)
{
    if (ts == NULL) {
        return -1;
    }
    if (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000) {
        errno = EINVAL;
        return -2;
    }
    long long ms = (long long)ts->tv_sec * 1000 + (ts->tv_nsec + 999999) / 1000000;
    return ms > INT_MAX ? INT_MAX : (int)ms;
}

/* tern_poll under a signal mask (ppoll, pselect, epoll_pwait): the mask is
 * set around the wait, not atomically with it as the kernel does. */
static int
poll_masked(struct pollfd *fds, nfds_t n, int ms, const sigset_t *mask)
{
    sigset_t old;
    if (mask != NULL) {
        pthread_sigmask(SIG_SETMASK, mask, &old);
    }
    tl_depth++;
    int r = tern_poll(fds, n, ms);
    int e = errno;
    tl_depth--;
    if (mask != NULL) {
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    }
    errno = e;
    return r;
}

/* glibc declares poll's array write-only (attribute access), so GCC takes
 * reading the caller's events for reading uninitialized memory. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

EXPORT int
poll(struct pollfd *fds, nfds_t n, int ms)
{
    if (!any_tern(fds, n)) {
        return REAL(poll)(fds, n, ms);
    }
    if (pl.child) {
        return child_fail(-1, "poll");
    }
    return poll_masked(fds, n, ms, NULL);
}

EXPORT int
__poll_chk(struct pollfd *fds, nfds_t n, int ms, size_t fdslen)
{
    if (fdslen / sizeof(*fds) < n) {
        abort();
    }
    return poll(fds, n, ms);
}

EXPORT int
ppoll(struct pollfd *fds, nfds_t n, const struct timespec *ts, const sigset_t *mask)
{
    if (!any_tern(fds, n)) {
        return REAL(ppoll)(fds, n, ts, mask);
    }
    if (pl.child) {
        return child_fail(-1, "ppoll");
    }
    int ms = ts_ms(ts);
    if (ms == -2) {
        return -1;
    }
    return poll_masked(fds, n, ms, mask);
}

#pragma GCC diagnostic pop

/* select and pselect over tern_poll, with Linux's mapping of poll bits to
 * the three sets (fs/select.c): readable on IN/HUP/ERR, writable on
 * OUT/ERR, exceptional on PRI. */
static int
select_tern(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, int ms, const sigset_t *mask)
{
    struct pollfd small[64], *p = small;
    if (nfds > 64) {
        p = calloc((size_t)nfds, sizeof(*p));
        if (p == NULL) {
            errno = ENOMEM;
            return -1;
        }
    }
    nfds_t n = 0;
    for (int fd = 0; fd < nfds; fd++) {
        short ev = 0;
        if (rd != NULL && FD_ISSET(fd, rd)) {
            ev |= POLLIN;
        }
        if (wr != NULL && FD_ISSET(fd, wr)) {
            ev |= POLLOUT;
        }
        if (ex != NULL && FD_ISSET(fd, ex)) {
            ev |= POLLPRI;
        }
        if (ev != 0) {
            p[n].fd = fd;
            p[n].events = ev;
            p[n].revents = 0;
            n++;
        }
    }
    int r = poll_masked(p, n, ms, mask);
    int e = errno;
    if (r >= 0) {
        for (nfds_t i = 0; i < n; i++) {
            if (p[i].revents & POLLNVAL) {
                r = -1, e = EBADF;
            }
        }
    }
    if (r >= 0) {
        r = 0;
        if (rd != NULL) {
            FD_ZERO(rd);
        }
        if (wr != NULL) {
            FD_ZERO(wr);
        }
        if (ex != NULL) {
            FD_ZERO(ex);
        }
        for (nfds_t i = 0; i < n; i++) {
            short rv = p[i].revents, ev = p[i].events;
            if ((ev & POLLIN) && (rv & (POLLIN | POLLHUP | POLLERR))) {
                FD_SET(p[i].fd, rd), r++;
            }
            if ((ev & POLLOUT) && (rv & (POLLOUT | POLLERR))) {
                FD_SET(p[i].fd, wr), r++;
            }
            if ((ev & POLLPRI) && (rv & POLLPRI)) {
                FD_SET(p[i].fd, ex), r++;
            }
        }
    }
    if (p != small) {
        free(p);
    }
    errno = e;
    return r;
}

static bool
any_tern_set(int nfds, const fd_set *rd, const fd_set *wr, const fd_set *ex)
{
    if (tl_depth > 0) {
        return false;
    }
    for (int fd = 0; fd < nfds && fd < FD_SETSIZE; fd++) {
        if (((rd != NULL && FD_ISSET(fd, rd)) || (wr != NULL && FD_ISSET(fd, wr)) ||
             (ex != NULL && FD_ISSET(fd, ex))) &&
            fd_kind(fd) == FD_SOCK) {
            return true;
        }
    }
    return false;
}

EXPORT int
select(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, struct timeval *tv)
{
    if (nfds < 0 || nfds > FD_SETSIZE || !any_tern_set(nfds, rd, wr, ex)) {
        return REAL(select)(nfds, rd, wr, ex, tv);
    }
    if (pl.child) {
        return child_fail(-1, "select");
    }
    int ms = -1;
    struct timespec start;
    if (tv != NULL) {
        if (tv->tv_sec < 0 || tv->tv_usec < 0 || tv->tv_usec >= 1000000) {
            errno = EINVAL;
            return -1;
        }
        long long m = (long long)tv->tv_sec * 1000 + (tv->tv_usec + 999) / 1000;
        ms = m > INT_MAX ? INT_MAX : (int)m;
        clock_gettime(CLOCK_MONOTONIC, &start);
    }
    int r = select_tern(nfds, rd, wr, ex, ms, NULL);
    if (tv != NULL) {
        /* Linux writes back the time left. */
        int e = errno;
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long long used =
            (now.tv_sec - start.tv_sec) * 1000000LL + (now.tv_nsec - start.tv_nsec) / 1000;
        long long left = (long long)tv->tv_sec * 1000000 + tv->tv_usec - used;
        if (left < 0) {
            left = 0;
        }
        tv->tv_sec = (time_t)(left / 1000000);
        tv->tv_usec = (suseconds_t)(left % 1000000);
        errno = e;
    }
    return r;
}

EXPORT int
pselect(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, const struct timespec *ts,
        const sigset_t *mask)
{
    if (nfds < 0 || nfds > FD_SETSIZE || !any_tern_set(nfds, rd, wr, ex)) {
        return REAL(pselect)(nfds, rd, wr, ex, ts, mask);
    }
    if (pl.child) {
        return child_fail(-1, "pselect");
    }
    int ms = ts_ms(ts);
    if (ms == -2) {
        return -1;
    }
    return select_tern(nfds, rd, wr, ex, ms, mask);
}

/* Every epoll instance is tern's (tern_epoll_*: a kernel epoll that also
 * reports tern sockets exactly), so that a tern socket may join any set
 * the program makes, before or after the stack is up. */
static int
epoll_made(int (*make)(int), int arg)
{
    atomic_store(&pl.touched, true);
    tl_depth++;
    int fd = make(arg);
    int e = errno;
    tl_depth--;
    if (fd >= 0) {
        fd_mark(fd, FD_EPOLL);
    }
    errno = e;
    return fd;
}

EXPORT int
epoll_create(int size)
{
    if (tl_depth > 0 || pl.child) {
        return REAL(epoll_create)(size);
    }
    return epoll_made(tern_epoll_create, size);
}

EXPORT int
epoll_create1(int flags)
{
    if (tl_depth > 0 || pl.child) {
        return REAL(epoll_create1)(flags);
    }
    return epoll_made(tern_epoll_create1, flags);
}

EXPORT int
epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
    if (tl_depth > 0 || pl.child || fd_kind(epfd) != FD_EPOLL) {
        return REAL(epoll_ctl)(epfd, op, fd, ev);
    }
    IN_TERN("epoll_ctl", fd, int, tern_epoll_ctl(epfd, op, fd, ev));
}

/* tern_epoll_wait, under the caller's signal mask when it gives one. */
static int
epoll_wait_tern(int epfd, struct epoll_event *evs, int max, int ms, const sigset_t *mask)
{
    sigset_t old;
    if (mask != NULL) {
        pthread_sigmask(SIG_SETMASK, mask, &old);
    }
    tl_depth++;
    int r = tern_epoll_wait(epfd, evs, max, ms);
    int e = errno;
    tl_depth--;
    if (mask != NULL) {
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    }
    errno = e;
    return r;
}

EXPORT int
epoll_wait(int epfd, struct epoll_event *evs, int max, int ms)
{
    if (tl_depth > 0 || pl.child || fd_kind(epfd) != FD_EPOLL) {
        return REAL(epoll_wait)(epfd, evs, max, ms);
    }
    return epoll_wait_tern(epfd, evs, max, ms, NULL);
}

EXPORT int
epoll_pwait(int epfd, struct epoll_event *evs, int max, int ms, const sigset_t *mask)
{
    if (tl_depth > 0 || pl.child || fd_kind(epfd) != FD_EPOLL) {
        return REAL(epoll_pwait)(epfd, evs, max, ms, mask);
    }
    return epoll_wait_tern(epfd, evs, max, ms, mask);
}

/* ---- names ---- */

/* "localhost" and names under it are the loopback (RFC 6761 6.3), which
 * stays the kernel's: libc answers them from /etc/hosts. */
static bool
is_localhost(const char *node)
{
    if (node == NULL) {
        return false;
    }
    size_t n = strlen(node);
    if (n > 0 && node[n - 1] == '.') {
        n--; /* a fully qualified "localhost." */
    }
    return (n == 9 && strncasecmp(node, "localhost", 9) == 0) ||
           (n > 10 && strncasecmp(node + n - 10, ".localhost", 10) == 0);
}

/* With TERN_DNS set, names are looked up by tern's resolver over tern's
 * stack; its results are freed by libc's freeaddrinfo (one allocation per
 * entry, the canonical name apart, as glibc's own). */
EXPORT int
getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
            struct addrinfo **res)
{
    if (tl_depth > 0 || pl.conf.n_dns == 0 || pl.child || is_localhost(node)) {
        return REAL(getaddrinfo)(node, service, hints, res);
    }
    if (!up()) {
        return EAI_SYSTEM;
    }
    tl_depth++;
    int r = tern_getaddrinfo(node, service, hints, res);
    int e = errno;
    tl_depth--;
    errno = e;
    return r;
}
