/*
 * src/api/sock.c: the socket calls of include/tern/socket.h over the native
 * TCP API (tern/tcp.h) and, for SOCK_DGRAM, the native UDP API (tern/udp.h:
 * the "datagram sockets" section; each call below hands a datagram socket
 * to its dgram_* path first, so the TCP paths are untouched by it).
 *
 * A socket is a struct tern_sock owned by its runtime plus a pair of
 * AF_UNIX sockets: the user's end is the socket's fd. The TCP connection
 * behind it (a tern_tcp id) exists from listen() or connect() to close().
 * The socket keeps the few facts Linux keeps beside the TCB and that its
 * calls depend on (struct socket's state for connect, sk_shutdown, the
 * pending sk_err, SOCK_DONE), so each call can follow Linux's order of
 * checks; the comments name the Linux behaviour each branch reproduces.
 *
 * Readiness mirror (sock_sync): after every call and every TCP event the
 * user's end is made readable exactly when the socket has POLLIN, POLLERR,
 * POLLHUP or POLLRDHUP, and writable exactly when it has POLLOUT. Readable:
 * the library's end writes a byte (one more per arrival of new data, so an
 * edge-triggered epoll sees every arrival), drained when it stops being
 * readable. Not writable: the user's end, with the smallest send buffer,
 * is filled until it would block; draining the library's end makes it
 * writable again.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "tern/udp.h"

#define EPHEMERAL_MIN        49152 /* RFC 6056 2.1 */
#define EPHEMERAL_MAX        65535
#define LINUX_RCVBUF_DEFAULT 131072
#define LINUX_SNDBUF_DEFAULT 16384
#define LINUX_MSS_DEFAULT    536 /* RFC 9293 3.7.1: the MSS assumed without the option */

static int
fail(int err)
{
    errno = err;
    return -1;
}

/* ---- lookup and lifetime ---- */

static void sock_forget(struct tern_sock *s);
static void sock_wake(struct tern_sock *s);
static short dgram_mask(struct tern_sock *s);
static int dgram_open(struct tern_sock *s);
static int dgram_bind(struct tern_sock *s, const struct sockaddr *addr, socklen_t len);
static int dgram_connect(struct tern_sock *s, const struct sockaddr *addr, socklen_t len);
static int dgram_shutdown(struct tern_sock *s, int how);
static void sock_unmap_dup(struct tern_sock *s, int fd);
static int dgram_ioctl(struct tern_sock *s, unsigned long request, void *arg);
static int dgram_name(struct tern_sock *s, struct sockaddr *addr, socklen_t *len, bool peer);
static int set_tos(struct tern_sock *s, int v);
static int get_ipv6(struct tern_sock *s, int optname, void *optval, socklen_t *optlen);
static ssize_t dgram_recv(struct tern_sock *s, const struct iovec *iov, int iovcnt, int flags,
                          int *msg_flags, struct sockaddr_storage *src, bool *named);
static ssize_t dgram_send(struct tern_sock *s, const struct iovec *iov, int iovcnt, int flags,
                          const struct sockaddr *to, socklen_t tolen);

/* The identity of the user's end of the pair, to tell whether fd `fd`
 * still is that end: an application may close a tern socket with libc's
 * close() and the number come back for a file or another socket (poll.c
 * asks the same of epoll instances). */
bool
fd_identity(int fd, dev_t *dev, ino_t *ino)
{
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        return false;
    }
    *dev = sb.st_dev, *ino = sb.st_ino;
    return true;
}

/* The socket that holds number `fd`, locked, or NULL. A socket whose fd
 * the application closed with libc's close() (the number no longer is its
 * end of the pair) is forgotten here, and *forgot says so: every call that
 * names the number, and tern_forget(), go through this one check. */
static struct tern_sock *
sock_find(int fd, bool *forgot)
{
    *forgot = false;
    struct reg_entry e = reg_get(fd);
    if (e.kind != REG_SOCK) {
        return NULL;
    }
    struct tern_rt *rt = e.rt;
    pthread_mutex_lock(&rt->mu);
    sock_sweep(rt);
    struct tern_sock *s = fd < rt->by_fd_cap ? rt->by_fd[fd] : NULL;
    if (s == NULL || !s->in_use) {
        pthread_mutex_unlock(&rt->mu);
        return NULL;
    }
    dev_t dev;
    ino_t ino;
    if (!fd_identity(fd, &dev, &ino) || dev != s->dev || ino != s->ino) {
        /* Closed behind tern's back: the connection ends as close(2) would
         * have ended it (unless another number still names it), and the
         * number is no longer a tern socket. */
        if (s->ndup > 0) {
            sock_unmap_dup(s, fd);
        } else {
            sock_forget(s);
        }
        rt_after_call(rt);
        pthread_mutex_unlock(&rt->mu);
        *forgot = true;
        return NULL;
    }
    return s;
}

struct tern_sock *
sock_lock(int fd)
{
    bool forgot;
    return sock_find(fd, &forgot);
}

int
tern_forget(int fd)
{
    bool forgot;
    struct tern_sock *s = sock_find(fd, &forgot);
    if (forgot) {
        return 0;
    }
    if (s == NULL) {
        return fail(EBADF);
    }
    pthread_mutex_unlock(&s->rt->mu);
    return fail(EBUSY); /* the number still is this socket's: tern_close it */
}

/* Room in the runtime's fd table for number `fd`. */
static int
by_fd_room(struct tern_rt *rt, int fd)
{
    if (fd < rt->by_fd_cap) {
        return 0;
    }
    int cap = rt->by_fd_cap ? rt->by_fd_cap : 64;
    while (cap <= fd) {
        cap *= 2;
    }
    struct tern_sock **t = realloc(rt->by_fd, (size_t)cap * sizeof(*t));
    if (t == NULL) {
        return -1;
    }
    memset(t + rt->by_fd_cap, 0, (size_t)(cap - rt->by_fd_cap) * sizeof(*t));
    rt->by_fd = t;
    rt->by_fd_cap = cap;
    return 0;
}

void
sock_unlock(struct tern_sock *s)
{
    sock_sync(s, false);
    rt_after_call(s->rt);
    pthread_mutex_unlock(&s->rt->mu);
}

/* The pair behind a socket: [0] the user's end, [1] the library's. */
static int
pair_open(bool nonblock, bool cloexec, int pair[2])
{
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
        return -1;
    }
    if (!cloexec) {
        (void)fcntl(pair[0], F_SETFD, 0);
    }
    if (nonblock) {
        (void)fcntl(pair[0], F_SETFL, O_RDWR | O_NONBLOCK);
    }
    int small = 1; /* the kernel rounds it up to its minimum: cheap to fill */
    (void)setsockopt(pair[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
    return 0;
}

static struct tern_sock *
sock_new(struct tern_rt *rt, int host, bool nonblock, bool cloexec)
{
    struct tern_sock *s = NULL;
    for (struct tern_sock *p = rt->socks; p != NULL; p = p->next) {
        if (!p->in_use && p->waiters == 0) {
            s = p;
            break;
        }
    }
    if (s == NULL) {
        s = calloc(1, sizeof(*s));
        if (s == NULL) {
            return NULL;
        }
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        int r = pthread_cond_init(&s->cv, &ca);
        pthread_condattr_destroy(&ca);
        if (r != 0) {
            free(s);
            return NULL;
        }
        s->next = rt->socks;
        rt->socks = s;
    }
    int pair[2];
    if (pair_open(nonblock, cloexec, pair) != 0) {
        return NULL; /* errno: EMFILE, ENFILE... */
    }
    if (by_fd_room(rt, pair[0]) != 0) {
        close(pair[0]);
        close(pair[1]);
        errno = ENOMEM;
        return NULL;
    }
    /* A socket of this runtime still under the same number was closed
     * with libc's close(): forget it before the number is reused. */
    struct tern_sock *o = rt->by_fd[pair[0]];
    if (o != NULL && o != s) {
        if (o->ndup > 0) {
            sock_unmap_dup(o, pair[0]);
        } else {
            sock_forget(o);
        }
    }
    uint32_t gen = s->gen + 1;
    pthread_cond_t cv = s->cv;
    struct tern_sock *next = s->next;
    memset(s, 0, sizeof(*s));
    s->cv = cv;
    s->next = next;
    s->gen = gen;
    s->rt = rt;
    s->host = host;
    s->st = rt->hosts[host].st;
    s->fd = pair[0];
    s->fd_lib = pair[1];
    s->in_use = true;
    s->nonblock = nonblock;
    s->rcvbuf = LINUX_RCVBUF_DEFAULT;
    s->sndbuf = LINUX_SNDBUF_DEFAULT;
    s->m_w = true; /* a fresh pair is writable, not readable */
    (void)fd_identity(s->fd, &s->dev, &s->ino);
    /* A socket of another runtime that held the number before was closed
     * with libc's close() too. Its runtime's lock cannot be taken under
     * this one's: reg_set flags that runtime, whose next call forgets the
     * socket (sock_sweep). */
    struct reg_entry e = {.kind = REG_SOCK, .rt = rt};
    if (reg_set(s->fd, &e, NULL) != 0) {
        close(pair[0]);
        close(pair[1]);
        s->in_use = false;
        errno = ENOMEM;
        return NULL;
    }
    rt->by_fd[s->fd] = s;
    return s;
}

/* Frees the socket's fds and slot (the caller holds the runtime's lock),
 * and its number in the runtime's table and the registry while they still
 * name it. The user's fd is closed only when `close_fd` (the number is
 * still the socket's end of the pair). */
static void
sock_free(struct tern_sock *s, bool close_fd)
{
    if (s->udp_id > 0) {
        tern_udp_set_callback(s->st, s->udp_id, NULL, NULL);
        tern_udp_close(s->st, s->udp_id, rt_now(s->rt));
        s->udp_id = 0;
    }
    if (s->tcp_id > 0) {
        tern_tcp_set_callback(s->st, s->tcp_id, NULL, NULL);
        tern_tcp_release(s->st, s->tcp_id, rt_now(s->rt));
        s->tcp_id = 0;
    }
    if (s->fd >= 0 && s->fd < s->rt->by_fd_cap && s->rt->by_fd[s->fd] == s) {
        s->rt->by_fd[s->fd] = NULL;
        reg_clear_rt(s->fd, s->rt);
    }
    if (s->fd >= 0 && close_fd) {
        close(s->fd);
    }
    for (int i = 0; s->ndup > 0 && i < s->rt->by_fd_cap; i++) {
        if (s->rt->by_fd[i] == s) { /* a dup: gone with the socket (tern_rt_free) */
            s->rt->by_fd[i] = NULL;
            reg_clear_rt(i, s->rt);
            if (close_fd) {
                close(i);
            }
            s->ndup--;
        }
    }
    s->ndup = 0;
    close(s->fd_lib);
    s->fd = s->fd_lib = -1;
    s->in_use = false;
    s->gen++;
    sock_wake(s);
}

void
sock_close_all(struct tern_rt *rt)
{
    for (struct tern_sock *s = rt->socks; s != NULL; s = s->next) {
        if (s->in_use) {
            if (s->tcp_id > 0) {
                tern_tcp_abort(s->st, s->tcp_id, rt_now(rt));
            }
            /* The number may have gone to a file or another runtime's
             * socket after a libc close(): leave it alone then. */
            dev_t dev;
            ino_t ino;
            bool ours = fd_identity(s->fd, &dev, &ino) && dev == s->dev && ino == s->ino;
            sock_free(s, ours);
        }
    }
}

/* After another runtime took one of this runtime's numbers (rt->stale):
 * forget every socket whose fd no longer is its end of the pair. Under the
 * runtime's lock; the flag makes it one atomic load on other calls. */
void
sock_sweep(struct tern_rt *rt)
{
    if (!atomic_exchange(&rt->stale, false)) {
        return;
    }
    for (struct tern_sock *s = rt->socks; s != NULL; s = s->next) {
        dev_t dev;
        ino_t ino;
        if (s->in_use && s->fd >= 0 &&
            (!fd_identity(s->fd, &dev, &ino) || dev != s->dev || ino != s->ino)) {
            sock_forget(s);
        }
    }
}

/* Wakes every call asleep on the socket: those on its condition variable
 * and those in ppoll on their thread's eventfd (tern_rt_set_intr). */
static void
sock_wake(struct tern_sock *s)
{
    pthread_cond_broadcast(&s->cv);
    for (struct sock_waiter *w = s->wlist; w != NULL; w = w->next) {
        if (!w->woken) {
            w->woken = true;
            uint64_t one = 1;
            (void)!write(w->fd, &one, sizeof(one));
        }
    }
}

/* The interruptible sleep of a runtime with tern_rt_set_intr: ppoll(2) on
 * the thread's eventfd `wfd`, which sock_wake writes, with the lock
 * released; a signal handler that runs on the thread ends the sleep.
 * Returns 0 on a wake-up, ETIMEDOUT at the deadline, EINTR when the call
 * must fail so, -1 when `wfd` is no open fd (sleep on the condition
 * variable instead). signal(7): a handler with SA_RESTART lets the call
 * go on, unless the socket has a timeout for it (`deadline` set). */
static int
sock_wait_intr(struct tern_sock *s, int64_t deadline, int wfd, uint32_t gen)
{
    struct tern_rt *rt = s->rt;
    struct sock_waiter w = {.next = s->wlist, .fd = wfd};
    s->wlist = &w;
    int r = 0;
    for (;;) {
        int sig = rt->intr.signalled(rt->intr.ctx);
        if (sig == TERN_INTR_EINTR || (sig == TERN_INTR_RESTART && deadline != INT64_MAX)) {
            r = EINTR;
            break;
        }
        if (w.woken || !s->in_use || s->gen != gen) {
            break;
        }
        struct timespec ts, *tp = NULL;
        if (deadline != INT64_MAX) {
            int64_t left = deadline - rt_mono_ns();
            if (left <= 0) {
                r = ETIMEDOUT;
                break;
            }
            ts.tv_sec = (time_t)(left / 1000000000);
            ts.tv_nsec = (long)(left % 1000000000);
            tp = &ts;
        }
        pthread_mutex_unlock(&rt->mu);
        struct pollfd p = {.fd = wfd, .events = POLLIN};
        int n = ppoll(&p, 1, tp, NULL);
        if (n > 0 && (p.revents & POLLIN)) {
            uint64_t v;
            (void)!read(wfd, &v, sizeof(v));
        }
        pthread_mutex_lock(&rt->mu);
        if (n > 0 && (p.revents & POLLNVAL)) {
            r = -1;
            break;
        }
    }
    for (struct sock_waiter **pp = &s->wlist; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == &w) {
            *pp = w.next;
            break;
        }
    }
    return r;
}

