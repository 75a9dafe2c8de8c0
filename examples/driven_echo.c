/*
 * examples/driven_echo.c: a program that owns its packet path.
 *
 * Two tern stacks live in one process, each under a caller-driven runtime
 * (tern_rt_drive, include/tern/socket.h). A thread on stack A is a TCP echo
 * server written with plain blocking calls (accept, read, write); a client
 * on stack B connects, writes --bytes bytes from one thread and reads the
 * echo back from another, checking every byte. Nothing carries the packets
 * but main(): the stacks' transmit callbacks queue each frame, and main's
 * loop hands it to the other stack (tern_rt_input), runs the stacks' timers
 * (tern_rt_poll) and sleeps in ppoll(2) until a frame is queued, a deadline
 * is due, or a socket call has armed an earlier timer (the runtimes'
 * deadline eventfds). This is the shape of a DPDK or XDP loop, a test
 * harness or a preload library: the sockets block as on Linux, the loop
 * stays the caller's.
 *
 * --drop-every N drops every Nth frame in each direction, so that the
 * connection lives on retransmission timers that socket calls arm while
 * the loop sleeps. No device, no root. This program is tern-only: its
 * subject is the packet path, which the kernel's sockets do not expose.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/eventfd.h>

#include "tern/socket.h"

#define A_ADDR   TERN_IPV4(10, 99, 0, 1) /* the echo server's stack */
#define B_ADDR   TERN_IPV4(10, 99, 0, 2) /* the client's */
#define PORT     7
#define MTU      1500
#define RING_LEN 512 /* frames queued per direction; more are dropped */

/* One direction of the wire: frames a stack sent, waiting for main(). */
struct wire {
    pthread_mutex_t mu;
    uint8_t frame[RING_LEN][MTU];
    size_t len[RING_LEN];
    int head, count;
    long sent, dropped, seen;
    int drop_every;
    int wake_fd; /* main's eventfd: a frame is waiting */
};

struct prog {
    long bytes;
    int drop_every;
    int timeout_s;
    struct wire ab, ba; /* A -> B, B -> A */
    struct tern_rt *rt_a, *rt_b;
    int wake_fd;
    int listen_fd;
    atomic_long deadline_moves;
    atomic_bool done;
    int result; /* 0 when the echo came back whole */
    long echoed;
};

static int64_t
mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static uint8_t
pattern(long i)
{
    return (uint8_t)(i * 131 + (i >> 9));
}

/* The stacks' transmit callback: runs under the sending runtime's lock, on
 * whichever thread made it send. It only queues the frame and wakes main;
 * feeding the other runtime from here could deadlock against a call that
 * goes the other way. */
static int
wire_transmit(void *ctx, int netif, const uint8_t *pkt, size_t len, uint32_t next_hop)
{
    struct wire *w = ctx;
    (void)netif, (void)next_hop;
    pthread_mutex_lock(&w->mu);
    w->seen++;
    bool drop =
        (w->drop_every > 0 && w->seen % w->drop_every == 0) || w->count == RING_LEN || len > MTU;
    if (drop) {
        w->dropped++;
    } else {
        int at = (w->head + w->count) % RING_LEN;
        memcpy(w->frame[at], pkt, len);
        w->len[at] = len;
        w->count++;
        w->sent++;
    }
    pthread_mutex_unlock(&w->mu);
    uint64_t one = 1;
    ssize_t n = write(w->wake_fd, &one, sizeof(one));
    (void)n;
    return 0; /* a lost frame is the wire's business, as on a real link */
}

/* Hands every frame queued on `w` to `to`. */
static bool
wire_deliver(struct wire *w, struct tern_rt *to)
{
    static uint8_t buf[MTU]; /* main's thread only */
    bool any = false;
    for (;;) {
        pthread_mutex_lock(&w->mu);
        if (w->count == 0) {
            pthread_mutex_unlock(&w->mu);
            return any;
        }
        size_t len = w->len[w->head];
        memcpy(buf, w->frame[w->head], len);
        w->head = (w->head + 1) % RING_LEN;
        w->count--;
        pthread_mutex_unlock(&w->mu);
        (void)tern_rt_input(to, 0, buf, len);
        any = true;
    }
}

