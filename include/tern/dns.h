/*
 * include/tern/dns.h: a DNS stub resolver (RFC 1034 5.3.1, RFC 1035; AAAA
 * per RFC 3596) over a tern stack's UDP and TCP.
 *
 * Sans-I/O like the stack under it: every call takes the current time and
 * the caller runs tern_dns_poll() whenever tern_dns_next_deadline() has
 * come. The resolver's UDP sockets and TCP connections get callbacks that
 * only mark it due: an answer that arrived inside a tern_stack_input()
 * makes tern_dns_next_deadline() return INT64_MIN (and calls cfg.wake), and
 * the next tern_dns_poll() reads it with the caller's time, outside any
 * stack call. A lookup ends once: its callback is called from
 * tern_dns_poll() (or from tern_dns_lookup() for a cached answer), or,
 * without one, tern_dns_result() takes the result.
 *
 * A lookup asks the first server, waits timeout_ns, then the next one, round
 * the list `attempts` times, the wait doubling each round up to
 * max_timeout_ns. Each query has a fresh random id and is sent from a
 * fresh random UDP port (RFC 5452 9.2, 10); an answer counts only when it
 * comes from the server's address and port 53, carries the query's id and
 * repeats its question, else it is dropped and counted. An answer with
 * TC=1 is asked again over TCP of the same server (RFC 1035 4.2.2, RFC
 * 7766 5). CNAME chains inside an answer are followed, at most
 * TERN_DNS_MAX_CNAME links. NXDOMAIN and "no data" (NOERROR, no record of
 * the type) are different results.
 *
 * The cache holds cache_entries answers (name and type) for their TTL, the
 * smallest of the records used (RFC 1035 3.2.1); negative answers (RFC
 * 2308) for min(SOA TTL, SOA MINIMUM, negative_ttl_max_ns), and not at all
 * when the server sent no SOA (RFC 2308 5). When full, the entry that would
 * expire first is replaced.
 *
 * All memory is taken by tern_dns_new(); nothing after.
 */
#ifndef TERN_DNS_H
#define TERN_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tern/addr.h"
#include "tern/stack.h"