/* Sleeps until the socket's state changes (sock_wake) or `deadline`
 * (monotonic ns; INT64_MAX: none). 0 on a wake-up, EAGAIN at the deadline,
 * EBADF when the socket was closed meanwhile, EINTR when a signal handler
 * interrupted the call (only in a runtime with tern_rt_set_intr). */
static int
sock_wait(struct tern_sock *s, int64_t deadline)
{
    uint32_t gen = s->gen;
    s->waiters++;
    sock_sync(s, false);
    rt_after_call(s->rt); /* what this call queued goes out, timers get armed */
    int r = -1;
    if (s->rt->intr.wake_fd != NULL) {
        int wfd = s->rt->intr.wake_fd(s->rt->intr.ctx);
        if (wfd >= 0) {
            r = sock_wait_intr(s, deadline, wfd, gen);
        }
    }
    if (r < 0 && deadline == INT64_MAX) {
        r = pthread_cond_wait(&s->cv, &s->rt->mu);
    } else if (r < 0) {
        struct timespec ts = {.tv_sec = deadline / 1000000000, .tv_nsec = deadline % 1000000000};
        r = pthread_cond_timedwait(&s->cv, &s->rt->mu, &ts);
    }
    s->waiters--;
    if (!s->in_use || s->gen != gen) {
        return EBADF;
    }
    if (r == EINTR) {
        return EINTR;
    }
    return (r == ETIMEDOUT || rt_mono_ns() >= deadline) ? EAGAIN : 0;
}

/* What a data call does when it would block: sleep (W_LOOP: look again),
 * or stop with what was done, or EAGAIN when nothing was (W_STOP); W_GONE:
 * the socket was closed meanwhile, the lock is already released. */
enum wait_res { W_LOOP, W_STOP, W_GONE };

static enum wait_res
block_or_stop(struct tern_sock *s, bool nonblock, int64_t deadline, size_t done, int *err)
{
    if (!nonblock) {
        int w = sock_wait(s, deadline);
        if (w == 0) {
            return W_LOOP;
        }
        if (w == EBADF) {
            pthread_mutex_unlock(&s->rt->mu);
            return W_GONE;
        }
        if (w == EINTR) {
            *err = done > 0 ? 0 : EINTR; /* Linux: what moved is reported */
            return W_STOP;
        }
    }
    *err = done > 0 ? 0 : EAGAIN;
    return W_STOP;
}

static int64_t
deadline_of(int64_t timeo_ns)
{
    int64_t now = rt_mono_ns();
    return timeo_ns > 0 && timeo_ns < INT64_MAX - now ? now + timeo_ns : INT64_MAX;
}

/* ---- state as Linux sees it ---- */

static int
map_err(int err)
{
    switch (err) {
    case TERN_ERR_REFUSED:
        return ECONNREFUSED;
    case TERN_ERR_RESET:
        return ECONNRESET;
    case TERN_ERR_TIMEDOUT:
        return ETIMEDOUT;
    case TERN_ERR_UNREACH:
        return EHOSTUNREACH;
    case TERN_ERR_NOROUTE:
        return ENETUNREACH;
    default:
        return ECONNABORTED;
    }
}

/* The pending error, reported once (Linux sock_error()). */
static int
take_err(struct tern_sock *s)
{
    int e = s->sk_err;
    s->sk_err = 0;
    return e;
}

/* The connection's state; TIME-WAIT counts as CLOSED, as Linux hands the
 * connection to a time-wait record and closes the socket. */
static enum tern_tcp_state
sock_state(struct tern_sock *s, struct tern_tcp_status *stt)
{
    struct tern_tcp_status tmp;
    if (stt == NULL) {
        stt = &tmp;
    }
    memset(stt, 0, sizeof(*stt));
    if (s->tcp_id <= 0 || tern_tcp_status(s->st, s->tcp_id, stt) != TERN_OK) {
        stt->state = TERN_TCP_CLOSED;
        return TERN_TCP_CLOSED;
    }
    if (stt->state == TERN_TCP_TIME_WAIT) {
        s->shut = SHUT_BIT_BOTH;
        return TERN_TCP_CLOSED;
    }
    return stt->state;
}

/* ---- urgent data, as Linux presents it ----
 *
 * RFC 9293 3.8.5 makes everything before the peer's urgent pointer urgent;
 * Linux (like BSD) instead takes the one octet before the pointer out of
 * the stream: recv(MSG_OOB) returns it, ordinary reads skip it (unless
 * SO_OOBINLINE), a read never crosses the mark, and SIOCATMARK says when
 * the next octet to read is the urgent one. The TCB keeps RCV.UP (the
 * native tern_tcp_urgent()); this socket keeps what Linux keeps beside it. */

/* Takes n octets of the connection's text: the reader moves on, and once
 * it has passed the urgent octet the urgent state is over (Linux clears
 * urg_data when copied_seq passes urg_seq). */
static void
rd_consume(struct tern_sock *s, size_t n)
{
    if (n == 0) {
        return;
    }
    tern_tcp_recv_consume(s->st, s->tcp_id, n, rt_now(s->rt));
    s->rd_pos += n;
    if (s->urg != URG_NONE && s->rd_pos > s->urg_pos) {
        s->urg = URG_NONE;
    }
}

/* After a segment moved the peer's urgent pointer or brought text: the
 * urgent octet's position (the one before the mark), and the octet once it
 * is here (Linux tcp_check_urg, tcp_urg). */
static void
urg_update(struct tern_sock *s)
{
    struct tern_tcp_urgent u;
    struct tern_tcp_status stt;
    if (s->tcp_id <= 0 || tern_tcp_urgent(s->st, s->tcp_id, &u) != TERN_OK ||
        tern_tcp_status(s->st, s->tcp_id, &stt) != TERN_OK) {
        return;
    }
    if (u.pending) {
        uint64_t ptr = s->rd_pos + u.mark - 1;
        if (s->urg == URG_NONE || ptr > s->urg_pos) {
            /* A newer pointer. Linux: a reader sitting on the old urgent
             * octet (not inline) would read it as data now: it leaves the
             * stream first. */
            if (s->urg != URG_NONE && s->urg_pos == s->rd_pos && !s->oobinline &&
                stt.recv_queued > 0) {
                rd_consume(s, 1);
                stt.recv_queued--;
            }
            s->urg = URG_NOTYET;
            s->urg_pos = ptr;
        }
    }
    if (s->urg == URG_NOTYET && s->urg_pos - s->rd_pos < stt.recv_queued) {
        uint8_t b;
        if (tern_tcp_peek(s->st, s->tcp_id, (size_t)(s->urg_pos - s->rd_pos), &b, 1) == 1) {
            s->urg_byte = b;
            s->urg = URG_VALID;
        }
    }
}

/* The reader is at the urgent octet (SIOCATMARK). */
static bool
at_mark(const struct tern_sock *s)
{
    return s->urg != URG_NONE && s->urg_pos == s->rd_pos;
}

/* The poll mask Linux's tcp_poll() computes. */
short
sock_mask(struct tern_sock *s)
{
    if (s->dgram) {
        return dgram_mask(s);
    }
    struct tern_tcp_status stt;
    enum tern_tcp_state state = sock_state(s, &stt);
    unsigned ev = s->tcp_id > 0 ? tern_tcp_events(s->st, s->tcp_id) : 0;
    if (state == TERN_TCP_LISTEN) {
        return (ev & TERN_TCP_EV_ACCEPT_READY) ? (POLLIN | POLLRDNORM) : 0;
    }
    short m = 0;
    if (s->shut == SHUT_BIT_BOTH || state == TERN_TCP_CLOSED) {
        m |= POLLHUP;
    }
    if (s->shut & SHUT_BIT_RCV) {
        m |= POLLIN | POLLRDNORM | POLLRDHUP;
    }
    if (state != TERN_TCP_SYN_SENT && state != TERN_TCP_SYN_RECEIVED) {
        /* Linux: at the mark, the urgent octet alone (skipped by reads)
         * does not make the socket readable; POLLPRI while it waits. */
        uint32_t need = at_mark(s) && !s->oobinline ? 2 : 1;
        if (stt.recv_queued >= need) {
            m |= POLLIN | POLLRDNORM;
        }
        if (s->urg == URG_VALID) {
            m |= POLLPRI;
        }
        bool writable = state == TERN_TCP_CLOSED || (ev & TERN_TCP_EV_WRITABLE);
        if ((s->shut & SHUT_BIT_SEND) || writable) {
            m |= POLLOUT | POLLWRNORM;
        }
    }
    if (s->sk_err) {
        m |= POLLERR;
    }
    return m;
}

static void
drain(int fd)
{
    char buf[4096];
    while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0) {
    }
}

void
sock_sync(struct tern_sock *s, bool new_data)
{
    if (!s->in_use) {
        return;
    }
    short m = sock_mask(s);
    bool r = (m & (POLLIN | POLLPRI | POLLERR | POLLHUP | POLLRDHUP)) != 0;
    bool w = (m & POLLOUT) != 0;
    if (r && (!s->m_r || new_data)) {
        (void)send(s->fd_lib, "r", 1, MSG_DONTWAIT | MSG_NOSIGNAL);
        s->m_r = true;
    } else if (!r && s->m_r) {
        drain(s->fd);
        s->m_r = false;
    }
    if (w && !s->m_w) {
        drain(s->fd_lib);
        s->m_w = true;
    } else if (!w && s->m_w) {
        static const char zeros[4096];
        while (send(s->fd, zeros, sizeof(zeros), MSG_DONTWAIT | MSG_NOSIGNAL) > 0) {
        }
        s->m_w = false;
    }
    /* The peer's FIN and the end of the connection are for good: the
     * library's end shuts, so the user's end shows POLLRDHUP, then POLLHUP,
     * in any poll. (A fresh socket's POLLHUP is not shown: it goes away.) */
    bool hup = (m & POLLHUP) && s->closed_tcb;
    if ((m & POLLRDHUP) && !s->m_rdhup) {
        (void)shutdown(s->fd_lib, SHUT_WR);
        s->m_rdhup = true;
    }
    if (hup && !s->m_hup) {
        (void)shutdown(s->fd_lib, SHUT_RDWR);
        s->m_hup = true;
    }
}

/* After a failed connect the socket is fresh again, but a shut pair cannot
 * be opened: a new pair takes the old one's place under the same fd number
 * (dup3 replaces it at once; a kernel epoll forgets the old one). */
static void
sock_renew_pair(struct tern_sock *s)
{
    if (!s->m_rdhup && !s->m_hup) {
        return;
    }
    int fl = fcntl(s->fd, F_GETFL), fdfl = fcntl(s->fd, F_GETFD);
    int pair[2];
    if (pair_open(fl >= 0 && (fl & O_NONBLOCK), fdfl >= 0 && (fdfl & FD_CLOEXEC), pair) != 0) {
        return; /* out of fds: keep the old pair, readable for good */
    }
    if (dup3(pair[0], s->fd, (fdfl >= 0 && (fdfl & FD_CLOEXEC)) ? O_CLOEXEC : 0) < 0) {
        close(pair[0]);
        close(pair[1]);
        return;
    }
    /* Every duplicate of the number must name the new end too, or it would
     * be left on the old pair, whose library end closes below. */
    for (int i = 0, left = s->ndup; left > 0 && i < s->rt->by_fd_cap; i++) {
        if (i != s->fd && s->rt->by_fd[i] == s) {
            int f = fcntl(i, F_GETFD);
            (void)dup3(pair[0], i, (f >= 0 && (f & FD_CLOEXEC)) ? O_CLOEXEC : 0);
            left--;
        }
    }
    close(pair[0]);
    (void)fd_identity(s->fd, &s->dev, &s->ino);
    close(s->fd_lib);
    s->fd_lib = pair[1];
    s->m_r = s->m_rdhup = s->m_hup = false;
    s->m_w = true;
}

void
sock_event(void *ctx, struct tern_stack *st, int id, unsigned events, int err)
{
    struct tern_sock *s = ctx;
    (void)st;
    if (s == NULL || !s->in_use || s->tcp_id != id) {
        return;
    }
    if (events & TERN_TCP_EV_PEER_FIN) {
        s->shut |= SHUT_BIT_RCV;
        s->done = true;
    }
    if (events & TERN_TCP_EV_CLOSED) {
        /* Linux tcp_done(): both directions shut, the error kept for the
         * next call. */
        s->shut = SHUT_BIT_BOTH;
        s->closed_tcb = true;
        if (err != 0) {
            s->sk_err = map_err(err);
        }
    }
    if (events & (TERN_TCP_EV_URGENT | TERN_TCP_EV_READABLE)) {
        urg_update(s);
    }
    sock_sync(s, (events & (TERN_TCP_EV_READABLE | TERN_TCP_EV_URGENT)) != 0);
    sock_wake(s);
}

/* ---- addresses ---- */

static int
get_sin(const struct sockaddr *addr, socklen_t len, struct sockaddr_in *out)
{
    /* Linux's order (move_addr_to_kernel, then inet): a length that is
     * negative as an int or beyond sockaddr_storage is EINVAL, a NULL
     * address with a length EFAULT, a short one EINVAL. */
    if ((int)len < 0 || len > (socklen_t)sizeof(struct sockaddr_storage)) {
        return EINVAL;
    }
    if (addr == NULL && len > 0) {
        return EFAULT;
    }
    if (len < (socklen_t)sizeof(struct sockaddr_in)) {
        return EINVAL;
    }
    memcpy(out, addr, sizeof(*out));
    return 0;
}

/* An address as socket `s` reads it (Linux inet_bind/inet6_bind and the
 * connects): an AF_INET socket takes sockaddr_in (AF_UNSPEC too, which
 * *fam reports for the caller's own rule), an AF_INET6 socket sockaddr_in6
 * of at least 24 bytes (RFC 2133's size, as Linux) and family AF_INET6.
 * Stores the address (IPv4-mapped for IPv4) and port (host order). */
