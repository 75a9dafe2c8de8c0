/*
 * tools/tun.c: `tern tun` and `tern tap`, a tern stack on a real device
 * running one small application: an echo, discard or HTTP/1.1 server, a
 * UDP echo, an HTTP client, or a client that sends a file / a server that
 * receives one.
 *
 * The stack's time is CLOCK_MONOTONIC; the loop is tern_tun_step() (drivers/
 * tun/tun.c) followed by one pass over the application's connections and
 * sockets, which only use the native APIs (tern/tcp.h, tern/udp.h).
 * `tap --dhcp` runs the DHCP client (tern/dhcp.h) in the same loop: the
 * application starts once the first lease is bound, and the lease is given
 * back at exit.
 *
 * Exit status: 0 on success, 1 for a runtime failure (device, connection
 * refused or reset, HTTP error, file error), 2 for a usage error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "tern/dhcp.h"
#include "tern/dns.h"
#include "tern/stack.h"
#include "tern/stats.h"
#include "tern/tcp.h"
#include "tern/trace.h"
#include "tern/tun.h"
#include "tern/udp.h"

int tern_cmd_tun(int argc, char **argv);
int tern_cmd_tap(int argc, char **argv);

#define NS        1000000000LL
#define PING_MAX  1000 /* --count of ping */
#define PING_ID   0x7465
#define PING_DATA 56    /* ping(8)'s default */
#define IOBUF     65536 /* one read or write of a client or of the loop */
#define SESS_BUF  16384 /* what a server session holds between two sends */
#define HDR_MAX   8192
#define MIB       (1024 * 1024)
/* Servers: the memory budget their tables are sized from (--mem), half of
 * it for the stack's buffer pool; and the connections of the stack beyond
 * one per session: the listener and a few spare, plus one per session for
 * the connection closing behind it. Clients: one connection, a pool that
 * holds its whole send buffer (sends take at most half the pool) and its
 * receive buffer. */
#define DEFAULT_MEM_MIB  64
#define SPARE_TCBS       4
#define SNDBUF_KIB       256
#define SNDBUF           (SNDBUF_KIB * 1024)
#define RCVBUF           65535 /* the largest window without window scaling */
#define CLIENT_POOL(snd) (2 * (size_t)(snd) + 2 * RCVBUF)
/* udp-echo: each socket's receive cap (Linux's default is 208 KiB), the
 * echoes sent between two writes of the device's bounded queue, and the
 * time the driver may hold a packet beyond --delay (its reordering hold, 2
 * ms, with a margin). */
#define UDP_RCVBUF      (256 * 1024)
#define REASS_MAX       65515 /* the largest IPv4 payload: 65535 - 20 */
#define UDP_FLUSH_EVERY 32
#define DRAIN_NS        (10 * 1000000LL)

/* Set by SIGINT/SIGTERM: a signal handler can only reach static storage. */
static volatile sig_atomic_t stop_requested;

static void
on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* M_SERVE runs the services of opts.svc; M_ECHO, M_DISCARD, M_HTTP (TCP)
 * and M_UDP_ECHO (UDP) are their kinds. */
enum mode { M_NONE, M_SERVE, M_ECHO, M_DISCARD, M_HTTP, M_UDP_ECHO, M_GET, M_SEND, M_RECV, M_PING };

/* serve: the services of one process, each on a port of its own (a TCP
 * and a UDP service may share a number: they are different ports). */
#define MAX_SVC 8
struct svc {
    enum mode kind; /* M_ECHO, M_DISCARD, M_HTTP, M_UDP_ECHO */
    long port;      /* 0 until given or defaulted */
    int listener;   /* TCP: its listening connection; UDP: its socket; 0 once gone */
};

static bool
is_udp(enum mode kind)
{
    return kind == M_UDP_ECHO;
}

static const char *
svc_name(enum mode kind)
{
    return kind == M_ECHO      ? "echo"
           : kind == M_DISCARD ? "discard"
           : kind == M_HTTP    ? "http"
                               : "udp-echo";
}

struct opts {
    const char *cmd; /* "tun" or "tap" */
    bool tap;
    const char *dev;
    uint32_t addr, gw, linux_addr;
    int prefix, linux_prefix;
    struct tern_netif_addr6 addr6[TERN_NETIF_ADDR6_MAX]; /* --addr X:X::X/N */
    unsigned n_addr6;
    struct tern_ip gw6;    /* --gw X:X::X */
    const char *ping_host; /* ping HOST */
    struct tern_ip ping_dst;
    long mtu;
    struct tern_tun_impair imp;
    bool seed_set;
    const char *pcap;
    const char *trace; /* --trace FILE */
    enum mode mode;
    struct svc svc[MAX_SVC]; /* serve */
    int n_svc;
    long port, sport, count;
    const char *root, *url, *target, *file, *out;
    double timeout_s;
    bool quiet;
    bool stats;      /* print the stack's and driver's counters at exit */
    bool dhcp;       /* tap --dhcp: the address from a DHCP server */
    long max_conns;  /* servers: sessions at once; 0: what mem_mib buys */
    long mem_mib;    /* servers: memory budget of the tables, MiB */
    double delay_ms; /* --delay, into imp.delay_ns */
    /* TCP choices (issue 12 A/B runs); -1 / 0: the stack's default */
    int loss; /* enum tern_tcp_loss_detection */
    int prr;  /* enum tern_tcp_prr */
    int ecn;  /* enum tern_tcp_ecn */
    int cc;   /* index into cc_names */
    long sndbuf_kib;
    uint32_t dns[TERN_DNS_MAX_SERVERS]; /* --dns, for the host names of get and send */
    int n_dns;
    struct cli_cmd cli; /* the grammar, named after cmd */
};

/* ---- Options ---------------------------------------------------------------- */

static bool
parse_ipv4(const char *s, uint32_t *out)
{
    unsigned a[4];
    char tail;
    if (sscanf(s, "%3u.%3u.%3u.%3u%c", &a[0], &a[1], &a[2], &a[3], &tail) != 4) {
        return false;
    }
    for (int i = 0; i < 4; i++) {
        if (a[i] > 255) {
            return false;
        }
    }
    *out = TERN_IPV4(a[0], a[1], a[2], a[3]);
    return true;
}

/* "A.B.C.D" SEP "N", N in [min, max]: an address with its prefix length or
 * its port. */
static bool
parse_ipv4_num(const char *s, char sep, long min, long max, uint32_t *addr, long *n)
{
    char host[32];
    const char *at = strrchr(s, sep);
    if (at == NULL || (size_t)(at - s) >= sizeof(host)) {
        return false;
    }
    memcpy(host, s, (size_t)(at - s));
    host[at - s] = '\0';
    return parse_ipv4(host, addr) && cli_parse_long(at + 1, min, max, n);
}

static bool
parse_cidr(const char *s, uint32_t *addr, int *prefix)
{
    long p;
    if (!parse_ipv4_num(s, '/', 1, 32, addr, &p)) {
        return false;
    }
    *prefix = (int)p;
    return true;
}

/* An IPv6 literal (RFC 4291 2.2), or false. */
static bool
parse_ipv6(const char *s, struct tern_ip *out)
{
    struct in6_addr a;
    if (inet_pton(AF_INET6, s, &a) != 1) {
        return false;
    }
    memcpy(out->b, a.s6_addr, 16);
    return !tern_ip_is4(*out);
}

static bool
set_addr(const char *v, void *opts)
{
    struct opts *o = opts;
    if (strchr(v, ':') == NULL) {
        return parse_cidr(v, &o->addr, &o->prefix);
    }
    /* X:X::X/N, an IPv6 address and its on-link prefix; repeatable. */
    const char *slash = strrchr(v, '/');
    char host[64];
    long n;
    if (slash == NULL || (size_t)(slash - v) >= sizeof(host) ||
        o->n_addr6 == TERN_NETIF_ADDR6_MAX || !cli_parse_long(slash + 1, 1, 128, &n)) {
        return false;
    }
    memcpy(host, v, (size_t)(slash - v));
    host[slash - v] = '\0';
    struct tern_netif_addr6 *a = &o->addr6[o->n_addr6];
    if (!parse_ipv6(host, &a->addr)) {
        return false;
    }
    a->prefix_len = (uint8_t)n;
    o->n_addr6++;
    return true;
}

static bool
set_linux_addr(const char *v, void *opts)
{
    struct opts *o = opts;
    return parse_cidr(v, &o->linux_addr, &o->linux_prefix);
}

static bool
set_gw(const char *v, void *opts)
{
    struct opts *o = opts;
    return strchr(v, ':') != NULL ? parse_ipv6(v, &o->gw6) : parse_ipv4(v, &o->gw);
}

static bool
add_dns(const char *v, void *opts)
{
    struct opts *o = opts;
    return o->n_dns < TERN_DNS_MAX_SERVERS && parse_ipv4(v, &o->dns[o->n_dns++]);
}

static bool
set_seed(const char *v, void *opts)
{
    struct opts *o = opts;
    unsigned long long seed;
    if (!cli_parse_u64(v, &seed)) {
        return false;
    }
    o->imp.seed = seed;
    o->seed_set = true;
    return true;
}

static const struct cli_choice loss_names[] = {
    {"rack", TERN_TCP_LOSS_RACK}, {"rfc6675", TERN_TCP_LOSS_RFC6675}, {NULL, 0}};
static const struct cli_choice prr_names[] = {
    {"ssrb", TERN_TCP_PRR_SSRB}, {"crb", TERN_TCP_PRR_CRB}, {"off", TERN_TCP_PRR_OFF}, {NULL, 0}};
static const struct cli_choice ecn_names[] = {{"on", TERN_TCP_ECN_ON},
                                              {"passive", TERN_TCP_ECN_PASSIVE},
                                              {"off", TERN_TCP_ECN_OFF},
                                              {NULL, 0}};
/* cfg.tcp.cc takes the name: the value is the index here. */
static const struct cli_choice cc_names[] = {{"newreno", 0}, {"cubic", 1}, {NULL, 0}};

#define OFF(field) offsetof(struct opts, field)
/* What one session costs beside the stack's connections (--mem's help). */
_Static_assert((SESS_BUF + HDR_MAX) / 1024 == 24, "--mem's help says 24 KiB a session");

