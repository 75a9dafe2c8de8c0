/*
 * tests/unit/test_socket_driver.c: the socket runtime over packet paths
 * this test implements itself through tern/driver.h, with public headers
 * only, to show that the interface is all a driver needs.
 *
 * The wire driver: each side owns one end of an AF_UNIX datagram socket
 * pair (its fd), a stack whose transmit callback queues frames until
 * flush() sends them, and a hold queue where arrived frames wait DELAY_NS
 * before service() feeds them to the stack, so only next_wake() can tell
 * the runtime when they are due. Each side runs on a clock of its own
 * (CLOCK_MONOTONIC plus an offset), which must become the runtime's time.
 *
 * The loop driver: one runtime, two stacks, no fd: a frame one stack
 * transmits waits in the other's inbox until the next turn, which
 * next_wake() asks for at once.
 *
 * Helper threads only make socket calls and record what they got; every
 * CHECK runs on the main thread (tests/check.h is single-threaded).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "tern/driver.h"
#include "tern/socket.h"
#include "tern/stack.h"
#include "tern/stats.h"

#define A_ADDR   TERN_IPV4(192, 0, 2, 1)
#define B_ADDR   TERN_IPV4(192, 0, 2, 2)
#define MTU      1500
#define QLEN     1024
#define DELAY_NS 5000000LL /* 5 ms each way in the wire's hold queue */
#define PORT     5000
#define SEC      1000000000LL

static int64_t
mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * SEC + ts.tv_nsec;
}

struct frame {
    int64_t due;
    size_t len;
    uint8_t b[MTU];
};

/* A FIFO of frames; the runtime's lock guards it (every driver callback
 * and every transmit runs under it). */
struct queue {
    struct frame f[QLEN];
    int head, count;
};

static bool
q_push(struct queue *q, const uint8_t *b, size_t len, int64_t due)
{
    if (q->count == QLEN || len > MTU) {
        return false;
    }
    struct frame *f = &q->f[(q->head + q->count) % QLEN];
    memcpy(f->b, b, len);
    f->len = len;
    f->due = due;
    q->count++;
    return true;
}

static struct frame *
q_head(struct queue *q)
{
    return q->count > 0 ? &q->f[q->head] : NULL;
}

static void
q_pop(struct queue *q)
{
    q->head = (q->head + 1) % QLEN;
    q->count--;
}

/* ---- the wire driver ---- */

struct wire_end {
    int fd;
    int64_t offset; /* this side's clock: CLOCK_MONOTONIC + offset */
    struct tern_stack *st;
    struct queue out, held;
    uint8_t buf[MTU];
    /* Written under the runtime's lock or by tern_rt_free; read after. */
    long services, flushes, sent, received, released, lost, closes;
};

static int64_t
wire_now(void *ctx)
{
    const struct wire_end *w = ctx;
    return mono_ns() + w->offset;
}

static int
wire_transmit(void *ctx, int netif, const uint8_t *pkt, size_t len, uint32_t next_hop)
{
    struct wire_end *w = ctx;
    (void)netif, (void)next_hop;
    if (!q_push(&w->out, pkt, len, 0)) {
        w->lost++;
        return -1;
    }
    return 0;
}

static int
wire_service(void *ctx, int64_t now_ns)
{
    struct wire_end *w = ctx;
    w->services++;
    for (;;) {
        ssize_t n = recv(w->fd, w->buf, sizeof(w->buf), MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
                break;
            }
            return TERN_ERR_TXFAIL;
        }
        w->received++;
        if (!q_push(&w->held, w->buf, (size_t)n, now_ns + DELAY_NS)) {
            w->lost++;
        }
    }
    for (struct frame *f; (f = q_head(&w->held)) != NULL && f->due <= now_ns; q_pop(&w->held)) {
        (void)tern_stack_input(w->st, 0, f->b, f->len, now_ns);
        w->released++;
    }
    return TERN_OK;
}