static int
get_name(const struct tern_sock *s, const struct sockaddr *addr, socklen_t len, struct tern_ip *ip,
         uint16_t *port, sa_family_t *fam)
{
    if (s->family == AF_INET) {
        struct sockaddr_in sin;
        int err = get_sin(addr, len, &sin);
        if (err == 0) {
            *ip = tern_ip4(ntohl(sin.sin_addr.s_addr));
            *port = ntohs(sin.sin_port);
            *fam = sin.sin_family;
        }
        return err;
    }
    if ((int)len < 0 || len > (socklen_t)sizeof(struct sockaddr_storage)) {
        return EINVAL;
    }
    if (addr == NULL && len > 0) {
        return EFAULT;
    }
    if (len < 24) {
        return EINVAL;
    }
    struct sockaddr_in6 sin6 = {0};
    memcpy(&sin6, addr, len < sizeof(sin6) ? len : sizeof(sin6));
    if (sin6.sin6_family != AF_INET6) {
        return EAFNOSUPPORT;
    }
    memcpy(ip->b, &sin6.sin6_addr, 16);
    *port = ntohs(sin6.sin6_port);
    *fam = AF_INET6;
    return 0;
}

/* Whether an address may be written back (Linux move_addr_to_user): a
 * NULL length pointer is EFAULT, a length negative as an int EINVAL.
 * Returns 0 or the errno. */
static int
check_sin_out(const struct sockaddr *addr, const socklen_t *len)
{
    if (len == NULL) {
        return EFAULT;
    }
    if ((int)*len < 0) {
        return EINVAL;
    }
    return addr == NULL && *len > 0 ? EFAULT : 0;
}

/* Writes ip:port as a socket of `family` names it: sockaddr_in, or
 * sockaddr_in6 (an IPv4 address IPv4-mapped, as Linux reports the IPv4
 * peers of a dual-stack socket). */
static void
put_name(int family, struct sockaddr *addr, socklen_t *len, struct tern_ip ip, uint16_t port)
{
    if (addr == NULL || len == NULL) {
        return;
    }
    union {
        struct sockaddr_in sin;
        struct sockaddr_in6 sin6;
    } u;
    memset(&u, 0, sizeof(u));
    size_t full;
    if (family == AF_INET6) {
        u.sin6.sin6_family = AF_INET6;
        u.sin6.sin6_port = htons(port);
        memcpy(&u.sin6.sin6_addr, ip.b, 16);
        full = sizeof(u.sin6);
    } else {
        u.sin.sin_family = AF_INET;
        u.sin.sin_addr.s_addr = htonl(tern_ip_v4(ip));
        u.sin.sin_port = htons(port);
        full = sizeof(u.sin);
    }
    size_t n = *len < full ? *len : full;
    memcpy(addr, &u, n);
    *len = (socklen_t)full;
}

/* The length of the name put_name() wrote into *ss. */
static socklen_t
name_len(const struct sockaddr_storage *ss)
{
    return ss->ss_family == AF_INET6 ? (socklen_t)sizeof(struct sockaddr_in6)
                                     : (socklen_t)sizeof(struct sockaddr_in);
}

/* A UDP endpoint's address as one address type. */
static struct tern_ip
udp_ip(const struct tern_udp_addr *a)
{
    return a->family == TERN_UDP_AF_INET6 ? tern_ip6(a->v6) : tern_ip4(a->v4);
}

/* A UDP endpoint from an address and port. */
static struct tern_udp_addr
udp_ep(struct tern_ip ip, uint16_t port)
{
    struct tern_udp_addr a = {.family = TERN_UDP_AF_INET6, .port = port};
    memcpy(a.v6, ip.b, 16);
    return a;
}

/* The unspecified address of the socket's family. */
static struct tern_ip
sock_any(const struct tern_sock *s)
{
    struct tern_ip any6 = {{0}};
    return s->family == AF_INET6 ? any6 : tern_ip4(0);
}

/* Could bound addresses a (of socket sa) and b (of sb) take the same
 * segment? Equal, or a wildcard covering the other: 0.0.0.0 covers IPv4,
 * :: covers IPv6, and IPv4 too unless its socket is IPv6-only. */
static bool
names_overlap(const struct tern_sock *sa, struct tern_ip a, const struct tern_sock *sb,
              struct tern_ip b)
{
    if (tern_ip_eq(a, b)) {
        return true;
    }
    if (tern_ip_is_any(a) || tern_ip_is_any(b)) {
        const struct tern_sock *ws = tern_ip_is_any(a) ? sa : sb;
        struct tern_ip w = tern_ip_is_any(a) ? a : b, o = tern_ip_is_any(a) ? b : a;
        if (tern_ip_is_unspec6(w)) {
            return !tern_ip_is4(o) || !ws->v6only || tern_ip_is_unspec6(o);
        }
        return tern_ip_is4(o) || (tern_ip_is_unspec6(o) && !(ws == sa ? sb : sa)->v6only);
    }
    return false;
}

/* Whether binding `s` to addr:port clashes with another socket of the same
 * stack (Linux's rule, simplified: same port, overlapping addresses, and
 * not both SO_REUSEADDR with the other one not listening; checked again at
 * listen). */
static bool
port_conflict(struct tern_sock *s, struct tern_ip addr, uint16_t port)
{
    for (struct tern_sock *o = s->rt->socks; o != NULL; o = o->next) {
        if (o == s || !o->in_use || o->st != s->st || !o->bound || o->bind_port != port ||
            o->dgram != s->dgram) {
            continue;
        }
        if (!names_overlap(s, addr, o, o->bind_addr)) {
            continue;
        }
        bool o_listens = o->tcp_id > 0 && sock_state(o, NULL) == TERN_TCP_LISTEN;
        if (s->reuseaddr && o->reuseaddr && !o_listens) {
            continue;
        }
        if (o->tcp_id > 0 && sock_state(o, NULL) == TERN_TCP_CLOSED && s->reuseaddr) {
            continue; /* a closed connection holds the port only without SO_REUSEADDR */
        }
        return true;
    }
    /* Connections no socket holds any more (TIME-WAIT after close, or the
     * native API's): like Linux's time-wait records, they keep the port
     * from a bind without SO_REUSEADDR; a listener keeps it from any. An
     * IPv6-only wildcard asks about IPv6 only. */
    bool v6only = s->family == AF_INET6 && s->v6only && tern_ip_is_unspec6(addr);
    unsigned use = tern_tcp_port_use(s->st, addr, port, v6only);
    return (use & TERN_TCP_PORT_LISTEN) || ((use & TERN_TCP_PORT_CONN) && !s->reuseaddr);
}

static int
pick_port(struct tern_sock *s, struct tern_ip addr)
{
    unsigned range = EPHEMERAL_MAX - EPHEMERAL_MIN + 1;
    for (unsigned i = 0; i < range; i++) {
        uint16_t port = (uint16_t)(EPHEMERAL_MIN + (s->rt->port_seq++ % range));
        if (!port_conflict(s, addr, port)) {
            return port;
        }
    }
    return -1;
}

/* TCP_KEEPIDLE, TCP_KEEPINTVL and TCP_KEEPCNT to connection `id` (0 for a
 * field not set: the stack's default). */
static void
keepalive_apply(struct tern_sock *s, int id)
{
    tern_tcp_set_keepalive_params(s->st, id, (int64_t)s->keepidle_s * 1000000000,
                                  (int64_t)s->keepintvl_s * 1000000000, (unsigned)s->keepcnt,
                                  rt_now(s->rt));
}

/* ---- socket, bind, listen ---- */

int
tern_socket_in(struct tern_rt *rt, int host, int domain, int type, int protocol)
{
    if (rt == NULL || host < 0 || host >= rt->n_hosts) {
        return fail(EINVAL);
    }
    if (domain != AF_INET && domain != AF_INET6) {
        return fail(EAFNOSUPPORT);
    }
    int flags = type & (SOCK_NONBLOCK | SOCK_CLOEXEC);
    type &= ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (type != SOCK_STREAM && type != SOCK_DGRAM) {
        return fail(type == SOCK_RAW ? EPROTONOSUPPORT : EINVAL);
    }
    bool dgram = type == SOCK_DGRAM;
    if (protocol != 0 && protocol != (dgram ? IPPROTO_UDP : IPPROTO_TCP)) {
        return fail(EPROTONOSUPPORT);
    }
    pthread_mutex_lock(&rt->mu);
    struct tern_sock *s = sock_new(rt, host, flags & SOCK_NONBLOCK, flags & SOCK_CLOEXEC);
    if (s != NULL) {
        s->family = domain;
        s->bind_addr = sock_any(s);
    }
    if (s != NULL && dgram) {
        int err = dgram_open(s);
        if (err != 0) {
            sock_free(s, true);
            s = NULL;
            errno = err;
        }
    }
    int fd = s != NULL ? s->fd : -1;
    int e = errno;
    pthread_mutex_unlock(&rt->mu);
    if (fd < 0) {
        errno = e;
    }
    return fd;
}

int
tern_socket(int domain, int type, int protocol)
{
    struct tern_rt *rt;
    int host;
    rt_registry_default(&rt, &host);
    if (rt == NULL) {
        return fail(ENONET); /* no runtime to make the socket in */
    }
    return tern_socket_in(rt, host, domain, type, protocol);
}

/* Linux inet_bind()/inet6_bind(): the family (AF_INET's AF_UNSPEC only
 * with INADDR_ANY), an IPv4-mapped address not on an IPv6-only socket,
 * then an address of ours or the wildcard. */
static int
bind_check(const struct tern_sock *s, struct tern_ip a, sa_family_t fam)
{
    if (s->family == AF_INET && fam != AF_INET && !(fam == AF_UNSPEC && tern_ip_is_any(a))) {
        return EAFNOSUPPORT;
    }
    if (s->family == AF_INET6 && tern_ip_is4(a) && s->v6only) {
        return EINVAL;
    }
    if (!tern_ip_is_any(a) && !tern_stack_has_addr(s->st, a)) {
        return EADDRNOTAVAIL;
    }
    return 0;
}

int
tern_bind(int fd, const struct sockaddr *addr, socklen_t len)
{
    struct tern_sock *s = sock_lock(fd);
    if (s == NULL) {
        return bind(fd, addr, len);
    }
    if (s->dgram) {
        int err = dgram_bind(s, addr, len);
        sock_unlock(s);
        return err ? fail(err) : 0;
    }
    struct tern_ip a;
    uint16_t p16 = 0;
    sa_family_t fam = 0;
    int err = get_name(s, addr, len, &a, &p16, &fam);
    err = err ? err : bind_check(s, a, fam);
    if (err == 0 && (s->bound || s->tcp_id > 0)) {
        err = EINVAL; /* already bound */
    }
    int port = err ? 0 : p16;
    if (err == 0 && port == 0) {
        port = pick_port(s, a);
        if (port < 0) {
            err = EADDRINUSE;
        }
    } else if (err == 0 && port_conflict(s, a, (uint16_t)port)) {
        err = EADDRINUSE;
    }
    if (err == 0) {
        s->bound = true;
        s->bind_addr = a;
        s->bind_port = (uint16_t)port;
    }
    sock_unlock(s);
    return err ? fail(err) : 0;
}

int
tern_listen(int fd, int backlog)
{
    struct tern_sock *s = sock_lock(fd);
    if (s == NULL) {
        return listen(fd, backlog);
    }
    if (s->dgram) {
        sock_unlock(s);
        return fail(EOPNOTSUPP); /* Linux: no listen on a datagram socket */
    }
    int err = 0;
    enum tern_tcp_state state = sock_state(s, NULL);
    if (s->ss != SS_UNCONN || (state != TERN_TCP_CLOSED && state != TERN_TCP_LISTEN)) {
        err = EINVAL;
    } else if (state == TERN_TCP_LISTEN) {
        err = 0; /* Linux only adjusts the backlog of a listening socket */
    } else {
        if (!s->bound) {
            int port = pick_port(s, s->bind_addr);
            if (port < 0) {
                err = EADDRINUSE;
            } else {
                s->bound = true;
                s->bind_port = (uint16_t)port;
            }
        }
        if (err == 0 && port_conflict(s, s->bind_addr, s->bind_port)) {
            err = EADDRINUSE;
        }
        if (err == 0) {
            if (s->tcp_id > 0) {
                tern_tcp_release(s->st, s->tcp_id, rt_now(s->rt));
                s->tcp_id = 0;
            }
            /* Linux holds backlog + 1 established connections. */
            long b = backlog < 0 ? 0 : backlog > 4095 ? 4095 : backlog;
            struct tern_tcp_open_args oa = {
                .passive = true,
                .local_addr = s->bind_addr,
                .local_port = s->bind_port,
                .v6only = s->v6only,
                .backlog = (unsigned)b + 1,
                .cb = sock_event,
                .cb_ctx = s,
                .nodelay = s->nodelay,
                .keepalive = s->keepalive,
                .mss = (uint16_t)s->maxseg,
                .user_timeout_ns = (int64_t)s->user_timeout_ms * 1000000,
                .tos = s->tos,
            };
            int id = tern_tcp_open(s->st, &oa, rt_now(s->rt));
            if (id < 0) {
                err = id == TERN_ERR_EXIST ? EADDRINUSE : id == TERN_ERR_NOBUFS ? ENOBUFS : EINVAL;
            } else {
                s->tcp_id = id;
                s->shut = 0;
                s->done = s->closed_tcb = false;
                sock_renew_pair(s);
                keepalive_apply(s, id);
            }
        }
    }
    sock_unlock(s);
    return err ? fail(err) : 0;
}

/* ---- accept, connect ---- */

