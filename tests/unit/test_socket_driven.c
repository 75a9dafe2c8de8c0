/*
 * tests/unit/test_socket_driven.c: caller-driven runtimes with blocking
 * calls (tern_rt_drive), the per-runtime fd tables, tern_forget.
 *
 * Two or three stacks, each under its own tern_rt_drive runtime with the
 * caller's (virtual) time. The test is the packet path: the stacks'
 * transmit callbacks queue frames, pump() hands them over with
 * tern_rt_input and moves time with tern_rt_advance. Helper threads only
 * make socket calls and record what they got; every CHECK runs on the main
 * thread (tests/check.h is single-threaded).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "tern/socket.h"

#define A_ADDR TERN_IPV4(192, 0, 2, 1)
#define B_ADDR TERN_IPV4(192, 0, 2, 2)
#define X_ADDR TERN_IPV4(192, 0, 2, 3)
#define MTU    1500
#define RING   256
#define PORT   5000

struct ring {
    pthread_mutex_t mu;
    uint8_t frame[RING][MTU];
    size_t len[RING];
    int head, count;
};

struct host {
    struct tern_stack *st;
    struct tern_rt *rt;
    struct ring out; /* what this host sent */
    atomic_int told; /* deadline callbacks */
    int64_t told_at; /* the last deadline the callback gave */
};

static int64_t now_ns; /* the virtual time of every host */

static int
ring_transmit(void *ctx, int netif, const uint8_t *pkt, size_t len, uint32_t next_hop)
{
    struct ring *r = ctx;
    (void)netif, (void)next_hop;
    pthread_mutex_lock(&r->mu);
    if (r->count < RING && len <= MTU) {
        int at = (r->head + r->count) % RING;
        memcpy(r->frame[at], pkt, len);
        r->len[at] = len;
        r->count++;
    }
    pthread_mutex_unlock(&r->mu);
    return 0;
}

static void
on_deadline(void *ctx, int64_t deadline_ns)
{
    struct host *h = ctx;
    h->told_at = deadline_ns; /* under h's runtime lock */
    atomic_fetch_add(&h->told, 1);
}

static void
host_up(struct host *h, uint32_t addr, uint64_t seed)
{
    memset(h, 0, sizeof(*h));
    pthread_mutex_init(&h->out.mu, NULL);
    struct tern_config cfg;
    tern_config_init(&cfg);
    cfg.deterministic = true; /* a test: the same ISNs every run */
    cfg.seed = seed;
    cfg.n_netifs = 1;
    cfg.netifs[0] = (struct tern_netif_config){.addr = addr,
                                               .prefix_len = 24,
                                               .mtu = MTU,
                                               .transmit = ring_transmit,
                                               .transmit_ctx = &h->out};
    CHECK_EQ(tern_stack_new(&cfg, now_ns, &h->st), TERN_OK);
    struct tern_rt_drive_config dc;
    tern_rt_drive_config_init(&dc);
    dc.manual_time = true;
    dc.start_ns = now_ns;
    dc.on_deadline = on_deadline;
    dc.deadline_ctx = h;
    CHECK_EQ(tern_rt_drive(h->st, &dc, &h->rt), TERN_OK);
}

static void
host_down(struct host *h)
{
    tern_rt_free(h->rt);
    tern_stack_free(h->st);
    pthread_mutex_destroy(&h->out.mu);
}

/* Hands every frame `from` sent to `to` (NULL: the frames are lost). */
static int
deliver(struct host *from, struct host *to)
{
    static uint8_t buf[MTU];
    int n = 0;
    for (;;) {
        pthread_mutex_lock(&from->out.mu);
        if (from->out.count == 0) {
            pthread_mutex_unlock(&from->out.mu);
            return n;
        }
        size_t len = from->out.len[from->out.head];
        memcpy(buf, from->out.frame[from->out.head], len);
        from->out.head = (from->out.head + 1) % RING;
        from->out.count--;
        pthread_mutex_unlock(&from->out.mu);
        if (to != NULL) {
            CHECK_EQ(tern_rt_input(to->rt, 0, buf, len), TERN_OK);
        }
        n++;
    }
}

/* Moves frames between a and b and time forward (to each next deadline,
 * at most `span_ns` ahead) until nothing is left to do in that span. */
