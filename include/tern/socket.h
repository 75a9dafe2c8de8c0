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
 * lock. There are two kinds:
 *  (a) tern_rt_attach(): sockets over a stack the caller drives in its own
 *      loop (tern_rt_input, tern_rt_poll, tern_rt_next_deadline), with time
 *      from a clock the caller gives. No thread: every socket acts as
 *      non-blocking (a call that would block fails with EAGAIN), whatever
 *      O_NONBLOCK says, because nothing else would move the stack while
 *      the call waited.
 *  (b) tern_rt_start_tun() / tern_rt_start_sim(): the runtime owns a driver
 *      (a TUN or TAP device, or a simulated network run in real time) and a
 *      thread that feeds it packets and runs its timers. Any thread may make
 *      blocking calls; a blocked call sleeps on a condition variable (never
 *      spins) and wakes on its event or on SO_RCVTIMEO / SO_SNDTIMEO.
 * All calls are thread-safe in both kinds (one lock per runtime).
 *
 * tern_socket() creates the socket in the default runtime: the first one
 * made, or the one named by tern_rt_set_default(); tern_socket_in() names a
 * runtime and a host (a stack) explicitly. The map from fd to socket is the
 * one process-wide structure of the library: Linux names a socket by its fd
 * alone, and fd numbers are process-wide.
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

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "tern/stack.h"

#ifdef __cplusplus
extern "C" {
#endif

struct tern_rt;
struct tern_sim;
struct tern_tun_config;

/* ---- runtimes ---- */

/* A clock: the current time in ns, the time base of the stack. */
typedef int64_t (*tern_clock_fn)(void *ctx);

/* (a) Sockets over `st`, which the caller keeps driving (the runtime does
 * not own it: tern_rt_free leaves it alive). `clock` NULL means
 * CLOCK_MONOTONIC. Installs the stack-wide TCP event callback. Returns
 * TERN_OK, TERN_ERR_INVAL, TERN_ERR_NOMEM. */
int tern_rt_attach(struct tern_stack *st, tern_clock_fn clock, void *clock_ctx,
                   struct tern_rt **out);

/* Mode (a) feeding, under the runtime's lock with the runtime's clock:
 * tern_stack_input / tern_stack_poll / tern_stack_next_deadline. */
int tern_rt_input(struct tern_rt *rt, int netif, const uint8_t *pkt, size_t len);
void tern_rt_poll(struct tern_rt *rt);
int64_t tern_rt_next_deadline(struct tern_rt *rt);

/* (b) A stack on a TUN or TAP device (tern/tun.h), with a thread. `cfg`
 * describes the stack; the runtime fills in netif 0's transmit callback, its
 * link type from tun->tap, its MTU when 0 (the device's), the seed when it
 * is 0 and cfg->deterministic is false (a secret from tern_random_seed, so
 * tern_config_init's defaults are safe here) and, on TAP when none is given,
 * a locally administered MAC (derived from the seed when deterministic,
 * else random: a MAC must not reveal the secret). `err` (may be NULL)
 * receives a one-line reason on failure. Returns TERN_OK, or the error of
 * tern_tun_open / tern_stack_new, or TERN_ERR_NOSECRET (no randomness from
 * the OS), TERN_ERR_NOMEM / TERN_ERR_TXFAIL (thread). */
int tern_rt_start_tun(const struct tern_tun_config *tun, const struct tern_config *cfg,
                      struct tern_rt **out, char *err, size_t err_len);

/* (b) A simulated network (tern/sim.h) run in real time by a thread: the
 * sim's clock follows CLOCK_MONOTONIC from now on. Sockets may be made on
 * any host with tern_socket_in(). The runtime does not own the sim: free it
 * after tern_rt_free. Do not touch the sim while the runtime runs except
 * under tern_rt_lock. Host crash/restart is not supported under a runtime. */
int tern_rt_start_sim(struct tern_sim *sim, struct tern_rt **out);

/* Stops the thread (if any), closes every socket still open, frees what the
 * runtime owns (for a TUN runtime: the stack and the device). No other
 * thread may be inside a call on this runtime's sockets. NULL is a no-op. */
void tern_rt_free(struct tern_rt *rt);

/* Makes `rt` / `host` the runtime tern_socket() uses (NULL: none). */
void tern_rt_set_default(struct tern_rt *rt, int host);

/* The stack of host `host` (0 for attach / TUN runtimes), or NULL. */
struct tern_stack *tern_rt_stack(struct tern_rt *rt, int host);

/* The runtime's lock, for a caller that wants to use the native API,
 * read counters or touch the sim while the runtime's thread runs. */
void tern_rt_lock(struct tern_rt *rt);
void tern_rt_unlock(struct tern_rt *rt);

/* The runtime's time, in the stacks' time base. */
int64_t tern_rt_now(struct tern_rt *rt);

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

/* True when `fd` is a tern socket. */
bool tern_is_socket(int fd);

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