static int64_t
wire_next_wake(void *ctx)
{
    struct wire_end *w = ctx;
    const struct frame *f = q_head(&w->held);
    return f != NULL ? f->due : INT64_MAX;
}

static void
wire_flush(void *ctx)
{
    struct wire_end *w = ctx;
    w->flushes++;
    for (struct frame *f; (f = q_head(&w->out)) != NULL; q_pop(&w->out)) {
        if (send(w->fd, f->b, f->len, MSG_DONTWAIT) == (ssize_t)f->len) {
            w->sent++;
        } else {
            w->lost++; /* the socket pair is full: TCP will send it again */
        }
    }
}

static void
wire_close(void *ctx)
{
    struct wire_end *w = ctx;
    w->closes++;
    tern_stack_free(w->st);
    close(w->fd);
}

static const struct tern_driver_ops wire_ops = {
    .now = wire_now,
    .service = wire_service,
    .next_wake = wire_next_wake,
    .flush = wire_flush,
    .close = wire_close,
};

static struct tern_stack *
stack_new(uint32_t addr, uint64_t seed, tern_transmit_fn tx, void *tx_ctx, int64_t now)
{
    struct tern_config cfg;
    tern_config_init(&cfg);
    cfg.deterministic = true; /* a test: the same ISNs every run */
    cfg.seed = seed;
    cfg.n_netifs = 1;
    cfg.netifs[0] = (struct tern_netif_config){
        .addr = addr, .prefix_len = 24, .mtu = MTU, .transmit = tx, .transmit_ctx = tx_ctx};
    struct tern_stack *st = NULL;
    CHECK_EQ(tern_stack_new(&cfg, now, &st), TERN_OK);
    return st;
}

/* Two runtimes, a on addr A and b on addr B, joined by a wire. */
struct pair {
    struct wire_end a, b;
    struct tern_rt *rt_a, *rt_b;
};

static void
wire_start(struct wire_end *w, int fd, int64_t offset, uint32_t addr, uint64_t seed,
           struct tern_rt **rt)
{
    w->fd = fd;
    w->offset = offset;
    w->st = stack_new(addr, seed, wire_transmit, w, wire_now(w));
    struct tern_driver drv = {
        .ops = &wire_ops, .ctx = w, .fd = fd, .n_stacks = 1, .stacks = &w->st};
    CHECK_EQ(tern_rt_start(&drv, rt), TERN_OK);
}

static struct pair *
pair_up(void)
{
    struct pair *p = calloc(1, sizeof(*p));
    int sv[2];
    CHECK_EQ(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), 0);
    /* Clocks far apart: each stack must run on its own driver's time. */
    wire_start(&p->a, sv[0], 500 * SEC, A_ADDR, 1, &p->rt_a);
    wire_start(&p->b, sv[1], 9000 * SEC, B_ADDR, 2, &p->rt_b);
    return p;
}

static struct sockaddr_in
sin_of(uint32_t addr, uint16_t port)
{
    struct sockaddr_in s = {.sin_family = AF_INET};
    s.sin_addr.s_addr = htonl(addr);
    s.sin_port = htons(port);
    return s;
}

/* A call that a broken mechanism would leave blocked fails after 10 s
 * instead. */
static void
bound_waits(int fd)
{
    struct timeval tv = {.tv_sec = 10};
    CHECK_EQ(tern_setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
    CHECK_EQ(tern_setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)), 0);
}