static void
pump(struct host *a, struct host *b, int64_t span_ns)
{
    int64_t end = now_ns + span_ns;
    for (int round = 0; round < 100000; round++) {
        int moved = deliver(a, b) + deliver(b, a);
        if (moved > 0) {
            continue;
        }
        int64_t t = tern_rt_next_deadline(a->rt);
        int64_t tb = tern_rt_next_deadline(b->rt);
        t = tb < t ? tb : t;
        if (t > end) {
            return;
        }
        now_ns = t > now_ns ? t : now_ns;
        CHECK_EQ(tern_rt_advance(a->rt, now_ns), TERN_OK);
        CHECK_EQ(tern_rt_advance(b->rt, now_ns), TERN_OK);
    }
}

static struct sockaddr_in
sin_of(uint32_t addr, uint16_t port)
{
    struct sockaddr_in s = {.sin_family = AF_INET};
    s.sin_addr.s_addr = htonl(addr);
    s.sin_port = htons(port);
    return s;
}

static int
listen_in(struct host *h, uint16_t port)
{
    int fd = tern_socket_in(h->rt, 0, AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = sin_of(0, port);
    CHECK(fd >= 0);
    CHECK_EQ(tern_bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    CHECK_EQ(tern_listen(fd, 4), 0);
    return fd;
}

/* A call that a broken mechanism would leave blocked fails after 5 s
 * instead (real time, whatever the runtime's clock). */
static void
bound_waits(int fd)
{
    struct timeval tv = {.tv_sec = 5};
    CHECK_EQ(tern_setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
    CHECK_EQ(tern_setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)), 0);
}

/* A connection from b (*c) to a's listener `l` (*s, accepted), blocking
 * sockets: the connect is started non-blocking so that this one thread can
 * pump its handshake. */
static void
connect_pair(struct host *a, struct host *b, int l, int *c, int *s)
{
    *c = tern_socket_in(b->rt, 0, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in sa = sin_of(A_ADDR, PORT);
    CHECK_EQ(tern_connect(*c, (struct sockaddr *)&sa, sizeof(sa)), -1);
    CHECK_EQ(errno, EINPROGRESS);
    pump(a, b, 1000000000);
    CHECK_EQ(tern_fcntl(*c, F_SETFL, 0), 0); /* blocking from now on */
    *s = tern_accept(l, NULL, NULL);         /* queued: returns at once */
    CHECK(*s >= 0);
    bound_waits(*c);
    bound_waits(*s);
}

/* Waits (bounded) until thread `tid` sleeps; false if it never does. */
static bool
wait_sleeping(pid_t tid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
    for (int i = 0; i < 5000; i++) {
        FILE *f = fopen(path, "r");
        if (f == NULL) {
            return false; /* the thread is gone: it did not block */
        }
        char line[512];
        char *ok = fgets(line, sizeof(line), f);
        fclose(f);
        char *p = ok != NULL ? strrchr(line, ')') : NULL;
        if (p != NULL && p[1] == ' ' && p[2] == 'S') {
            return true;
        }
        struct timespec ts = {0, 1000000}; /* 1 ms, up to 5 s */
        nanosleep(&ts, NULL);
    }
    return false;
}

struct reader {
    int fd;
    atomic_int tid;
    ssize_t n;
    int err;
    char buf[16];
};

static void *
reader_main(void *arg)
{
    struct reader *r = arg;
    atomic_store(&r->tid, (int)syscall(SYS_gettid));
    r->n = tern_read(r->fd, r->buf, sizeof(r->buf));
    r->err = r->n < 0 ? errno : 0;
    return NULL;
}

/* Joins `t` within 5 s; a thread still blocked then fails the program
 * (it cannot be cancelled out of a runtime's lock). */
static void
join_bounded(pthread_t t)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 5;
    int r = pthread_timedjoin_np(t, NULL, &ts);
    CHECK_EQ(r, 0);
    if (r != 0) {
        fprintf(stderr, "a thread stayed blocked: giving up\n");
        exit(1);
    }
}

/* A blocking read on a driven runtime sleeps until the caller feeds the
 * frame that carries the data, then returns it. */
static void
test_blocking_read_woken_by_fed_frame(void)
{
    struct host a, b;
    host_up(&a, A_ADDR, 1);
    host_up(&b, B_ADDR, 2);
    int l = listen_in(&a, PORT), c, s;
    connect_pair(&a, &b, l, &c, &s);

    struct reader r = {.fd = s};
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, reader_main, &r), 0);
    while (atomic_load(&r.tid) == 0) {
        sched_yield();
    }
    CHECK(wait_sleeping((pid_t)atomic_load(&r.tid))); /* blocked, not EAGAIN */
    CHECK_EQ(tern_write(c, "ping", 4), 4);
    CHECK_EQ(deliver(&a, &b), 0); /* nothing reached a yet: the reader still waits */
    CHECK(wait_sleeping((pid_t)atomic_load(&r.tid)));
    CHECK(deliver(&b, &a) > 0); /* the segment with "ping": wakes the reader */
    join_bounded(t);
    CHECK_EQ(r.n, 4);
    CHECK_MEM(r.buf, "ping", 4);

    tern_close(c);
    tern_close(s);
    tern_close(l);
    host_down(&a);
    host_down(&b);
}

