/*
 * include/tern/socket.h: BSD sockets over tern's TCP.
 *
 * The calls are Linux's, prefixed tern_: same arguments, Linux's constants
 * (AF_INET, SOCK_STREAM, SOL_SOCKET, TCP_NODELAY...) and errno values, -1
 * and errno on failure. Code written for Linux sockets works unchanged apart
 * from the prefix. Only AF_INET + SOCK_STREAM (TCP) sockets exist for now.
 *
 * Every tern socket is a real file descriptor of the process: one end of an
 * AF_UNIX socket pair that the library keeps readable while the tern socket
 * is readable (data, end of stream, an error, a connection to accept) and
 * writable while it is writable, and that reports POLLRDHUP after the peer's
 * FIN and POLLHUP once the connection is gone. So a program may put tern
 * sockets into its own poll/epoll/libuv loop beside kernel fds and call
 * tern_read/tern_write when they fire. tern_poll() and the tern_epoll_*
 * trio report exactly what Linux's would (POLLERR included) and accept
 * kernel fds too. Never read or write a tern socket's fd with the kernel's
 * calls: the bytes there are signals, not data. The tern_ calls given a fd
 * that is not a tern socket pass it on to the kernel (tern_close of a pipe
 * closes the pipe), so a program can use them everywhere.
 *
 * Runtimes. Sockets live in a runtime, which holds one or more stacks and a
 * lock. There are three kinds:
 *  (a) tern_rt_attach(): sockets over a stack the caller drives in its own
 *      loop (tern_rt_input, tern_rt_poll, tern_rt_next_deadline), with time
 *      from a clock the caller gives. No thread: every socket acts as
 *      non-blocking (a call that would block fails with EAGAIN), whatever
 *      O_NONBLOCK says, for a caller that makes its socket calls from the
 *      same loop that moves the stack.
 *  (b) tern_rt_drive(): the same caller-owned packet path, with blocking
 *      calls. The caller's own thread feeds frames (tern_rt_input) and time
 *      (tern_rt_advance or tern_rt_poll) while other threads make socket
 *      calls that block as on Linux. Whenever a call (a write that armed
 *      the retransmission timer, an input that armed a delayed ACK...)
 *      moves the stack's next deadline earlier than the one the caller last
 *      learnt from tern_rt_next_deadline, the runtime says so: a callback,
 *      and an eventfd (tern_rt_deadline_fd) the caller polls beside its
 *      packet fds, so its loop never sleeps past a timer.
 *  (c) tern_rt_start(): the runtime owns a driver (tern/driver.h: a TUN
 *      or TAP device, a simulated network run in real time, or the
 *      caller's own packet path) and a thread that runs it: feeds the
 *      stacks what arrived, runs their timers, sends what they queued.
 *      tern_rt_start_tun() (tern/tun.h) and tern_rt_start_sim()
 *      (tern/sim.h) compose the library's drivers with it.
 * In (b) and (c) any thread may make blocking calls; a blocked call sleeps
 * on the socket's condition variable (never spins) and wakes on its event
 * or on SO_RCVTIMEO / SO_SNDTIMEO (real time, CLOCK_MONOTONIC, whatever the
 * runtime's clock). All calls are thread-safe in every kind (one lock per
 * runtime).
 *
 * tern_socket() creates the socket in the default runtime: the first one
 * made, or the one named by tern_rt_set_default(); tern_socket_in() names a
 * runtime and a host (a stack) explicitly. Runtimes are independent: each
 * has its own table of its sockets by fd, and freeing one touches no
 * socket of another. What stays process-wide is one map from fd number to
 * the runtime holding it (and the default runtime): Linux names a socket by
 * its fd alone, and fd numbers are process-wide.
 *
 * Linux semantics kept where POSIX leaves room: a non-blocking connect
 * fails with EINPROGRESS and reports its result through POLLOUT and
 * SO_ERROR; a blocking connect cut short by SO_SNDTIMEO fails with
 * EINPROGRESS; read returns 0 after the peer's FIN; after a RST the first
 * call fails with ECONNRESET, later reads return 0 and writes fail with
 * EPIPE; writes never raise SIGPIPE (MSG_NOSIGNAL is implied); SO_LINGER
 * with l_linger 0 makes close send a RST; listen's backlog admits backlog + 1
 * established connections; SO_RCVBUF / SO_SNDBUF report twice the value
 * set, as Linux does; urgent data as Linux presents it: send(MSG_OOB),
 * the octet before the peer's urgent pointer taken out of band by
 * recv(MSG_OOB) and skipped by reads (unless SO_OOBINLINE), reads that stop
 * at the mark, SIOCATMARK, POLLPRI (the user's fd shows it as readable).
 */