/* One option to an entry, its fields together. */
/* clang-format off */
static const struct cli_opt tun_opts[] = {
    {.name = "dev", .kind = CLI_STRING, .arg = "NAME", .offset = OFF(dev),
     .help = "device name (at most 15 bytes)"},
    {.name = "addr", .kind = CLI_CUSTOM, .arg = "ADDR/N", .parse = set_addr,
     .form = "A.B.C.D/N (an IPv4 address, prefix 1 to 32) or X:X::X/N (an IPv6 address, prefix "
             "1 to 128; at most 4)",
     .help = "tern's address and prefix length on the device: one IPv4 address (required) and "
             "IPv6 ones (repeat the option); a link-local IPv6 address is always added"},
    {.name = "gw", .kind = CLI_CUSTOM, .arg = "ADDR", .parse = set_gw,
     .form = "an IPv4 address A.B.C.D or an IPv6 address X:X::X",
     .help = "default gateway (on the connected subnet); may be given once per family"},
    {.name = "dhcp", .kind = CLI_FLAG, .offset = OFF(dhcp),
     .help = "tap only, instead of --addr and --gw: get the address, prefix, router and DNS "
             "servers from a DHCP server (RFC 2131); the lease is printed, renewed, given back "
             "(RELEASE) at exit; MODE starts once it is bound, and may be left out (then run "
             "until SIGINT/SIGTERM)"},
    {.name = "linux-addr", .kind = CLI_CUSTOM, .arg = "A.B.C.D/N", .parse = set_linux_addr,
     .form = "A.B.C.D/N, an IPv4 address and a prefix length from 1 to 32",
     .help = "also give the kernel this address on the device (ioctl SIOCSIFADDR); without it, "
             "configure it with ip(8)"},
    {.name = "dns", .kind = CLI_CUSTOM, .arg = "A.B.C.D", .parse = add_dns,
     .form = "an IPv4 address A.B.C.D, at most 3 times",
     .help = "a DNS server for the host names of get and send (repeatable, up to 3, asked in "
             "turn)"},
    {.name = "mtu", .kind = CLI_LONG, .arg = "N", .min = 68, .max = 65535, .offset = OFF(mtu),
     .help = "set the device MTU (68..65535; default: keep the device's)"},
    {.name = "drop", .kind = CLI_REAL, .arg = "PCT", .min = 0, .max = 100,
     .offset = OFF(imp.drop_pct),
     .help = "drop PCT% of packets, each direction (default 0)"},
    {.name = "dup", .kind = CLI_REAL, .arg = "PCT", .min = 0, .max = 100,
     .offset = OFF(imp.dup_pct),
     .help = "duplicate PCT% of packets, each direction (default 0)"},
    {.name = "reorder", .kind = CLI_REAL, .arg = "PCT", .min = 0, .max = 100,
     .offset = OFF(imp.reorder_pct),
     .help = "hold PCT% of packets back 2 ms so later ones pass them (default 0)"},
    {.name = "delay", .kind = CLI_REAL, .arg = "MS", .min = 0, .max = 10000,
     .offset = OFF(delay_ms),
     .help = "add MS milliseconds of delay to every packet, each way (default 0)"},
    {.name = "seed", .kind = CLI_CUSTOM, .arg = "N", .parse = set_seed,
     .form = "an integer from 0 to 18446744073709551615",
     .help = "seed of the impairment, and a fixed seed for the stack: deterministic ISNs and "
             "ports, for tests only (default: the stack's secret from getrandom, the "
             "impairment's seed from the clock)"},
    {.name = "pcap", .kind = CLI_STRING, .arg = "FILE", .offset = OFF(pcap),
     .help = "write every packet read from or written to the device"},
    {.name = "trace", .kind = CLI_STRING, .arg = "FILE", .offset = OFF(trace),
     .help = "write the stack's trace to FILE, a line per event: time (s since start), kind, "
             "connection, TCP segment (seq and ack relative to the first seen, length, flags) "
             "and the rule that acted (large: for short diagnostic runs)"},
    {.name = "port", .kind = CLI_LONG, .arg = "P", .min = 1, .max = 65535, .offset = OFF(port),
     .help = "port to listen on: recv; serve with one service (default: the service's standard "
             "port)"},
    {.name = "root", .kind = CLI_STRING, .arg = "DIR", .offset = OFF(root),
     .help = "directory served by serve http"},
    {.name = "output", .short_name = 'o', .kind = CLI_STRING, .arg = "FILE", .offset = OFF(out),
     .help = "where get, recv and send write what they receive ('-': stdout)"},
    {.name = "sport", .kind = CLI_LONG, .arg = "P", .min = 1, .max = 65535, .offset = OFF(sport),
     .help = "local port of get and send (default: ephemeral)"},
    {.name = "count", .kind = CLI_LONG, .arg = "N", .min = 0, .max = 1000000000,
     .offset = OFF(count),
     .help = "serve: take N clients (a TCP connection, or a UDP datagram echoed: each counts "
             "one), then exit once each one has acknowledged every byte and our FIN (or "
             "failed), or --timeout after the last one ended (exit 1); default 0: serve "
             "forever"},
    {.name = "max-conns", .kind = CLI_LONG, .arg = "N", .min = 1, .max = 1000000,
     .offset = OFF(max_conns),
     .help = "serve: clients served at once (default: as many as --mem buys); a client beyond "
             "them is reset"},
    {.name = "mem", .kind = CLI_LONG, .arg = "MIB", .min = 1, .max = 1024 * 1024,
     .offset = OFF(mem_mib),
     .help = "serve: memory budget, all taken at start (default " CLI_STR(DEFAULT_MEM_MIB)
             "): half for the stack's buffer pool (the send and receive buffers of "
             "all connections together), half for the clients: each client served "
             "at once costs a session (24 KiB) and two of the stack's connections "
             "(one open, one closing), at what the stack takes for one (measured at "
             "start). The line before 'listening' gives the figures"},
    {.name = "timeout", .kind = CLI_REAL, .arg = "SEC", .min = 0.001, .max = 1e6,
     .offset = OFF(timeout_s),
     .help = "give up if nothing is received for SEC s (default 60); serve --count: the bound "
             "on the last clients' close"},
    {.name = "loss", .kind = CLI_CHOICE, .arg = "rack|rfc6675", .offset = OFF(loss),
     .choices = loss_names,
     .help = "how a SACK sender finds lost segments: RACK's time rule (RFC 8985, with tail "
             "loss probes) or three duplicates / DupThresh SACKed segments (RFC 6675; default: "
             "the stack's, cfg.tcp.loss_detection)"},
    {.name = "cc", .kind = CLI_CHOICE, .arg = "newreno|cubic", .offset = OFF(cc),
     .choices = cc_names,
     .help = "congestion control (default: the stack's, newreno)"},
    {.name = "prr", .kind = CLI_CHOICE, .arg = "ssrb|crb|off", .offset = OFF(prr),
     .choices = prr_names,
     .help = "what a SACK recovery sends per ACK: RFC 6937 PRR with the slow-start or the "
             "conservative bound, or RFC 6675 alone (default ssrb)"},
    {.name = "ecn", .kind = CLI_CHOICE, .arg = "on|passive|off", .offset = OFF(ecn),
     .choices = ecn_names,
     .help = "RFC 3168 ECN: ask for it on our SYNs, only agree when the peer asks (default), "
             "or neither"},
    {.name = "sndbuf", .kind = CLI_LONG, .arg = "KIB", .min = 4, .max = 64 * 1024,
     .offset = OFF(sndbuf_kib),
     .help = "largest send buffer of a connection (default " CLI_STR(SNDBUF_KIB)
             "; a client's buffer pool grows with it)"},
    {.name = "quiet", .kind = CLI_FLAG, .offset = OFF(quiet),
     .help = "no progress lines and no summary"},
    {.name = "stats", .kind = CLI_FLAG, .offset = OFF(stats),
     .help = "at exit, print the stack's drop counters (with their reasons), its TCP "
             "loss-recovery counters (segments sent and resent, retransmission timer and loss "
             "probe expiries, loss recoveries entered, D-SACKs, spurious retransmissions and "
             "undos, ECN reductions), the client's connection as last seen (RTT, RTO, cwnd, "
             "ssthresh) and the driver's counters to stderr"},
};
/* clang-format on */

/* ---- Usage ------------------------------------------------------------------ */

static void
usage(FILE *f, const struct opts *o)
{
    const char *cmd = o->cmd;
    fprintf(f,
            "usage: tern %s --dev NAME --addr A.B.C.D/N [options] MODE\n"
            "       tern tap --dev NAME --dhcp [options] [MODE]\n"
            "\n"
            "Runs a tern stack on the %s device NAME (created if missing, brought up)\n"
            "with tern's address A.B.C.D/N, and one application:\n"
            "\n"
            "  serve echo [--port P]           echo every byte back, any number of clients\n"
            "  serve discard [--port P]        read and drop everything\n"
            "  serve http [--port P] --root DIR  HTTP/1.1 GET and HEAD of the files under DIR\n"
            "  serve udp-echo [--port P]       send every UDP datagram back to its sender\n"
            "  serve SVC[:PORT],SVC[:PORT]...  several of them at once, each on its port:\n"
            "                                  e.g. serve echo,udp-echo,http:8080 --root D\n"
            "                                  (a service without :PORT takes its standard\n"
            "                                  one: echo 7, discard 9, http 80, udp-echo 7)\n"
            "  get URL -o FILE                 fetch http://HOST[:PORT]/PATH into FILE\n"
            "                                  (HTTP/1.1; a chunked body is decoded)\n"
            "  send HOST:PORT FILE             connect, send FILE, close (HOST: A.B.C.D, or\n"
            "                                  a name looked up with --dns, as in get)\n"
            "  send HOST:PORT FILE -o OUT      the same, and write what the peer sends\n"
            "                                  meanwhile to OUT, until its end of stream\n"
            "  recv --port P -o FILE           accept one connection, write what arrives\n"
            "  ping HOST [--count N]           echo requests to HOST (A.B.C.D or X:X::X), one\n"
            "                                  a second (default 3), as ping(8) prints them\n"
            "\n",
            cmd, strcmp(cmd, "tap") == 0 ? "TAP (Ethernet)" : "TUN (IPv4 and IPv6)");
    cli_print_options(f, &o->cli);
    fprintf(f,
            "\n"
            "Example (as root; Linux is 10.77.0.1 on the device, tern is 10.77.0.2):\n"
            "  ip netns add demo\n"
            "  ip netns exec demo tern %s --dev tern0 --addr 10.77.0.2/24 \\\n"
            "      --linux-addr 10.77.0.1/24 serve http --port 8080 --root /srv &\n"
            "  ip netns exec demo curl http://10.77.0.2:8080/index.html\n"
            "\n"
            "Transfers print a progress line a second while bytes move (none when idle)\n"
            "and a summary (bytes, time, goodput, retransmissions; with udp-echo, the\n"
            "datagrams echoed) on stderr. SIGINT/SIGTERM stop cleanly.\n"
            "Exit status: 0 success, 1 runtime failure, 2 usage error.\n",
            cmd);
}

static int
usage_error(const struct opts *o, const char *msg, const char *arg)
{
    return cli_usage_error(&o->cli, "%s%s%s", msg, arg ? " " : "", arg ? arg : "");
}

/* serve's operand: SVC[:PORT] separated by commas, SVC one of echo,
 * discard, http, udp-echo. Ports default later (check_opts). */
static int
parse_services(struct opts *o, const char *list)
{
    static const struct {
        const char *name;
        enum mode kind;
    } names[] = {
        {"echo", M_ECHO}, {"discard", M_DISCARD}, {"http", M_HTTP}, {"udp-echo", M_UDP_ECHO}};
    const char *p = list;
    for (;;) {
        size_t len = strcspn(p, ",");
        char item[32];
        if (len == 0 || len >= sizeof(item)) {
            return usage_error(
                o, "serve what? (echo, discard, http, udp-echo, or a list: echo,http:8080), not",
                list);
        }
        memcpy(item, p, len);
        item[len] = '\0';
        char *colon = strchr(item, ':');
        long port = 0;
        if (colon != NULL) {
            *colon = '\0';
            if (!cli_parse_long(colon + 1, 1, 65535, &port)) {
                return cli_usage_error(&o->cli,
                                       "invalid port '%s' for service %s: expected an integer from "
                                       "1 to 65535",
                                       colon + 1, item);
            }
        }
        enum mode kind = M_NONE;
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
            if (strcmp(item, names[i].name) == 0) {
                kind = names[i].kind;
            }
        }
        if (kind == M_NONE) {
            return usage_error(o, "unknown service (echo, discard, http or udp-echo):", item);
        }
        if (o->n_svc == MAX_SVC) {
            return usage_error(o, "too many services in", list);
        }
        o->svc[o->n_svc++] = (struct svc){.kind = kind, .port = port};
        if (p[len] == '\0') {
            return 0;
        }
        p += len + 1;
    }
}

/* Positional words: the mode and its operands, as many as the mode takes. */
static int
set_word(struct opts *o, const char **words, int n)
{
    static const struct {
        const char *name;
        enum mode mode;
        int operands;
        const char *synopsis;
    } modes[] = {
        {"serve", M_SERVE, 1, "serve SVC[:PORT][,SVC[:PORT]...]"},
        {"get", M_GET, 1, "get URL"},
        {"send", M_SEND, 2, "send HOST:PORT FILE"},
        {"recv", M_RECV, 0, "recv"},
        {"ping", M_PING, 1, "ping HOST"},
    };
    if (n == 0) {
        if (o->dhcp) {
            return 0; /* tap --dhcp alone: hold a lease until stopped */
        }
        return usage_error(o, "missing MODE (serve, get, send, recv or ping)", NULL);
    }
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        if (strcmp(words[0], modes[i].name) != 0) {
            continue;
        }
        if (n - 1 > modes[i].operands) {
            return cli_usage_error(&o->cli, "unexpected operand '%s' (the mode is %s)",
                                   words[modes[i].operands + 1], modes[i].synopsis);
        }
        if (n - 1 < modes[i].operands) {
            return cli_usage_error(&o->cli, "missing operand (the mode is %s)", modes[i].synopsis);
        }
        o->mode = modes[i].mode;
        switch (o->mode) {
        case M_SERVE:
            return parse_services(o, words[1]);
        case M_GET:
            o->url = words[1];
            break;
        case M_SEND:
            o->target = words[1];
            o->file = words[2];
            break;
        case M_PING: {
            o->ping_host = words[1];
            uint32_t v4;
            if (parse_ipv4(words[1], &v4)) {
                o->ping_dst = tern_ip4(v4);
            } else if (!parse_ipv6(words[1], &o->ping_dst)) {
                return cli_usage_error(&o->cli, "ping HOST: '%s' is neither A.B.C.D nor X:X::X",
                                       words[1]);
            }
            break;
        }
        default:
            break;
        }
        return 0;
    }
    return cli_usage_error(&o->cli, "unknown MODE '%s' (serve, get, send, recv or ping)", words[0]);
}

static int
check_opts(struct opts *o)
{
    if (o->dev == NULL) {
        return usage_error(o, "--dev NAME is required", NULL);
    }
    if (o->dhcp && !o->tap) {
        return usage_error(o, "--dhcp needs Ethernet: it is an option of tern tap", NULL);
    }
    if (o->dhcp && (o->prefix != 0 || o->gw != 0)) {
        return usage_error(o, "--dhcp gives the address and gateway: no --addr or --gw with it",
                           NULL);
    }
    if (o->prefix == 0 && !o->dhcp) {
        return usage_error(o, "--addr A.B.C.D/N (or, on tap, --dhcp) is required", NULL);
    }
    bool server = o->mode == M_SERVE;
    if (o->mode == M_PING && o->count > PING_MAX) {
        return usage_error(o, "ping takes --count 1000 at most", NULL);
    }
    if (o->mode == M_RECV && o->port == 0) {
        return usage_error(o, "this mode needs --port P", NULL);
    }
    if (!server && (o->max_conns != 0 || o->mem_mib != 0 || (o->count != 0 && o->mode != M_PING))) {
        return usage_error(
            o, "--max-conns and --mem are options of serve, --count of serve and ping", NULL);
    }
    if (server) {
        if (o->port != 0 && (o->n_svc > 1 || o->svc[0].port != 0)) {
            return usage_error(o,
                               "--port goes with one service; give each its own as SERVICE:PORT "
                               "(serve echo:7007,http:8080)",
                               NULL);
        }
        for (int i = 0; i < o->n_svc; i++) {
            struct svc *v = &o->svc[i];
            /* The standard ports: echo RFC 862 (TCP and UDP), discard
             * RFC 863, HTTP RFC 9110 4.2.1. */
            if (v->port == 0) {
                v->port = o->port != 0           ? o->port
                          : v->kind == M_DISCARD ? 9
                          : v->kind == M_HTTP    ? 80
                                                 : 7;
            }
            for (int j = 0; j < i; j++) {
                if (o->svc[j].port == v->port && is_udp(o->svc[j].kind) == is_udp(v->kind)) {
                    char p[24];
                    snprintf(p, sizeof(p), "%ld (%s)", v->port, is_udp(v->kind) ? "udp" : "tcp");
                    return usage_error(o, "two services on port", p);
                }
            }
            if (v->kind == M_HTTP && o->root == NULL) {
                return usage_error(o, "serve http needs --root DIR", NULL);
            }
        }
    }
    if ((o->mode == M_GET || o->mode == M_RECV) && o->out == NULL) {
        return usage_error(o, "this mode needs -o FILE", NULL);
    }
    if (o->gw != 0) {
        uint32_t mask = o->prefix >= 32 ? ~0u : ~(~0u >> o->prefix);
        if ((o->gw & mask) != (o->addr & mask)) {
            return usage_error(o, "--gw is not on the subnet of --addr", NULL);
        }
    }
    if (o->linux_prefix != 0 && o->linux_addr == o->addr) {
        return usage_error(o, "--linux-addr must differ from --addr", NULL);
    }
    return 0;
}

