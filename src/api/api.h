/*
 * src/api/api.h: internals of the socket API (include/tern/socket.h).
 *
 * This directory is the one part of src/ that talks to the operating
 * system: sockets are file descriptors (an AF_UNIX socket pair per socket,
 * whose user end mirrors the tern socket's readiness), runtimes own threads,
 * and blocking calls sleep on condition variables. The stacks underneath
 * stay sans-I/O; everything here reaches them through the public TCP and
 * UDP APIs.
 *
 * Locking: one mutex per runtime guards its stacks, its sockets and its
 * fd -> socket table. The process-wide fd -> runtime map (registry.c) has
 * a mutex of its own, never held while waiting for a runtime's.
 */
#ifndef TERN_API_API_H
#define TERN_API_API_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "tern/driver.h"
#include "tern/socket.h"
#include "tern/stack.h"

/* Linux's sk_shutdown bits. */
#define SHUT_BIT_RCV  1
#define SHUT_BIT_SEND 2
#define SHUT_BIT_BOTH 3

/* Linux's urgent states (tcp_sock urg_data): none; a pointer known, its
 * octet not yet received; the octet here; the octet taken by MSG_OOB. */
enum sock_urg { URG_NONE, URG_NOTYET, URG_VALID, URG_READ };

/* Linux's struct socket state, which connect(2) follows. */
enum sock_ss { SS_UNCONN, SS_CONNECTING, SS_CONNECTED };

/* A thread asleep in a blocked call of an interruptible runtime (on its
 * stack, linked in its socket's list while it sleeps). */
struct sock_waiter {
    struct sock_waiter *next;
    int fd;     /* the thread's eventfd */
    bool woken; /* the socket's state changed since it went to sleep */
};

struct tern_sock {
    struct tern_rt *rt;
    struct tern_sock *next; /* every socket of the runtime, in use or free */
    bool in_use;
    uint32_t gen; /* bumped at close: a sleeper sees the socket was closed */
    int host;
    struct tern_stack *st;
    int fd;     /* the user's end of the pair: the socket's fd */
    int ndup;   /* numbers besides `fd` naming the same end (dup): rt->by_fd maps them */
    int fd_lib; /* the library's end */
    dev_t dev;  /* identity of the user's end (fstat), checked on each call */
    ino_t ino;
    pthread_cond_t cv;
    int waiters;
    struct sock_waiter *wlist; /* waiters asleep in ppoll (tern_rt_set_intr) */

    int tcp_id; /* 0: no connection block */
    int udp_id; /* a SOCK_DGRAM socket's tern_udp id (tern/udp.h), else 0 */
    bool dgram; /* SOCK_DGRAM: every call goes to the dgram_* paths of sock.c */
    enum sock_ss ss;
    unsigned shut;   /* SHUT_BIT_* */
    bool done;       /* the peer's FIN arrived (Linux SOCK_DONE) */
    int sk_err;      /* pending errno, reported once */
    bool closed_tcb; /* the connection reached CLOSED */

    int family;  /* AF_INET or AF_INET6: how addresses are read and written */
    bool v6only; /* AF_INET6: IPV6_V6ONLY (IPv4-mapped addresses refused) */
    bool bound;
    struct tern_ip bind_addr; /* unspecified (0.0.0.0 or ::) = any */
    uint16_t bind_port;

    bool nonblock, reuseaddr, reuseport, keepalive, nodelay, linger_on, broadcast;
    int linger_s;
    int rcvbuf, sndbuf;                   /* as reported (twice the value set) */
    int keepidle_s, keepintvl_s, keepcnt; /* 0: default */
    int maxseg;                           /* TCP_MAXSEG set by the user, 0 none */
    unsigned user_timeout_ms;
    uint8_t tos;                      /* IP_TOS */
    int64_t rcvtimeo_ns, sndtimeo_ns; /* 0: wait forever */

    /* Urgent data as Linux keeps it beside the TCB (tcp_sock's urg_data,
     * urg_seq): the octet just before the peer's urgent mark is the "out of
     * band" one; unless SO_OOBINLINE, reads skip it and recv(MSG_OOB) takes
     * it. Positions count octets of the stream from the connection's start
     * as this socket reads it (rd_pos: the next octet to read). */
    bool oobinline;   /* SO_OOBINLINE */
    uint8_t urg;      /* enum sock_urg */
    uint8_t urg_byte; /* the out-of-band octet once it arrived */
    uint64_t urg_pos; /* its position */
    uint64_t rd_pos;