static int
listen_in(struct tern_rt *rt, int host)
{
    int fd = tern_socket_in(rt, host, AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = sin_of(0, PORT);
    CHECK(fd >= 0);
    CHECK_EQ(tern_bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    CHECK_EQ(tern_listen(fd, 4), 0);
    bound_waits(fd);
    return fd;
}

static int
connect_in(struct tern_rt *rt, int host, uint32_t to)
{
    int fd = tern_socket_in(rt, host, AF_INET, SOCK_STREAM, 0);
    CHECK(fd >= 0);
    bound_waits(fd);
    struct sockaddr_in sa = sin_of(to, PORT);
    CHECK_EQ(tern_connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return fd;
}

static bool
read_full(int fd, uint8_t *b, size_t n)
{
    for (size_t got = 0; got < n;) {
        ssize_t r = tern_read(fd, b + got, n - got);
        if (r <= 0) {
            return false;
        }
        got += (size_t)r;
    }
    return true;
}

static bool
write_full(int fd, const uint8_t *b, size_t n)
{
    for (size_t put = 0; put < n;) {
        ssize_t r = tern_write(fd, b + put, n - put);
        if (r <= 0) {
            return false;
        }
        put += (size_t)r;
    }
    return true;
}

/* The echo server of a helper thread: accepts one connection and echoes
 * until the peer closes it or it fails; records how it ended. */
struct echo {
    int listener;
    long echoed;
    int end_ret, end_errno; /* the read that ended it */
};

static void *
echo_main(void *arg)
{
    struct echo *e = arg;
    int s = tern_accept(e->listener, NULL, NULL);
    if (s < 0) {
        e->end_ret = -2;
        e->end_errno = errno;
        return NULL;
    }
    bound_waits(s);
    static uint8_t buf[16384];
    for (;;) {
        ssize_t n = tern_read(s, buf, sizeof(buf));
        if (n <= 0) {
            e->end_ret = (int)n;
            e->end_errno = n < 0 ? errno : 0;
            break;
        }
        if (!write_full(s, buf, (size_t)n)) {
            e->end_ret = -3;
            e->end_errno = errno;
            break;
        }
        e->echoed += n;
    }
    tern_close(s);
    return NULL;
}

/* Blocking calls over the test's wire: a handshake, 20 request/response
 * rounds, 256 KB echoed in chunks; then the client's runtime is freed with
 * its connection open, and the RST that the last flush sends reaches the
 * server. */
static void
test_tcp_echo_over_own_wire(void)
{
    struct pair *p = pair_up();
    int64_t a_now = tern_rt_now(p->rt_a), b_now = tern_rt_now(p->rt_b);
    CHECK(a_now - mono_ns() > 499 * SEC && a_now - mono_ns() < 501 * SEC); /* the driver's clock */
    CHECK(b_now - mono_ns() > 8999 * SEC && b_now - mono_ns() < 9001 * SEC);

    struct echo e = {.listener = listen_in(p->rt_a, 0)};
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, echo_main, &e), 0);
    int c = connect_in(p->rt_b, 0, A_ADDR);

    uint8_t msg[100], back[100];
    int rounds = 0;
    for (int i = 0; i < 20; i++) {
        memset(msg, 'a' + i, sizeof(msg));
        if (write_full(c, msg, sizeof(msg)) && read_full(c, back, sizeof(back)) &&
            memcmp(msg, back, sizeof(msg)) == 0) {
            rounds++;
        }
    }
    CHECK_EQ(rounds, 20);

    enum { CHUNK = 8192, TOTAL = 256 * 1024 };
    static uint8_t out[CHUNK], in[CHUNK];
    long same = 0;
    for (long off = 0; off < TOTAL; off += CHUNK) {
        for (int i = 0; i < CHUNK; i++) {
            out[i] = (uint8_t)((off + i) * 7 + 3);
        }
        if (write_full(c, out, CHUNK) && read_full(c, in, CHUNK) && memcmp(out, in, CHUNK) == 0) {
            same += CHUNK;
        }
    }
    CHECK_EQ(same, TOTAL);

    /* Free b with c still open: its sockets are aborted, and the RST goes
     * out through the final flush before the driver is closed. */
    tern_rt_free(p->rt_b);
    pthread_join(th, NULL);
    CHECK_EQ(e.echoed, 20 * 100 + TOTAL);
    CHECK_EQ(e.end_ret, -1);
    CHECK_EQ(e.end_errno, ECONNRESET);
    tern_close(e.listener);
    tern_rt_free(p->rt_a);

    for (int i = 0; i < 2; i++) {
        const struct wire_end *w = i == 0 ? &p->a : &p->b;
        CHECK_EQ(w->closes, 1);
        CHECK(w->services > 0);
        CHECK(w->flushes > 0);
        CHECK(w->sent > 0);
        CHECK_EQ(w->released, w->received - w->held.count);
    }
    free(p);
}

/* An ICMP echo: the stacks have no timer of their own, so the request held
 * in b's queue and the reply held in a's reach their stacks only because
 * the runtime sleeps until next_wake(). The round trip, measured on a's
 * (driver) clock, includes both holds. */
struct pong {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int got;
    int64_t at;
};

static void
on_echo(void *ctx, const struct tern_echo_reply *r, int64_t now_ns)
{
    struct pong *pg = ctx;
    pthread_mutex_lock(&pg->mu);
    if (r->from == B_ADDR && r->seq == 7) {
        pg->got++;
        pg->at = now_ns;
    }
    pthread_cond_signal(&pg->cv);
    pthread_mutex_unlock(&pg->mu);
}

static void
test_driver_next_wake_releases_held_frames(void)
{
    struct pair *p = pair_up();
    struct pong pg = {.got = 0};
    pthread_mutex_init(&pg.mu, NULL);
    pthread_cond_init(&pg.cv, NULL);
    static const uint8_t data[32] = "driver";

    tern_rt_lock(p->rt_a);
    struct tern_stack *st = tern_rt_stack(p->rt_a, 0);
    CHECK(st == p->a.st);
    tern_icmp_set_echo_handler(st, on_echo, &pg);
    int64_t sent_at = tern_rt_now(p->rt_a);
    CHECK_EQ(tern_icmp_echo_send(st, B_ADDR, 1, 7, data, sizeof(data), sent_at), TERN_OK);
    tern_rt_unlock(p->rt_a); /* flushes the request from this thread */

    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    pthread_mutex_lock(&pg.mu);
    while (pg.got == 0 && pthread_cond_timedwait(&pg.cv, &pg.mu, &until) == 0) {
    }
    int got = pg.got;
    int64_t rtt = pg.at - sent_at;
    pthread_mutex_unlock(&pg.mu);
    CHECK_EQ(got, 1);
    CHECK(rtt >= 2 * DELAY_NS);
    CHECK(rtt < 10 * SEC);

    tern_rt_free(p->rt_a);
    tern_rt_free(p->rt_b);
    CHECK_EQ(p->a.sent, 1);
    CHECK_EQ(p->b.received, 1);
    CHECK_EQ(p->b.released, 1);
    CHECK_EQ(p->a.released, 1);
    CHECK_EQ(p->a.closes + p->b.closes, 2);
    pthread_cond_destroy(&pg.cv);
    pthread_mutex_destroy(&pg.mu);
    free(p);
}

/* ---- the loop driver: two stacks in one runtime, no fd ---- */

struct loop {
    struct tern_stack *st[2];
    struct queue inbox[2]; /* frames for stack i */
    long turns, closes;
};

struct loop_tx {
    struct loop *l;
    int to;
};

static int
loop_transmit(void *ctx, int netif, const uint8_t *pkt, size_t len, uint32_t next_hop)
{
    struct loop_tx *t = ctx;
    (void)netif, (void)next_hop;
    return q_push(&t->l->inbox[t->to], pkt, len, 0) ? 0 : -1;
}

static int
loop_service(void *ctx, int64_t now_ns)
{
    struct loop *l = ctx;
    l->turns++;
    /* Frames delivered now may answer into the other inbox: bounded rounds. */
    for (int round = 0; round < 64 && (l->inbox[0].count || l->inbox[1].count); round++) {
        for (int i = 0; i < 2; i++) {
            for (int n = l->inbox[i].count; n > 0; n--) {
                struct frame *f = q_head(&l->inbox[i]);
                uint8_t b[MTU];
                size_t len = f->len;
                memcpy(b, f->b, len);
                q_pop(&l->inbox[i]);
                (void)tern_stack_input(l->st[i], 0, b, len, now_ns);
            }
        }
    }
    return TERN_OK;
}

/* Frames waiting: a turn now. */
static int64_t
loop_next_wake(void *ctx)
{
    const struct loop *l = ctx;
    return l->inbox[0].count || l->inbox[1].count ? INT64_MIN : INT64_MAX;
}

static void
loop_close(void *ctx)
{
    struct loop *l = ctx;
    l->closes++;
    tern_stack_free(l->st[0]);
    tern_stack_free(l->st[1]);
}

static const struct tern_driver_ops loop_ops = {
    .service = loop_service, .next_wake = loop_next_wake, .close = loop_close};

struct sender {
    struct tern_rt *rt;
    size_t total;
    size_t sent;
};

static void *
sender_main(void *arg)
{
    struct sender *s = arg;
    int fd = connect_in(s->rt, 1, A_ADDR);
    static uint8_t buf[4096];
    while (s->sent < s->total) {
        for (size_t i = 0; i < sizeof(buf); i++) {
            buf[i] = (uint8_t)((s->sent + i) % 251);
        }
        size_t n = s->total - s->sent < sizeof(buf) ? s->total - s->sent : sizeof(buf);
        if (!write_full(fd, buf, n)) {
            break;
        }
        s->sent += n;
    }
    tern_close(fd);
    return NULL;
}

/* Host 1 sends 1 MB to host 0's listener through a driver with no fd and
 * no clock of its own (CLOCK_MONOTONIC): the frames a socket call queues
 * make next_wake() ask for a turn, and the runtime wakes its thread. */
static void
test_two_stacks_no_fd(void)
{
    static struct loop l;
    static struct loop_tx tx[2];
    memset(&l, 0, sizeof(l));
    for (int i = 0; i < 2; i++) {
        tx[i] = (struct loop_tx){.l = &l, .to = 1 - i};
        l.st[i] =
            stack_new(i == 0 ? A_ADDR : B_ADDR, 10 + (uint64_t)i, loop_transmit, &tx[i], mono_ns());
    }
    struct tern_driver drv = {.ops = &loop_ops, .ctx = &l, .fd = -1, .n_stacks = 2, .stacks = l.st};
    struct tern_rt *rt = NULL;
    CHECK_EQ(tern_rt_start(&drv, &rt), TERN_OK);
    CHECK(tern_rt_stack(rt, 0) == l.st[0] && tern_rt_stack(rt, 1) == l.st[1]);
    CHECK(tern_rt_stack(rt, 2) == NULL);

    int lfd = listen_in(rt, 0);
    struct sender s = {.rt = rt, .total = 1 << 20};
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, sender_main, &s), 0);
    int c = tern_accept(lfd, NULL, NULL);
    CHECK(c >= 0);
    bound_waits(c);
    static uint8_t buf[8192];
    size_t got = 0, right = 0;
    for (;;) {
        ssize_t n = tern_read(c, buf, sizeof(buf));
        if (n <= 0) {
            CHECK_EQ(n, 0); /* the sender's FIN, not an error */
            break;
        }
        for (ssize_t i = 0; i < n; i++) {
            right += buf[i] == (uint8_t)((got + (size_t)i) % 251);
        }
        got += (size_t)n;
    }
    pthread_join(th, NULL);
    CHECK_EQ(s.sent, s.total);
    CHECK_EQ(got, s.total);
    CHECK_EQ(right, s.total);
    tern_close(c);
    tern_close(lfd);
    tern_rt_free(rt);
    CHECK_EQ(l.closes, 1);
    CHECK(l.turns > 0);
}