/* Returns CLI_OK, CLI_HELP or CLI_USAGE. Touches no device: everything
 * wrong with the command line is found here, before any is opened. */
static int
parse_args(int argc, char **argv, struct opts *o)
{
    o->cli = (struct cli_cmd){
        .name = o->cmd,
        .opts = tun_opts,
        .n_opts = sizeof(tun_opts) / sizeof(tun_opts[0]),
        .max_operands = 8,
        .operand_note = "a MODE takes at most two operands: send HOST:PORT FILE",
    };
    char *words[8];
    int n_words;
    int rc = cli_parse(&o->cli, argc, argv, o, words, &n_words);
    if (rc != CLI_OK) {
        return rc;
    }
    o->imp.delay_ns = (int64_t)(o->delay_ms * 1e6);
    rc = set_word(o, (const char **)words, n_words);
    return rc != 0 ? rc : check_opts(o);
}

/* ---- Running ---------------------------------------------------------------- */

struct sess {
    int id;         /* 0: free */
    enum mode kind; /* servers: the service (M_ECHO, M_DISCARD, M_HTTP) */
    int fd;         /* file being served (http), or -1 */
    char req[HDR_MAX];
    size_t req_len;
    uint8_t buf[SESS_BUF];
    size_t off, len; /* bytes of buf still to send */
    bool responding, file_done, closed;
};

/* The decoder of a chunked body (RFC 9112 7.1): chunk-size [chunk-ext]
 * CRLF, chunk-data CRLF, ..., last-chunk (size 0), trailer lines, CRLF. */
enum chunk_state { CH_SIZE, CH_DATA, CH_DATA_CRLF, CH_TRAILER, CH_DONE };
#define CHUNK_LINE 256 /* a size line (with its extensions) longer than this is refused */
struct chunker {
    enum chunk_state state;
    uint64_t left;         /* CH_DATA: bytes of the chunk still to come */
    char line[CHUNK_LINE]; /* CH_SIZE, CH_DATA_CRLF: the line so far */
    size_t line_len;       /* bytes in line; CH_TRAILER: of the trailer line */
    size_t trailer_bytes;  /* all trailer lines so far (bounded by HDR_MAX) */
};

struct app {
    struct opts o;
    struct tern_stack *st;
    struct tern_tun *tun;
    int listener, conn;
    int out_fd, in_fd;
    struct sess *sess; /* servers: n_sess sessions, allocated at start */
    int n_sess;
    int *live, n_live;  /* indices of the sessions in use, in no order */
    int *idle, n_idle;  /* indices of the free sessions (a stack) */
    unsigned n_conns;   /* the stack's cfg.tcp.max_connections */
    size_t pool_bytes;  /* the stack's cfg.pool_bytes */
    size_t table_bytes; /* the stack's allocation and the sessions */
    long served;
    long accepted;    /* --count: clients taken */
    bool listening;   /* serve: the listeners of o.svc are open */
    int64_t t_linger; /* --count: when the last client ended, 0 before */
    int64_t t_drain;  /* --count: no exit before, so that held packets leave */
    long refused;     /* clients reset because every session was taken */
    /* udp-echo (all its services together) */
    bool has_udp;           /* a UDP service was asked for */
    uint64_t dgrams;        /* datagrams echoed */
    uint64_t dgrams_unsent; /* datagrams read whose echo the stack refused (no route, port 0,
                               the device's queue full): lost, as UDP may */
    uint64_t dgrams_looped; /* datagrams from a port that answers (see serve_udp): not echoed */
    /* transfer accounting */
    uint64_t bytes_in, bytes_out;
    int64_t t_start, t_last_rx, t_next_progress;
    uint64_t progress_bytes; /* bytes_in + bytes_out at the last progress check */
    uint64_t retrans0;
    FILE *trace;                     /* --trace */
    int64_t trace_t0;                /* its time origin */
    uint32_t trace_seq0, trace_ack0; /* its sequence origins: the first segments */
    bool trace_origin, trace_peer_origin;
    struct tern_dhcp *dhcp;      /* --dhcp: the client, NULL otherwise */
    bool app_started;            /* --dhcp: the mode runs once a lease is bound */
    char host[256];              /* get, send: the peer's name when not an address */
    struct tern_tcp_status last; /* the client's connection as last seen (--stats) */
    bool have_last;
    bool failed, done;
    struct tern_ip shown6[8]; /* IPv6 addresses reported ready */
    unsigned n_shown6;
    /* ping */
    long ping_sent, ping_rcvd;
    int64_t ping_next, ping_sent_ns[PING_MAX + 1];
    bool ping_seen[PING_MAX + 1];
    /* HTTP client */
    char hdr[HDR_MAX];
    size_t hdr_len;
    bool in_body;
    long long content_length; /* -1: until EOF */
    bool chunked;             /* Transfer-Encoding: chunked */
    struct chunker ch;
    int status;
    uint8_t io[IOBUF];
};

static void
fail(struct app *a, const char *what, int err)
{
    fprintf(stderr, "tern %s: %s%s%s\n", a->o.cmd, what, err ? ": " : "",
            err ? tern_strerror(err) : "");
    a->failed = true;
    a->done = true;
}

static uint64_t
retransmits(const struct app *a)
{
    return tern_stack_stats(a->st)->tcp.retransmits;
}

static void
report(struct app *a, bool final)
{
    if (a->o.quiet) {
        return;
    }
    int64_t now = tern_tun_now_ns();
    double secs = (double)(now - a->t_start) / 1e9;
    /* get: the body's bytes (the request is not the transfer). */
    uint64_t bytes = a->o.mode == M_GET || a->bytes_in > a->bytes_out ? a->bytes_in : a->bytes_out;
    double mbit = secs > 0 ? (double)bytes * 8 / secs / 1e6 : 0;
    char udp[48] = "";
    if (a->has_udp) {
        snprintf(udp, sizeof(udp), ", %llu datagrams echoed", (unsigned long long)a->dgrams);
    }
    fprintf(stderr, "%s%llu bytes in %.3f s, goodput %.2f Mbit/s, %llu retransmissions%s\n",
            final ? "tern: " : "  ", (unsigned long long)bytes, secs, mbit,
            (unsigned long long)(retransmits(a) - a->retrans0), udp);
}

/* A progress line a second, but only when bytes (or datagrams: an empty
 * one counts) moved since the last one: an idle server (or a stalled
 * transfer) stays quiet. */
static void
progress(struct app *a, int64_t now)
{
    if (now >= a->t_next_progress) {
        uint64_t moved = a->bytes_in + a->bytes_out + a->dgrams;
        if (a->t_next_progress != 0 && moved != a->progress_bytes) {
            report(a, false);
        }
        a->progress_bytes = moved;
        a->t_next_progress = now + NS;
    }
}

/* Writes all of buf to fd; false on error. */
static bool
write_all(int fd, const uint8_t *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        buf += n;
        len -= (size_t)n;
    }
    return true;
}

/* Reads what the connection holds into out_fd (or drops it when out_fd <
 * 0). Returns 1 at end of stream, 0 when drained for now, -err on error. */
static int
drain_recv(struct app *a, int id, int out_fd, uint64_t *count)
{
    for (;;) {
        int n = tern_tcp_recv(a->st, id, a->io, sizeof(a->io), tern_tun_now_ns());
        if (n == TERN_ERR_AGAIN) {
            return 0;
        }
        if (n == TERN_ERR_CLOSING) {
            return 1;
        }
        if (n < 0) {
            return n;
        }
        a->t_last_rx = tern_tun_now_ns();
        *count += (uint64_t)n;
        if (out_fd >= 0 && !write_all(out_fd, a->io, (size_t)n)) {
            return TERN_ERR_INVAL;
        }
    }
}

/* ---- Servers: echo, discard, http ------------------------------------------- */

static void
sess_end(struct app *a, struct sess *s, bool graceful)
{
    int64_t now = tern_tun_now_ns();
    if (graceful) {
        (void)tern_tcp_close(a->st, s->id, now); /* the FIN follows the queued data */
    }
    if (s->fd >= 0) {
        close(s->fd);
        s->fd = -1;
    }
    a->served++;
    if (graceful && a->o.count > 0) {
        /* --count: the process exits once its clients are done, so the
         * session keeps the id until the FIN is acknowledged (sess_linger):
         * released now, the connection would finish alone, but the exit
         * would take its unsent and unacknowledged bytes with it. */
        s->closed = true;
        return;
    }
    (void)tern_tcp_release(a->st, s->id, now); /* a closing connection finishes alone */
    s->id = 0;
}

/* --count: a session that closed waits here until the peer acknowledged
 * every byte and our FIN (FIN-WAIT-2, TIME-WAIT, CLOSED; RFC 9293 3.6: the
 * FIN is acknowledged only after all text before it), or the connection
 * failed; then the id goes back. What the peer still sends is read and
 * dropped, so that the release does not reset the connection for unread
 * text (RFC 9293 3.6 SHLD-3). */
static void
sess_linger(struct app *a, struct sess *s)
{
    uint64_t ignored = 0;
    int rc = drain_recv(a, s->id, -1, &ignored);
    struct tern_tcp_status ts;
    bool finished = rc < 0 && rc != TERN_ERR_CLOSING;
    if (tern_tcp_status(a->st, s->id, &ts) != TERN_OK || ts.error != 0) {
        finished = true;
    } else if (ts.state == TERN_TCP_FIN_WAIT_2 || ts.state == TERN_TCP_TIME_WAIT ||
               ts.state == TERN_TCP_CLOSED) {
        finished = true;
    }
    if (finished) {
        (void)tern_tcp_release(a->st, s->id, tern_tun_now_ns());
        s->id = 0;
    }
}

/* Sends buf[off..len); returns false when the connection failed. */
static bool
pump_buf(struct app *a, int id, const uint8_t *buf, size_t *off, size_t len)
{
    while (*off < len) {
        int n = tern_tcp_send(a->st, id, buf + *off, len - *off, tern_tun_now_ns());
        if (n < 0) {
            return false;
        }
        if (n == 0) {
            break;
        }
        *off += (size_t)n;
        a->bytes_out += (uint64_t)n;
    }
    return true;
}

static void
serve_echo(struct app *a, struct sess *s)
{
    for (;;) {
        if (!pump_buf(a, s->id, s->buf, &s->off, s->len)) {
            sess_end(a, s, false);
            return;
        }
        if (s->off < s->len) {
            return; /* send ring full: read more once it drains */
        }
        s->off = s->len = 0;
        int n = tern_tcp_recv(a->st, s->id, s->buf, sizeof(s->buf), tern_tun_now_ns());
        if (n == TERN_ERR_AGAIN) {
            return;
        }
        if (n < 0) {
            sess_end(a, s, n == TERN_ERR_CLOSING);
            return;
        }
        s->len = (size_t)n;
        a->bytes_in += (uint64_t)n;
    }
}

static void
serve_discard(struct app *a, struct sess *s)
{
    int rc = drain_recv(a, s->id, -1, &a->bytes_in);
    if (rc != 0) {
        sess_end(a, s, rc == 1);
    }
}

/* Starts the response to the request in s->req: headers into s->buf, the
 * file (if any) in s->fd. */
static void
http_respond(struct app *a, struct sess *s)
{
    char method[8], path[1024];
    int code = 400;
    long long size = 0;
    s->req[s->req_len] = '\0';
    if (sscanf(s->req, "%7s %1023s HTTP/1.%*c", method, path) == 2 &&
        (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0) && path[0] == '/' &&
        strstr(path, "..") == NULL) {
        char *q = strchr(path, '?');
        if (q != NULL) {
            *q = '\0';
        }
        char full[2048];
        snprintf(full, sizeof(full), "%s%s%s", a->o.root, path,
                 path[strlen(path) - 1] == '/' ? "index.html" : "");
        struct stat sb;
        code = 404;
        s->fd = open(full, O_RDONLY | O_CLOEXEC);
        if (s->fd >= 0 && fstat(s->fd, &sb) == 0 && S_ISREG(sb.st_mode)) {
            code = 200;
            size = (long long)sb.st_size;
        }
        if (code != 200 || strcmp(method, "HEAD") == 0) {
            if (s->fd >= 0) {
                close(s->fd);
            }
            s->fd = -1;
        }
    }
    const char *reason = code == 200 ? "OK" : code == 404 ? "Not Found" : "Bad Request";
    const char *body = code == 200 ? "" : code == 404 ? "not found\n" : "bad request\n";
    if (code != 200) {
        size = (long long)strlen(body);
    }
    int n = snprintf((char *)s->buf, sizeof(s->buf),
                     "HTTP/1.1 %d %s\r\nServer: tern\r\nContent-Length: %lld\r\n"
                     "Content-Type: %s\r\nConnection: close\r\n\r\n%s",
                     code, reason, size, code == 200 ? "application/octet-stream" : "text/plain",
                     strncmp(s->req, "HEAD", 4) == 0 ? "" : body);
    s->off = 0;
    s->len = (size_t)n;
    s->responding = true;
    s->file_done = s->fd < 0;
}

