/*
 * examples/example_net.h: what the examples share to get
 * on the network, and the one place where their tern and kernel builds
 * differ (examples/README.md):
 *
 *   - the S() macro: every socket call is written S(name), which is
 *     tern_name in the tern build and plain name with -DUSE_KERNEL_SOCKETS;
 *   - the network options --dev, --addr, --linux-addr and --gw: their
 *     fields, their parsing and their lines in --help;
 *   - net_start() / net_stop(): in the tern build they open the TUN device
 *     and run a tern stack on it; in the kernel build they do nothing;
 *   - net_report(): the tern build prints the stack's TCP counters.
 *
 * Header-only (static functions), so that each example stays one .c file
 * plus this header. Define PROG, the program's name for its messages,
 * before including it.
 */
#ifndef TERN_EXAMPLE_NET_H
#define TERN_EXAMPLE_NET_H

#ifndef PROG
#error "define PROG (the program's name) before including example_net.h"
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifdef USE_KERNEL_SOCKETS
#define S(call) call /* the kernel's socket, bind, read, epoll_wait... */
#else
#include "tern/socket.h"
#include "tern/tun.h"
#define S(call) tern_##call /* tern_socket, tern_bind, tern_read... */
#endif

/* The network options. */
struct net_opts {
    const char *dev;     /* TUN device (tern build) */
    uint32_t addr;       /* our address, host order; 0 = not given */
    int prefix;          /* its prefix length, -1 if not given */
    uint32_t linux_addr; /* the kernel's address on the device, 0 = leave it */
    int linux_prefix;    /* its prefix length */
    uint32_t gw;         /* default gateway, 0 = the kernel's address */
};

/* Their part of a --help text: the synopsis, then one line per option. */
#define NET_USAGE_SYNOPSIS "[--dev NAME --addr A.B.C.D/N [--linux-addr A.B.C.D/N] [--gw A.B.C.D]]"
#define NET_USAGE_OPTIONS                                                                          \
    "  --dev NAME              TUN device (tern build: required)\n"                                \
    "  --addr A.B.C.D/N        tern's address on the device (tern build: required)\n"              \
    "  --linux-addr A.B.C.D/N  give the kernel this address on the device\n"                       \
    "  --gw A.B.C.D            tern's default gateway (default: the --linux-addr address)\n"

/* Prints "PROG: what: value (see --help)" and returns the exit status 2. */
static int
usage_error(const char *what, const char *value)
{
    fprintf(stderr, PROG ": %s%s%s (see --help)\n", what, value ? ": " : "", value ? value : "");
    return 2;
}

/* "A.B.C.D" or "A.B.C.D/N" into a host-order address and a prefix (-1 if
 * none was written). */
static bool
parse_addr(const char *s, uint32_t *addr, int *prefix)
{
    char ip[INET_ADDRSTRLEN];
    const char *slash = strchr(s, '/');
    size_t n = slash ? (size_t)(slash - s) : strlen(s);
    struct in_addr in;
    if (n >= sizeof(ip)) {
        return false;
    }
    memcpy(ip, s, n);
    ip[n] = '\0';
    if (inet_pton(AF_INET, ip, &in) != 1) {
        return false;
    }
    *addr = ntohl(in.s_addr);
    *prefix = -1;
    if (slash != NULL) {
        char *end;
        long p = strtol(slash + 1, &end, 10);
        if (slash[1] == '\0' || *end != '\0' || p < 0 || p > 32) {
            return false;
        }
        *prefix = (int)p;
    }
    return true;
}

static void
net_opts_init(struct net_opts *n)
{
    memset(n, 0, sizeof(*n));
    n->prefix = -1;
}

/* Takes option `a` with its value `v` when it is a network option: returns
 * true then, with *rc 0, or 2 after printing why `v` is bad. Returns false
 * for any other option. */
static bool
net_opt(struct net_opts *n, const char *a, const char *v, int *rc)
{
    int pfx;
    *rc = 0;
    if (strcmp(a, "--dev") == 0) {
        n->dev = v;
    } else if (strcmp(a, "--addr") == 0) {
        if (!parse_addr(v, &n->addr, &n->prefix)) {
            *rc = usage_error("bad --addr", v);
        }
    } else if (strcmp(a, "--linux-addr") == 0) {
        if (!parse_addr(v, &n->linux_addr, &n->linux_prefix) || n->linux_prefix < 1) {
            *rc = usage_error("bad --linux-addr (want A.B.C.D/N)", v);
        }
    } else if (strcmp(a, "--gw") == 0) {
        if (!parse_addr(v, &n->gw, &pfx) || pfx != -1) {
            *rc = usage_error("bad --gw", v);
        }
    } else {
        return false;
    }
    return true;
}

/* What a program needs from net_start() beyond the options. */
struct net_use {
    bool bind_addr;           /* kernel build: --addr is the address to bind, not refused */
    unsigned max_connections; /* tern build: TCP connections at once, 0 = tern's default */
    uint32_t sndbuf;          /* tern build: send buffer per connection, 0 = tern's default */
};

/* ---- Network start: the one part that differs between the builds ---- */

#ifdef USE_KERNEL_SOCKETS
typedef int net_handle;