/* ---- the driver's lifetime ---- */

struct counted {
    long services, closes;
    int fail_with; /* what service returns */
};

static int
counted_service(void *ctx, int64_t now_ns)
{
    struct counted *c = ctx;
    (void)now_ns;
    c->services++;
    return c->fail_with;
}

static int64_t
counted_next_wake(void *ctx)
{
    (void)ctx;
    return INT64_MIN; /* always due: a thread that went on would spin */
}

static void
counted_close(void *ctx)
{
    struct counted *c = ctx;
    c->closes++;
}

static const struct tern_driver_ops counted_ops = {
    .service = counted_service, .next_wake = counted_next_wake, .close = counted_close};
static const struct tern_driver_ops no_service_ops = {.close = counted_close};

/* tern_rt_start owns the driver whatever happens: a refused driver is
 * closed at once, a running one once by tern_rt_free; a service error
 * stops the thread, and the runtime is still freed cleanly. */
static void
test_driver_lifetime(void)
{
    struct counted c = {0};
    struct tern_stack *st = stack_new(A_ADDR, 3, loop_transmit, NULL, mono_ns());
    struct tern_stack *none[1] = {NULL};
    static char sentinel;
    struct tern_rt *rt = (struct tern_rt *)(void *)&sentinel; /* must be overwritten */

    struct tern_driver bad[] = {
        {.ops = &counted_ops, .ctx = &c, .fd = -1, .n_stacks = 0, .stacks = &st},
        {.ops = &counted_ops, .ctx = &c, .fd = -1, .n_stacks = 1, .stacks = NULL},
        {.ops = &counted_ops, .ctx = &c, .fd = -1, .n_stacks = 1, .stacks = none},
        {.ops = &counted_ops,
         .ctx = &c,
         .fd = -1,
         .n_stacks = TERN_DRIVER_MAX_STACKS + 1,
         .stacks = &st},
        {.ops = &no_service_ops, .ctx = &c, .fd = -1, .n_stacks = 1, .stacks = &st},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK_EQ(tern_rt_start(&bad[i], &rt), TERN_ERR_INVAL);
        CHECK_EQ(c.closes, (long)i + 1);
        CHECK(rt == NULL);
    }
    struct tern_driver good = {
        .ops = &counted_ops, .ctx = &c, .fd = -1, .n_stacks = 1, .stacks = &st};
    CHECK_EQ(tern_rt_start(&good, NULL), TERN_ERR_INVAL);
    CHECK_EQ(c.closes, 6);
    CHECK_EQ(tern_rt_start(NULL, &rt), TERN_ERR_INVAL);
    CHECK_EQ(c.services, 0);

    c = (struct counted){.fail_with = TERN_ERR_TXFAIL};
    rt = NULL;
    CHECK_EQ(tern_rt_start(&good, &rt), TERN_OK);
    CHECK(rt != NULL);
    /* The thread's first turn fails; freeing must neither hang nor close
     * twice, whenever the thread got there. */
    tern_rt_free(rt);
    CHECK_EQ(c.closes, 1);
    CHECK(c.services <= 1);

    /* A next_wake long past (INT64_MIN) asks for turn after turn, without
     * a sleep and without overflowing the time arithmetic (UBSan). */
    c = (struct counted){.fail_with = TERN_OK};
    CHECK_EQ(tern_rt_start(&good, &rt), TERN_OK);
    long turns = 0;
    int64_t give_up = mono_ns() + 10 * SEC;
    while (turns < 1000 && mono_ns() < give_up) {
        tern_rt_lock(rt);
        turns = c.services;
        tern_rt_unlock(rt);
        sched_yield();
    }
    CHECK(turns >= 1000);
    tern_rt_free(rt);
    CHECK_EQ(c.closes, 1);
    tern_stack_free(st);
}

int
main(void)
{
    RUN(test_tcp_echo_over_own_wire);
    RUN(test_driver_next_wake_releases_held_frames);
    RUN(test_two_stacks_no_fd);
    RUN(test_driver_lifetime);
    return CHECK_DONE();
}