static void
http_read_request(struct app *a, struct sess *s)
{
    while (!s->responding) {
        int n = tern_tcp_recv(a->st, s->id, s->req + s->req_len, HDR_MAX - 1 - s->req_len,
                              tern_tun_now_ns());
        if (n == TERN_ERR_AGAIN) {
            return;
        }
        if (n < 0) {
            sess_end(a, s, n == TERN_ERR_CLOSING);
            return;
        }
        a->bytes_in += (uint64_t)n;
        s->req_len += (size_t)n;
        s->req[s->req_len] = '\0';
        if (strstr(s->req, "\r\n\r\n") != NULL || strstr(s->req, "\n\n") != NULL ||
            s->req_len == HDR_MAX - 1) {
            http_respond(a, s); /* a full buffer without an end is a 400 */
        }
    }
}

static void
serve_http(struct app *a, struct sess *s)
{
    http_read_request(a, s);
    if (s->id == 0 || !s->responding) {
        return;
    }
    uint64_t ignored = 0;
    if (drain_recv(a, s->id, -1, &ignored) < 0) { /* anything after the request */
        sess_end(a, s, false);
        return;
    }
    for (;;) {
        if (!pump_buf(a, s->id, s->buf, &s->off, s->len)) {
            sess_end(a, s, false);
            return;
        }
        if (s->off < s->len) {
            return;
        }
        if (s->file_done) {
            sess_end(a, s, true);
            return;
        }
        ssize_t n = read(s->fd, s->buf, sizeof(s->buf));
        s->off = 0;
        s->len = n > 0 ? (size_t)n : 0;
        s->file_done = n <= 0;
    }
}

/* Releases every listener (their pending children are reset) and closes
 * the UDP sockets (what they queued is dropped; later datagrams get a port
 * unreachable). */
static void
stop_listening(struct app *a)
{
    int64_t now = tern_tun_now_ns();
    for (int k = 0; k < a->o.n_svc; k++) {
        struct svc *v = &a->o.svc[k];
        if (v->listener > 0) {
            if (is_udp(v->kind)) {
                (void)tern_udp_close(a->st, v->listener, now);
            } else {
                (void)tern_tcp_release(a->st, v->listener, now);
            }
            v->listener = 0;
        }
    }
    a->listening = false;
    /* What the device's impairment holds back (--delay, --reorder: the
     * delay and 2 ms more) leaves before a --count exit: UDP has no
     * acknowledgment to wait for. */
    if (a->o.imp.delay_ns > 0 || a->o.imp.reorder_pct > 0) {
        a->t_drain = now + a->o.imp.delay_ns + DRAIN_NS;
    }
}

/* --count: one more client (a connection or a datagram echoed); after the
 * N-th the listeners and sockets go. Returns true then. */
static bool
count_client(struct app *a)
{
    if (a->o.count > 0 && ++a->accepted >= a->o.count) {
        stop_listening(a);
        return true;
    }
    return false;
}

/* Source ports of the services that answer any datagram: echo (RFC 862),
 * daytime (RFC 867), quote of the day (RFC 865), chargen (RFC 864), time
 * (RFC 868). A datagram from one of them is not echoed: one forged
 * datagram would otherwise set two such services answering each other
 * for ever (the UDP "ping-pong" of CERT advisory CA-1996-01). */
static bool
answering_port(uint16_t port)
{
    return port == 7 || port == 13 || port == 17 || port == 19 || port == 37;
}

/* udp-echo (RFC 862, UDP part): each datagram goes back to its sender
 * whole, the same bytes, from the port it was sent to. No queue of ours:
 * the stack's receive queue holds what waits (bounded by its rcvbuf, the
 * rest dropped and counted by the stack); an echo the stack cannot send is
 * lost and counted, as UDP allows. */
static void
serve_udp(struct app *a, struct svc *v)
{
    unsigned echoed = 0;
    while (v->listener > 0) {
        struct tern_udp_addr from;
        int64_t now = tern_tun_now_ns();
        int n = tern_udp_recvfrom(a->st, v->listener, a->io, sizeof(a->io), 0, &from, NULL, now);
        if (n < 0) {
            return; /* TERN_ERR_AGAIN: nothing more for now */
        }
        if (a->t_start == 0) {
            a->t_start = now;
        }
        a->t_last_rx = now;
        a->bytes_in += (uint64_t)n;
        if (answering_port(from.port)) {
            a->dgrams_looped++;
            continue;
        }
        if (tern_udp_sendto(a->st, v->listener, a->io, (size_t)n, &from, now) < 0) {
            a->dgrams_unsent++;
            continue;
        }
        a->bytes_out += (uint64_t)n;
        a->dgrams++;
        if (++echoed % UDP_FLUSH_EVERY == 0) {
            tern_tun_flush(a->tun, a->st); /* the device's queue is bounded */
        }
        if (count_client(a)) {
            return;
        }
    }
}

static void
accept_all(struct app *a)
{
    for (int k = 0; k < a->o.n_svc && a->listening; k++) {
        if (is_udp(a->o.svc[k].kind)) {
            continue;
        }
        for (;;) {
            int id = tern_tcp_accept(a->st, a->o.svc[k].listener, tern_tun_now_ns());
            if (id < 0) {
                break;
            }
            if (a->n_idle == 0) {
                (void)tern_tcp_release(a->st, id, tern_tun_now_ns()); /* aborts it */
                a->refused++;
                continue;
            }
            int i = a->idle[--a->n_idle];
            a->live[a->n_live++] = i;
            a->sess[i] = (struct sess){.id = id, .kind = a->o.svc[k].kind, .fd = -1};
            if (a->t_start == 0) {
                a->t_start = tern_tun_now_ns();
            }
            if (count_client(a)) {
                /* --count N: N clients taken, no more; the listeners go
                 * (their pending children are reset) and the last
                 * sessions finish. */
                return;
            }
        }
    }
}

static void
step_server(struct app *a)
{
    if (a->listening) {
        accept_all(a);
    }
    for (int k = 0; k < a->o.n_svc && a->listening; k++) {
        if (is_udp(a->o.svc[k].kind)) {
            serve_udp(a, &a->o.svc[k]);
        }
    }
    int kept = 0;
    bool serving = false; /* a session not yet closed */
    for (int k = 0; k < a->n_live; k++) {
        int i = a->live[k];
        struct sess *s = &a->sess[i];
        if (s->closed) {
            sess_linger(a, s);
        } else if (s->kind == M_ECHO) {
            serve_echo(a, s);
        } else if (s->kind == M_DISCARD) {
            serve_discard(a, s);
        } else {
            serve_http(a, s);
        }
        if (s->id != 0) {
            a->live[kept++] = i;
            serving = serving || !s->closed;
        } else {
            a->idle[a->n_idle++] = i; /* ended: free again */
        }
    }
    a->n_live = kept;
    if (a->o.count > 0 && !a->listening) {
        /* --count: every client taken; exit once all are closed, or
         * when --timeout passes after the last one ended (a peer that
         * never acknowledges must not hold the process forever). */
        int64_t now = tern_tun_now_ns();
        if (a->n_live == 0) {
            a->done = now >= a->t_drain;
        } else if (serving) {
            a->t_linger = 0;
        } else if (a->t_linger == 0) {
            a->t_linger = now;
        } else if (now - a->t_linger > (int64_t)(a->o.timeout_s * 1e9)) {
            char msg[96];
            snprintf(msg, sizeof(msg), "%d connection(s) not closed %.0f s after the last client",
                     a->n_live, a->o.timeout_s);
            fail(a, msg, 0);
        }
    }
}

/* ---- Clients: get, send; and recv ------------------------------------------- */

/* True once the connection closed cleanly enough to exit: our FIN is acked
 * and the peer's FIN seen, or (FIN-WAIT-2) the peer is slow to close. */
static bool
close_finished(struct app *a, int64_t *since)
{
    struct tern_tcp_status ts;
    if (tern_tcp_status(a->st, a->conn, &ts) != TERN_OK) {
        return true;
    }
    int64_t now = tern_tun_now_ns();
    switch (ts.state) {
    case TERN_TCP_CLOSED:
    case TERN_TCP_TIME_WAIT:
        return true;
    case TERN_TCP_FIN_WAIT_2:
        if (*since == 0) {
            *since = now;
        }
        return now - *since > 2 * NS;
    case TERN_TCP_LISTEN:
    case TERN_TCP_SYN_SENT:
    case TERN_TCP_SYN_RECEIVED:
    case TERN_TCP_ESTABLISHED:
    case TERN_TCP_FIN_WAIT_1:
    case TERN_TCP_CLOSE_WAIT:
    case TERN_TCP_CLOSING:
    case TERN_TCP_LAST_ACK:
    case TERN_TCP_STATE_COUNT:
        return false;
    }
    return false;
}

/* Connection failed or not yet up? Returns true when the caller may go on. */
static bool
connected(struct app *a, const char *what)
{
    unsigned ev = tern_tcp_events(a->st, a->conn);
    if ((ev & TERN_TCP_EV_ERROR) != 0 ||
        ((ev & TERN_TCP_EV_CLOSED) != 0 && (ev & TERN_TCP_EV_CONNECTED) == 0)) {
        char msg[160];
        snprintf(msg, sizeof(msg), "%s %s", what, a->o.target ? a->o.target : a->o.url);
        fail(a, msg, tern_tcp_error(a->st, a->conn));
        return false;
    }
    if ((ev & TERN_TCP_EV_CONNECTED) != 0 && a->t_start == 0) {
        a->t_start = tern_tun_now_ns();
    }
    return (ev & TERN_TCP_EV_CONNECTED) != 0;
}

struct sess_state {
    bool closed, eof;
    bool rx_eof; /* send -o: the peer's end of stream was read */
    int64_t fin_wait_since;
};

static void
step_send(struct app *a, struct sess *s, struct sess_state *ss)
{
    if (!connected(a, "connection to")) {
        return;
    }
    while (!ss->closed) {
        if (!pump_buf(a, a->conn, s->buf, &s->off, s->len)) {
            fail(a, "send", tern_tcp_error(a->st, a->conn));
            return;
        }
        if (s->off < s->len) {
            break;
        }
        if (ss->eof) {
            (void)tern_tcp_close(a->st, a->conn, tern_tun_now_ns());
            ss->closed = true;
            break;
        }
        ssize_t n = read(a->in_fd, s->buf, sizeof(s->buf));
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            break; /* a pipe with nothing yet: try again next turn */
        }
        if (n < 0) {
            fail(a, "reading the file failed", 0);
            return;
        }
        s->off = 0;
        s->len = (size_t)n;
        ss->eof = n == 0;
    }
    /* With -o, what the peer sends meanwhile is kept (a two-way transfer),
     * and the end waits for the peer's end of stream; else it is dropped. */
    uint64_t ignored = 0;
    int rc = ss->rx_eof
                 ? 1
                 : drain_recv(a, a->conn, a->out_fd, a->out_fd >= 0 ? &a->bytes_in : &ignored);
    if (rc == TERN_ERR_INVAL) {
        fail(a, "writing the output failed", 0);
        return;
    }
    if (rc < 0 && rc != TERN_ERR_CLOSING) {
        fail(a, "connection lost", tern_tcp_error(a->st, a->conn));
        return;
    }
    ss->rx_eof = rc == 1;
    if (ss->closed && (a->out_fd < 0 || ss->rx_eof) && close_finished(a, &ss->fin_wait_since)) {
        if (tern_tcp_error(a->st, a->conn) != 0) {
            fail(a, "connection lost", tern_tcp_error(a->st, a->conn));
        }
        a->done = true;
    }
}

/* A chunk-size line without its CRLF (RFC 9112 7.1): 1*HEXDIG, then
 * nothing or chunk extensions (BWS ";" ...), which are ignored. Returns
 * false when it is not one, or the size does not fit in 60 bits. */
static bool
chunk_size(const char *line, size_t len, uint64_t *size)
{
    size_t i = 0;
    uint64_t v = 0;
    for (; i < len; i++) {
        char c = line[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0) {
            break;
        }
        if (v >> 56 != 0) {
            return false; /* too large for any file: refused, not wrapped */
        }
        v = v << 4 | (uint64_t)d;
    }
    if (i == 0) {
        return false;
    }
    while (i < len && (line[i] == ' ' || line[i] == '\t')) {
        i++; /* BWS before an extension */
    }
    if (i < len && line[i] != ';') {
        return false;
    }
    *size = v;
    return true;
}

/* Writes body bytes to the output; false (after fail()) on error. */
static bool
get_write(struct app *a, const uint8_t *p, size_t n)
{
    if (n > 0 && !write_all(a->out_fd, p, n)) {
        fail(a, "writing the output failed", 0);
        return false;
    }
    a->bytes_in += n;
    return true;
}

/* Feeds n bytes of a chunked body to the decoder; writes the chunks' data.
 * Returns false (after fail()) on a framing error or a write error. */