static bool
wire_empty(struct wire *w)
{
    pthread_mutex_lock(&w->mu);
    bool e = w->count == 0;
    pthread_mutex_unlock(&w->mu);
    return e;
}

/* Counts the runtimes' "deadline moved earlier" news (the eventfd says the
 * same to main's ppoll). Under the runtime's lock: only an atomic here. */
static void
on_deadline(void *ctx, int64_t deadline_ns)
{
    struct prog *p = ctx;
    (void)deadline_ns;
    atomic_fetch_add(&p->deadline_moves, 1);
}

/* ---- the echo server: blocking calls on stack A ---- */

static void *
server_main(void *arg)
{
    struct prog *p = arg;
    int c = tern_accept(p->listen_fd, NULL, NULL);
    if (c < 0) {
        perror("driven_echo: accept");
        return NULL;
    }
    static uint8_t buf[16384];
    for (;;) {
        ssize_t n = tern_read(c, buf, sizeof(buf));
        if (n <= 0) {
            if (n < 0) {
                perror("driven_echo: server read");
            }
            break;
        }
        for (ssize_t off = 0; off < n;) {
            ssize_t w = tern_write(c, buf + off, (size_t)(n - off));
            if (w < 0) {
                perror("driven_echo: server write");
                tern_close(c);
                return NULL;
            }
            off += w;
        }
    }
    tern_close(c); /* the client's read sees the end */
    return NULL;
}

/* ---- the client: blocking calls on stack B ---- */

struct writer {
    int fd;
    long bytes;
    int err;
};

static void *
writer_main(void *arg)
{
    struct writer *w = arg;
    static uint8_t buf[16384];
    for (long done = 0; done < w->bytes;) {
        size_t n = sizeof(buf);
        if ((long)n > w->bytes - done) {
            n = (size_t)(w->bytes - done);
        }
        for (size_t i = 0; i < n; i++) {
            buf[i] = pattern(done + (long)i);
        }
        for (size_t off = 0; off < n;) {
            ssize_t k = tern_write(w->fd, buf + off, n - off);
            if (k < 0) {
                w->err = errno;
                return NULL;
            }
            off += (size_t)k;
        }
        done += (long)n;
    }
    if (tern_shutdown(w->fd, SHUT_WR) != 0) {
        w->err = errno;
    }
    return NULL;
}

static void *
client_main(void *arg)
{
    struct prog *p = arg;
    p->result = 1;
    int fd = tern_socket_in(p->rt_b, 0, AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(PORT)};
    sa.sin_addr.s_addr = htonl(A_ADDR);
    if (fd < 0 || tern_connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        perror("driven_echo: connect");
        goto out;
    }
    struct writer w = {.fd = fd, .bytes = p->bytes};
    pthread_t wt;
    if (pthread_create(&wt, NULL, writer_main, &w) != 0) {
        fprintf(stderr, "driven_echo: cannot start the writer\n");
        goto out;
    }
    static uint8_t buf[16384];
    long got = 0, bad = -1;
    for (;;) {
        ssize_t n = tern_read(fd, buf, sizeof(buf));
        if (n <= 0) {
            if (n < 0) {
                perror("driven_echo: client read");
            }
            break;
        }
        for (ssize_t i = 0; i < n && bad < 0; i++) {
            if (buf[i] != pattern(got + i)) {
                bad = got + i;
            }
        }
        got += n;
    }
    pthread_join(wt, NULL);
    p->echoed = got;
    if (w.err != 0) {
        fprintf(stderr, "driven_echo: client write: %s\n", strerror(w.err));
    } else if (bad >= 0) {
        fprintf(stderr, "driven_echo: echoed byte %ld differs\n", bad);
    } else if (got != p->bytes) {
        fprintf(stderr, "driven_echo: %ld bytes echoed of %ld\n", got, p->bytes);
    } else {
        p->result = 0;
    }
out:
    if (fd >= 0) {
        tern_close(fd);
    }
    atomic_store(&p->done, true);
    uint64_t one = 1;
    ssize_t n = write(p->wake_fd, &one, sizeof(one));
    (void)n;
    return NULL;
}