#ifdef __cplusplus
extern "C" {
#endif

struct tern_dns;

#define TERN_DNS_MAX_SERVERS 3    /* resolv.conf's MAXNS */
#define TERN_DNS_MAX_ADDRS   16   /* addresses kept per family in a result */
#define TERN_DNS_MAX_CNAME   8    /* CNAME links followed inside one answer */
#define TERN_DNS_TEXT_MAX    1024 /* room for any name as text (escapes included) */

/* Results beside enum tern_err (which they do not overlap). */
enum tern_dns_status {
    TERN_DNS_OK = 0,
    TERN_DNS_ERR_NXDOMAIN = -100, /* the name does not exist (RCODE 3) */
    TERN_DNS_ERR_NODATA = -101,   /* the name exists, with no address of the type asked */
    TERN_DNS_ERR_TIMEDOUT = -102, /* no server answered in time */
    TERN_DNS_ERR_SERVFAIL = -103, /* every server failed or refused (RCODE 2, 4, 5, 1) */
    TERN_DNS_ERR_BADNAME = -104,  /* the name is not a valid domain name */
    TERN_DNS_ERR_NOSERVER = -105, /* no server configured */
    TERN_DNS_ERR_PENDING = -106,  /* tern_dns_result: not finished yet */
};

/* Text of a status or of a tern_err; never NULL. */
const char *tern_dns_strerror(int status);

/* What to ask for (tern_dns_lookup `families`). */
enum {
    TERN_DNS_WANT_A = 1u << 0,    /* IPv4 addresses: type A */
    TERN_DNS_WANT_AAAA = 1u << 1, /* IPv6 addresses: type AAAA (RFC 3596) */
    TERN_DNS_WANT_BOTH = 3u,
};

struct tern_dns_result {
    int status;  /* TERN_DNS_OK when n >= 1, else the reason */
    unsigned n;  /* A answers first (IPv4-mapped), then AAAA */
    unsigned n4; /* how many of them are A answers (an AAAA may be IPv4-mapped too) */
    struct tern_ip addrs[2 * TERN_DNS_MAX_ADDRS];
    uint32_t ttl_s;                /* the smallest TTL of what was used */
    char canon[TERN_DNS_TEXT_MAX]; /* the name at the end of the CNAME chain, as text */
    bool from_cache;               /* every part came from the cache */
    bool used_tcp;                 /* some part came over TCP */
};

typedef void (*tern_dns_done_fn)(void *ctx, struct tern_dns *d, int q,
                                 const struct tern_dns_result *r);

/* Where unpredictable numbers come from (query ids, ports): 64 bits a call.
 * The socket runtime passes one that reads getrandom(2). */
typedef uint64_t (*tern_dns_random_fn)(void *ctx);

struct tern_dns_config {
    uint32_t servers[TERN_DNS_MAX_SERVERS]; /* IPv4, host order */
    unsigned n_servers;
    uint16_t port;               /* the servers' port; default 53 (tests may change it) */
    int64_t timeout_ns;          /* first wait for one server; default 1 s */
    int64_t max_timeout_ns;      /* the doubling stops here; default 4 s */
    unsigned attempts;           /* rounds over the server list; default 2 */
    unsigned max_lookups;        /* lookups at once; default 4 */
    unsigned cache_entries;      /* answers cached; default 32; 0: no cache */
    int64_t negative_ttl_max_ns; /* default 30 s; 0: negative answers are not cached */
    uint32_t tcp_max;            /* largest answer over TCP, bytes; default 4096 (max 65535) */
    /* Randomness: `random` if set, else a tern_rng keyed by `seed`, which
     * must then be non-zero unless `deterministic` (as tern_config). */
    tern_dns_random_fn random;
    void *random_ctx;
    uint64_t seed;
    bool deterministic;
    /* Optional: called (inside a stack call) when an answer arrived, so a
     * caller that sleeps can wake up and poll. It must not call in. */
    void (*wake)(void *ctx);
    void *wake_ctx;
    tern_alloc_fn alloc; /* NULL: malloc/free */
    void *alloc_ud;
};

/* Defaults; no server. */
void tern_dns_config_init(struct tern_dns_config *cfg);

/* Creates a resolver over `st` (which must outlive it). TERN_OK,
 * TERN_ERR_INVAL, TERN_ERR_NOSECRET, TERN_ERR_NOMEM. */
int tern_dns_new(struct tern_stack *st, const struct tern_dns_config *cfg, struct tern_dns **out);

/* Cancels every lookup (no callback), closes the sockets, frees. */
void tern_dns_free(struct tern_dns *d, int64_t now_ns);

/* Replaces the server list (a DHCP lease's, say); lookups running keep
 * theirs. At most TERN_DNS_MAX_SERVERS; TERN_ERR_INVAL otherwise. */
int tern_dns_set_servers(struct tern_dns *d, const uint32_t *servers, unsigned n);

/*
 * Starts a lookup of `name` (text, a trailing dot optional; no search
 * list: the name is taken as fully qualified). Returns its handle (> 0), or
 * TERN_DNS_ERR_BADNAME, TERN_DNS_ERR_NOSERVER, TERN_ERR_NOBUFS (max_lookups
 * running), TERN_ERR_INVAL. An answer from the cache ends the lookup at
 * once: `cb` is called before this returns. `cb` NULL: the result waits for
 * tern_dns_result().
 */
int tern_dns_lookup(struct tern_dns *d, const char *name, unsigned families, tern_dns_done_fn cb,
                    void *ctx, int64_t now_ns);

/* Takes the result of a lookup started without a callback: its status (and
 * *out filled, the handle freed), TERN_DNS_ERR_PENDING while it runs, or
 * TERN_ERR_NOTCONN for an unknown handle. */
int tern_dns_result(struct tern_dns *d, int q, struct tern_dns_result *out);

/* Ends a lookup without a callback. TERN_ERR_NOTCONN when unknown. */
int tern_dns_cancel(struct tern_dns *d, int q, int64_t now_ns);

/* Runs what is due: retransmissions, the next server, timeouts. */
void tern_dns_poll(struct tern_dns *d, int64_t now_ns);

/* When tern_dns_poll() next has work, INT64_MAX if none. */
int64_t tern_dns_next_deadline(const struct tern_dns *d);

/* Forgets every cached answer. */
void tern_dns_flush_cache(struct tern_dns *d);

struct tern_dns_stats {
    uint64_t lookups;       /* tern_dns_lookup calls that started */
    uint64_t udp_sent;      /* queries sent over UDP, retransmissions included */
    uint64_t tcp_sent;      /* queries sent over TCP */
    uint64_t truncated;     /* answers with TC=1 (asked again over TCP) */
    uint64_t timeouts;      /* waits that ended without an answer */
    uint64_t answers;       /* answers accepted */
    uint64_t server_errors; /* SERVFAIL, REFUSED, NOTIMP, FORMERR */
    uint64_t cache_hits, cache_misses, cache_evictions;
    /* Dropped datagrams and messages, by reason. */
    uint64_t drop_source;    /* not from the server's address and port */
    uint64_t drop_id;        /* another id */
    uint64_t drop_question;  /* another question */
    uint64_t drop_malformed; /* does not parse: bad header, records, a name's pointers */
    uint64_t drop_too_long;  /* larger than the buffer */
};

const struct tern_dns_stats *tern_dns_stats(const struct tern_dns *d);

/* Parses IPv4 dotted-quad text ("192.0.2.1", four decimal parts 0..255)
 * into *out (host order). Whether it was one. */
bool tern_dns_parse_ipv4(const char *s, uint32_t *out);

#ifdef __cplusplus
}
#endif

#endif