int
tern_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
    struct tern_sock *s = sock_lock(fd);
    if (s == NULL) {
        return accept4(fd, addr, len, flags);
    }
    if (s->dgram) {
        sock_unlock(s);
        return fail(EOPNOTSUPP);
    }
    if ((flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) != 0) {
        sock_unlock(s);
        return fail(EINVAL);
    }
    /* A bad address buffer: Linux finds it after taking the connection off
     * the queue and loses that connection; tern checks first and keeps it. */
    int bad = addr != NULL ? check_sin_out(addr, len) : 0;
    if (bad != 0) {
        sock_unlock(s);
        return fail(bad);
    }
    if (sock_state(s, NULL) != TERN_TCP_LISTEN) {
        sock_unlock(s);
        return fail(EINVAL); /* Linux: accept on a socket that does not listen */
    }
    bool nonblock = s->nonblock || !rt_can_block(s->rt);
    int64_t deadline = deadline_of(s->rcvtimeo_ns);
    int err = 0, id;
    for (;;) {
        id = tern_tcp_accept(s->st, s->tcp_id, rt_now(s->rt));
        if (id > 0) {
            break;
        }
        if (id != TERN_ERR_AGAIN) {
            err = EINVAL; /* the listener went away (shutdown SHUT_RD) */
            break;
        }
        if (nonblock) {
            err = EAGAIN;
            break;
        }
        err = sock_wait(s, deadline);
        if (err != 0) {
            break;
        }
        if (sock_state(s, NULL) != TERN_TCP_LISTEN) {
            err = EINVAL;
            break;
        }
    }
    if (err != 0) {
        if (err != EBADF) {
            sock_unlock(s);
        } else {
            pthread_mutex_unlock(&s->rt->mu);
        }
        return fail(err);
    }
    struct tern_sock *c = sock_new(s->rt, s->host, flags & SOCK_NONBLOCK, flags & SOCK_CLOEXEC);
    if (c == NULL) {
        int e = errno;
        tern_tcp_abort(s->st, id, rt_now(s->rt));
        tern_tcp_release(s->st, id, rt_now(s->rt));
        sock_unlock(s);
        return fail(e);
    }
    /* What Linux copies from the listener into the accepted socket. */
    c->reuseaddr = s->reuseaddr;
    c->reuseport = s->reuseport;
    c->keepalive = s->keepalive;
    c->nodelay = s->nodelay;
    c->linger_on = s->linger_on;
    c->linger_s = s->linger_s;
    c->rcvbuf = s->rcvbuf;
    c->sndbuf = s->sndbuf;
    c->keepidle_s = s->keepidle_s;
    c->keepintvl_s = s->keepintvl_s;
    c->keepcnt = s->keepcnt;
    c->maxseg = s->maxseg;
    c->user_timeout_ms = s->user_timeout_ms;
    c->tos = s->tos;
    c->rcvtimeo_ns = s->rcvtimeo_ns;
    c->sndtimeo_ns = s->sndtimeo_ns;
    c->oobinline = s->oobinline;
    c->tcp_id = id;
    c->ss = SS_CONNECTED;
    struct tern_tcp_status stt;
    tern_tcp_status(s->st, id, &stt);
    c->bound = true;
    c->bind_addr = stt.local_addr;
    c->bind_port = stt.local_port;
    tern_tcp_set_callback(s->st, id, sock_event, c);
    urg_update(c);                          /* urgent data that came before accept */
    if (stt.state == TERN_TCP_CLOSE_WAIT) { /* the peer's FIN came before accept */
        c->shut |= SHUT_BIT_RCV;
        c->done = true;
    }
    if (stt.state == TERN_TCP_CLOSED) {
        c->shut = SHUT_BIT_BOTH;
        c->closed_tcb = true;
        if (stt.error != 0) {
            c->sk_err = map_err(stt.error);
        }
    }
    c->family = s->family;
    c->v6only = s->v6only;
    put_name(s->family, addr, len, stt.remote_addr, stt.remote_port);
    int cfd = c->fd;
    sock_sync(c, true);
    sock_unlock(s);
    return cfd;
}

int
tern_accept(int fd, struct sockaddr *addr, socklen_t *len)
{
    if (!tern_is_socket(fd)) {
        return accept(fd, addr, len);
    }
    return tern_accept4(fd, addr, len, 0);
}

/* The socket is fresh again, ready for another connect (Linux
 * tcp_disconnect): a connection still open is reset, a listener closed,
 * shutdown bits and errors cleared; options and the bound name stay. */
static void
sock_disconnect(struct tern_sock *s)
{
    if (s->tcp_id > 0) {
        int64_t now = rt_now(s->rt);
        tern_tcp_set_callback(s->st, s->tcp_id, NULL, NULL);
        if (sock_state(s, NULL) != TERN_TCP_CLOSED) {
            tern_tcp_abort(s->st, s->tcp_id, now);
        }
        tern_tcp_release(s->st, s->tcp_id, now);
        s->tcp_id = 0;
    }
    s->ss = SS_UNCONN;
    s->shut = 0;
    s->done = s->closed_tcb = false;
    s->sk_err = 0;
    s->urg = URG_NONE;
    s->rd_pos = 0;
    sock_renew_pair(s);
}

/* This host's first usable IPv6 address: a global one if there is, else
 * a link-local one (RFC 4291 2.5.6). */
static bool
self6(const struct tern_stack *st, struct tern_ip *out)
{
    struct tern_ip a[8];
    int n = tern_stack_addrs6(st, 0, a, 8);
    for (int i = 0; i < n && i < 8; i++) {
        if (!(a[i].b[0] == 0xfe && (a[i].b[1] & 0xc0) == 0x80)) {
            *out = a[i];
            return true;
        }
    }
    if (n > 0) {
        *out = a[0];
        return true;
    }
    return false;
}

static int
connect_start(struct tern_sock *s, struct tern_ip ra, uint16_t rport)
{
    sock_disconnect(s); /* a connection that failed before: start afresh */
    if (s->family == AF_INET6 && tern_ip_is4(ra) && s->v6only) {
        return ENETUNREACH; /* Linux: an IPv6-only socket reaches no IPv4 peer */
    }
    struct tern_tcp_open_args oa = {
        .local_addr = s->bind_addr,
        .local_port = s->bound ? s->bind_port : 0,
        .remote_addr = ra,
        .remote_port = rport,
        .cb = sock_event,
        .cb_ctx = s,
        .nodelay = s->nodelay,
        .keepalive = s->keepalive,
        .mss = (uint16_t)s->maxseg,
        .user_timeout_ns = (int64_t)s->user_timeout_ms * 1000000,
        .tos = s->tos,
    };
    if (tern_ip_is_any(ra)) {
        /* Linux: 0.0.0.0 as a destination means this host, and :: its
         * ::1; tern has no loopback address and takes its first address
         * of the family (IPv6: a global one before a link-local one). */
        if (tern_ip_is4(ra)) {
            uint32_t self = tern_stack_addr(s->st, 0);
            if (self == 0) {
                return ENETUNREACH;
            }
            oa.remote_addr = tern_ip4(self);
        } else if (!self6(s->st, &oa.remote_addr)) {
            return ENETUNREACH;
        }
    }
    if (oa.remote_port == 0) {
        return ECONNREFUSED;
    }
    int id = tern_tcp_open(s->st, &oa, rt_now(s->rt));
    if (id < 0) {
        switch (id) {
        case TERN_ERR_NOROUTE:
            return ENETUNREACH;
        case TERN_ERR_EXIST:
        case TERN_ERR_NOBUFS:
            return EADDRNOTAVAIL;
        default:
            return ENETUNREACH; /* broadcast or multicast remote (RFC 9293 MUST-46) */
        }
    }
    s->tcp_id = id;
    keepalive_apply(s, id);
    struct tern_tcp_status stt;
    tern_tcp_status(s->st, id, &stt);
    s->bound = true;
    s->bind_port = stt.local_port;
    return 0;
}

int
tern_connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    struct tern_sock *s = sock_lock(fd);
    if (s == NULL) {
        return connect(fd, addr, len);
    }
    if (s->dgram) {
        int err = dgram_connect(s, addr, len);
        sock_unlock(s);
        return err ? fail(err) : 0;
    }
    /* connect(AF_UNSPEC) dissolves the association (Linux; the family is
     * all that is read). */
    if (addr != NULL && (int)len >= (int)sizeof(sa_family_t) &&
        len <= (socklen_t)sizeof(struct sockaddr_storage) && addr->sa_family == AF_UNSPEC) {
        sock_disconnect(s);
        sock_unlock(s);
        return 0;
    }
    struct tern_ip ra;
    uint16_t rport = 0;
    sa_family_t fam = 0;
    int err = get_name(s, addr, len, &ra, &rport, &fam);
    if (err == 0 && fam != s->family) {
        err = EAFNOSUPPORT;
    }
    if (err != 0) {
        sock_unlock(s);
        return fail(err);
    }
    /* Linux inet_stream_connect(): what to do depends on the socket's
     * state, then a wait while the handshake runs. */
    switch (s->ss) {
    case SS_CONNECTED:
        err = EISCONN;
        break;
    case SS_CONNECTING:
        err = EALREADY;
        break;
    case SS_UNCONN:
        if (sock_state(s, NULL) != TERN_TCP_CLOSED) {
            err = EISCONN; /* listening */
            break;
        }
        err = connect_start(s, ra, rport);
        if (err == 0) {
            s->ss = SS_CONNECTING;
            err = EINPROGRESS;
        }
        break;
    }
    if (err != EINPROGRESS && err != EALREADY) {
        sock_unlock(s);
        return fail(err);
    }
    bool nonblock = s->nonblock || !rt_can_block(s->rt);
    int64_t deadline = deadline_of(s->sndtimeo_ns);
    for (;;) {
        enum tern_tcp_state st = sock_state(s, NULL);
        if (st != TERN_TCP_SYN_SENT && st != TERN_TCP_SYN_RECEIVED) {
            break;
        }
        if (nonblock) {
            sock_unlock(s);
            return fail(err);
        }
        int w = sock_wait(s, deadline);
        if (w == EBADF) {
            pthread_mutex_unlock(&s->rt->mu);
            return fail(EBADF);
        }
        if (w == EAGAIN) {
            sock_unlock(s);
            return fail(err); /* SO_SNDTIMEO: Linux says EINPROGRESS */
        }
        if (w == EINTR) {
            sock_unlock(s);
            return fail(EINTR); /* the handshake goes on (a later connect waits for it) */
        }
    }
    if (sock_state(s, NULL) == TERN_TCP_CLOSED) {
        /* Linux reports the error and disconnects. */
        err = take_err(s);
        sock_disconnect(s);
        sock_unlock(s);
        return fail(err ? err : ECONNABORTED);
    }
    s->ss = SS_CONNECTED;
    sock_unlock(s);
    return 0;
}

/* ---- receiving ---- */

static size_t
iov_total(const struct iovec *iov, int n)
{
    size_t t = 0;
    for (int i = 0; i < n; i++) {
        t += iov[i].iov_len;
    }
    return t;
}

/* Checks the caller's buffers before any byte moves (Linux import_iovec):
 * a count out of range or a length negative as ssize_t is EINVAL (so no
 * sum can wrap: at most IOV_MAX lengths of at most SSIZE_MAX); a NULL
 * array or a NULL base with a length is EFAULT. NULL is the only bad
 * address a library can tell (docs/sockets.md). Returns 0 or the errno. */
static int
iov_check(const struct iovec *iov, int n)
{
    if (n < 0 || n > IOV_MAX) {
        return EINVAL;
    }
    if (iov == NULL && n > 0) {
        return EFAULT;
    }
    for (int i = 0; i < n; i++) {
        if ((ssize_t)iov[i].iov_len < 0) {
            return EINVAL;
        }
    }
    for (int i = 0; i < n; i++) {
        if (iov[i].iov_base == NULL && iov[i].iov_len > 0) {
            return EFAULT;
        }
    }
    return 0;
}

/* Copies n octets of received text, from `from` octets past the next one
 * to read, into the iovec at byte `at` of it. */
static void
iov_fill(struct tern_sock *s, const struct iovec *iov, int iovcnt, size_t at, size_t from, size_t n)
{
    for (int i = 0; i < iovcnt && n > 0; i++) {
        size_t len = iov[i].iov_len;
        if (at >= len) {
            at -= len;
            continue;
        }
        size_t k = len - at < n ? len - at : n;
        int r = tern_tcp_peek(s->st, s->tcp_id, from, (uint8_t *)iov[i].iov_base + at, k);
        if (r <= 0) {
            return;
        }
        at = 0;
        from += (size_t)r;
        n -= (size_t)r;
    }
}

/* Copies received text into the iovec, starting `copied` bytes into it
 * (what this call already returned: MSG_WAITALL resumes there), and
 * consumes it unless peeking. Around the urgent octet, as Linux's
 * tcp_recvmsg(): a read that copied something stops at the mark (*stop);
 * at the mark the urgent octet is skipped unless SO_OOBINLINE; otherwise a
 * read stops just before it. Returns the bytes copied. */
static size_t
copy_out(struct tern_sock *s, const struct iovec *iov, int iovcnt, size_t copied, bool peek,
         bool *stop)
{
    struct tern_tcp_status stt;
    *stop = false;
    if (tern_tcp_status(s->st, s->tcp_id, &stt) != TERN_OK) {
        return 0;
    }
    size_t total = iov_total(iov, iovcnt);
    size_t room = total > copied ? total - copied : 0;
    size_t avail = stt.recv_queued, pos = 0, done = 0;
    while (room > 0 && pos < avail) {
        uint64_t at = s->rd_pos + pos;
        bool urg = s->urg != URG_NONE && s->urg_pos >= at;
        uint64_t off = urg ? s->urg_pos - at : UINT64_MAX;
        if (off == 0 && copied + done > 0) {
            *stop = true; /* never across the mark in one call */
            break;
        }
        size_t n = avail - pos;
        if (off == 0) {
            if (!s->oobinline) {
                pos++; /* the out-of-band octet is not part of the stream */
                continue;
            }
        } else if (off < n) {
            n = (size_t)off;
        }
        n = n < room ? n : room;
        iov_fill(s, iov, iovcnt, copied + done, pos, n);
        pos += n;
        done += n;
        room -= n;
    }
    if (!peek) {
        rd_consume(s, pos);
    }
    return done;
}

/* recv(MSG_OOB): Linux's tcp_recv_urg(). Never blocks. Returns the count
 * or -errno. */