/* ---- setup and the packet loop ---- */

static int
stack_up(struct prog *p, uint32_t addr, struct wire *out, struct tern_stack **st,
         struct tern_rt **rt)
{
    struct tern_config cfg;
    tern_config_init(&cfg);
    if (tern_random_seed(&cfg.seed) != TERN_OK) {
        fprintf(stderr, "driven_echo: no random seed\n");
        return -1;
    }
    cfg.n_netifs = 1;
    cfg.netifs[0] = (struct tern_netif_config){
        .addr = addr, .prefix_len = 24, .mtu = MTU, .transmit = wire_transmit, .transmit_ctx = out};
    int r = tern_stack_new(&cfg, mono_ns(), st);
    if (r != TERN_OK) {
        fprintf(stderr, "driven_echo: tern_stack_new: %s\n", tern_strerror(r));
        return -1;
    }
    struct tern_rt_drive_config dc;
    tern_rt_drive_config_init(&dc); /* CLOCK_MONOTONIC, as the stack's time base above */
    dc.on_deadline = on_deadline;
    dc.deadline_ctx = p;
    r = tern_rt_drive(*st, &dc, rt);
    if (r != TERN_OK) {
        fprintf(stderr, "driven_echo: tern_rt_drive: %s\n", tern_strerror(r));
        return -1;
    }
    return 0;
}

static struct timespec *
until(int64_t t, struct timespec *ts)
{
    int64_t d = t - mono_ns();
    d = d < 0 ? 0 : d;
    ts->tv_sec = d / 1000000000;
    ts->tv_nsec = d % 1000000000;
    return ts;
}

/* main's loop: the packet path and the clock of both runtimes. */
static int
run_loop(struct prog *p)
{
    int64_t give_up = mono_ns() + (int64_t)p->timeout_s * 1000000000;
    while (!atomic_load(&p->done)) {
        bool moved = wire_deliver(&p->ab, p->rt_b);
        moved |= wire_deliver(&p->ba, p->rt_a);
        tern_rt_poll(p->rt_a); /* the timers due by now */
        tern_rt_poll(p->rt_b);
        if (moved) {
            continue; /* the input may have queued answers */
        }
        int64_t next = tern_rt_next_deadline(p->rt_a);
        int64_t nb = tern_rt_next_deadline(p->rt_b);
        next = nb < next ? nb : next;
        next = give_up < next ? give_up : next;
        if (!wire_empty(&p->ab) || !wire_empty(&p->ba)) {
            continue;
        }
        /* A frame queued, or a socket call that armed a timer earlier than
         * `next`, after the look above still wakes this sleep: both are
         * eventfds, readable until read. */
        struct pollfd pfd[3] = {{.fd = p->wake_fd, .events = POLLIN},
                                {.fd = tern_rt_deadline_fd(p->rt_a), .events = POLLIN},
                                {.fd = tern_rt_deadline_fd(p->rt_b), .events = POLLIN}};
        struct timespec ts;
        if (ppoll(pfd, 3, until(next, &ts), NULL) < 0 && errno != EINTR) {
            perror("driven_echo: ppoll");
            return -1;
        }
        if (pfd[0].revents & POLLIN) {
            uint64_t v;
            ssize_t n = read(p->wake_fd, &v, sizeof(v));
            (void)n;
        }
        if (mono_ns() >= give_up) {
            fprintf(stderr, "driven_echo: not done after %d s\n", p->timeout_s);
            return -1;
        }
    }
    return 0;
}