/* tern_poll and tern_epoll_wait block too (in the kernel, on the socket's
 * mirror fd) until the frame the caller feeds makes the socket readable. */
struct poller {
    int fd, ep;
    bool use_epoll;
    atomic_int tid;
    int n;
    short revents;
    struct epoll_event ev;
    int64_t took_ms;
};

static int64_t
mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *
poller_main(void *arg)
{
    struct poller *p = arg;
    atomic_store(&p->tid, (int)syscall(SYS_gettid));
    int64_t t0 = mono_ms();
    if (p->use_epoll) {
        p->n = tern_epoll_wait(p->ep, &p->ev, 1, 3000);
    } else {
        struct pollfd pfd = {.fd = p->fd, .events = POLLIN};
        p->n = tern_poll(&pfd, 1, 3000);
        p->revents = pfd.revents;
    }
    p->took_ms = mono_ms() - t0;
    return NULL;
}

static void
test_poll_and_epoll_block(void)
{
    struct host a, b;
    host_up(&a, A_ADDR, 1);
    host_up(&b, B_ADDR, 2);
    int l = listen_in(&a, PORT), c, s;
    connect_pair(&a, &b, l, &c, &s);
    pump(&a, &b, 1000000000);
    int ep = tern_epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 77};
    CHECK_EQ(tern_epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev), 0);
    for (int use_epoll = 0; use_epoll < 2; use_epoll++) {
        struct poller p = {.fd = s, .ep = ep, .use_epoll = use_epoll};
        pthread_t t;
        CHECK_EQ(pthread_create(&t, NULL, poller_main, &p), 0);
        while (atomic_load(&p.tid) == 0) {
            sched_yield();
        }
        CHECK(wait_sleeping((pid_t)atomic_load(&p.tid))); /* asleep, nothing to report */
        CHECK_EQ(tern_write(c, "a", 1), 1);
        CHECK(deliver(&b, &a) > 0); /* the frame with the byte: wakes it */
        join_bounded(t);
        CHECK_EQ(p.n, 1);
        CHECK(p.took_ms < 2500); /* woken by the frame, not by its 3 s timeout */
        if (use_epoll) {
            CHECK_EQ(p.ev.data.u64, 77);
            CHECK(p.ev.events & EPOLLIN);
        } else {
            CHECK(p.revents & POLLIN);
        }
        char buf[4];
        CHECK_EQ(tern_read(s, buf, sizeof(buf)), 1);
        pump(&a, &b, 1000000000);
    }
    tern_close(ep);
    tern_close(c);
    tern_close(s);
    tern_close(l);
    host_down(&a);
    host_down(&b);
}

/* A write that arms a timer earlier than the deadline the caller learnt
 * makes the runtime say so, by callback and eventfd, once per move. */
