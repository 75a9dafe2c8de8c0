/*
 * bench/impair_relay.c: an impairing Ethernet relay between two TAP devices,
 * for bench/lossy_goodput.sh (this kernel has no netem).
 *
 * Usage: impair_relay --a TAP --b TAP [--loss PCT] [--delay MS]
 *                     [--reorder PCT] [--hold MS] [--seed N]
 *
 * Creates the two TAP devices (the caller moves them into its namespaces
 * and configures them), prints "ready" on stdout, then copies every frame
 * read from one device to the other, in both directions alike:
 *   --loss PCT     drop PCT % of the frames (default 0)
 *   --delay MS     delay every frame by MS milliseconds (fractions allowed;
 *                  default 0)
 *   --reorder PCT  hold PCT % of the frames back a further --hold MS
 *                  (default 2) so that later frames pass them
 *   --seed N       seed of the pseudo-random choices (default 1)
 * Frames wait in fixed rings allocated at start; a frame that finds its ring
 * full is dropped and counted. SIGINT or SIGTERM ends the relay, which then
 * prints its counters on stderr.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

enum { SLOT_BYTES = 2048, RING_SLOTS = 4096, BATCH = 64 };

struct ring {
    unsigned char *buf; /* RING_SLOTS * SLOT_BYTES */
    uint16_t *len;      /* frame length per slot */
    uint64_t *due;      /* release time per slot, ns */
    unsigned head, count;
};

struct dir {
    int in, out;
    struct ring now, held; /* delayed by --delay; by --delay + --hold */
    uint64_t frames, lost, reordered, full, sent;
};

struct relay {
    struct dir d[2];
    uint64_t rng;
    uint32_t loss_ppm, reorder_ppm;
    uint64_t delay_ns, hold_ns;
};

static uint64_t
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* xorshift64*: a small seeded generator; one draw per decision. */
static uint32_t
draw_ppm(struct relay *r)
{
    r->rng ^= r->rng >> 12;
    r->rng ^= r->rng << 25;
    r->rng ^= r->rng >> 27;
    return (uint32_t)(((r->rng * 0x2545F4914F6CDD1Dull) >> 32) % 1000000u);
}

static int
ring_init(struct ring *q)
{
    q->buf = malloc((size_t)RING_SLOTS * SLOT_BYTES);
    q->len = calloc(RING_SLOTS, sizeof *q->len);
    q->due = calloc(RING_SLOTS, sizeof *q->due);
    q->head = q->count = 0;
    return q->buf && q->len && q->due ? 0 : -1;
}

static void
ring_free(struct ring *q)
{
    free(q->buf);
    free(q->len);
    free(q->due);
}

static int
tap_open(const char *name)
{
    struct ifreq ifr;
    if (strlen(name) >= IFNAMSIZ) {
        fprintf(stderr, "impair_relay: device name too long: %s\n", name);
        return -1;
    }
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        perror("impair_relay: /dev/net/tun");
        return -1;
    }
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    memcpy(ifr.ifr_name, name, strlen(name));
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        fprintf(stderr, "impair_relay: TUNSETIFF %s: %s\n", name, strerror(errno));
        close(fd);
        return -1;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
        perror("impair_relay: fcntl");
        close(fd);
        return -1;
    }
    return fd;
}

/* Reads what is waiting on d->in, decides each frame's fate. */
static void
take(struct relay *r, struct dir *d, uint64_t t)
{
    for (int i = 0; i < BATCH; i++) {
        unsigned char frame[SLOT_BYTES];
        ssize_t n = read(d->in, frame, sizeof frame);
        if (n <= 0)
            return;
        d->frames++;
        if (r->loss_ppm && draw_ppm(r) < r->loss_ppm) {
            d->lost++;
            continue;
        }
        struct ring *q = &d->now;
        uint64_t due = t + r->delay_ns;
        if (r->reorder_ppm && draw_ppm(r) < r->reorder_ppm) {
            q = &d->held;
            due += r->hold_ns;
            d->reordered++;
        }
        if (q->count == RING_SLOTS) {
            d->full++;
            continue;
        }
        unsigned slot = (q->head + q->count) % RING_SLOTS;
        memcpy(q->buf + (size_t)slot * SLOT_BYTES, frame, (size_t)n);
        q->len[slot] = (uint16_t)n;
        q->due[slot] = due;
        q->count++;
    }
}

/* Sends every frame that is due, earliest first; returns the next due time
 * (UINT64_MAX when both rings are empty). */