static void
usage(FILE *f)
{
    fprintf(f, "usage: driven_echo [--bytes N] [--drop-every N] [--timeout SECONDS]\n"
               "  Echoes N bytes (default 1048576) between two tern stacks in this process,\n"
               "  moving their packets itself; --drop-every N loses every Nth frame each way\n"
               "  (default 0: none); gives up after --timeout seconds (default 60).\n");
}

static bool
arg_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi) {
        return false;
    }
    *out = v;
    return true;
}

int
main(int argc, char **argv)
{
    static struct prog p; /* large (the two rings): not on the stack */
    p.bytes = 1048576;
    p.timeout_s = 60;
    for (int i = 1; i < argc; i += 2) {
        long v;
        if (strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "driven_echo: %s: unknown option or missing value\n", argv[i]);
            usage(stderr);
            return 2;
        }
        if (strcmp(argv[i], "--bytes") == 0 && arg_long(argv[i + 1], 0, 1L << 40, &v)) {
            p.bytes = v;
        } else if (strcmp(argv[i], "--drop-every") == 0 && arg_long(argv[i + 1], 0, 1000000, &v)) {
            p.drop_every = (int)v;
        } else if (strcmp(argv[i], "--timeout") == 0 && arg_long(argv[i + 1], 1, 86400, &v)) {
            p.timeout_s = (int)v;
        } else {
            fprintf(stderr, "driven_echo: %s %s: bad option or value\n", argv[i], argv[i + 1]);
            usage(stderr);
            return 2;
        }
    }
    p.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (p.wake_fd < 0) {
        perror("driven_echo: eventfd");
        return 1;
    }
    struct wire *wires[2] = {&p.ab, &p.ba};
    for (int i = 0; i < 2; i++) {
        pthread_mutex_init(&wires[i]->mu, NULL);
        wires[i]->drop_every = p.drop_every;
        wires[i]->wake_fd = p.wake_fd;
    }
    struct tern_stack *st_a = NULL, *st_b = NULL;
    if (stack_up(&p, A_ADDR, &p.ab, &st_a, &p.rt_a) != 0 ||
        stack_up(&p, B_ADDR, &p.ba, &st_b, &p.rt_b) != 0) {
        return 1;
    }
    /* The listener first (bind and listen send nothing), so the client's
     * SYN finds it. */
    p.listen_fd = tern_socket_in(p.rt_a, 0, AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(PORT)};
    if (p.listen_fd < 0 || tern_bind(p.listen_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        tern_listen(p.listen_fd, 4) != 0) {
        perror("driven_echo: listen");
        return 1;
    }
    int64_t t0 = mono_ns();
    pthread_t server, client;
    if (pthread_create(&server, NULL, server_main, &p) != 0 ||
        pthread_create(&client, NULL, client_main, &p) != 0) {
        fprintf(stderr, "driven_echo: cannot start the threads\n");
        return 1;
    }
    int loop = run_loop(&p);
    if (loop != 0) {
        /* Stuck: freeing the runtimes under blocked threads is not allowed,
         * so leave without tidying up. */
        return 1;
    }
    /* The client saw the end of the echo: the server's close has sent its
     * FIN, so both threads are done (or about to return). */
    pthread_join(client, NULL);
    pthread_join(server, NULL);
    int64_t t1 = mono_ns();
    printf("driven_echo: %ld of %ld bytes echoed%s in %.0f ms; frames A->B %ld, B->A %ld, "
           "dropped %ld; the runtimes reported an earlier deadline %ld times\n",
           p.echoed, p.bytes, p.result == 0 ? " byte-exact" : "", (double)(t1 - t0) / 1e6,
           p.ab.sent, p.ba.sent, p.ab.dropped + p.ba.dropped, atomic_load(&p.deadline_moves));
    tern_close(p.listen_fd);
    tern_rt_free(p.rt_a);
    tern_rt_free(p.rt_b);
    tern_stack_free(st_a);
    tern_stack_free(st_b);
    close(p.wake_fd);
    return p.result == 0 ? 0 : 1;
}