static void
test_write_arms_earlier_deadline(void)
{
    struct host a, b;
    host_up(&a, A_ADDR, 1);
    host_up(&b, B_ADDR, 2);
    int l = listen_in(&a, PORT), c, s;
    connect_pair(&a, &b, l, &c, &s);
    pump(&a, &b, 1000000000);

    int64_t known = tern_rt_next_deadline(b.rt);
    CHECK_EQ(known, INT64_MAX); /* an idle connection: no timer */
    int dfd = tern_rt_deadline_fd(b.rt);
    CHECK(dfd >= 0);
    struct pollfd p = {.fd = dfd, .events = POLLIN};
    CHECK_EQ(poll(&p, 1, 0), 0);
    int told = atomic_load(&b.told);

    CHECK_EQ(tern_write(c, "x", 1), 1); /* sends, and arms the RTO */
    CHECK_EQ(atomic_load(&b.told), told + 1);
    CHECK_EQ(poll(&p, 1, 0), 1); /* a loop asleep in poll wakes */
    int64_t d = tern_rt_next_deadline(b.rt);
    CHECK(d < known);
    CHECK(d > now_ns);
    CHECK_EQ(b.told_at, d);
    CHECK_EQ(poll(&p, 1, 0), 0); /* learnt: drained */

    /* The RTO is already armed: a second write moves nothing earlier. */
    CHECK_EQ(tern_write(c, "y", 1), 1);
    CHECK_EQ(atomic_load(&b.told), told + 1);
    CHECK_EQ(poll(&p, 1, 0), 0);
    /* tern_rt_attach's runtimes have no such fd. */
    struct tern_rt *att;
    CHECK_EQ(tern_rt_attach(b.st, NULL, NULL, &att), TERN_OK);
    CHECK_EQ(tern_rt_deadline_fd(att), -1);
    CHECK_EQ(tern_rt_advance(att, now_ns), TERN_ERR_INVAL);
    tern_rt_free(att);

    pump(&a, &b, 1000000000);
    char buf[4];
    CHECK_EQ(tern_read(s, buf, sizeof(buf)), 2);
    tern_close(c);
    tern_close(s);
    tern_close(l);
    host_down(&a);
    host_down(&b);
}

/* Two runtimes, each with a listener on the same port: each socket is its
 * own runtime's, a number freed by one and taken by the other names the
 * new socket, and a connection reaches only the listener of the stack it
 * was sent to. */
static void
test_runtimes_apart(void)
{
    struct host a, b;
    host_up(&a, A_ADDR, 1);
    host_up(&b, B_ADDR, 2);
    int la = listen_in(&a, PORT);
    int lb = listen_in(&b, PORT); /* same port, other runtime: no EADDRINUSE */
    CHECK(la >= 0 && lb >= 0 && la != lb);

    /* A number a socket of a closed, then a socket of b takes. */
    int xa = tern_socket_in(a.rt, 0, AF_INET, SOCK_STREAM, 0);
    CHECK_EQ(tern_close(xa), 0);
    int xb = tern_socket_in(b.rt, 0, AF_INET, SOCK_STREAM, 0);
    CHECK_EQ(xb, xa);
    struct sockaddr_in sa = sin_of(B_ADDR, 6000), got;
    CHECK_EQ(tern_bind(xb, (struct sockaddr *)&sa, sizeof(sa)), 0); /* b's address */
    socklen_t gl = sizeof(got);
    CHECK_EQ(tern_getsockname(xb, (struct sockaddr *)&got, &gl), 0);
    CHECK_EQ(ntohl(got.sin_addr.s_addr), B_ADDR);
    CHECK_EQ(tern_close(xb), 0);

    int c, s;
    connect_pair(&a, &b, la, &c, &s); /* b connects to a's port */
    int fl = tern_fcntl(lb, F_GETFL);
    CHECK_EQ(tern_fcntl(lb, F_SETFL, fl | O_NONBLOCK), 0);
    CHECK_EQ(tern_accept(lb, NULL, NULL), -1); /* b's listener saw nothing */
    CHECK_EQ(errno, EAGAIN);
    tern_close(c);
    tern_close(s);
    tern_close(la);
    tern_close(lb);
    host_down(&a);
    host_down(&b);
}

/* Freeing one runtime leaves another's sockets alone, even the one that
 * took the number of a socket of the freed runtime the application had
 * closed with libc's close(). */