static bool
chunk_feed(struct app *a, const uint8_t *p, size_t n)
{
    struct chunker *c = &a->ch;
    while (n > 0 && c->state != CH_DONE) {
        if (c->state == CH_DATA) {
            size_t k = c->left < n ? (size_t)c->left : n;
            if (!get_write(a, p, k)) {
                return false;
            }
            p += k;
            n -= k;
            c->left -= k;
            if (c->left == 0) {
                c->state = CH_DATA_CRLF;
                c->line_len = 0;
            }
            continue;
        }
        uint8_t b = *p++;
        n--;
        if (c->state == CH_TRAILER) {
            /* Trailer fields are read and dropped; an empty line ends them. */
            if (++c->trailer_bytes > HDR_MAX) {
                fail(a, "bad chunked body: trailer section too long", 0);
                return false;
            }
            if (b == '\n') {
                if (c->line_len == 1 && c->line[0] == '\r') {
                    c->state = CH_DONE;
                }
                c->line_len = 0;
            } else if (c->line_len++ == 0) {
                c->line[0] = (char)b;
            }
            continue;
        }
        if (b != '\n') {
            if (c->line_len == CHUNK_LINE) {
                fail(a, "bad chunked body: chunk size line too long", 0);
                return false;
            }
            c->line[c->line_len++] = (char)b;
            continue;
        }
        /* A whole line: it must end in CRLF. */
        if (c->line_len == 0 || c->line[c->line_len - 1] != '\r') {
            fail(a, "bad chunked body: a line does not end in CRLF", 0);
            return false;
        }
        size_t len = c->line_len - 1;
        c->line_len = 0;
        if (c->state == CH_DATA_CRLF) {
            if (len != 0) {
                fail(a, "bad chunked body: chunk data longer than its size", 0);
                return false;
            }
            c->state = CH_SIZE;
            continue;
        }
        uint64_t size;
        if (!chunk_size(c->line, len, &size)) {
            char msg[96];
            snprintf(msg, sizeof(msg), "bad chunked body: bad chunk size '%.*s'",
                     (int)(len < 32 ? len : 32), c->line);
            fail(a, msg, 0);
            return false;
        }
        c->state = size == 0 ? CH_TRAILER : CH_DATA;
        c->left = size;
    }
    return true;
}

/* Body bytes as they arrive: decoded (chunked) or as they are. */
static bool
get_body(struct app *a, const uint8_t *p, size_t n)
{
    if (a->chunked) {
        return chunk_feed(a, p, n);
    }
    return get_write(a, p, n);
}

/* Splits the response head; returns false (after fail()) when it is bad. */
static bool
get_head(struct app *a)
{
    char *end = strstr(a->hdr, "\r\n\r\n");
    size_t hl = (size_t)(end - a->hdr) + 4;
    if (sscanf(a->hdr, "HTTP/1.%*c %d", &a->status) != 1) {
        fail(a, "not an HTTP response", 0);
        return false;
    }
    a->content_length = -1;
    for (char *p = strstr(a->hdr, "\r\n"); p != NULL && p < end; p = strstr(p + 2, "\r\n")) {
        if (strncasecmp(p + 2, "Content-Length:", 15) == 0) {
            a->content_length = atoll(p + 17);
        } else if (strncasecmp(p + 2, "Transfer-Encoding:", 18) == 0) {
            /* RFC 9112 6.1, 6.3: chunked, the only coding we decode, must be
             * the last one; it overrides Content-Length. */
            const char *v = p + 20;
            v += strspn(v, " \t");
            size_t vl = strcspn(v, "\r");
            while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t')) {
                vl--;
            }
            if (vl != 7 || strncasecmp(v, "chunked", 7) != 0) {
                char msg[96];
                snprintf(msg, sizeof(msg), "unsupported Transfer-Encoding '%.*s'",
                         (int)(vl < 40 ? vl : 40), v);
                fail(a, msg, 0);
                return false;
            }
            a->chunked = true;
        }
    }
    if (a->chunked) {
        a->content_length = -1;
    }
    a->in_body = true;
    a->bytes_in = 0;
    return get_body(a, (uint8_t *)a->hdr + hl, a->hdr_len - hl);
}

/* Reads the body that arrived; as drain_recv. */
static int
get_drain(struct app *a)
{
    for (;;) {
        int n = tern_tcp_recv(a->st, a->conn, a->io, sizeof(a->io), tern_tun_now_ns());
        if (n == TERN_ERR_AGAIN) {
            return 0;
        }
        if (n == TERN_ERR_CLOSING) {
            return 1;
        }
        if (n < 0) {
            return n;
        }
        a->t_last_rx = tern_tun_now_ns();
        if (!get_body(a, a->io, (size_t)n)) {
            return TERN_ERR_INVAL;
        }
        if (a->chunked && a->ch.state == CH_DONE) {
            return 0; /* the message is complete: what follows is not ours */
        }
    }
}

static int
get_recv(struct app *a)
{
    if (a->in_body) {
        return get_drain(a);
    }
    for (;;) {
        int n = tern_tcp_recv(a->st, a->conn, a->hdr + a->hdr_len, HDR_MAX - 1 - a->hdr_len,
                              tern_tun_now_ns());
        if (n < 0) {
            return n == TERN_ERR_AGAIN ? 0 : n == TERN_ERR_CLOSING ? 1 : n;
        }
        a->hdr_len += (size_t)n;
        a->hdr[a->hdr_len] = '\0';
        if (strstr(a->hdr, "\r\n\r\n") != NULL) {
            if (!get_head(a)) {
                return TERN_ERR_INVAL;
            }
            return get_drain(a);
        }
        if (a->hdr_len == HDR_MAX - 1) {
            fail(a, "response head too long", 0);
            return TERN_ERR_INVAL;
        }
    }
}

static void
step_get(struct app *a, struct sess *s, struct sess_state *ss)
{
    if (!connected(a, "connection to")) {
        return;
    }
    if (!pump_buf(a, a->conn, s->buf, &s->off, s->len)) {
        fail(a, "send", tern_tcp_error(a->st, a->conn));
        return;
    }
    if (!ss->eof) {
        int rc = get_recv(a);
        if (a->done) {
            return;
        }
        bool complete =
            a->in_body &&
            (a->chunked ? a->ch.state == CH_DONE
                        : a->content_length >= 0 && (long long)a->bytes_in >= a->content_length);
        if (rc < 0) {
            fail(a, "connection lost", tern_tcp_error(a->st, a->conn));
            return;
        }
        if (rc == 1 && !complete && (!a->in_body || a->chunked || a->content_length >= 0)) {
            fail(a,
                 a->chunked ? "response truncated: the chunked body has no last chunk"
                            : "response truncated",
                 0);
            return;
        }
        if (rc == 1 || complete) {
            ss->eof = true;
            (void)tern_tcp_close(a->st, a->conn, tern_tun_now_ns());
            ss->closed = true;
        }
    }
    if (ss->closed) {
        uint64_t ignored = 0;
        (void)drain_recv(a, a->conn, -1, &ignored);
        if (close_finished(a, &ss->fin_wait_since)) {
            a->done = true;
            if (a->status != 200) {
                fprintf(stderr, "tern %s: HTTP status %d\n", a->o.cmd, a->status);
                a->failed = true;
            }
        }
    }
}

static void
step_recv(struct app *a, struct sess_state *ss)
{
    if (a->conn == 0) {
        int id = tern_tcp_accept(a->st, a->listener, tern_tun_now_ns());
        if (id < 0) {
            return;
        }
        a->conn = id;
        a->t_start = tern_tun_now_ns();
        (void)tern_tcp_close(a->st, a->listener, tern_tun_now_ns()); /* one connection only */
    }
    if (!ss->closed) {
        int rc = drain_recv(a, a->conn, a->out_fd, &a->bytes_in);
        if (rc < 0) {
            fail(a, "connection lost", rc == TERN_ERR_INVAL ? 0 : tern_tcp_error(a->st, a->conn));
            return;
        }
        if (rc == 1) {
            (void)tern_tcp_close(a->st, a->conn, tern_tun_now_ns());
            ss->closed = true;
        }
    }
    if (ss->closed) {
        struct tern_tcp_status ts;
        if (tern_tcp_status(a->st, a->conn, &ts) != TERN_OK || ts.state == TERN_TCP_CLOSED) {
            a->done = true;
        }
    }
}

/* ---- Setup and the loop ----------------------------------------------------- */

/* HOST, or HOST:PORT when port_needed (else optional, *port untouched
 * without one), out of s[0..len). HOST is A.B.C.D (into *addr) or a name
 * to look up (into a->host, *addr = 0). */
static bool
parse_host(struct app *a, const char *s, size_t len, bool port_needed, uint32_t *addr, long *port)
{
    const char *colon = memchr(s, ':', len);
    size_t hl = colon != NULL ? (size_t)(colon - s) : len;
    if (colon != NULL) {
        char p[8];
        size_t pl = len - hl - 1;
        if (pl == 0 || pl >= sizeof(p)) {
            return false;
        }
        memcpy(p, colon + 1, pl);
        p[pl] = '\0';
        if (!cli_parse_long(p, 1, 65535, port)) {
            return false;
        }
    } else if (port_needed) {
        return false;
    }
    if (hl == 0 || hl >= sizeof(a->host)) {
        return false;
    }
    memcpy(a->host, s, hl);
    a->host[hl] = '\0';
    *addr = 0;
    if (parse_ipv4(a->host, addr)) {
        a->host[0] = '\0';
        return true;
    }
    /* A name: letters, digits, '-', '_' and dots (what DNS carries as
     * host names; anything else is a typo, not a lookup). */
    for (size_t i = 0; i < hl; i++) {
        char c = a->host[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.')) {
            return false;
        }
    }
    return true;
}

/* http://HOST[:PORT]/PATH: address or name, port and the request into
 * s->buf. */
static bool
parse_url(struct app *a, struct sess *s, uint32_t *addr, long *port)
{
    const char *u = a->o.url;
    if (strncmp(u, "http://", 7) != 0) {
        return false;
    }
    u += 7;
    const char *slash = strchr(u, '/');
    size_t hl = slash ? (size_t)(slash - u) : strlen(u);
    *port = 80;
    if (!parse_host(a, u, hl, false, addr, port)) {
        return false;
    }
    int n = snprintf((char *)s->buf, sizeof(s->buf),
                     "GET %s HTTP/1.1\r\nHost: %.*s\r\nUser-Agent: tern/%s\r\n"
                     "Connection: close\r\n\r\n",
                     slash ? slash : "/", (int)hl, u, tern_version());
    s->off = 0;
    s->len = (size_t)n;
    return n > 0 && (size_t)n < sizeof(s->buf);
}

/* The peer of get and send: address (or name, in a->host), port (into
 * o.port) and, for get, the request in cs->buf. Prints the usage error and
 * returns false when bad. */
static bool
parse_target(struct app *a, struct sess *cs, uint32_t *addr)
{
    bool ok = a->o.mode == M_GET
                  ? parse_url(a, cs, addr, &a->o.port)
                  : parse_host(a, a->o.target, strlen(a->o.target), true, addr, &a->o.port);
    if (!ok) {
        cli_usage_error(&a->o.cli, "bad %s '%s' (want %s)",
                        a->o.mode == M_GET ? "URL" : "HOST:PORT",
                        a->o.mode == M_GET ? a->o.url : a->o.target,
                        a->o.mode == M_GET ? "http://HOST[:PORT]/PATH" : "HOST:PORT");
    } else if (a->host[0] != '\0' && a->o.n_dns == 0 && !a->o.dhcp) {
        cli_usage_error(&a->o.cli,
                        "'%s' is a host name: give a DNS server with --dns A.B.C.D (or take "
                        "the lease's with --dhcp)",
                        a->host);
        ok = false;
    }
    return ok;
}

/* Entropy for the resolver's query ids and ports (RFC 5452). */
static uint64_t
dns_random(void *ctx)
{
    (void)ctx;
    uint64_t v = 0;
    if (tern_random_seed(&v) != TERN_OK) {
        v = (uint64_t)tern_tun_now_ns() * 0x9e3779b97f4a7c15ULL; /* getrandom failed */
    }
    return v;
}

/* Looks a->host up (type A: the transport is IPv4) with the servers of
 * --dns, running the device meanwhile. 0 and the address in *addr, or 1
 * after saying why not. */
static int
resolve_host(struct app *a, uint32_t *addr)
{
    struct tern_dns_config dc;
    tern_dns_config_init(&dc);
    memcpy(dc.servers, a->o.dns, sizeof(dc.servers));
    dc.n_servers = (unsigned)a->o.n_dns;
    dc.max_lookups = 1;
    dc.cache_entries = 0;
    if (a->o.seed_set) {
        dc.seed = a->o.imp.seed ^ 0x646e73ULL; /* --seed: reproducible, as the stack */
        dc.deterministic = true;
    } else {
        dc.random = dns_random;
    }
    struct tern_dns *d;
    int rc = tern_dns_new(a->st, &dc, &d);
    if (rc != TERN_OK) {
        fprintf(stderr, "tern %s: resolver: %s\n", a->o.cmd, tern_strerror(rc));
        return 1;
    }
    int64_t now = tern_tun_now_ns();
    int q = tern_dns_lookup(d, a->host, TERN_DNS_WANT_A, NULL, NULL, now);
    struct tern_dns_result r = {.status = q};
    while (q > 0 && (rc = tern_dns_result(d, q, &r)) == TERN_DNS_ERR_PENDING) {
        if (stop_requested) {
            r.status = TERN_ERR_AGAIN;
            break;
        }
        int64_t wake = tern_dns_next_deadline(d);
        if (wake > now) {
            if (tern_tun_step(a->tun, a->st, wake) != TERN_OK) {
                r.status = TERN_ERR_TXFAIL;
                break;
            }
        }
        now = tern_tun_now_ns();
        if (tern_dns_next_deadline(d) <= now) {
            tern_dns_poll(d, now);
        }
    }
    tern_tun_flush(a->tun, a->st);
    const struct tern_dns_stats *ds = tern_dns_stats(d);
    if (a->o.stats) {
        fprintf(stderr,
                "tern %s: stats dns udp_sent=%llu tcp_sent=%llu truncated=%llu answers=%llu "
                "timeouts=%llu dropped=%llu\n",
                a->o.cmd, (unsigned long long)ds->udp_sent, (unsigned long long)ds->tcp_sent,
                (unsigned long long)ds->truncated, (unsigned long long)ds->answers,
                (unsigned long long)ds->timeouts,
                (unsigned long long)(ds->drop_source + ds->drop_id + ds->drop_question +
                                     ds->drop_malformed + ds->drop_too_long));
    }
    tern_dns_free(d, tern_tun_now_ns());
    if (r.status != TERN_DNS_OK) {
        fprintf(stderr, "tern %s: cannot resolve %s: %s\n", a->o.cmd, a->host,
                tern_dns_strerror(r.status));
        return 1;
    }
    *addr = tern_ip_v4(r.addrs[0]);
    char ip[16];
    snprintf(ip, sizeof(ip), "%u.%u.%u.%u", *addr >> 24, (*addr >> 16) & 255, (*addr >> 8) & 255,
             *addr & 255);
    fprintf(stderr, "tern: %s is %s (%u address%s%s)\n", a->host, ip, r.n, r.n == 1 ? "" : "es",
            r.used_tcp ? ", over TCP" : "");
    return 0;
}