static ssize_t
recv_oob(struct tern_sock *s, const struct iovec *iov, int iovcnt, int flags, int *msg_flags)
{
    if (s->oobinline || s->urg == URG_NONE || s->urg == URG_READ) {
        return -EINVAL; /* nothing out of band, or taken already */
    }
    enum tern_tcp_state state = sock_state(s, NULL);
    if (state == TERN_TCP_CLOSED && !s->done) {
        return -ENOTCONN;
    }
    if (s->urg == URG_VALID) {
        if (!(flags & MSG_PEEK)) {
            s->urg = URG_READ;
        }
        *msg_flags |= MSG_OOB;
        if (iov_total(iov, iovcnt) == 0) {
            *msg_flags |= MSG_TRUNC;
            return 0;
        }
        for (int i = 0; i < iovcnt && !(flags & MSG_TRUNC); i++) {
            if (iov[i].iov_len > 0) {
                *(uint8_t *)iov[i].iov_base = s->urg_byte;
                break;
            }
        }
        return 1;
    }
    if (state == TERN_TCP_CLOSED || (s->shut & SHUT_BIT_RCV)) {
        return 0; /* the octet will never come */
    }
    return -EAGAIN;
}

/* The receive calls. A datagram socket's source lands in *src (*named
 * true); a stream socket names none. */
static ssize_t
sock_recv(int fd, const struct iovec *iov, int iovcnt, int flags, int *msg_flags,
          struct sockaddr_storage *src, bool *named)
{
    struct tern_sock *s = sock_lock(fd);
    if (s == NULL) {
        errno = EBADF;
        return -2; /* not ours: the caller asks the kernel */
    }
    *msg_flags = 0;
    *named = false;
    if (s->dgram) {
        return dgram_recv(s, iov, iovcnt, flags, msg_flags, src, named);
    }
    if (sock_state(s, NULL) == TERN_TCP_LISTEN) {
        sock_unlock(s);
        return fail(ENOTCONN);
    }
    int bad = iov_check(iov, iovcnt);
    if (bad != 0) {
        sock_unlock(s);
        return fail(bad);
    }
    if (flags & MSG_OOB) {
        ssize_t r = recv_oob(s, iov, iovcnt, flags, msg_flags);
        sock_unlock(s);
        return r < 0 ? fail((int)-r) : r;
    }
    size_t len = iov_total(iov, iovcnt);
    bool peek = (flags & MSG_PEEK) != 0;
    bool waitall = (flags & MSG_WAITALL) && !peek;
    bool nonblock = s->nonblock || (flags & MSG_DONTWAIT) || !rt_can_block(s->rt);
    int64_t deadline = deadline_of(s->rcvtimeo_ns);
    size_t copied = 0;
    int err = 0;
    /* The order of Linux's tcp_recvmsg(): data first, then end of stream,
     * the pending error, shutdown, never connected, would block. */
    for (;;) {
        struct tern_tcp_status stt;
        enum tern_tcp_state state = sock_state(s, &stt);
        if (len == 0 && stt.recv_queued > 0) {
            break; /* Linux: a zero-length read with data waiting returns 0 */
        }
        bool stop = false;
        if (s->tcp_id > 0) {
            copied += copy_out(s, iov, iovcnt, copied, peek, &stop);
        }
        if (copied > 0) {
            if (!waitall || stop || copied >= len || s->sk_err || state == TERN_TCP_CLOSED ||
                (s->shut & SHUT_BIT_RCV)) {
                break;
            }
        } else {
            if (s->done) {
                break;
            }
            if (s->sk_err) {
                err = take_err(s);
                break;
            }
            if (s->shut & SHUT_BIT_RCV) {
                break;
            }
            if (state == TERN_TCP_CLOSED) {
                err = ENOTCONN;
                break;
            }
        }
        enum wait_res wr = block_or_stop(s, nonblock, deadline, copied, &err);
        if (wr == W_GONE) {
            return copied > 0 ? (ssize_t)copied : fail(EBADF);
        }
        if (wr == W_STOP) {
            break;
        }
    }
    sock_unlock(s);
    return err ? fail(err) : (ssize_t)copied;
}

ssize_t
tern_recvmsg(int fd, struct msghdr *msg, int flags)
{
    if (!tern_is_socket(fd)) {
        return recvmsg(fd, msg, flags);
    }
    if (msg == NULL || msg->msg_iovlen > IOV_MAX) {
        return fail(msg == NULL ? EFAULT : EINVAL);
    }
    int mf = 0;
    struct sockaddr_storage src;
    bool named;
    ssize_t r = sock_recv(fd, msg->msg_iov, (int)msg->msg_iovlen, flags, &mf, &src, &named);
    if (r == -2) {
        return fail(EBADF);
    }
    if (named && r >= 0) {
        /* UDP names the sender, cut to the caller's room (Linux). */
        socklen_t full = name_len(&src);
        if (msg->msg_name != NULL && (int)msg->msg_namelen > 0) {
            size_t k = msg->msg_namelen < full ? msg->msg_namelen : full;
            memcpy(msg->msg_name, &src, k);
        }
        msg->msg_namelen = full;
    } else {
        msg->msg_namelen = 0; /* TCP names no source */
    }
    msg->msg_controllen = 0;
    msg->msg_flags = mf; /* MSG_OOB (and MSG_TRUNC) on urgent data */
    return r;
}

/* The data calls below look the fd up once (sock_recv/sock_send: one
 * fstat and one lock per call) and hand it to the kernel when it is not a
 * tern socket (-2). */
ssize_t
tern_recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *from, socklen_t *fromlen)
{
    struct iovec v = {.iov_base = buf, .iov_len = n};
    int mf;
    struct sockaddr_storage src;
    bool named;
    ssize_t r = sock_recv(fd, &v, 1, flags, &mf, &src, &named);
    if (r == -2) {
        return recvfrom(fd, buf, n, flags, from, fromlen);
    }
    if (r >= 0 && named && from != NULL) {
        int bad = check_sin_out(from, fromlen);
        if (bad != 0) {
            return fail(bad); /* Linux: the datagram is gone all the same */
        }
        socklen_t full = name_len(&src);
        memcpy(from, &src, *fromlen < full ? *fromlen : full);
        *fromlen = full;
    } else if (r >= 0 && fromlen != NULL) {
        *fromlen = 0;
    }
    return r;
}

ssize_t
tern_recv(int fd, void *buf, size_t n, int flags)
{
    return tern_recvfrom(fd, buf, n, flags, NULL, NULL);
}

ssize_t
tern_read(int fd, void *buf, size_t n)
{
    if (n == 0) {
        /* Linux: read(2) of nothing returns before the socket is asked. */
        return tern_is_socket(fd) ? 0 : read(fd, buf, n);
    }
    struct iovec v = {.iov_base = buf, .iov_len = n};
    int mf;
    struct sockaddr_storage src;
    bool named;
    ssize_t r = sock_recv(fd, &v, 1, 0, &mf, &src, &named);
    return r == -2 ? read(fd, buf, n) : r;
}

ssize_t
tern_readv(int fd, const struct iovec *iov, int iovcnt)
{
    if (!tern_is_socket(fd)) {
        return readv(fd, iov, iovcnt);
    }
    int bad = iov_check(iov, iovcnt);
    if (bad != 0) {
        return fail(bad);
    }
    if (iov_total(iov, iovcnt) == 0) {
        return 0; /* as read(2) */
    }
    int mf;
    struct sockaddr_storage src;
    bool named;
    ssize_t r = sock_recv(fd, iov, iovcnt, 0, &mf, &src, &named);
    return r == -2 ? fail(EBADF) : r;
}

/* ---- datagram sockets (UDP) ----
 *
 * A SOCK_DGRAM socket is a tern_udp id (tern/udp.h) from socket() to
 * close(). The native socket keeps the endpoints, the queue and the ICMP
 * error; the tern_sock keeps what only the BSD calls need (shutdown bits,
 * timeouts, the reported buffer sizes). Each call checks in Linux's order
 * (udp_sendmsg, udp_recvmsg, inet_dgram_connect...) so that errno matches
 * the kernel's; a send never blocks (the datagram goes to IP at once). */

#define LINUX_UDP_BUF_DEFAULT 212992 /* net.core.rmem_default, wmem_default */

static int
udp_errno(int err)
{
    switch (err) {
    case TERN_ERR_REFUSED:
        return ECONNREFUSED;
    case TERN_ERR_UNREACH:
        return EHOSTUNREACH;
    case TERN_ERR_NOROUTE:
        return ENETUNREACH;
    case TERN_ERR_MSGSIZE:
        return EMSGSIZE;
    case TERN_ERR_ACCESS:
        return EACCES;
    case TERN_ERR_NOTCONN:
        return EDESTADDRREQ;
    case TERN_ERR_EXIST:
        return EADDRINUSE;
    case TERN_ERR_NOBUFS:
    case TERN_ERR_AGAIN:
        return EAGAIN; /* Linux: no ephemeral port left is EAGAIN too */
    case TERN_ERR_TXFAIL:
        return ENOBUFS;
    default:
        return EINVAL;
    }
}

static void
dgram_event(void *ctx, struct tern_stack *st, int id, unsigned events)
{
    struct tern_sock *s = ctx;
    (void)st;
    if (s == NULL || !s->in_use || s->udp_id != id) {
        return;
    }
    sock_sync(s, (events & TERN_UDP_EV_READABLE) != 0);
    sock_wake(s);
}

/* 0 or the errno socket() fails with. */
static int
dgram_open(struct tern_sock *s)
{
    int id = tern_udp_open(s->st, rt_now(s->rt));
    if (id < 0) {
        return ENOBUFS; /* the stack's UDP table (tern_config.udp) is full */
    }
    s->dgram = true;
    s->udp_id = id;
    s->rcvbuf = s->sndbuf = LINUX_UDP_BUF_DEFAULT;
    tern_udp_setopt(s->st, id, TERN_UDP_OPT_RCVBUF, (uint32_t)s->rcvbuf);
    tern_udp_set_callback(s->st, id, dgram_event, s);
    return 0;
}

/* Linux datagram_poll(): writable always (sends do not queue), readable
 * with a datagram, POLLERR with an error pending, and the shutdown bits. */
static short
dgram_mask(struct tern_sock *s)
{
    unsigned ev = tern_udp_events(s->st, s->udp_id);
    short m = POLLOUT | POLLWRNORM;
    if (ev & TERN_UDP_EV_READABLE) {
        m |= POLLIN | POLLRDNORM;
    }
    if (ev & TERN_UDP_EV_ERROR) {
        m |= POLLERR;
    }
    if (s->shut & SHUT_BIT_RCV) {
        m |= POLLIN | POLLRDNORM | POLLRDHUP;
    }
    if (s->shut == SHUT_BIT_BOTH) {
        m |= POLLHUP;
    }
    return m;
}

/* An unbound AF_INET6 datagram socket takes an ephemeral port on :: before
 * its first connect or send (Linux autobinds in the socket's family), so
 * that an IPv4 peer first does not make it IPv4-only. */
static void
dgram_autobind(struct tern_sock *s)
{
    struct tern_udp_addr local;
    if (s->family != AF_INET6 || (tern_udp_name(s->st, s->udp_id, &local, NULL) == TERN_OK &&
                                  local.family != TERN_UDP_AF_UNSPEC)) {
        return;
    }
    tern_udp_setopt(s->st, s->udp_id, TERN_UDP_OPT_V6ONLY, s->v6only);
    local = (struct tern_udp_addr){.family = TERN_UDP_AF_INET6};
    tern_udp_bind(s->st, s->udp_id, &local, rt_now(s->rt));
}

static int
dgram_bind(struct tern_sock *s, const struct sockaddr *addr, socklen_t len)
{
    /* Linux inet_bind()/inet6_bind(): length, family (AF_UNSPEC only with
     * INADDR_ANY), an address of ours, not bound yet, then the port. */
    struct tern_ip a;
    uint16_t port = 0;
    sa_family_t fam = 0;
    int err = get_name(s, addr, len, &a, &port, &fam);
    err = err ? err : bind_check(s, a, fam);
    if (err != 0) {
        return err;
    }
    struct tern_udp_addr local;
    if (tern_udp_name(s->st, s->udp_id, &local, NULL) == TERN_OK &&
        local.family != TERN_UDP_AF_UNSPEC) {
        return EINVAL; /* bound already */
    }
    tern_udp_setopt(s->st, s->udp_id, TERN_UDP_OPT_REUSEADDR, s->reuseaddr);
    tern_udp_setopt(s->st, s->udp_id, TERN_UDP_OPT_V6ONLY, s->v6only);
    local = udp_ep(a, port);
    int rc = tern_udp_bind(s->st, s->udp_id, &local, rt_now(s->rt));
    return rc == TERN_OK ? 0 : udp_errno(rc);
}

static int
dgram_connect(struct tern_sock *s, const struct sockaddr *addr, socklen_t len)
{
    /* Linux inet_dgram_connect(): AF_UNSPEC (only the family is read)
     * dissolves the association; then ip4_datagram_connect's checks. */
    if ((int)len < 0 || len > (socklen_t)sizeof(struct sockaddr_storage)) {
        return EINVAL;
    }
    if (addr == NULL && len > 0) {
        return EFAULT;
    }
    if (len < (socklen_t)sizeof(sa_family_t)) {
        return EINVAL;
    }
    int64_t now = rt_now(s->rt);
    if (addr->sa_family == AF_UNSPEC) {
        struct tern_udp_addr none = {.family = TERN_UDP_AF_UNSPEC};
        tern_udp_connect(s->st, s->udp_id, &none, now);
        return 0;
    }
    struct tern_ip ra;
    uint16_t port = 0;
    sa_family_t fam = 0;
    int err = get_name(s, addr, len, &ra, &port, &fam);
    if (err != 0) {
        return err;
    }
    if (fam != s->family) {
        return EAFNOSUPPORT;
    }
    if (s->family == AF_INET6 && tern_ip_is4(ra) && s->v6only) {
        return ENETUNREACH;
    }
    tern_udp_setopt(s->st, s->udp_id, TERN_UDP_OPT_BROADCAST, s->broadcast);
    dgram_autobind(s);
    struct tern_udp_addr to = udp_ep(ra, port);
    int rc = tern_udp_connect(s->st, s->udp_id, &to, now);
    return rc == TERN_OK ? 0 : udp_errno(rc);
}