    /* Mirror: what the user's fd currently shows. */
    bool m_r, m_w;
    bool m_rdhup, m_hup; /* the library's end was shut for writing / both ways */
};

/* (a) attach, (b) drive: the caller's loop; (c) a driver and a thread. */
enum rt_kind { RT_ATTACH, RT_DRIVEN, RT_DRIVER };

struct rt_host {
    struct tern_rt *rt;
    int host;
    struct tern_stack *st;
};

struct tern_rt {
    pthread_mutex_t mu;
    enum rt_kind kind;
    tern_clock_fn clock;
    void *clock_ctx;
    int n_hosts;
    struct rt_host *hosts;

    /* RT_DRIVER: the packet path its thread runs (tern/driver.h). */
    struct tern_driver_ops drv;
    void *drv_ctx;
    int drv_fd;
    bool drv_open; /* drv.close not yet called */

    pthread_t thread;
    bool has_thread, stop;
    int wake_fd;         /* eventfd the thread (or a driven runtime's caller) sleeps on */
    int64_t sleep_until; /* when that sleep ends (the runtime's time): the thread's,
                            or the deadline a driven runtime's caller last learnt */
    int thread_err;      /* a driver error that stopped the thread */

    /* RT_DRIVEN: the caller's time (when manual_time) and whom to tell
     * that the next deadline moved earlier. */
    bool manual_time;
    int64_t manual_now;
    tern_deadline_fn on_deadline;
    void *deadline_ctx;

    /* tern_rt_set_intr: blocked calls sleep where signals reach them
     * (intr.wake_fd NULL: not set). */
    struct tern_rt_intr intr;

    struct tern_sock *socks;
    struct tern_sock **by_fd; /* this runtime's sockets by fd number */
    /* Set (under the registry's mutex) when another runtime's socket or an
     * epoll instance took a number the registry still gave to this runtime:
     * one of its sockets was closed with libc's close(). Its next call
     * looks for such sockets (sock_sweep). */
    atomic_bool stale;
    int by_fd_cap;
    uint32_t port_seq;
    struct rt_resolv *resolv; /* resolv.c: the hosts' DNS resolvers, NULL until set */
};

/* registry.c: fd -> the runtime of the socket holding it / epoll instance. */
enum reg_kind { REG_NONE, REG_SOCK, REG_EPOLL };
struct tern_epoll;
struct reg_entry {
    enum reg_kind kind;
    struct tern_rt *rt;
    struct tern_epoll *ep;
};
int reg_set(int fd, const struct reg_entry *e, struct reg_entry *old);
void reg_clear(int fd);
void reg_clear_rt(int fd, const struct tern_rt *rt); /* only while it names rt */
/* Clears fd's entry if it still names epoll `ep`; true when it did. */
bool reg_clear_epoll(int fd, const struct tern_epoll *ep);
struct reg_entry reg_get(int fd);
void rt_registry_default(struct tern_rt **rt, int *host);
void rt_registry_set_default(struct tern_rt *rt, int host);
void rt_registry_adopt(struct tern_rt *rt);
void rt_registry_forget(struct tern_rt *rt);

/* rt.c */
int64_t rt_mono_ns(void); /* CLOCK_MONOTONIC in ns */
int64_t rt_now(struct tern_rt *rt);
void rt_after_call(struct tern_rt *rt);
bool rt_can_block(const struct tern_rt *rt);

/* sock.c */
bool fd_identity(int fd, dev_t *dev, ino_t *ino); /* fstat's; false: not open */
struct tern_sock *sock_lock(int fd);
void sock_unlock(struct tern_sock *s);
short sock_mask(struct tern_sock *s);
void sock_sync(struct tern_sock *s, bool new_data);
void sock_event(void *ctx, struct tern_stack *st, int id, unsigned events, int err);
void sock_close_all(struct tern_rt *rt);
void sock_sweep(struct tern_rt *rt);

/* resolv.c: frees the resolvers (under the lock, before the stacks go). */
void resolv_free(struct tern_rt *rt);

/* poll.c */
void epoll_free(struct tern_epoll *ep);

#endif