#ifndef TERN_SOCKET_H
#define TERN_SOCKET_H

#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "tern/driver.h"
#include "tern/stack.h"

#ifdef __cplusplus
extern "C" {
#endif

struct tern_rt;

/* ---- runtimes ---- */

/* A clock: the current time in ns, the time base of the stack. */
typedef int64_t (*tern_clock_fn)(void *ctx);

/* (a) Sockets over `st`, which the caller keeps driving (the runtime does
 * not own it: tern_rt_free leaves it alive). `clock` NULL means
 * CLOCK_MONOTONIC. Installs the stack-wide TCP event callback. Returns
 * TERN_OK, TERN_ERR_INVAL, TERN_ERR_NOMEM. */
int tern_rt_attach(struct tern_stack *st, tern_clock_fn clock, void *clock_ctx,
                   struct tern_rt **out);

/* Feeding a caller-driven runtime, (a) or (b), under the runtime's lock
 * with the runtime's clock: tern_stack_input / tern_stack_poll /
 * tern_stack_next_deadline. A caller that calls the stack itself (a batch
 * with tern_stack_batch_begin...) brackets the calls with tern_rt_lock /
 * tern_rt_unlock. */
int tern_rt_input(struct tern_rt *rt, int netif, const uint8_t *pkt, size_t len);
void tern_rt_poll(struct tern_rt *rt);
int64_t tern_rt_next_deadline(struct tern_rt *rt);

/* Told that a runtime's next deadline moved earlier, to `deadline_ns` (the
 * runtime's time). Called on the thread of the call that moved it, under
 * the runtime's lock: it must not call into that runtime; it may wake the
 * caller's loop (write a fd, signal a condition variable). */
typedef void (*tern_deadline_fn)(void *ctx, int64_t deadline_ns);

/* How a runtime of kind (b) keeps time and tells its caller. */
struct tern_rt_drive_config {
    /* The runtime's time. NULL: CLOCK_MONOTONIC (the caller runs due
     * timers with tern_rt_poll). */
    tern_clock_fn clock;
    void *clock_ctx;
    /* Or the caller's own time (virtual time, a test): `start_ns` at
     * first, then what the caller gives tern_rt_advance. `clock` unused. */
    bool manual_time;
    int64_t start_ns;
    /* Optional: called when the next deadline moved earlier. */
    tern_deadline_fn on_deadline;
    void *deadline_ctx;
};

/* Fills `cfg` with the defaults: CLOCK_MONOTONIC, no callback. */
void tern_rt_drive_config_init(struct tern_rt_drive_config *cfg);

/* (b) Sockets over `st`, which the caller keeps driving from its own thread
 * (tern_rt_input, tern_rt_advance or tern_rt_poll, tern_rt_next_deadline),
 * with blocking socket calls on any other thread. The runtime does not own
 * the stack; the stack's transmit callback runs under the runtime's lock
 * on whichever thread made the call that sent (a write sends at once), so
 * it must queue the frame for the caller's loop, never feed it to another
 * runtime directly. `cfg` NULL: the defaults. Returns TERN_OK,
 * TERN_ERR_INVAL, TERN_ERR_NOMEM, TERN_ERR_TXFAIL (no eventfd). */
int tern_rt_drive(struct tern_stack *st, const struct tern_rt_drive_config *cfg,
                  struct tern_rt **out);

/* (b) with manual_time: moves the runtime's time to `now_ns` (never back:
 * an earlier time is taken as the current one) and runs the timers due
 * then. TERN_ERR_INVAL on any other runtime. */
int tern_rt_advance(struct tern_rt *rt, int64_t now_ns);

/* (b) An eventfd, readable from the moment a call moved the next deadline
 * earlier than the one tern_rt_next_deadline last returned (or the callback
 * last gave), until the next tern_rt_next_deadline, which drains it. -1 for
 * other runtimes. The runtime owns it. */
int tern_rt_deadline_fd(struct tern_rt *rt);

/* (c) tern_rt_start(driver, &rt) (tern/driver.h): a runtime whose thread
 * runs a packet path through the driver interface. The library's drivers
 * come with constructors: tern_rt_start_tun() (tern/tun.h) and
 * tern_rt_start_sim() (tern/sim.h). */

/* Stops the thread (if any), closes every socket still open, frees what the
 * runtime owns (for a TUN runtime: the stack and the device). No other
 * thread may be inside a call on this runtime's sockets. NULL is a no-op. */
void tern_rt_free(struct tern_rt *rt);

/* Makes `rt` / `host` the runtime tern_socket() uses (NULL: none). */
void tern_rt_set_default(struct tern_rt *rt, int host);

/* The stack of host `host` (0 for attach / drive / TUN runtimes), or NULL. */
struct tern_stack *tern_rt_stack(struct tern_rt *rt, int host);

/* The runtime's lock, for a caller that wants to use the native API,
 * read counters or touch the sim while the runtime's thread runs. */
void tern_rt_lock(struct tern_rt *rt);
void tern_rt_unlock(struct tern_rt *rt);

/* The runtime's time, in the stacks' time base. */
int64_t tern_rt_now(struct tern_rt *rt);

/* ---- blocked calls that signals interrupt ---- */

/* What a signal handler that ran on the calling thread during a blocked
 * call asks for (tern_rt_intr.signalled). */
enum tern_intr {
    TERN_INTR_NONE = 0,    /* no handler ran */
    TERN_INTR_RESTART = 1, /* its handler had SA_RESTART */
    TERN_INTR_EINTR = 2,   /* its handler had no SA_RESTART */
};

/* By default a blocked call sleeps on a condition variable and a signal
 * handler that runs meanwhile does not end it. A runtime given these hooks
 * (the LD_PRELOAD library sets them) sleeps instead in ppoll(2) on an
 * eventfd of the calling thread, so a handler interrupts the sleep; the
 * call then does what Linux's would (signal(7), "Interruption of system
 * calls"): it fails with EINTR when nothing moved yet (a count when some
 * bytes did), or, for a handler with SA_RESTART, goes on waiting, unless
 * the socket has a timeout for that direction (SO_RCVTIMEO for accept and
 * receives, SO_SNDTIMEO for connect and sends): then EINTR as on Linux.
 * An interrupted connect goes on in the background (a later connect waits
 * for it, or says EALREADY when non-blocking). SO_LINGER's wait in close
 * ends at a signal (close succeeds). */
struct tern_rt_intr {
    /* An eventfd of the calling thread (made and owned by the caller,
     * non-blocking), which tern writes to wake the thread and drains
     * after; -1: this thread sleeps on the condition variable. */
    int (*wake_fd)(void *ctx);
    /* Whether a signal handler ran on the calling thread since the
     * current call began (enum tern_intr); clears that record. */
    int (*signalled)(void *ctx);
    void *ctx;
};

/* Installs `intr` (copied; NULL: back to the default) on a runtime that
 * blocks, kinds (b) and (c). Calls already asleep keep their way of
 * sleeping. 0, or -1 with EINVAL. */
int tern_rt_set_intr(struct tern_rt *rt, const struct tern_rt_intr *intr);

/* ---- the socket calls ---- */

int tern_socket(int domain, int type, int protocol);
int tern_socket_in(struct tern_rt *rt, int host, int domain, int type, int protocol);
int tern_bind(int fd, const struct sockaddr *addr, socklen_t len);
int tern_listen(int fd, int backlog);
int tern_accept(int fd, struct sockaddr *addr, socklen_t *len);
int tern_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags);
int tern_connect(int fd, const struct sockaddr *addr, socklen_t len);