static int
dgram_shutdown(struct tern_sock *s, int how)
{
    if (how < SHUT_RD || how > SHUT_RDWR) {
        return EINVAL;
    }
    /* Linux inet_shutdown(): an unconnected datagram socket answers
     * ENOTCONN but records the bits all the same. */
    struct tern_udp_addr peer;
    tern_udp_name(s->st, s->udp_id, NULL, &peer);
    s->shut |= (unsigned)how + 1;
    sock_wake(s);
    return peer.family == TERN_UDP_AF_UNSPEC ? ENOTCONN : 0;
}

static int
dgram_ioctl(struct tern_sock *s, unsigned long request, void *arg)
{
    switch (request) {
    case FIONREAD: { /* Linux udp_ioctl(): the first datagram's length */
        if (arg == NULL) {
            return EFAULT;
        }
        int n = tern_udp_pending(s->st, s->udp_id, NULL);
        *(int *)arg = n < 0 ? 0 : n;
        return 0;
    }
    case TIOCOUTQ: /* nothing waits to be sent */
        if (arg == NULL) {
            return EFAULT;
        }
        *(int *)arg = 0;
        return 0;
    case FIONBIO:
        if (arg == NULL) {
            return EFAULT;
        }
        s->nonblock = *(int *)arg != 0;
        int fl = fcntl(s->fd, F_GETFL);
        (void)fcntl(s->fd, F_SETFL, s->nonblock ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
        return 0;
    default:
        return ENOTTY;
    }
}

static int
dgram_name(struct tern_sock *s, struct sockaddr *addr, socklen_t *len, bool peer)
{
    int err = check_sin_out(addr, len);
    if (err != 0) {
        return err;
    }
    struct tern_udp_addr local, remote;
    tern_udp_name(s->st, s->udp_id, &local, &remote);
    if (peer) {
        if (remote.family == TERN_UDP_AF_UNSPEC) {
            return ENOTCONN;
        }
        put_name(s->family, addr, len, udp_ip(&remote), remote.port);
    } else {
        put_name(s->family, addr, len, udp_ip(&local), local.port);
    }
    return 0;
}

/* Copies the iovecs into the native API's pieces (at most IOV_MAX). */
static size_t
dgram_vec(const struct iovec *iov, int iovcnt, struct tern_udp_vec *v)
{
    for (int i = 0; i < iovcnt; i++) {
        v[i] = (struct tern_udp_vec){.base = iov[i].iov_base, .len = iov[i].iov_len};
    }
    return (size_t)iovcnt;
}

/* Unlocks s. */
static ssize_t
dgram_recv(struct tern_sock *s, const struct iovec *iov, int iovcnt, int flags, int *msg_flags,
           struct sockaddr_storage *src, bool *named)
{
    int bad = iov_check(iov, iovcnt);
    if (bad != 0) {
        sock_unlock(s);
        return fail(bad);
    }
    struct tern_udp_vec v[IOV_MAX];
    size_t nv = dgram_vec(iov, iovcnt, v);
    bool nonblock = s->nonblock || (flags & MSG_DONTWAIT) || !rt_can_block(s->rt);
    int64_t deadline = deadline_of(s->rcvtimeo_ns);
    unsigned nflags = (flags & MSG_PEEK) ? TERN_UDP_PEEK : 0;
    for (;;) {
        struct tern_udp_addr from;
        size_t full = 0;
        int r = tern_udp_recvv(s->st, s->udp_id, v, nv, nflags, &from, &full, rt_now(s->rt));
        if (r >= 0) {
            /* Linux udp_recvmsg(): MSG_TRUNC in msg_flags when the datagram
             * was longer than the room; with MSG_TRUNC asked, its length. */
            if ((size_t)r < full) {
                *msg_flags |= MSG_TRUNC;
            }
            socklen_t sl = sizeof(*src);
            put_name(s->family, (struct sockaddr *)src, &sl, udp_ip(&from), from.port);
            *named = true;
            sock_unlock(s);
            return (flags & MSG_TRUNC) ? (ssize_t)full : r;
        }
        if (r != TERN_ERR_AGAIN) {
            sock_unlock(s);
            return fail(udp_errno(r)); /* the pending ICMP error, once */
        }
        if (s->shut & SHUT_BIT_RCV) {
            /* Linux: a blocking read after SHUT_RD returns 0 at once; a
             * non-blocking one still says EAGAIN. */
            sock_unlock(s);
            return nonblock ? fail(EAGAIN) : 0;
        }
        int err = 0;
        enum wait_res wr = block_or_stop(s, nonblock, deadline, 0, &err);
        if (wr == W_GONE) {
            return fail(EBADF);
        }
        if (wr == W_STOP) {
            sock_unlock(s);
            return fail(err);
        }
    }
}

/* Unlocks s. */
static ssize_t
dgram_send(struct tern_sock *s, const struct iovec *iov, int iovcnt, int flags,
           const struct sockaddr *to, socklen_t tolen)
{
    int err = iov_check(iov, iovcnt);
    size_t len = 0;
    for (int i = 0; err == 0 && i < iovcnt && len <= 0xffff; i++) {
        len += iov[i].iov_len < 0x10000 ? iov[i].iov_len : 0x10000; /* saturates: no wrap */
    }
    struct tern_udp_addr dst = {.family = TERN_UDP_AF_UNSPEC};
    /* Linux udp_sendmsg(): the length, MSG_OOB, the destination (the
     * address given, else the connected peer), then the route. */
    if (err == 0 && len > 0xffff) {
        err = EMSGSIZE;
    } else if (err == 0 && (flags & MSG_OOB)) {
        err = EOPNOTSUPP;
    } else if (err == 0 && to != NULL) {
        struct tern_ip ip;
        uint16_t port = 0;
        sa_family_t fam = 0;
        err = get_name(s, to, tolen, &ip, &port, &fam);
        if (err == 0 && fam != s->family && !(s->family == AF_INET && fam == AF_UNSPEC)) {
            err = EAFNOSUPPORT;
        } else if (err == 0 && port == 0) {
            err = EINVAL;
        } else if (err == 0 && s->family == AF_INET6 && tern_ip_is4(ip) && s->v6only) {
            err = ENETUNREACH;
        } else if (err == 0) {
            dst = udp_ep(ip, port);
        }
    } else if (err == 0) {
        struct tern_udp_addr peer;
        tern_udp_name(s->st, s->udp_id, NULL, &peer);
        if (peer.family == TERN_UDP_AF_UNSPEC) {
            err = EDESTADDRREQ;
        }
    }
    if (err == 0 && (s->shut & SHUT_BIT_SEND)) {
        err = EPIPE; /* never a SIGPIPE: MSG_NOSIGNAL is implied */
    }
    if (err != 0) {
        sock_unlock(s);
        return fail(err);
    }
    struct tern_udp_vec v[IOV_MAX];
    size_t nv = dgram_vec(iov, iovcnt, v);
    tern_udp_setopt(s->st, s->udp_id, TERN_UDP_OPT_BROADCAST, s->broadcast);
    dgram_autobind(s);
    int r = tern_udp_sendv(s->st, s->udp_id, v, nv, dst.family != TERN_UDP_AF_UNSPEC ? &dst : NULL,
                           rt_now(s->rt));
    sock_unlock(s);
    return r >= 0 ? (ssize_t)r : fail(udp_errno(r));
}

/* ---- sending ---- */

/* The send calls; `to` (tolen bytes) only for a datagram socket: a
 * connected TCP socket ignores it. */
static ssize_t
sock_send(int fd, const struct iovec *iov, int iovcnt, int flags, const struct sockaddr *to,
          socklen_t tolen)
{
    struct tern_sock *s = sock_lock(fd);
    if (s == NULL) {
        return -2;
    }
    if (s->dgram) {
        return dgram_send(s, iov, iovcnt, flags, to, tolen);
    }
    int bad = iov_check(iov, iovcnt);
    if (bad != 0) {
        sock_unlock(s);
        return fail(bad);
    }
    /* MSG_OOB: as Linux, the urgent pointer goes just after the last octet
     * queued by the call (RFC 9293 3.10.2 SEND with the URGENT flag; the
     * peer's Linux takes that last octet out of band). */
    bool urgent = (flags & MSG_OOB) != 0;
    bool nonblock = s->nonblock || (flags & MSG_DONTWAIT) || !rt_can_block(s->rt);
    int64_t deadline = deadline_of(s->sndtimeo_ns);
    size_t len = iov_total(iov, iovcnt), sent = 0;
    int err = 0, vi = 0;
    size_t voff = 0;
    for (;;) {
        enum tern_tcp_state state = sock_state(s, NULL);
        /* Linux tcp_sendmsg(): wait for the connection unless established
         * or in CLOSE-WAIT; a pending error or a closed socket ends it. */
        if (state != TERN_TCP_ESTABLISHED && state != TERN_TCP_CLOSE_WAIT) {
            if (s->sk_err) {
                err = take_err(s);
                break;
            }
            if (state != TERN_TCP_SYN_SENT && state != TERN_TCP_SYN_RECEIVED) {
                err = EPIPE;
                break;
            }
        } else if (s->sk_err || (s->shut & SHUT_BIT_SEND)) {
            err = EPIPE;
            break;
        } else {
            while (vi < iovcnt) {
                size_t left = iov[vi].iov_len - voff;
                if (left == 0) {
                    vi++;
                    voff = 0;
                    continue;
                }
                const uint8_t *p = (const uint8_t *)iov[vi].iov_base + voff;
                int r = urgent ? tern_tcp_send_urgent(s->st, s->tcp_id, p, left, rt_now(s->rt))
                               : tern_tcp_send(s->st, s->tcp_id, p, left, rt_now(s->rt));
                if (r <= 0) {
                    break;
                }
                sent += (size_t)r;
                voff += (size_t)r;
            }
            if (sent >= len) {
                break;
            }
        }
        enum wait_res wr = block_or_stop(s, nonblock, deadline, sent, &err);
        if (wr == W_GONE) {
            return sent > 0 ? (ssize_t)sent : fail(EBADF);
        }
        if (wr == W_STOP) {
            break;
        }
    }
    if (err != 0 && sent > 0) {
        err = 0; /* what was queued is reported; the error comes next call */
    } else if (err == EPIPE) {
        int e = take_err(s);
        err = e ? e : EPIPE; /* never a SIGPIPE: MSG_NOSIGNAL is implied */
    }
    sock_unlock(s);
    return err ? fail(err) : (ssize_t)sent;
}

ssize_t
tern_sendmsg(int fd, const struct msghdr *msg, int flags)
{
    if (!tern_is_socket(fd)) {
        return sendmsg(fd, msg, flags | MSG_NOSIGNAL);
    }
    if (msg == NULL || msg->msg_iovlen > IOV_MAX) {
        return fail(msg == NULL ? EFAULT : EINVAL);
    }
    /* Linux: a name of length 0 is no name. */
    const struct sockaddr *to =
        msg->msg_namelen != 0 ? (const struct sockaddr *)msg->msg_name : NULL;
    ssize_t r = sock_send(fd, msg->msg_iov, (int)msg->msg_iovlen, flags, to, msg->msg_namelen);
    return r == -2 ? fail(EBADF) : r;
}

ssize_t
tern_sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *to,
            socklen_t tolen)
{
    struct iovec v = {.iov_base = (void *)buf, .iov_len = n};
    ssize_t r = sock_send(fd, &v, 1, flags, to, tolen);
    return r == -2 ? sendto(fd, buf, n, flags | MSG_NOSIGNAL, to, tolen) : r;
}

ssize_t
tern_send(int fd, const void *buf, size_t n, int flags)
{
    return tern_sendto(fd, buf, n, flags, NULL, 0);
}

ssize_t
tern_write(int fd, const void *buf, size_t n)
{
    struct iovec v = {.iov_base = (void *)buf, .iov_len = n};
    ssize_t r = sock_send(fd, &v, 1, 0, NULL, 0);
    return r == -2 ? write(fd, buf, n) : r;
}

ssize_t
tern_writev(int fd, const struct iovec *iov, int iovcnt)
{
    ssize_t r = sock_send(fd, iov, iovcnt, 0, NULL, 0);
    return r == -2 ? writev(fd, iov, iovcnt) : r;
}

/* ---- shutdown, close ---- */

int
tern_shutdown(int fd, int how)
{
    struct tern_sock *s = sock_lock(fd);
    if (s == NULL) {
        return shutdown(fd, how);
    }
    if (s->dgram) {
        int err = dgram_shutdown(s, how);
        sock_unlock(s);
        return err ? fail(err) : 0;
    }
    if (how < SHUT_RD || how > SHUT_RDWR) {
        sock_unlock(s);
        return fail(EINVAL);
    }
    unsigned bits = (unsigned)how + 1; /* SHUT_RD -> RCV, SHUT_WR -> SEND, RDWR -> both */
    int err = 0;
    if (s->ss == SS_CONNECTING) {
        s->ss = SS_CONNECTED;
    }
    enum tern_tcp_state state = sock_state(s, NULL);
    int64_t now = rt_now(s->rt);
    switch (state) {
    case TERN_TCP_CLOSED:
        err = ENOTCONN; /* Linux still records the bits */
        s->shut |= bits;
        break;
    case TERN_TCP_LISTEN:
        if (bits & SHUT_BIT_RCV) { /* Linux stops listening */
            tern_tcp_close(s->st, s->tcp_id, now);
            s->ss = SS_UNCONN;
        }
        break;
    case TERN_TCP_SYN_SENT:
        tern_tcp_abort(s->st, s->tcp_id, now);
        s->sk_err = 0;
        s->ss = SS_UNCONN;
        break;
    default:
        s->shut |= bits;
        if (bits & SHUT_BIT_RCV) {
            tern_tcp_shutdown_receive(s->st, s->tcp_id, now);
        }
        /* RFC 9293 3.10.4: CLOSE means "no more data to send": the FIN
         * goes after what is queued, and receiving goes on. */
        if ((bits & SHUT_BIT_SEND) &&
            (state == TERN_TCP_ESTABLISHED || state == TERN_TCP_CLOSE_WAIT ||
             state == TERN_TCP_SYN_RECEIVED)) {
            tern_tcp_close(s->st, s->tcp_id, now);
        }
        break;
    }
    sock_wake(s);
    sock_unlock(s);
    return err ? fail(err) : 0;
}