static uint64_t
release(struct dir *d, uint64_t t)
{
    for (;;) {
        struct ring *q = NULL;
        if (d->now.count)
            q = &d->now;
        if (d->held.count && (!q || d->held.due[d->held.head] < q->due[q->head]))
            q = &d->held;
        if (!q)
            return UINT64_MAX;
        if (q->due[q->head] > t)
            return q->due[q->head];
        unsigned slot = q->head;
        if (write(d->out, q->buf + (size_t)slot * SLOT_BYTES, q->len[slot]) > 0)
            d->sent++;
        q->head = (q->head + 1) % RING_SLOTS;
        q->count--;
    }
}

static int
parse_num(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int
usage(void)
{
    fprintf(stderr, "usage: impair_relay --a TAP --b TAP [--loss PCT] [--delay MS] "
                    "[--reorder PCT] [--hold MS] [--seed N]\n");
    return 2;
}

int
main(int argc, char **argv)
{
    const char *name[2] = {NULL, NULL};
    double loss = 0, delay = 0, reorder = 0, hold = 2, seed = 1;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        if (i + 1 >= argc)
            return usage();
        const char *v = argv[++i];
        int bad = 0;
        if (!strcmp(o, "--a"))
            name[0] = v;
        else if (!strcmp(o, "--b"))
            name[1] = v;
        else if (!strcmp(o, "--loss"))
            bad = parse_num(v, 0, 100, &loss);
        else if (!strcmp(o, "--delay"))
            bad = parse_num(v, 0, 10000, &delay);
        else if (!strcmp(o, "--reorder"))
            bad = parse_num(v, 0, 100, &reorder);
        else if (!strcmp(o, "--hold"))
            bad = parse_num(v, 0, 10000, &hold);
        else if (!strcmp(o, "--seed"))
            bad = parse_num(v, 0, 4294967295.0, &seed);
        else
            return usage();
        if (bad) {
            fprintf(stderr, "impair_relay: bad value for %s: %s\n", o, v);
            return 2;
        }
    }
    if (!name[0] || !name[1])
        return usage();

    struct relay r;
    memset(&r, 0, sizeof r);
    r.rng = 0x9E3779B97F4A7C15ull ^ (uint64_t)seed;
    r.loss_ppm = (uint32_t)(loss * 10000 + 0.5);
    r.reorder_ppm = (uint32_t)(reorder * 10000 + 0.5);
    r.delay_ns = (uint64_t)(delay * 1e6 + 0.5);
    r.hold_ns = (uint64_t)(hold * 1e6 + 0.5);

    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
    int fd[2] = {tap_open(name[0]), tap_open(name[1])};
    int rc = 1;
    if (sfd < 0 || fd[0] < 0 || fd[1] < 0)
        goto out;
    for (int i = 0; i < 2; i++) {
        r.d[i].in = fd[i];
        r.d[i].out = fd[1 - i];
        if (ring_init(&r.d[i].now) || ring_init(&r.d[i].held)) {
            fprintf(stderr, "impair_relay: out of memory\n");
            goto out;
        }
    }
    printf("ready\n");
    fflush(stdout);

    for (;;) {
        uint64_t t = now_ns();
        uint64_t next = UINT64_MAX;
        for (int i = 0; i < 2; i++) {
            uint64_t n = release(&r.d[i], t);
            if (n < next)
                next = n;
        }
        struct pollfd p[3] = {{.fd = fd[0], .events = POLLIN},
                              {.fd = fd[1], .events = POLLIN},
                              {.fd = sfd, .events = POLLIN}};
        struct timespec ts, *tsp = NULL;
        if (next != UINT64_MAX) {
            uint64_t w = next > t ? next - t : 0;
            ts.tv_sec = (time_t)(w / 1000000000u);
            ts.tv_nsec = (long)(w % 1000000000u);
            tsp = &ts;
        }
        if (ppoll(p, 3, tsp, NULL) < 0 && errno != EINTR) {
            perror("impair_relay: ppoll");
            goto out;
        }
        if (p[2].revents)
            break;
        t = now_ns();
        for (int i = 0; i < 2; i++)
            if (p[i].revents & POLLIN)
                take(&r, &r.d[i], t);
    }
    for (int i = 0; i < 2; i++)
        fprintf(stderr,
                "impair_relay: %s -> %s: %llu frames, %llu lost, %llu reordered, "
                "%llu ring-full drops, %llu sent\n",
                name[i], name[1 - i], (unsigned long long)r.d[i].frames,
                (unsigned long long)r.d[i].lost, (unsigned long long)r.d[i].reordered,
                (unsigned long long)r.d[i].full, (unsigned long long)r.d[i].sent);
    rc = 0;
out:
    for (int i = 0; i < 2; i++) {
        ring_free(&r.d[i].now);
        ring_free(&r.d[i].held);
        if (fd[i] >= 0)
            close(fd[i]);
    }
    if (sfd >= 0)
        close(sfd);
    return rc;
}