ssize_t tern_read(int fd, void *buf, size_t n);
ssize_t tern_readv(int fd, const struct iovec *iov, int iovcnt);
ssize_t tern_recv(int fd, void *buf, size_t n, int flags);
ssize_t tern_recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *from,
                      socklen_t *fromlen);
ssize_t tern_recvmsg(int fd, struct msghdr *msg, int flags);

ssize_t tern_write(int fd, const void *buf, size_t n);
ssize_t tern_writev(int fd, const struct iovec *iov, int iovcnt);
ssize_t tern_send(int fd, const void *buf, size_t n, int flags);
ssize_t tern_sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *to,
                    socklen_t tolen);
ssize_t tern_sendmsg(int fd, const struct msghdr *msg, int flags);

int tern_shutdown(int fd, int how);
/* A duplicate names the same socket (fcntl F_DUPFD and F_DUPFD_CLOEXEC
 * too); the connection closes with the last of its numbers. */
int tern_dup(int fd);
int tern_dup2(int fd, int newfd);
int tern_dup3(int fd, int newfd, int flags);
int tern_close(int fd);
int tern_fcntl(int fd, int cmd, ...);
int tern_ioctl(int fd, unsigned long request, ...);
int tern_getsockopt(int fd, int level, int optname, void *optval, socklen_t *optlen);
int tern_setsockopt(int fd, int level, int optname, const void *optval, socklen_t optlen);
int tern_getsockname(int fd, struct sockaddr *addr, socklen_t *len);
int tern_getpeername(int fd, struct sockaddr *addr, socklen_t *len);