int
tern_close(int fd)
{
    struct reg_entry e = reg_get(fd);
    if (e.kind == REG_EPOLL) {
        if (reg_clear_epoll(fd, e.ep)) {
            epoll_free(e.ep);
        }
        return close(fd);
    }
    struct tern_sock *s = sock_lock(fd);
    if (s == NULL) {
        return close(fd);
    }
    if (s->ndup > 0) {
        /* Another number still names the socket: only this one goes
         * (Linux: the connection closes with the file's last reference). */
        sock_unmap_dup(s, fd);
        int r = close(fd);
        int err = errno;
        pthread_mutex_unlock(&s->rt->mu);
        errno = err;
        return r;
    }
    if (s->tcp_id > 0) {
        int64_t now = rt_now(s->rt);
        struct tern_tcp_status stt;
        enum tern_tcp_state state = sock_state(s, &stt);
        if (stt.recv_queued > 0) {
            /* Unread data: no FIN; sock_free's release resets the
             * connection in any state (RFC 9293 3.6 SHLD-3, src/tcp/api.c),
             * as Linux does, SO_LINGER or not. */
        } else if (s->linger_on && s->linger_s == 0) {
            tern_tcp_abort(s->st, s->tcp_id, now); /* SO_LINGER 0: reset, not close */
        } else if (state == TERN_TCP_ESTABLISHED || state == TERN_TCP_CLOSE_WAIT ||
                   state == TERN_TCP_SYN_RECEIVED) {
            tern_tcp_close(s->st, s->tcp_id, now); /* the FIN after queued data */
            if (s->linger_on && rt_can_block(s->rt)) {
                /* SO_LINGER with a time: like Linux, close returns once our
                 * FIN is acknowledged (or the time is up), blocking or not. */
                int64_t deadline = rt_mono_ns() + (int64_t)s->linger_s * 1000000000;
                for (;;) {
                    state = sock_state(s, NULL);
                    if (state != TERN_TCP_FIN_WAIT_1 && state != TERN_TCP_CLOSING &&
                        state != TERN_TCP_LAST_ACK) {
                        break;
                    }
                    int w = sock_wait(s, deadline);
                    if (w == EBADF) {
                        pthread_mutex_unlock(&s->rt->mu); /* closed by another thread */
                        return 0;
                    }
                    if (w == EAGAIN || w == EINTR) {
                        break; /* a signal ends the lingering too; the close stands */
                    }
                }
            }
        }
    }
    struct tern_rt *rt = s->rt;
    sock_free(s, true);
    rt_after_call(rt);
    pthread_mutex_unlock(&rt->mu);
    return 0;
}

/* The application closed the socket's fd itself: end the connection as
 * close(2) without SO_LINGER would (a FIN after what is queued; a reset
 * when unread data remains, see tern_close), leave the number alone (it
 * may already name a file or another socket) and free the rest. */
static void
sock_forget(struct tern_sock *s)
{
    if (s->tcp_id > 0) {
        struct tern_tcp_status stt;
        enum tern_tcp_state state = sock_state(s, &stt);
        if (stt.recv_queued == 0 &&
            (state == TERN_TCP_ESTABLISHED || state == TERN_TCP_CLOSE_WAIT ||
             state == TERN_TCP_SYN_RECEIVED)) {
            tern_tcp_close(s->st, s->tcp_id, rt_now(s->rt));
        }
    }
    sock_free(s, false);
}

/* ---- dup ---- */

/* Number `fd`, one of several naming socket `s`, no longer does: its slot
 * is cleared and, when it was s->fd, another of them takes that part. */
static void
sock_unmap_dup(struct tern_sock *s, int fd)
{
    struct tern_rt *rt = s->rt;
    if (fd >= 0 && fd < rt->by_fd_cap && rt->by_fd[fd] == s) {
        rt->by_fd[fd] = NULL;
        reg_clear_rt(fd, rt);
    }
    s->ndup--;
    if (fd == s->fd) {
        for (int i = 0; i < rt->by_fd_cap; i++) {
            if (rt->by_fd[i] == s) {
                s->fd = i;
                break;
            }
        }
    }
}

/* The kernel duplicated the user's end of `s` as `nfd` (or failed, -1):
 * the new number names the same socket. Returns nfd, or -1 with errno. */
static int
sock_add_dup(struct tern_sock *s, int nfd)
{
    if (nfd < 0) {
        return -1;
    }
    struct tern_rt *rt = s->rt;
    struct reg_entry e = {.kind = REG_SOCK, .rt = rt};
    if (by_fd_room(rt, nfd) != 0 || reg_set(nfd, &e, NULL) != 0) {
        close(nfd);
        return fail(ENOMEM);
    }
    struct tern_sock *o = rt->by_fd[nfd];
    if (o != NULL && o != s) { /* a socket closed behind tern's back held it */
        if (o->ndup > 0) {
            sock_unmap_dup(o, nfd);
        } else {
            sock_forget(o);
        }
        (void)reg_set(nfd, &e, NULL);
    }
    rt->by_fd[nfd] = s;
    s->ndup++;
    return nfd;
}

/* dup(2), dup2(2), dup3(2) (F_DUPFD through tern_fcntl): the new number
 * names the same socket, as a duplicated fd names the same open file on
 * Linux; the connection ends when its last number is closed. A tern
 * socket under `newfd` is closed first, as the kernel closes what the
 * number held. */
static int
sock_dup3(int fd, int newfd, int flags, bool dup2_rules)
{
    if (newfd == fd) {
        if (!dup2_rules) {
            return fail(EINVAL);
        }
        return fcntl(fd, F_GETFD) < 0 ? -1 : fd;
    }
    /* Linux refuses a bad old fd or bad flags before newfd is touched. */
    if (fcntl(fd, F_GETFD) < 0) {
        return -1;
    }
    if ((flags & ~O_CLOEXEC) != 0) {
        return fail(EINVAL);
    }
    if (newfd >= 0) {
        struct reg_entry e = reg_get(newfd);
        if (e.kind == REG_EPOLL || (e.kind == REG_SOCK && tern_is_socket(newfd))) {
            (void)tern_close(newfd);
        }
    }
    struct tern_sock *s = sock_lock(fd);
    if (s == NULL) {
        return dup3(fd, newfd, flags);
    }
    int r = sock_add_dup(s, dup3(fd, newfd, flags));
    int e = errno;
    sock_unlock(s);
    errno = e;
    return r;
}

int
tern_dup(int fd)
{
    return tern_fcntl(fd, F_DUPFD, 0);
}

int
tern_dup2(int fd, int newfd)
{
    return sock_dup3(fd, newfd, 0, true);
}

int
tern_dup3(int fd, int newfd, int flags)
{
    return sock_dup3(fd, newfd, flags, false);
}

/* ---- fcntl, ioctl ---- */

int
tern_fcntl(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    long arg = va_arg(ap, long); /* callers pass an int or a pointer; read as long */
    va_end(ap);
    struct tern_sock *s = sock_lock(fd);
    if (s == NULL) {
        return fcntl(fd, cmd, arg);
    }
    int r;
    switch (cmd) {
    case F_DUPFD:
    case F_DUPFD_CLOEXEC:
        r = sock_add_dup(s, fcntl(fd, cmd, arg));
        break;
    case F_SETFL:
        r = fcntl(fd, F_SETFL, arg);
        if (r == 0) {
            s->nonblock = (arg & O_NONBLOCK) != 0;
        }
        break;
    default:
        r = fcntl(fd, cmd, arg); /* F_GETFL, F_GETFD, F_SETFD act on the fd itself */
        break;
    }
    int e = errno;
    sock_unlock(s);
    errno = e;
    return r;
}