/* Files are opened before the device, so a bad path costs nothing. */
static int
open_files(struct app *a)
{
    const struct opts *o = &a->o;
    a->in_fd = a->out_fd = -1;
    if (o->mode == M_SEND) {
        /* Nonblocking: a pipe or FIFO must not stall the event loop. */
        a->in_fd = open(o->file, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (a->in_fd < 0) {
            fprintf(stderr, "tern %s: cannot read %s: %s\n", o->cmd, o->file, strerror(errno));
            return 1;
        }
    }
    for (int i = 0; i < o->n_svc; i++) {
        struct stat sb;
        if (o->svc[i].kind != M_HTTP) {
            continue;
        }
        if (stat(o->root, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
            fprintf(stderr, "tern %s: --root %s is not a directory\n", o->cmd, o->root);
            return 1;
        }
    }
    if (o->out != NULL) {
        a->out_fd = strcmp(o->out, "-") == 0
                        ? STDOUT_FILENO
                        : open(o->out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (a->out_fd < 0) {
            fprintf(stderr, "tern %s: cannot write %s: %s\n", o->cmd, o->out, strerror(errno));
            return 1;
        }
    }
    return 0;
}

static bool
server_mode(enum mode m)
{
    return m == M_SERVE;
}

/* The stack's allocator (tern_config.alloc): malloc/free that count the
 * bytes held, so the tables can be sized from what they really cost. */
struct mem_count {
    size_t bytes;
};

static void *
counting_alloc(void *ud, void *ptr, size_t old_size, size_t new_size)
{
    struct mem_count *mc = ud;
    if (new_size == 0) {
        free(ptr);
        mc->bytes -= old_size;
        return NULL;
    }
    void *p = realloc(ptr, new_size);
    if (p != NULL) {
        mc->bytes += new_size - old_size;
    }
    return p;
}

/* Bytes a stack with `cfg`, `n` connections and a pool of `pool` bytes
 * takes, measured by building one (without its interface, so that it sends
 * nothing); 0 if it fails. */
static size_t
stack_bytes(const struct tern_config *cfg, unsigned n, size_t pool)
{
    struct tern_config c = *cfg;
    struct mem_count mc = {0};
    c.n_netifs = 0;
    c.default_gateway = 0; /* it must be on an interface's subnet */
    c.alloc = counting_alloc;
    c.alloc_ud = &mc;
    c.tcp.max_connections = n;
    c.pool_bytes = pool;
    struct tern_stack *st;
    if (tern_stack_new(&c, tern_tun_now_ns(), &st) != TERN_OK) {
        return 0;
    }
    size_t bytes = mc.bytes;
    tern_stack_free(st);
    return bytes;
}

/* Servers: the pool, the number of sessions and cfg->tcp.max_connections
 * from --mem (and --max-conns). Half the budget is the pool; a session
 * costs its own buffers and two of the stack's connections (one open, one
 * closing behind it). What the stack takes for a connection and for its
 * pool is measured on small stacks, so that the figures follow the stack's
 * layout. Allocates the sessions: all table memory is taken here and in
 * tern_stack_new, once. */
static int
size_tables(struct app *a, struct tern_config *cfg)
{
    size_t budget = (size_t)(a->o.mem_mib != 0 ? a->o.mem_mib : DEFAULT_MEM_MIB) * MIB;
    /* The hash table's power-of-two steps add at most 16 bytes a
     * connection to the average over `probe`; what else grows in steps
     * with the table's size is covered by keeping 1/64 of the budget. */
    const unsigned probe = 8;
    const size_t probe_pool = MIB;
    size_t base = stack_bytes(cfg, 1, 0);
    size_t more = stack_bytes(cfg, 1 + probe, 0);
    size_t pooled = stack_bytes(cfg, 1, probe_pool);
    if (base == 0 || more <= base || pooled <= base) {
        fprintf(stderr, "tern %s: cannot create the stack to measure it\n", a->o.cmd);
        return 1;
    }
    size_t per_conn = (more - base + probe - 1) / probe + 16;
    /* The pool and its bookkeeping: half the budget. */
    cfg->pool_bytes = (size_t)((double)budget / 2 * probe_pool / (double)(pooled - base));
    size_t per_sess = sizeof(struct sess) + 2 * sizeof(int) + 2 * per_conn;
    size_t fixed = base + budget / 2 + budget / 64 + SPARE_TCBS * per_conn;
    long n = a->o.max_conns;
    if (n == 0) {
        if (budget < fixed + per_sess) {
            fprintf(stderr,
                    "tern %s: --mem %ld is too small: one client needs %zu KiB; see 'tern %s "
                    "--help'\n",
                    a->o.cmd, (long)(budget / MIB), (fixed + per_sess + 1023) / 1024, a->o.cmd);
            return 1;
        }
        n = (long)((budget - fixed) / per_sess);
    }
    if (2 * (unsigned long)n + SPARE_TCBS > 1u << 20) {
        n = ((1L << 20) - SPARE_TCBS) / 2; /* the stack's own limit on its table */
    }
    a->sess = calloc((size_t)n, sizeof(struct sess));
    a->live = calloc((size_t)n, sizeof(int));
    a->idle = calloc((size_t)n, sizeof(int));
    if (a->sess == NULL || a->live == NULL || a->idle == NULL) {
        fprintf(stderr, "tern %s: no memory for %ld sessions\n", a->o.cmd, n);
        return 1;
    }
    a->n_sess = (int)n;
    for (int i = 0; i < a->n_sess; i++) {
        a->idle[a->n_idle++] = a->n_sess - 1 - i; /* session 0 first */
    }
    a->table_bytes = (size_t)n * (sizeof(struct sess) + 2 * sizeof(int));
    cfg->tcp.max_connections = 2 * (unsigned)n + SPARE_TCBS;
    a->n_conns = cfg->tcp.max_connections;
    return 0;
}

/* --trace: one line per event (see usage). */
static void
on_trace(void *ctx, const struct tern_trace_event *ev)
{
    struct app *a = ctx;
    if (a->trace_t0 == 0) {
        a->trace_t0 = ev->now_ns;
    }
    fprintf(a->trace, "%.6f %s %s %u", (double)(ev->now_ns - a->trace_t0) / 1e9,
            tern_trace_kind_name(ev->kind), ev->layer ? ev->layer : "-", (unsigned)ev->conn);
    const struct tern_trace_tcp *t = ev->tcp;
    if (t != NULL) {
        bool out = ev->kind == TERN_TRACE_TX;
        if (!a->trace_origin && out) {
            a->trace_seq0 = t->seq;
            a->trace_origin = true;
        }
        if (!a->trace_peer_origin && !out) {
            a->trace_ack0 = t->seq;
            a->trace_peer_origin = true;
        }
        /* Our sequence space relative to our first segment, the peer's
         * relative to its first segment. */
        uint32_t seq = t->seq - (out ? a->trace_seq0 : a->trace_ack0);
        uint32_t ack = t->ack - (out ? a->trace_ack0 : a->trace_seq0);
        fprintf(a->trace, " %s seq %u ack %u len %u wnd %u flags 0x%02x", out ? ">" : "<", seq, ack,
                t->len, t->wnd, t->flags);
    }
    if (ev->rule != NULL || ev->rule_id == 0) {
        fprintf(a->trace, " | %s\n", ev->rule ? ev->rule : "");
    } else {
        /* Built without rule texts: tools/rule_ids.py decodes the id. */
        fprintf(a->trace, " | rule #0x%08lx\n", (unsigned long)ev->rule_id);
    }
}

static int
make_stack(struct app *a)
{
    struct tern_config cfg;
    tern_config_init(&cfg);
    if (a->o.seed_set) {
        /* --seed: reproducible on purpose, ISNs and ports included. */
        cfg.seed = a->o.imp.seed ^ 0x7465726e74756eULL;
        cfg.deterministic = true;
    } else if (tern_random_seed(&cfg.seed) != TERN_OK) {
        fprintf(stderr, "tern %s: no secret for the stack: getrandom: %s\n", a->o.cmd,
                strerror(errno));
        return 1;
    }
    cfg.n_netifs = 1;
    cfg.netifs[0] = (struct tern_netif_config){
        .addr = a->o.addr,
        .prefix_len = (uint8_t)a->o.prefix,
        .mtu = tern_tun_mtu(a->tun),
        .transmit = tern_tun_transmit,
        .transmit_ctx = a->tun,
    };
    if (a->o.tap) {
        /* RFC 894 framing, ARP by the stack; a locally administered unicast
         * MAC (IEEE 802: bit 1 of the first octet set, bit 0 clear). */
        uint64_t r = a->o.imp.seed * 0x9e3779b97f4a7c15ULL;
        cfg.netifs[0].link = TERN_LINK_ETHERNET;
        cfg.netifs[0].mac[0] = 0x02;
        for (int i = 1; i < TERN_MAC_LEN; i++) {
            cfg.netifs[0].mac[i] = (uint8_t)(r >> (8 * i));
        }
    }
    memcpy(cfg.netifs[0].addr6, a->o.addr6, sizeof(a->o.addr6));
    cfg.netifs[0].n_addr6 = a->o.n_addr6;
    cfg.gateway6 = a->o.gw6;
    cfg.default_gateway = a->o.gw;
    if (a->trace != NULL) {
        cfg.trace = on_trace;
        cfg.trace_ctx = a;
    }
    cfg.tcp.max_connections = 4;
    cfg.tcp.sndbuf = a->o.sndbuf_kib > 0 ? (uint32_t)a->o.sndbuf_kib * 1024 : SNDBUF;
    cfg.tcp.rcvbuf = RCVBUF;
    cfg.pool_bytes = CLIENT_POOL(cfg.tcp.sndbuf);
    if (a->o.loss >= 0) {
        cfg.tcp.loss_detection = (enum tern_tcp_loss_detection)a->o.loss;
    }
    if (a->o.prr >= 0) {
        cfg.tcp.prr = (enum tern_tcp_prr)a->o.prr;
    }
    if (a->o.ecn >= 0) {
        cfg.tcp.ecn = (enum tern_tcp_ecn)a->o.ecn;
    }
    if (a->o.cc >= 0) {
        cfg.tcp.cc = cc_names[a->o.cc].name;
    }
    for (int k = 0; k < a->o.n_svc; k++) {
        if (is_udp(a->o.svc[k].kind)) {
            /* udp-echo takes any datagram (65,507 bytes of payload at most):
             * reassembly up to two of the largest at once (RFC 1122 3.3.2
             * EMTU_R), and room in the socket's queue for bursts. */
            cfg.udp.rcvbuf = UDP_RCVBUF;
            cfg.reass_mem_max = 2 * REASS_MAX;
        }
    }
    struct mem_count mc = {0};
    cfg.alloc = counting_alloc;
    cfg.alloc_ud = &mc;
    if (server_mode(a->o.mode) && size_tables(a, &cfg) != 0) {
        return 1;
    }
    int rc = tern_stack_new(&cfg, tern_tun_now_ns(), &a->st);
    if (rc != TERN_OK) {
        fprintf(stderr, "tern %s: cannot create the stack: %s\n", a->o.cmd, tern_strerror(rc));
        return 1;
    }
    a->table_bytes += mc.bytes;
    a->pool_bytes = cfg.pool_bytes;
    return 0;
}

static void
fmt_ip(char *buf, size_t len, uint32_t ip)
{
    snprintf(buf, len, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
}

/* ---- --dhcp ------------------------------------------------------------------ */

/* "A, B" from a list of addresses, or "none". */
static void
fmt_ips(char *buf, size_t len, const uint32_t *ips, unsigned n)
{
    size_t used = 0;
    buf[0] = '\0';
    for (unsigned i = 0; i < n && used < len; i++) {
        char ip[16];
        fmt_ip(ip, sizeof(ip), ips[i]);
        used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "", ip);
    }
    if (n == 0) {
        snprintf(buf, len, "none");
    }
}

/* The client's events, one line each on stderr (the lease in full when
 * one is bound or renewed). */
static void
on_dhcp(void *ctx, struct tern_dhcp *c, enum tern_dhcp_event ev, const struct tern_dhcp_lease *l,
        int64_t now_ns)
{
    struct app *a = ctx;
    (void)c;
    (void)now_ns;
    char ip[16], srv[16], routers[80], dns[80];
    fmt_ip(ip, sizeof(ip), l->addr);
    fmt_ip(srv, sizeof(srv), l->server);
    const char *cmd = a->o.cmd;
    switch (ev) {
    case TERN_DHCP_EV_BOUND:
    case TERN_DHCP_EV_RENEWED:
        fmt_ips(routers, sizeof(routers), l->routers, l->n_routers);
        fmt_ips(dns, sizeof(dns), l->dns, l->n_dns);
        fprintf(stderr,
                "tern %s: dhcp %s %s/%u from %s: router %s; dns %s; lease %u s (renew at %u s, "
                "rebind at %u s)",
                cmd, ev == TERN_DHCP_EV_BOUND ? "bound" : "renewed", ip, l->prefix_len, srv,
                routers, dns, l->lease_s, l->t1_s, l->t2_s);
        if (l->mtu != 0) {
            fprintf(stderr, "; mtu %u", l->mtu);
        }
        if (l->domain[0] != '\0') {
            fprintf(stderr, "; domain %s", l->domain);
        }
        fprintf(stderr, "\n");
        break;
    case TERN_DHCP_EV_EXPIRED:
        fprintf(stderr, "tern %s: dhcp lease of %s expired: address removed, asking again\n", cmd,
                ip);
        break;
    case TERN_DHCP_EV_NAK:
        fprintf(stderr, "tern %s: dhcp %s refused (NAK) by %s: asking again\n", cmd, ip, srv);
        break;
    case TERN_DHCP_EV_DECLINED:
        fprintf(stderr,
                "tern %s: dhcp declined %s from %s: in use (it answered the ARP probe); asking "
                "again in 10 s\n",
                cmd, ip, srv);
        break;
    case TERN_DHCP_EV_RESTART:
        fprintf(stderr, "tern %s: dhcp no answer to the REQUEST for %s: asking again\n", cmd, ip);
        break;
    case TERN_DHCP_EV_RELEASED:
        fprintf(stderr, "tern %s: dhcp released %s to %s\n", cmd, ip, srv);
        break;
    case TERN_DHCP_EV_COUNT:
        break;
    }
}

/* Creates and starts the client on netif 0; prints the line that says so. */
static int
dhcp_begin(struct app *a)
{
    struct tern_dhcp_config dc;
    tern_dhcp_config_init(&dc);
    dc.fn = on_dhcp;
    dc.ctx = a;
    int64_t now = tern_tun_now_ns();
    int rc = tern_dhcp_new(a->st, &dc, now, &a->dhcp);
    if (rc == TERN_OK) {
        rc = tern_dhcp_start(a->dhcp, now);
    }
    if (rc != TERN_OK) {
        fprintf(stderr, "tern %s: dhcp: %s\n", a->o.cmd, tern_strerror(rc));
        return 1;
    }
    uint8_t m[TERN_MAC_LEN];
    (void)tern_stack_mac(a->st, 0, m);
    fprintf(stderr, "tern: %s up, mac %02x:%02x:%02x:%02x:%02x:%02x, mtu %u; asking DHCP\n",
            tern_tun_name(a->tun), m[0], m[1], m[2], m[3], m[4], m[5], tern_tun_mtu(a->tun));
    return 0;
}

/* At exit: the lease goes back (RELEASE), and the loop runs on until the
 * RELEASE has left (its next hop resolved, at most 3 s). */
static void
dhcp_end(struct app *a)
{
    if (a->dhcp == NULL) {
        return;
    }
    struct tern_dhcp_lease l;
    bool held = tern_dhcp_lease(a->dhcp, &l) == TERN_OK;
    uint32_t next_hop = l.server;
    if (held && l.prefix_len < 32 && ((l.server ^ l.addr) >> (32 - l.prefix_len)) != 0) {
        next_hop = l.n_routers > 0 ? l.routers[0] : 0; /* an off-link server: via the router */
    }
    int64_t end = tern_tun_now_ns() + 3 * NS;
    tern_dhcp_stop(a->dhcp, tern_tun_now_ns());
    while (held && tern_arp_lookup(a->st, 0, next_hop, NULL) == TERN_ERR_AGAIN &&
           tern_tun_now_ns() < end) {
        if (tern_tun_step(a->tun, a->st, tern_tun_now_ns() + NS / 20) != TERN_OK) {
            break;
        }
    }
    tern_tun_flush(a->tun, a->st);
}

/* --stats: the client's counters and drops. */
static void
print_dhcp(const struct app *a)
{
    const struct tern_dhcp_stats *d = tern_dhcp_stats(a->dhcp);
    fprintf(stderr,
            "tern %s: stats dhcp discover=%llu request=%llu decline=%llu release=%llu "
            "retransmits=%llu tx_failed=%llu probes=%llu rx=%llu offer=%llu ack=%llu nak=%llu "
            "bound=%llu renewed=%llu expired=%llu declined=%llu restarts=%llu\n",
            a->o.cmd, (unsigned long long)d->tx_discover, (unsigned long long)d->tx_request,
            (unsigned long long)d->tx_decline, (unsigned long long)d->tx_release,
            (unsigned long long)d->retransmits, (unsigned long long)d->tx_failed,
            (unsigned long long)d->probes, (unsigned long long)d->rx,
            (unsigned long long)d->rx_offer, (unsigned long long)d->rx_ack,
            (unsigned long long)d->rx_nak, (unsigned long long)d->bound,
            (unsigned long long)d->renewed, (unsigned long long)d->expired,
            (unsigned long long)d->declined, (unsigned long long)d->restarts);
    for (int r = 0; r < TERN_DHCP_DROP_COUNT; r++) {
        if (d->drops[r] != 0) {
            fprintf(stderr, "tern %s: stats dhcp drop.%s=%llu\n", a->o.cmd,
                    tern_dhcp_drop_name((enum tern_dhcp_drop)r), (unsigned long long)d->drops[r]);
        }
    }
}

/* Opens the listener or the connection; prints the ready line. */
static int64_t step_ping(struct app *a);
static void on_ping_reply(void *ctx, const struct tern_echo_reply *r, int64_t now_ns);

static int
start_app(struct app *a, struct sess *cs)
{
    struct tern_tcp_open_args oa = {0};
    int64_t now = tern_tun_now_ns();
    char ip[16];
    fmt_ip(ip, sizeof(ip), a->o.addr);
    if (a->o.mode == M_GET || a->o.mode == M_SEND) {
        uint32_t target;
        if (!parse_target(a, cs, &target)) {
            return 2;
        }
        if (a->host[0] != '\0' && resolve_host(a, &target) != 0) {
            return 1;
        }
        oa.remote_addr = tern_ip4(target);
        oa.remote_port = (uint16_t)a->o.port;
        oa.local_port = (uint16_t)a->o.sport;
        a->conn = tern_tcp_open(a->st, &oa, now);
        if (a->conn < 0) {
            fprintf(stderr, "tern %s: connect: %s\n", a->o.cmd, tern_strerror(a->conn));
            return 1;
        }
        fprintf(stderr, "tern: %s up, %s/%d, mtu %u; connecting to %s\n", tern_tun_name(a->tun), ip,
                a->o.prefix, tern_tun_mtu(a->tun), a->o.mode == M_GET ? a->o.url : a->o.target);
        return 0;
    }
    if (a->o.mode == M_PING) {
        tern_icmp_set_echo_handler(a->st, on_ping_reply, a);
        fprintf(stderr, "tern: %s up, %s/%d, mtu %u; pinging %s\n", tern_tun_name(a->tun), ip,
                a->o.prefix, tern_tun_mtu(a->tun), a->o.ping_host);
        return 0;
    }
    oa.passive = true;
    if (!server_mode(a->o.mode)) {
        oa.local_port = (uint16_t)a->o.port;
        a->listener = tern_tcp_open(a->st, &oa, now);
        if (a->listener < 0) {
            fprintf(stderr, "tern %s: listen: %s\n", a->o.cmd, tern_strerror(a->listener));
            return 1;
        }
        fprintf(stderr, "tern: %s up, %s/%d, mtu %u; listening on port %ld\n",
                tern_tun_name(a->tun), ip, a->o.prefix, tern_tun_mtu(a->tun), a->o.port);
        return 0;
    }
    /* serve: a listener (TCP) or a bound socket (UDP) per service; one
     * line names them all. */
    char ports[MAX_SVC * 32] = "";
    size_t used = 0;
    for (int k = 0; k < a->o.n_svc; k++) {
        struct svc *v = &a->o.svc[k];
        if (is_udp(v->kind)) {
            struct tern_udp_addr local = {.family = TERN_UDP_AF_INET, .port = (uint16_t)v->port};
            v->listener = tern_udp_open(a->st, now);
            int rc = v->listener < 0 ? v->listener : tern_udp_bind(a->st, v->listener, &local, now);
            if (rc < 0) {
                fprintf(stderr, "tern %s: bind to udp port %ld: %s\n", a->o.cmd, v->port,
                        tern_strerror(rc));
                v->listener = 0;
                return 1;
            }
            a->has_udp = true;
        } else {
            oa.local_port = (uint16_t)v->port;
            v->listener = tern_tcp_open(a->st, &oa, now);
            if (v->listener < 0) {
                fprintf(stderr, "tern %s: listen on port %ld: %s\n", a->o.cmd, v->port,
                        tern_strerror(v->listener));
                v->listener = 0;
                return 1;
            }
        }
        /* One service: "port 80" (TCP) or "udp port 7"; several: each
         * named, "port 7 (echo), port 7 (udp-echo)". */
        if (a->o.n_svc == 1) {
            used += (size_t)snprintf(ports, sizeof(ports), "%sport %ld",
                                     is_udp(v->kind) ? "udp " : "", v->port);
        } else {
            used += (size_t)snprintf(ports + used, sizeof(ports) - used, "%sport %ld (%s)",
                                     k == 0 ? "" : ", ", v->port, svc_name(v->kind));
        }
    }
    a->listening = true;
    fprintf(stderr,
            "tern: %d clients at once, %u connections, %zu KiB buffer pool, %zu KiB of "
            "tables in all\n",
            a->n_sess, a->n_conns, a->pool_bytes / 1024, (a->table_bytes + 1023) / 1024);
    fprintf(stderr, "tern: %s up, %s/%d, mtu %u; listening on %s\n", tern_tun_name(a->tun), ip,
            a->o.prefix, tern_tun_mtu(a->tun), ports);
    return 0;
}

/* A client's connection as the stack sees it (RFC 9293 3.10.6 STATUS) and
 * what the application moved: printed when the client gives up, so that a
 * log shows which side was waiting for what. */
static void
print_conn(const struct app *a)
{
    struct tern_tcp_status s;
    if (a->conn <= 0 || tern_tcp_status(a->st, a->conn, &s) != TERN_OK) {
        fprintf(stderr, "tern %s: no connection\n", a->o.cmd);
        return;
    }
    fprintf(stderr,
            "tern %s: connection %s, app sent %llu B and read %llu B; SND.UNA-ISS %u SND.NXT-ISS "
            "%u SND.WND %u queued %u; RCV.NXT-IRS %u RCV.WND %u unread %u; cwnd %u rto %lld ms "
            "retransmits %u (total %llu)\n",
            a->o.cmd, tern_tcp_state_name((int)s.state), (unsigned long long)a->bytes_out,
            (unsigned long long)a->bytes_in, s.snd_una - s.iss, s.snd_nxt - s.iss, s.snd_wnd,
            s.send_queued, s.rcv_nxt - s.irs, s.rcv_wnd, s.recv_queued, s.cwnd,
            (long long)(s.rto_ns / 1000000), s.retransmits,
            (unsigned long long)s.total_retransmits);
}

/* One pass of the application; returns when it next wants to run. */
static int64_t
step_app(struct app *a, struct sess *cs, struct sess_state *ss)
{
    switch (a->o.mode) {
    case M_SERVE:
        step_server(a);
        break;
    case M_SEND:
        step_send(a, cs, ss);
        break;
    case M_GET:
        step_get(a, cs, ss);
        break;
    case M_RECV:
        step_recv(a, ss);
        break;
    case M_PING: {
        int64_t next = step_ping(a);
        if (a->t_next_progress == 0 || next < a->t_next_progress) {
            a->t_next_progress = next;
        }
        break;
    }
    case M_NONE:
        a->done = !a->o.dhcp; /* tap --dhcp alone: until SIGINT/SIGTERM */
        break;
    case M_ECHO:
    case M_DISCARD:
    case M_HTTP:
    case M_UDP_ECHO:
        a->done = true;
        break;
    }
    int64_t now = tern_tun_now_ns();
    if (a->t_start != 0) {
        progress(a, now);
    }
    int64_t wake = a->t_next_progress != 0 ? a->t_next_progress : now + NS;
    return a->t_drain > now && a->t_drain < wake ? a->t_drain : wake;
}

/* ---- ping ---------------------------------------------------------------- */

static void
on_ping_reply(void *ctx, const struct tern_echo_reply *r, int64_t now_ns)
{
    struct app *a = ctx;
    if (r->id != PING_ID || !tern_ip_eq(r->addr, a->o.ping_dst) || r->seq == 0 ||
        r->seq > a->ping_sent || a->ping_seen[r->seq]) {
        return;
    }
    a->ping_seen[r->seq] = true;
    a->ping_rcvd++;
    int64_t us = (now_ns - a->ping_sent_ns[r->seq]) / 1000;
    printf("%zu bytes from %s: icmp_seq=%u ttl=%u time=%lld.%03lld ms\n", r->len + 8,
           a->o.ping_host, (unsigned)r->seq, (unsigned)r->ttl, (long long)(us / 1000),
           (long long)(us % 1000));
    fflush(stdout);
}

/* One echo request a second (RFC 792, RFC 4443 4.1) until --count; done
 * when every one is answered, or --timeout after the last. A request the
 * stack cannot send yet (an IPv6 address still tentative, RFC 4862 5.4)
 * waits for the next turn. Returns the next wake time. */
static int64_t
step_ping(struct app *a)
{
    int64_t now = tern_tun_now_ns();
    long count = a->o.count > 0 ? a->o.count : 3;
    if (a->ping_sent < count && now >= a->ping_next) {
        uint8_t data[PING_DATA];
        for (size_t i = 0; i < sizeof(data); i++) {
            data[i] = (uint8_t)i;
        }
        uint16_t seq = (uint16_t)(a->ping_sent + 1);
        int rc =
            tern_icmp_echo_send_ip(a->st, a->o.ping_dst, PING_ID, seq, data, sizeof(data), now);
        if (rc == TERN_OK) {
            a->ping_sent_ns[seq] = now;
            a->ping_sent++;
            a->ping_next = now + NS;
        } else {
            a->ping_next = now + NS / 10;
        }
    }
    if (a->ping_sent == count &&
        (a->ping_rcvd == count || now - a->ping_sent_ns[count] > (int64_t)(a->o.timeout_s * 1e9))) {
        printf("\n--- %s ping statistics ---\n%ld packets transmitted, %ld received\n",
               a->o.ping_host, a->ping_sent, a->ping_rcvd);
        a->failed = a->ping_rcvd == 0;
        a->done = true;
    }
    return a->ping_next;
}

/* Reports each IPv6 address of the device once it is usable (after DAD,
 * RFC 4862 5.4; autoconfigured ones from a router, 5.5.3). */
static void
report_addrs6(struct app *a)
{
    struct tern_ip now[8];
    int n = tern_stack_addrs6(a->st, 0, now, 8);
    for (int i = 0; i < n && i < 8; i++) {
        bool seen = false;
        for (unsigned k = 0; k < a->n_shown6; k++) {
            seen |= tern_ip_eq(a->shown6[k], now[i]);
        }
        if (seen || a->n_shown6 == 8) {
            continue;
        }
        a->shown6[a->n_shown6++] = now[i];
        char text[INET6_ADDRSTRLEN];
        inet_ntop(AF_INET6, now[i].b, text, sizeof(text));
        fprintf(stderr, "tern: %s: IPv6 address %s ready\n", tern_tun_name(a->tun), text);
    }
}

/* --dhcp: one turn of the client; starts the application once the first
 * lease is bound. Returns when the client next wants to run (or the
 * application's exit status through *rc). */
static int64_t
dhcp_turn(struct app *a, struct sess *cs, int64_t started, int *rc)
{
    int64_t now = tern_tun_now_ns();
    tern_dhcp_poll(a->dhcp, now);
    struct tern_dhcp_lease l;
    if (!a->app_started && tern_dhcp_lease(a->dhcp, &l) == TERN_OK) {
        a->o.addr = l.addr;
        a->o.prefix = l.prefix_len;
        /* Without --dns, the lease's DNS servers (RFC 2132 3.8) look up
         * the host names of get and send. */
        if (a->o.n_dns == 0) {
            unsigned n = l.n_dns < TERN_DNS_MAX_SERVERS ? l.n_dns : TERN_DNS_MAX_SERVERS;
            memcpy(a->o.dns, l.dns, n * sizeof(l.dns[0]));
            a->o.n_dns = (int)n;
        }
        a->app_started = true;
        a->retrans0 = retransmits(a);
        if (a->o.mode != M_NONE) {
            *rc = start_app(a, cs);
        }
        return now;
    }
    if (!a->app_started && now - started > (int64_t)(a->o.timeout_s * 1e9)) {
        char msg[64];
        snprintf(msg, sizeof(msg), "no DHCP lease after %.0f s", a->o.timeout_s);
        fail(a, msg, 0);
        a->done = true;
    }
    return tern_dhcp_next_deadline(a->dhcp);
}

static int
run_loop(struct app *a)
{
    static struct sess client; /* 64 KiB: not on the stack */
    struct sess_state ss = {0};
    client = (struct sess){.fd = -1};
    int rc = 0;
    if (a->dhcp == NULL) {
        rc = start_app(a, &client);
        if (rc != 0) {
            return rc;
        }
        a->app_started = true;
    }
    bool client_mode = a->o.mode == M_GET || a->o.mode == M_SEND || a->o.mode == M_RECV;
    uint64_t rx_seen = 0;
    int64_t last_activity = tern_tun_now_ns();
    int64_t started = last_activity;
    a->retrans0 = retransmits(a);
    while (!a->done && !stop_requested) {
        report_addrs6(a);
        int64_t wake = a->app_started ? step_app(a, &client, &ss) : tern_tun_now_ns() + NS;
        if (a->dhcp != NULL) {
            int64_t d = dhcp_turn(a, &client, started, &rc);
            if (rc != 0) {
                return rc;
            }
            wake = d < wake ? d : wake;
        }
        if (a->o.stats && client_mode && a->conn > 0 &&
            tern_tcp_status(a->st, a->conn, &a->last) == TERN_OK) {
            a->have_last = true;
        }
        if (a->done) {
            break;
        }
        if (tern_tun_step(a->tun, a->st, wake) != TERN_OK) {
            fprintf(stderr, "tern %s: reading %s: %s\n", a->o.cmd, tern_tun_name(a->tun),
                    strerror(errno));
            return 1;
        }
        int64_t now = tern_tun_now_ns();
        if (tern_tun_stats(a->tun)->rx_packets != rx_seen) {
            rx_seen = tern_tun_stats(a->tun)->rx_packets;
            last_activity = now;
        } else if (client_mode && a->app_started && (a->o.mode != M_RECV || a->conn != 0) &&
                   now - last_activity > (int64_t)(a->o.timeout_s * 1e9)) {
            fail(a, "timed out: nothing received", 0);
            print_conn(a); /* what the stack waited for, for the log */
        }
    }
    tern_tun_flush(a->tun, a->st);
    if (a->t_start != 0 && (client_mode || a->bytes_in + a->bytes_out + a->dgrams > 0)) {
        report(a, true);
    }
    if (stop_requested && client_mode && !a->done) {
        fprintf(stderr, "tern %s: interrupted\n", a->o.cmd);
        return 1;
    }
    return a->failed ? 1 : 0;
}

/* --stats: every drop the stack counted, with its reason, and the
 * driver's own counters, so a test can tell a bad packet from a lost one. */
static void
print_counters(const char *cmd, const struct tern_stack *st, const struct tern_tun_stats *d)
{
    if (st != NULL) {
        const struct tern_stats *s = tern_stack_stats(st);
        fprintf(stderr, "tern %s: stats ip.rx=%llu ip.tx=%llu drops=%llu\n", cmd,
                (unsigned long long)s->ip.rx, (unsigned long long)s->ip.tx,
                (unsigned long long)tern_stats_drops_total(s));
        fprintf(stderr,
                "tern %s: stats pool.chunks=%llu pool.avail=%llu pool.min_avail=%llu "
                "pool.take_fail=%llu\n",
                cmd, (unsigned long long)s->pool.chunks, (unsigned long long)s->pool.avail,
                (unsigned long long)s->pool.min_avail, (unsigned long long)s->pool.take_fail);
        for (int r = 0; r < TERN_DROP_COUNT; r++) {
            if (s->drops[r] != 0) {
                const char *rule = tern_drop_rule((enum tern_drop_reason)r);
                char id[24]; /* without rule texts: "rule #0x...", as in --trace */
                snprintf(id, sizeof(id), "rule #0x%08lx",
                         (unsigned long)tern_drop_rule_id((enum tern_drop_reason)r));
                fprintf(stderr, "tern %s: stats drop.%s=%llu (%s)\n", cmd,
                        tern_drop_name((enum tern_drop_reason)r), (unsigned long long)s->drops[r],
                        rule != NULL ? rule : id);
            }
        }
    }
    fprintf(stderr,
            "tern %s: stats device rx=%llu tx=%llu queue_full=%llu write_errors=%llu "
            "impair_dropped=%llu/%llu\n",
            cmd, (unsigned long long)d->rx_packets, (unsigned long long)d->tx_packets,
            (unsigned long long)d->queue_full, (unsigned long long)d->write_errors,
            (unsigned long long)d->dropped[0], (unsigned long long)d->dropped[1]);
}

/* --stats: how the stack's TCP met loss, and the client's connection as
 * last seen before it closed. */
static void
print_tcp(const struct app *a)
{
    const char *cmd = a->o.cmd;
    const struct tern_stats *s = tern_stack_stats(a->st);
    fprintf(stderr,
            "tern %s: stats tcp tx=%llu rx=%llu retransmits=%llu rto_expiries=%llu "
            "tlp_timeouts=%llu recoveries=%llu dsacks_rx=%llu dsacks_tx=%llu spurious_rtx=%llu "
            "undos=%llu ecn_reductions=%llu\n",
            cmd, (unsigned long long)s->tcp.tx, (unsigned long long)s->tcp.rx,
            (unsigned long long)s->tcp.retransmits, (unsigned long long)s->tcp.rto_expiries,
            (unsigned long long)s->tcp.tlp_timeouts, (unsigned long long)s->tcp.fast_retransmits,
            (unsigned long long)s->tcp.dsacks_rx, (unsigned long long)s->tcp.dsacks_tx,
            (unsigned long long)s->tcp.spurious_rtx, (unsigned long long)s->tcp.undos,
            (unsigned long long)s->tcp.ecn_reductions);
    if (a->have_last) {
        const struct tern_tcp_status *c = &a->last;
        fprintf(stderr,
                "tern %s: stats conn state=%s srtt=%.3fms rttvar=%.3fms rto=%.1fms cwnd=%u "
                "ssthresh=%u mss=%u snd_wnd=%u total_retransmits=%llu sack=%d ts=%d\n",
                cmd, tern_tcp_state_name((int)c->state), (double)c->srtt_ns / 1e6,
                (double)c->rttvar_ns / 1e6, (double)c->rto_ns / 1e6, c->cwnd, c->ssthresh,
                c->snd_mss, c->snd_wnd, (unsigned long long)c->total_retransmits, c->sack_ok,
                c->ts_ok);
    }
}

static int
run_cmd(int argc, char **argv, const char *cmd, bool tap)
{
    static struct app app; /* large (buffers): static, one per process */
    struct app *a = &app;
    memset(a, 0, sizeof(*a));
    a->o.cmd = cmd;
    a->o.tap = tap;
    a->o.timeout_s = 60;
    a->o.loss = a->o.prr = a->o.ecn = a->o.cc = -1;
    int rc = parse_args(argc, argv, &a->o);
    if (rc == CLI_HELP) {
        usage(stdout, &a->o);
        return 0;
    }
    if (rc != 0) {
        return rc;
    }
    if (!a->o.seed_set) {
        a->o.imp.seed = (uint64_t)tern_tun_now_ns() ^ ((uint64_t)getpid() << 32);
    }
    if (a->o.mode == M_GET || a->o.mode == M_SEND) {
        static struct sess scratch; /* usage errors before any device exists */
        uint32_t ignored;
        if (!parse_target(a, &scratch, &ignored)) {
            return 2;
        }
    }
    if (open_files(a) != 0) {
        return 1;
    }
    if (a->o.trace != NULL && (a->trace = fopen(a->o.trace, "w")) == NULL) {
        fprintf(stderr, "tern %s: --trace %s: %s\n", cmd, a->o.trace, strerror(errno));
        return 1;
    }
    struct tern_tun_config tc = {
        .dev = a->o.dev,
        .tap = tap,
        .mtu = (uint16_t)a->o.mtu,
        .linux_addr = a->o.linux_addr,
        .linux_prefix_len = (uint8_t)a->o.linux_prefix,
        .impair = a->o.imp,
        .pcap_path = a->o.pcap,
    };
    char err[256];
    rc = tern_tun_open(&tc, &a->tun, err, sizeof(err));
    if (rc != TERN_OK) {
        fprintf(stderr, "tern %s: %s\n", cmd, err);
        return rc == TERN_ERR_INVAL && errno == 0 ? 2 : 1;
    }
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    rc = make_stack(a);
    if (rc == 0 && a->o.dhcp) {
        rc = dhcp_begin(a);
    }
    if (rc == 0) {
        rc = run_loop(a);
    }
    dhcp_end(a);
    if (a->o.stats) {
        print_counters(cmd, a->st, tern_tun_stats(a->tun));
        if (a->st != NULL) {
            print_tcp(a);
        }
        if (server_mode(a->o.mode)) {
            fprintf(stderr,
                    "tern %s: stats clients served=%ld refused=%ld (no free session of %d)\n", cmd,
                    a->served, a->refused, a->n_sess);
        }
        if (a->dhcp != NULL) {
            print_dhcp(a);
        }
        if (a->has_udp && a->st != NULL) {
            const struct tern_stats *us = tern_stack_stats(a->st);
            fprintf(stderr,
                    "tern %s: stats udp rx=%llu tx=%llu echoed=%llu unsent=%llu "
                    "from_answering_port=%llu\n",
                    cmd, (unsigned long long)us->udp.rx, (unsigned long long)us->udp.tx,
                    (unsigned long long)a->dgrams, (unsigned long long)a->dgrams_unsent,
                    (unsigned long long)a->dgrams_looped);
        }
    }
    tern_dhcp_free(a->dhcp); /* before the stack it uses */
    tern_stack_free(a->st);
    free(a->sess);
    free(a->live);
    free(a->idle);
    if (tern_tun_close(a->tun) != TERN_OK) {
        fprintf(stderr, "tern %s: the capture %s is incomplete\n", cmd, a->o.pcap);
        rc = rc ? rc : 1;
    }
    if (a->out_fd > STDOUT_FILENO) {
        close(a->out_fd);
    }
    if (a->in_fd >= 0) {
        close(a->in_fd);
    }
    if (a->trace != NULL && fclose(a->trace) != 0) {
        fprintf(stderr, "tern %s: --trace %s is incomplete\n", cmd, a->o.trace);
        rc = rc ? rc : 1;
    }
    return rc;
}

int
tern_cmd_tun(int argc, char **argv)
{
    return run_cmd(argc, argv, "tun", false);
}

int
tern_cmd_tap(int argc, char **argv)
{
    return run_cmd(argc, argv, "tap", true);
}