/* Nothing to start: the kernel's sockets are there. Refuses the options
 * that only mean something to a tern stack (usage error, 2). */
static int
net_start(const struct net_opts *o, const struct net_use *u, net_handle *h)
{
    *h = 0;
    if (u->bind_addr) {
        if (o->dev != NULL || o->linux_addr != 0 || o->gw != 0) {
            return usage_error("--dev, --linux-addr and --gw need the tern build", NULL);
        }
    } else if (o->dev != NULL || o->addr != 0 || o->linux_addr != 0 || o->gw != 0) {
        return usage_error("--dev, --addr, --linux-addr and --gw need the tern build", NULL);
    }
    return 0;
}

static void
net_stop(net_handle h)
{
    (void)h;
}

/* The kernel keeps its counters to itself (nstat(8) shows them). */
static inline void
net_report(net_handle h)
{
    (void)h;
}
#else
typedef struct tern_rt *net_handle;

/* Opens the TUN device and starts a runtime on it: a tern stack and the
 * thread that moves its packets. tern_socket() then makes sockets there.
 * Returns 0, or the exit status (2 usage, 1 runtime) after printing why. */
static int
net_start(const struct net_opts *o, const struct net_use *u, net_handle *h)
{
    if (o->dev == NULL || o->addr == 0 || o->prefix < 0) {
        return usage_error("the tern build needs --dev NAME and --addr A.B.C.D/N", NULL);
    }
    struct tern_tun_config tun = {.dev = o->dev};
    tun.linux_addr = o->linux_addr;
    tun.linux_prefix_len = (uint8_t)o->linux_prefix;
    struct tern_config cfg;
    tern_config_init(&cfg);
    /* The stack's secret (its ISNs and ephemeral ports) from the OS. Left 0,
     * tern_rt_start_tun would draw it the same way; a fixed seed would need
     * cfg.deterministic, and would make ISNs guessable. */
    if (tern_random_seed(&cfg.seed) != TERN_OK) {
        fprintf(stderr, PROG ": no secret for the stack: getrandom: %s\n", strerror(errno));
        return 1;
    }
    cfg.n_netifs = 1;
    cfg.netifs[0].addr = o->addr;
    cfg.netifs[0].prefix_len = (uint8_t)o->prefix;
    /* Beyond the device's subnet, go through the kernel (it may forward). */
    cfg.default_gateway = o->gw != 0 ? o->gw : o->linux_addr;
    if (u->max_connections != 0) {
        cfg.tcp.max_connections = u->max_connections;
    }
    if (u->sndbuf != 0) {
        cfg.tcp.sndbuf = u->sndbuf;
    }
    cfg.tcp.rcvbuf = 65535; /* the largest window without window scaling */
    char err[256];
    int rc = tern_rt_start_tun(&tun, &cfg, h, err, sizeof(err));
    if (rc != TERN_OK) {
        fprintf(stderr, PROG ": %s\n", err[0] ? err : tern_strerror(rc));
        return 1;
    }
    return 0;
}

/* Closes every socket left and the device, stops the thread. */
static void
net_stop(net_handle h)
{
    tern_rt_free(h);
}

/* Prints tern's own TCP counters on stderr, one line: how many connections
 * the stack opened and how they ended. A server that closes first leaves
 * each connection in TIME-WAIT on its side; once time_wait_max records are
 * held, each new one recycles the oldest (docs/memory.md). Call it before
 * net_stop(). */
static inline void
net_report(net_handle h)
{
    struct tern_config def;
    tern_config_init(&def); /* net_start() keeps the TIME-WAIT default */
    tern_rt_lock(h);
    const struct tern_stats *s = tern_stack_stats(tern_rt_stack(h, 0));
    fprintf(
        stderr,
        PROG ": tern tcp passive_opens=%llu established=%llu resets_rx=%llu rst_tx=%llu "
             "active_closes=%llu passive_closes=%llu time_wait_max=%u "
             "time_wait_records=%llu time_wait_recycled=%llu time_wait_reuse=%llu "
             "drop.TCP_TABLE_FULL=%llu drop.TCP_BACKLOG_FULL=%llu "
             "drops=%llu snd_mem_blocked=%llu pool.chunks=%llu pool.min_avail=%llu\n",
        (unsigned long long)s->tcp.passive_opens, (unsigned long long)s->tcp.established,
        (unsigned long long)s->tcp.resets_rx, (unsigned long long)s->tcp.rst_tx,
        (unsigned long long)s->tcp.active_closes, (unsigned long long)s->tcp.passive_closes,
        def.tcp.time_wait_max, (unsigned long long)s->tcp.time_wait_records,
        (unsigned long long)s->tcp.time_wait_recycled, (unsigned long long)s->tcp.time_wait_reuse,
        (unsigned long long)s->drops[TERN_DROP_TCP_TABLE_FULL],
        (unsigned long long)s->drops[TERN_DROP_TCP_BACKLOG_FULL],
        (unsigned long long)tern_stats_drops_total(s), (unsigned long long)s->tcp.snd_mem_blocked,
        (unsigned long long)s->pool.chunks, (unsigned long long)s->pool.min_avail);
    tern_rt_unlock(h);
}
#endif

#endif /* TERN_EXAMPLE_NET_H */