static void
test_free_one_runtime(void)
{
    struct host a, b, x;
    host_up(&a, A_ADDR, 1);
    host_up(&b, B_ADDR, 2);
    host_up(&x, X_ADDR, 3);
    int l = listen_in(&a, PORT), c;
    c = tern_socket_in(b.rt, 0, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in sa = sin_of(A_ADDR, PORT);
    CHECK_EQ(tern_connect(c, (struct sockaddr *)&sa, sizeof(sa)), -1);
    pump(&a, &b, 1000000000);
    CHECK_EQ(tern_fcntl(c, F_SETFL, 0), 0);

    int lx = listen_in(&x, 7000);
    CHECK_EQ(close(lx), 0); /* the application's mistake: libc's close */
    int s = tern_accept(l, NULL, NULL);
    CHECK_EQ(s, lx); /* a's new socket holds x's old number */
    bound_waits(c);
    bound_waits(s);

    host_down(&x); /* must touch neither the number nor its registration */
    struct stat sb;
    CHECK_EQ(fstat(s, &sb), 0);
    CHECK(tern_is_socket(s));
    CHECK_EQ(tern_write(c, "over", 4), 4);
    pump(&a, &b, 1000000000);
    char buf[8];
    CHECK_EQ(tern_read(s, buf, sizeof(buf)), 4);
    CHECK_MEM(buf, "over", 4);
    CHECK_EQ(tern_write(s, "back", 4), 4);
    pump(&a, &b, 1000000000);
    CHECK_EQ(tern_read(c, buf, sizeof(buf)), 4);
    CHECK_MEM(buf, "back", 4);
    tern_close(c);
    tern_close(s);
    tern_close(l);
    host_down(&a);
    host_down(&b);
}

/* A socket of runtime x closed with libc's close() whose number a socket of
 * runtime a then took is forgotten at x's next call: its port is free
 * again, and a's socket keeps the number. */
static void
test_other_runtime_took_the_number(void)
{
    struct host a, x;
    host_up(&a, A_ADDR, 1);
    host_up(&x, X_ADDR, 3);
    int lx = listen_in(&x, 7000);
    CHECK_EQ(close(lx), 0); /* the application's mistake: libc's close */
    int na = tern_socket_in(a.rt, 0, AF_INET, SOCK_STREAM, 0);
    CHECK_EQ(na, lx); /* a's socket holds x's old number */
    int y = tern_socket_in(x.rt, 0, AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = sin_of(0, 7000);
    CHECK_EQ(tern_bind(y, (struct sockaddr *)&sa, sizeof(sa)), 0); /* the old listener is gone */
    CHECK(tern_is_socket(na));
    sa = sin_of(A_ADDR, 7000);
    CHECK_EQ(tern_bind(na, (struct sockaddr *)&sa, sizeof(sa)), 0); /* still a's */
    CHECK_EQ(tern_close(y), 0);
    CHECK_EQ(tern_close(na), 0);
    host_down(&x);
    host_down(&a);
}

/* tern_forget after a libc close(): the peer sees the FIN close(2) would
 * have sent, the number (now a pipe's) is left alone. */
static void
test_forget(void)
{
    struct host a, b;
    host_up(&a, A_ADDR, 1);
    host_up(&b, B_ADDR, 2);
    int l = listen_in(&a, PORT), c, s;
    connect_pair(&a, &b, l, &c, &s);
    pump(&a, &b, 1000000000);

    CHECK_EQ(tern_forget(s), -1); /* still a live tern socket */
    CHECK_EQ(errno, EBUSY);
    int pp[2];
    CHECK_EQ(pipe(pp), 0);
    CHECK_EQ(tern_forget(pp[0]), -1); /* never a tern socket */
    CHECK_EQ(errno, EBADF);
    close(pp[0]);
    close(pp[1]);

    CHECK_EQ(close(c), 0); /* libc's close of a tern socket */
    CHECK_EQ(pipe(pp), 0);
    CHECK_EQ(pp[0], c); /* the number is a pipe's now */
    CHECK_EQ(tern_forget(c), 0);
    CHECK_EQ(tern_forget(c), -1); /* forgotten once */
    CHECK_EQ(errno, EBADF);
    pump(&a, &b, 1000000000);
    char buf[4];
    CHECK_EQ(tern_read(s, buf, sizeof(buf)), 0); /* the FIN arrived */
    CHECK_EQ(write(pp[1], "p", 1), 1);           /* the pipe is untouched */
    CHECK_EQ(read(pp[0], buf, 1), 1);
    CHECK_EQ(buf[0], 'p');
    close(pp[0]);
    close(pp[1]);
    tern_close(s);
    tern_close(l);
    host_down(&a);
    host_down(&b);
}

/* tern_rt_set_intr: a signal handler that runs on a thread blocked in a
 * read ends the read with EINTR, or (SA_RESTART) lets it go on unless the
 * socket has SO_RCVTIMEO; without the hooks the read sleeps through the
 * signal (the default, unchanged). The hooks are the test's own: each
 * thread's eventfd, and a record of the handler's SA_RESTART that a
 * SIGUSR1 handler leaves, as the preload library's wrapper does. */
static __thread int tl_efd = -1;
static __thread int tl_sig;
static atomic_int sig_mode;    /* what the next handler records */
static atomic_int sig_handled; /* handlers run */

static int
intr_wake_fd(void *ctx)
{
    (void)ctx;
    if (tl_efd < 0) {
        tl_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    }
    return tl_efd;
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
on_usr1(int sig)
{
    (void)sig;
    tl_sig = atomic_load(&sig_mode);
    atomic_fetch_add(&sig_handled, 1);
}

/* One blocked read, one SIGUSR1 to its thread. `hooks`: the runtime has
 * them; `timeo`: SO_RCVTIMEO set (5 s, else none). `interrupted`: the read
 * must end with EINTR; else it must go on and return the data sent. */
static void
intr_case(bool hooks, int mode, bool timeo, bool interrupted)
{
    struct host a, b;
    host_up(&a, A_ADDR, 1);
    host_up(&b, B_ADDR, 2);
    struct tern_rt_intr in = {.wake_fd = intr_wake_fd, .signalled = intr_signalled};
    if (hooks) {
        CHECK_EQ(tern_rt_set_intr(a.rt, &in), 0);
    }
    int l = listen_in(&a, PORT), c, s;
    connect_pair(&a, &b, l, &c, &s);
    if (!timeo) {
        struct timeval none = {0};
        CHECK_EQ(tern_setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof(none)), 0);
    }
    atomic_store(&sig_mode, mode);
    int before = atomic_load(&sig_handled);
    struct reader r = {.fd = s};
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, reader_main, &r), 0);
    while (atomic_load(&r.tid) == 0) {
        sched_yield();
    }
    CHECK(wait_sleeping((pid_t)atomic_load(&r.tid)));
    CHECK_EQ(pthread_kill(t, SIGUSR1), 0);
    for (int i = 0; i < 5000 && atomic_load(&sig_handled) == before; i++) {
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
    CHECK_EQ(atomic_load(&sig_handled), before + 1);
    if (interrupted) {
        join_bounded(t);
        CHECK_EQ(r.n, -1);
        CHECK_EQ(r.err, EINTR);
    } else {
        CHECK(wait_sleeping((pid_t)atomic_load(&r.tid))); /* still (or again) asleep */
        CHECK_EQ(tern_write(c, "ping", 4), 4);
        CHECK(deliver(&b, &a) > 0);
        join_bounded(t);
        CHECK_EQ(r.n, 4);
        CHECK_MEM(r.buf, "ping", 4);
    }
    /* The socket still works after the interruption. */
    CHECK_EQ(tern_write(c, "pong", 4), 4);
    pump(&a, &b, 1000000000); /* the ACK of "ping" first (Nagle holds "pong") */
    char buf[8];
    CHECK_EQ(tern_read(s, buf, sizeof(buf)), 4);
    CHECK_MEM(buf, "pong", 4);
    tern_close(c);
    tern_close(s);
    tern_close(l);
    host_down(&a);
    host_down(&b);
}

static void
test_signal_interrupts_blocked_read(void)
{
    struct sigaction sa = {.sa_handler = on_usr1}; /* the handler records; no SA_RESTART needed */
    sigemptyset(&sa.sa_mask);
    CHECK_EQ(sigaction(SIGUSR1, &sa, NULL), 0);
    intr_case(true, TERN_INTR_EINTR, false, true);    /* no SA_RESTART: EINTR */
    intr_case(true, TERN_INTR_RESTART, false, false); /* SA_RESTART: goes on */
    intr_case(true, TERN_INTR_RESTART, true, true);   /* SA_RESTART, SO_RCVTIMEO: EINTR */
    intr_case(false, TERN_INTR_EINTR, false, false);  /* no hooks: sleeps through it */
    struct tern_rt_intr bad = {.wake_fd = intr_wake_fd};
    struct host a;
    host_up(&a, A_ADDR, 1);
    CHECK_EQ(tern_rt_set_intr(a.rt, &bad), -1);
    CHECK_EQ(errno, EINVAL);
    CHECK_EQ(tern_rt_set_intr(a.rt, NULL), 0);
    host_down(&a);
    signal(SIGUSR1, SIG_DFL);
}

int
main(void)
{
    RUN(test_blocking_read_woken_by_fed_frame);
    RUN(test_poll_and_epoll_block);
    RUN(test_write_arms_earlier_deadline);
    RUN(test_runtimes_apart);
    RUN(test_free_one_runtime);
    RUN(test_other_runtime_took_the_number);
    RUN(test_forget);
    RUN(test_signal_interrupts_blocked_read);
    return CHECK_DONE();
}