int
tern_ioctl(int fd, unsigned long request, ...)
{
    va_list ap;
    va_start(ap, request);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    struct tern_sock *s = sock_lock(fd);
    if (s == NULL) {
        return ioctl(fd, request, arg);
    }
    if (s->dgram) {
        int err = dgram_ioctl(s, request, arg);
        sock_unlock(s);
        return err ? fail(err) : 0;
    }
    int err = 0;
    struct tern_tcp_status stt;
    enum tern_tcp_state state = sock_state(s, &stt);
    switch (request) {
    case FIONREAD: /* SIOCINQ */
        if (arg == NULL) {
            err = EFAULT;
        } else if (state == TERN_TCP_LISTEN) {
            err = EINVAL;
        } else if (!s->oobinline && s->urg != URG_NONE && s->urg_pos >= s->rd_pos &&
                   s->urg_pos - s->rd_pos < stt.recv_queued) {
            /* Linux tcp_inq(): with an urgent octet not yet passed, what a
             * read returns now: the octets before it. */
            *(int *)arg = (int)(s->urg_pos - s->rd_pos);
        } else {
            *(int *)arg = (int)stt.recv_queued;
        }
        break;
    case TIOCOUTQ: /* SIOCOUTQ */
        if (arg == NULL) {
            err = EFAULT;
        } else if (state == TERN_TCP_LISTEN) {
            err = EINVAL;
        } else {
            *(int *)arg = (int)stt.send_queued;
        }
        break;
    case SIOCATMARK: /* the next octet to read is the urgent one */
        if (arg == NULL) {
            err = EFAULT;
        } else {
            *(int *)arg = at_mark(s);
        }
        break;
    case FIONBIO:
        if (arg == NULL) {
            err = EFAULT;
        } else {
            s->nonblock = *(int *)arg != 0;
            int fl = fcntl(fd, F_GETFL);
            (void)fcntl(fd, F_SETFL, s->nonblock ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
        }
        break;
    default:
        err = ENOTTY;
        break;
    }
    sock_unlock(s);
    return err ? fail(err) : 0;
}

/* ---- names ---- */

/* getsockname (peer false) and getpeername (peer true). */
static int
sock_name(int fd, struct sockaddr *addr, socklen_t *len, bool peer)
{
    struct tern_sock *s = sock_lock(fd);
    if (s == NULL) {
        return peer ? getpeername(fd, addr, len) : getsockname(fd, addr, len);
    }
    if (s->dgram) {
        int err = dgram_name(s, addr, len, peer);
        sock_unlock(s);
        return err ? fail(err) : 0;
    }
    int err = 0;
    struct tern_tcp_status stt;
    enum tern_tcp_state state = sock_state(s, &stt);
    bool live = s->tcp_id > 0 && state != TERN_TCP_CLOSED && state != TERN_TCP_LISTEN;
    if ((err = check_sin_out(addr, len)) != 0) {
    } else if (peer) {
        /* Linux: no peer before the handshake ends, on a listener, or once
         * closed. */
        if (!live || state == TERN_TCP_SYN_SENT) {
            err = ENOTCONN;
        } else {
            put_name(s->family, addr, len, stt.remote_addr, stt.remote_port);
        }
    } else if (live) {
        put_name(s->family, addr, len, stt.local_addr, stt.local_port);
    } else {
        put_name(s->family, addr, len, s->bind_addr, s->bound ? s->bind_port : 0);
    }
    sock_unlock(s);
    return err ? fail(err) : 0;
}

int
tern_getsockname(int fd, struct sockaddr *addr, socklen_t *len)
{
    return sock_name(fd, addr, len, false);
}

int
tern_getpeername(int fd, struct sockaddr *addr, socklen_t *len)
{
    return sock_name(fd, addr, len, true);
}

/* ---- socket options ---- */

static int
put_opt(void *optval, socklen_t *optlen, const void *v, size_t n)
{
    if (optval == NULL || optlen == NULL) {
        return EFAULT;
    }
    if ((int)*optlen < 0) {
        return EINVAL;
    }
    size_t k = *optlen < n ? *optlen : n;
    memcpy(optval, v, k);
    *optlen = (socklen_t)k;
    return 0;
}

static int
put_int(void *optval, socklen_t *optlen, int v)
{
    return put_opt(optval, optlen, &v, sizeof(v));
}

/* Linux's numbers for the TCP states (tcpi_state). */
static int
linux_state(enum tern_tcp_state s)
{
    static const int map[TERN_TCP_STATE_COUNT] = {
        [TERN_TCP_CLOSED] = 7,       [TERN_TCP_LISTEN] = 10,     [TERN_TCP_SYN_SENT] = 2,
        [TERN_TCP_SYN_RECEIVED] = 3, [TERN_TCP_ESTABLISHED] = 1, [TERN_TCP_FIN_WAIT_1] = 4,
        [TERN_TCP_FIN_WAIT_2] = 5,   [TERN_TCP_CLOSE_WAIT] = 8,  [TERN_TCP_CLOSING] = 11,
        [TERN_TCP_LAST_ACK] = 9,     [TERN_TCP_TIME_WAIT] = 6,
    };
    return (unsigned)s < TERN_TCP_STATE_COUNT ? map[s] : 7;
}

static void
fill_tcp_info(struct tern_sock *s, struct tcp_info *ti)
{
    struct tern_tcp_status stt;
    enum tern_tcp_state state = sock_state(s, &stt);
    memset(ti, 0, sizeof(*ti));
    ti->tcpi_state = (uint8_t)linux_state(state);
    if (s->tcp_id <= 0) {
        return;
    }
    uint32_t mss = stt.snd_mss ? stt.snd_mss : LINUX_MSS_DEFAULT;
    ti->tcpi_retransmits = (uint8_t)(stt.retransmits > 255 ? 255 : stt.retransmits);
    ti->tcpi_backoff = ti->tcpi_retransmits;
    ti->tcpi_options =
        (uint8_t)((stt.ts_ok ? TCPI_OPT_TIMESTAMPS : 0) | (stt.sack_ok ? TCPI_OPT_SACK : 0) |
                  (stt.snd_wscale || stt.rcv_wscale ? TCPI_OPT_WSCALE : 0));
    ti->tcpi_snd_wscale = stt.snd_wscale & 15;
    ti->tcpi_rcv_wscale = stt.rcv_wscale & 15;
    ti->tcpi_rto = (uint32_t)(stt.rto_ns / 1000);
    ti->tcpi_snd_mss = mss;
    ti->tcpi_rcv_mss = mss;
    ti->tcpi_unacked = (stt.snd_nxt - stt.snd_una + mss - 1) / mss;
    ti->tcpi_rtt = (uint32_t)(stt.srtt_ns / 1000);
    ti->tcpi_rttvar = (uint32_t)(stt.rttvar_ns / 1000);
    ti->tcpi_snd_ssthresh = stt.ssthresh >= 0x7fffffff ? 0x7fffffff : stt.ssthresh / mss;
    ti->tcpi_snd_cwnd = stt.cwnd / mss;
    ti->tcpi_advmss = mss;
    ti->tcpi_rcv_space = stt.rcv_wnd;
    ti->tcpi_total_retrans = (uint32_t)stt.total_retransmits;
}

int
tern_tcp_info(int fd, struct tern_tcp_info *out)
{
    if (out == NULL) {
        return fail(EFAULT);
    }
    struct tern_sock *s = sock_lock(fd);
    if (s == NULL) {
        return fail(tern_is_socket(fd) ? EBADF : ENOTSOCK);
    }
    struct tern_tcp_status stt;
    memset(out, 0, sizeof(*out));
    out->state = sock_state(s, &stt);
    if (s->tcp_id > 0 && tern_tcp_status(s->st, s->tcp_id, &stt) == TERN_OK) {
        out->state = stt.state;
        out->srtt_ns = stt.srtt_ns;
        out->rttvar_ns = stt.rttvar_ns;
        out->rto_ns = stt.rto_ns;
        out->cwnd = stt.cwnd;
        out->ssthresh = stt.ssthresh;
        out->snd_mss = stt.snd_mss;
        out->total_retransmits = stt.total_retransmits;
        out->retransmits = stt.retransmits;
        out->send_queued = stt.send_queued;
        out->recv_queued = stt.recv_queued;
    }
    sock_unlock(s);
    return 0;
}

static int
get_sol_socket(struct tern_sock *s, int optname, void *optval, socklen_t *optlen)
{
    switch (optname) {
    case SO_TYPE:
        return put_int(optval, optlen, s->dgram ? SOCK_DGRAM : SOCK_STREAM);
    case SO_DOMAIN:
        return put_int(optval, optlen, s->family);
    case SO_PROTOCOL:
        return put_int(optval, optlen, s->dgram ? IPPROTO_UDP : IPPROTO_TCP);
    case SO_ERROR:
        if (s->dgram) {
            int e = tern_udp_error(s->st, s->udp_id);
            return put_int(optval, optlen, e < 0 ? udp_errno(e) : 0);
        }
        return put_int(optval, optlen, take_err(s));
    case SO_ACCEPTCONN:
        return put_int(optval, optlen, !s->dgram && sock_state(s, NULL) == TERN_TCP_LISTEN);
    case SO_BROADCAST:
        return put_int(optval, optlen, s->broadcast);
    case SO_REUSEADDR:
        return put_int(optval, optlen, s->reuseaddr);
    case SO_REUSEPORT:
        return put_int(optval, optlen, s->reuseport);
    case SO_KEEPALIVE:
        return put_int(optval, optlen, s->keepalive);
    case SO_OOBINLINE:
        return put_int(optval, optlen, s->oobinline);
    case SO_RCVBUF:
        return put_int(optval, optlen, s->rcvbuf);
    case SO_SNDBUF:
        return put_int(optval, optlen, s->sndbuf);
    case SO_LINGER: {
        struct linger l = {.l_onoff = s->linger_on, .l_linger = s->linger_s};
        return put_opt(optval, optlen, &l, sizeof(l));
    }
    case SO_RCVTIMEO:
    case SO_SNDTIMEO: {
        int64_t ns = optname == SO_RCVTIMEO ? s->rcvtimeo_ns : s->sndtimeo_ns;
        struct timeval tv = {.tv_sec = ns / 1000000000, .tv_usec = (ns % 1000000000) / 1000};
        return put_opt(optval, optlen, &tv, sizeof(tv));
    }
    default:
        return ENOPROTOOPT;
    }
}

static int
get_tcp(struct tern_sock *s, int optname, void *optval, socklen_t *optlen)
{
    struct tern_tcp_status stt;
    enum tern_tcp_state state = sock_state(s, &stt);
    switch (optname) {
    case TCP_NODELAY:
        return put_int(optval, optlen, s->nodelay);
    case TCP_MAXSEG:
        if (s->tcp_id > 0 && stt.snd_mss != 0 && state != TERN_TCP_LISTEN &&
            state != TERN_TCP_CLOSED) {
            return put_int(optval, optlen, stt.snd_mss);
        }
        return put_int(optval, optlen, s->maxseg ? s->maxseg : LINUX_MSS_DEFAULT);
    case TCP_KEEPIDLE:
        return put_int(optval, optlen, s->keepidle_s ? s->keepidle_s : 7200);
    case TCP_KEEPINTVL:
        return put_int(optval, optlen, s->keepintvl_s ? s->keepintvl_s : 75);
    case TCP_KEEPCNT:
        return put_int(optval, optlen, s->keepcnt ? s->keepcnt : 9);
    case TCP_USER_TIMEOUT:
        return put_int(optval, optlen, (int)s->user_timeout_ms);
    case TCP_INFO: {
        struct tcp_info ti;
        fill_tcp_info(s, &ti);
        return put_opt(optval, optlen, &ti, sizeof(ti));
    }
    default:
        return ENOPROTOOPT;
    }
}

int
tern_getsockopt(int fd, int level, int optname, void *optval, socklen_t *optlen)
{
    struct tern_sock *s = sock_lock(fd);
    if (s == NULL) {
        return getsockopt(fd, level, optname, optval, optlen);
    }
    int err;
    if (optval == NULL || optlen == NULL) {
        err = EFAULT;
    } else if (level == SOL_SOCKET) {
        err = get_sol_socket(s, optname, optval, optlen);
    } else if (level == IPPROTO_TCP && !s->dgram) {
        err = get_tcp(s, optname, optval, optlen);
    } else {
        /* Linux: IP_TOS is the one IP-level option kept here. A level the
         * socket does not know (IPPROTO_TCP on a UDP socket too) falls to
         * the network layer: IPv4's says EOPNOTSUPP on get, IPv6's
         * ENOPROTOOPT (both ENOPROTOOPT on set). */
        int unknown = s->family == AF_INET6 ? ENOPROTOOPT : EOPNOTSUPP;
        err = level == IPPROTO_IPV6 ? get_ipv6(s, optname, optval, optlen)
              : level != IPPROTO_IP ? unknown
              : optname == IP_TOS   ? put_int(optval, optlen, s->tos)
                                    : ENOPROTOOPT;
    }
    sock_unlock(s);
    return err ? fail(err) : 0;
}

static int
get_timeo(const void *optval, socklen_t optlen, int64_t *ns)
{
    struct timeval tv;
    if (optlen < (socklen_t)sizeof(tv)) {
        return EINVAL;
    }
    memcpy(&tv, optval, sizeof(tv));
    if (tv.tv_usec < 0 || tv.tv_usec >= 1000000) {
        return EDOM;
    }
    /* Linux clamps a timeout too long for its clock to "for ever" (0 here);
     * so does tern, before the multiplication can overflow. */
    if (tv.tv_sec < 0 || (int64_t)tv.tv_sec >= INT64_MAX / 1000000000 - 1) {
        *ns = 0;
    } else {
        *ns = (int64_t)tv.tv_sec * 1000000000 + (int64_t)tv.tv_usec * 1000;
    }
    return 0;
}

static int
set_sol_socket(struct tern_sock *s, int optname, const void *optval, socklen_t optlen, int v)
{
    int64_t now = rt_now(s->rt);
    switch (optname) {
    case SO_REUSEADDR:
        s->reuseaddr = v != 0;
        return 0;
    case SO_REUSEPORT:
        s->reuseport = v != 0;
        return 0;
    case SO_KEEPALIVE:
        s->keepalive = v != 0;
        if (s->tcp_id > 0) {
            tern_tcp_set_keepalive(s->st, s->tcp_id, s->keepalive, now);
        }
        return 0;
    case SO_OOBINLINE:
        s->oobinline = v != 0; /* the urgent octet stays in the stream */
        return 0;
    case SO_BROADCAST:
        s->broadcast = v != 0; /* a datagram socket may send to broadcast addresses */
        return 0;
    case SO_RCVBUF:
    case SO_SNDBUF: {
        /* Linux doubles the value (room for its bookkeeping) and reports
         * the double; tern's rings are sized per stack (tern_config.tcp)
         * and are not resized. */
        long d = (long)(v < 0 ? 0 : v > 212992 ? 212992 : v) * 2;
        if (optname == SO_RCVBUF) {
            s->rcvbuf = (int)(d < 2304 ? 2304 : d);
            if (s->dgram) { /* a datagram socket's queue is capped by it */
                tern_udp_setopt(s->st, s->udp_id, TERN_UDP_OPT_RCVBUF, (uint32_t)s->rcvbuf);
            }
        } else {
            s->sndbuf = (int)(d < 4608 ? 4608 : d);
        }
        return 0;
    }
    case SO_LINGER: {
        struct linger l;
        if (optlen < (socklen_t)sizeof(l)) {
            return EINVAL;
        }
        memcpy(&l, optval, sizeof(l));
        s->linger_on = l.l_onoff != 0;
        s->linger_s = l.l_linger < 0 ? 0 : l.l_linger;
        return 0;
    }
    case SO_RCVTIMEO:
        return get_timeo(optval, optlen, &s->rcvtimeo_ns);
    case SO_SNDTIMEO:
        return get_timeo(optval, optlen, &s->sndtimeo_ns);
    case SO_TYPE:
    case SO_ERROR:
    case SO_DOMAIN:
    case SO_PROTOCOL:
    case SO_ACCEPTCONN:
        return ENOPROTOOPT; /* read-only */
    default:
        return ENOPROTOOPT;
    }
}

static int
set_tcp(struct tern_sock *s, int optname, int v)
{
    int64_t now = rt_now(s->rt);
    switch (optname) {
    case TCP_NODELAY:
        s->nodelay = v != 0;
        if (s->tcp_id > 0) {
            tern_tcp_set_nodelay(s->st, s->tcp_id, s->nodelay, now);
        }
        return 0;
    case TCP_MAXSEG:
        if (v != 0 && (v < 88 || v > 65535)) {
            return EINVAL; /* Linux's bounds */
        }
        s->maxseg = v; /* used by the next SYN this socket sends or answers */
        return 0;
    case TCP_KEEPIDLE:
    case TCP_KEEPINTVL:
        if (v < 1 || v > 32767) {
            return EINVAL;
        }
        if (optname == TCP_KEEPIDLE) {
            s->keepidle_s = v;
        } else {
            s->keepintvl_s = v;
        }
        break;
    case TCP_KEEPCNT:
        if (v < 1 || v > 127) {
            return EINVAL;
        }
        s->keepcnt = v;
        break;
    case TCP_USER_TIMEOUT:
        if (v < 0) {
            return EINVAL;
        }
        s->user_timeout_ms = (unsigned)v; /* taken at the next connect or listen */
        return 0;
    default:
        return ENOPROTOOPT;
    }
    if (s->tcp_id > 0) {
        keepalive_apply(s, s->tcp_id);
    }
    return 0;
}

/* IPPROTO_IPV6 on an AF_INET6 socket: IPV6_V6ONLY (fixed once bound, as
 * Linux) and IPV6_TCLASS (the traffic class, kept with IP_TOS's value: one
 * field serves both families). An AF_INET socket has no IPv6 level. */
static int
set_ipv6(struct tern_sock *s, int optname, int v)
{
    if (s->family != AF_INET6) {
        return ENOPROTOOPT;
    }
    switch (optname) {
    case IPV6_V6ONLY:
        if (s->bound || s->tcp_id > 0) {
            return EINVAL;
        }
        s->v6only = v != 0;
        return 0;
    case IPV6_TCLASS:
        if (v < -1 || v > 0xff) {
            return EINVAL;
        }
        return set_tos(s, v < 0 ? 0 : v);
    default:
        return ENOPROTOOPT;
    }
}

static int
get_ipv6(struct tern_sock *s, int optname, void *optval, socklen_t *optlen)
{
    if (s->family != AF_INET6) {
        return EOPNOTSUPP;
    }
    switch (optname) {
    case IPV6_V6ONLY:
        return put_int(optval, optlen, s->v6only);
    case IPV6_TCLASS:
        return put_int(optval, optlen, s->tos);
    default:
        return ENOPROTOOPT;
    }
}

/* IP_TOS: RFC 9293 3.9.1.9 (MUST-48, SHLD-21). On a TCP socket Linux keeps
 * the two ECN bits its own (RFC 3168 6.1.1: they are TCP's to set, and
 * tern sets none), so the value set loses them. */
static int
set_tos(struct tern_sock *s, int v)
{
    s->tos = (uint8_t)(v & 0xfc);
    if (s->udp_id > 0) {
        tern_udp_setopt(s->st, s->udp_id, TERN_UDP_OPT_TOS, s->tos);
    }
    if (s->tcp_id > 0) {
        tern_tcp_set_tos(s->st, s->tcp_id, s->tos);
    }
    return 0;
}

int
tern_setsockopt(int fd, int level, int optname, const void *optval, socklen_t optlen)
{
    struct tern_sock *s = sock_lock(fd);
    if (s == NULL) {
        return setsockopt(fd, level, optname, optval, optlen);
    }
    int err, v = 0;
    bool struct_opt = level == SOL_SOCKET &&
                      (optname == SO_LINGER || optname == SO_RCVTIMEO || optname == SO_SNDTIMEO);
    if (optval == NULL) {
        err = EFAULT;
    } else if (!struct_opt && optlen < (socklen_t)sizeof(int)) {
        err = EINVAL;
    } else {
        if (!struct_opt) {
            memcpy(&v, optval, sizeof(v));
        }
        err = level == SOL_SOCKET    ? set_sol_socket(s, optname, optval, optlen, v)
              : level == IPPROTO_TCP ? (s->dgram ? ENOPROTOOPT : set_tcp(s, optname, v))
              : level == IPPROTO_IP && optname == IP_TOS ? set_tos(s, v)
              : level == IPPROTO_IPV6                    ? set_ipv6(s, optname, v)
                                                         : ENOPROTOOPT;
    }
    sock_unlock(s);
    return err ? fail(err) : 0;
}