int tern_poll(struct pollfd *fds, nfds_t nfds, int timeout_ms);
int tern_epoll_create(int size);
int tern_epoll_create1(int flags);
int tern_epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev);
int tern_epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout_ms);

/* ---- names (src/api/resolv.c) ---- */

/* The DNS servers (IPv4, host order; at most TERN_DNS_MAX_SERVERS of
 * tern/dns.h, 3) that host `host` of `rt` asks for names: an option of the
 * runtime, set by the application or, later, from a DHCP lease; a second
 * call replaces the list (n 0: none). The first call makes the host's stub
 * resolver (tern/dns.h: 64 cached answers, 8 lookups at once). 0, or -1 with
 * errno EINVAL or ENOMEM. */
int tern_rt_set_dns(struct tern_rt *rt, int host, const uint32_t *servers, unsigned n);

/*
 * getaddrinfo(3) over tern: `node` is a numeric IPv4 or IPv6 address
 * (answered without a query), or a name looked up with the servers of
 * tern_rt_set_dns (A for AF_INET, AAAA for AF_INET6, both for AF_UNSPEC,
 * IPv4 first); `service` a decimal port or a name of the services
 * database. Results as glibc gives them: one struct addrinfo per address
 * and socket type (SOCK_STREAM, then SOCK_DGRAM, unless hints say one),
 * sockaddr_in or sockaddr_in6; AI_PASSIVE, AI_NUMERICHOST, AI_NUMERICSERV,
 * AI_CANONNAME honoured. Returns 0 or an EAI_* code: EAI_NONAME (no such
 * name: NXDOMAIN), EAI_NODATA (the name has no address of the family),
 * EAI_AGAIN (no server answered, servers failed, or an attached runtime,
 * which cannot wait), EAI_SYSTEM with errno ENOENT (no server set),
 * EAI_FAMILY, EAI_SOCKTYPE, EAI_SERVICE, EAI_ADDRFAMILY, EAI_MEMORY,
 * EAI_FAIL. Blocks (in runtimes that may block) until the lookup ends.
 * tern_getaddrinfo uses the default runtime (tern_rt_set_default). Free
 * the list with tern_freeaddrinfo. gai_strerror(3) gives the texts.
 */
struct addrinfo; /* <netdb.h>: declared there only with _POSIX_C_SOURCE >= 200112L */
int tern_getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                     struct addrinfo **res);
int tern_getaddrinfo_in(struct tern_rt *rt, int host, const char *node, const char *service,
                        const struct addrinfo *hints, struct addrinfo **res);
void tern_freeaddrinfo(struct addrinfo *res);

/* True when `fd` is a tern socket. */
bool tern_is_socket(int fd);

/* Forgets the tern socket that held number `fd` after the application
 * closed that fd itself with libc's close(): the connection ends as
 * close(2) would have ended it (a FIN after what is queued; a reset when
 * unread text remains) and the number, which may already name a file or
 * another socket, is left alone. Any tern_ call naming the number does the
 * same on its own (each checks the fd's identity with fstat); this call is
 * for a program that knows it closed the fd and makes no further call with
 * it. Returns 0 when a socket was forgotten; -1 with EBADF when `fd` names
 * no tern socket (never one, or already forgotten), EBUSY when it still is
 * a tern socket's fd (close it with tern_close). */
int tern_forget(int fd);

/*
 * getsockopt(fd, IPPROTO_TCP, TCP_INFO, ...) fills Linux's struct tcp_info
 * (<netinet/tcp.h>: tcpi_state with Linux's state numbers, tcpi_rto,
 * tcpi_rtt, tcpi_rttvar in microseconds, tcpi_snd_cwnd and
 * tcpi_snd_ssthresh in segments, tcpi_retransmits, tcpi_total_retrans,
 * tcpi_snd_mss, tcpi_options...). tern_tcp_info() gives the same in tern's
 * own terms.
 */
struct tern_tcp_info {
    enum tern_tcp_state state; /* RFC 9293 state */
    int64_t srtt_ns, rttvar_ns, rto_ns;
    uint32_t cwnd, ssthresh; /* bytes */
    uint32_t snd_mss;
    uint64_t total_retransmits;
    unsigned retransmits; /* consecutive, of the oldest segment */
    uint32_t send_queued, recv_queued;
};
int tern_tcp_info(int fd, struct tern_tcp_info *out);

#ifdef __cplusplus
}
#endif

#endif
