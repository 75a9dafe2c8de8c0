/*
 * tests/fuzz/fuzz_sock.c: libFuzzer target for the socket calls (issue 13).
 *
 * Each input is a program of socket calls made through tern's API against
 * two runtimes attached (tern_rt_attach) to the two hosts of a simulated
 * network that the harness drives in virtual time: no thread, no device,
 * no root, the same input gives the same run. The calls get random
 * arguments: fds that are live tern sockets, closed ones, a pipe (passed on
 * to the kernel), -1 and numbers beyond any open file; lengths that fit
 * the buffer, zero or above SSIZE_MAX; NULL buffers, addresses and length
 * pointers; iovec arrays with NULL bases and lengths whose sum wraps;
 * random flags, levels, option names, fcntl commands and ioctl requests.
 * An op may also move the simulated time on, so that connections complete,
 * data flows and timers fire, or close a tern socket with libc's close().
 *
 * Every buffer handed to a call is a heap block of exactly the length the
 * call is told (ASan sees a byte outside it), except where the length is
 * one Linux refuses before touching memory (then a small block). The run
 * must not crash, hang (every call is non-blocking here, and poll/epoll
 * waits are 0), leak memory (LeakSanitizer) or leak file descriptors (the
 * harness counts /proc/self/fd before and after each input), and every
 * call must return -1 with errno set, or a value in its range.
 *
 * Fds reach the kernel only when they are the harness's own: a closed
 * number is reused only while it is still closed or holds one of the
 * harness's objects, never the library's end of a socket pair (an
 * application that writes there breaks the library's contract).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "tern/sim.h"
#include "tern/socket.h"
#include "tern/stack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define A_ADDR  0x0a000001u /* 10.0.0.1 */
#define B_ADDR  0x0a000002u /* 10.0.0.2 */
#define SLOTS   16
#define MAX_OPS 400

static void
require(bool ok)
{
    if (!ok) {
        abort();
    }
}

/* ---- the input, read a byte at a time (zeros past its end) ---- */

struct in {
    const uint8_t *p;
    size_t n, at;
};

static uint8_t
u8(struct in *in)
{
    return in->at < in->n ? in->p[in->at++] : 0;
}

static uint32_t
u32(struct in *in)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        v = v << 8 | u8(in);
    }
    return v;
}

static uint32_t
pick(struct in *in, uint32_t n)
{
    return u8(in) % n;
}

/* ---- the harness's world ---- */

struct world {
    struct tern_sim *sim;
    struct tern_rt *rt[2];
    int slot[SLOTS]; /* fds the harness made (tern sockets, epoll fds); -1 none */
    bool live[SLOTS];
    int pipe_fd[2];
    int open_limit; /* RLIMIT_NOFILE */
};

static int64_t
sim_clock(void *ctx)
{
    return tern_sim_now(ctx);
}

/* Whether `fd` is one the harness may hand to a call now. */
static bool
ours(const struct world *w, int fd)
{
    if (fd == w->pipe_fd[0] || fd == w->pipe_fd[1]) {
        return true;
    }
    for (int i = 0; i < SLOTS; i++) {
        if (w->live[i] && w->slot[i] == fd) {
            return true;
        }
    }
    return false;
}

static void
keep(struct world *w, int fd)
{
    if (fd < 0) {
        return;
    }
    for (int i = 0; i < SLOTS; i++) {
        if (!w->live[i]) {
            w->slot[i] = fd;
            w->live[i] = true;
            return;
        }
    }
    require(tern_close(fd) == 0); /* no room: not kept */
}

static void
forget(struct world *w, int fd)
{
    for (int i = 0; i < SLOTS; i++) {
        if (w->live[i] && w->slot[i] == fd) {
            w->live[i] = false;
        }
    }
}

/* A fd for a call: a live or closed slot, the pipe, or a number that is no
 * file. A closed slot's number is used only while no one else holds it. */
static int
pick_fd(struct world *w, struct in *in)
{
    uint8_t b = u8(in);
    switch (b >> 4) {
    case 0:
        return -1;
    case 1:
        return b & 1 ? INT_MAX : w->open_limit + (b & 7);
    case 2:
        return w->pipe_fd[b & 1];
    default: {
        int i = b % SLOTS;
        int fd = w->slot[i];
        if (fd < 0) {
            return -1;
        }
        if (w->live[i] || ours(w, fd) || fcntl(fd, F_GETFD) < 0) {
            return fd;
        }
        return -1; /* the number now belongs to the library */
    }
    }
}

/* A length for a buffer: mostly small, sometimes 0 or large. */
static size_t
pick_len(struct in *in)
{
    uint8_t b = u8(in);
    switch (b >> 5) {
    case 0:
        return 0;
    case 1:
    case 2:
    case 3:
        return 1 + (b & 31);
    case 4:
        return 1 + (size_t)u8(in) * 64;
    case 5:
        return 1 + (size_t)(u32(in) % 200000);
    default:
        return 1000 + (size_t)u8(in) * 7;
    }
}

/* A length Linux refuses before it looks at the buffer (above SSIZE_MAX). */
static size_t
huge_len(struct in *in)
{
    static const size_t v[] = {SIZE_MAX, (size_t)SSIZE_MAX + 1, SIZE_MAX - 1,
                               (size_t)SSIZE_MAX + 4096};
    return v[pick(in, 4)];
}

/* A buffer of exactly n bytes (at least 1 allocated), filled. */
static uint8_t *
block(size_t n, uint8_t fill)
{
    uint8_t *p = malloc(n ? n : 1);
    require(p != NULL);
    memset(p, fill, n ? n : 1);
    return p;
}

/* An IPv4 address and port the calls may name: ours, the other host's,
 * any, nobody's, with a few ports; or some other family. */
static void
pick_sin(struct in *in, struct sockaddr_storage *ss)
{
    static const uint32_t addrs[] = {A_ADDR, B_ADDR, 0, 0x0a000009u, 0x7f000001u, 0xffffffffu};
    static const uint16_t ports[] = {0, 7, 80, 5000, 5001, 65535};
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in *s = (struct sockaddr_in *)ss;
    uint8_t b = u8(in);
    s->sin_family = (b & 0xc0) == 0xc0 ? (sa_family_t)u8(in) : AF_INET;
    s->sin_addr.s_addr = htonl(addrs[b % 6]);
    s->sin_port = htons(ports[(b >> 3) % 6]);
}

static socklen_t
pick_addrlen(struct in *in)
{
    static const socklen_t v[] = {sizeof(struct sockaddr_in),
                                  sizeof(struct sockaddr_in),
                                  sizeof(struct sockaddr_in),
                                  0,
                                  4,
                                  15,
                                  17,
                                  sizeof(struct sockaddr_storage),
                                  sizeof(struct sockaddr_storage) + 1,
                                  UINT_MAX,
                                  0x80000000u};
    return v[pick(in, sizeof v / sizeof v[0])];
}

static int
pick_flags(struct in *in)
{
    static const int f[] = {0,       MSG_DONTWAIT, MSG_PEEK,  MSG_WAITALL,
                            MSG_OOB, MSG_NOSIGNAL, MSG_TRUNC, MSG_MORE};
    uint8_t b = u8(in);
    if (b == 0xff) {
        return (int)u32(in);
    }
    return f[b % 8] | f[(b >> 3) % 8];
}

/* An iovec array of `cnt` entries over exact blocks, with NULL bases and
 * lengths above SSIZE_MAX (whose sum wraps) now and then. Free with
 * free_iov. */
static struct iovec *
make_iov(struct in *in, int cnt, uint8_t fill)
{
    struct iovec *v = calloc((size_t)(cnt > 0 ? cnt : 1), sizeof(*v));
    require(v != NULL);
    for (int i = 0; i < cnt; i++) {
        uint8_t b = i < 8 ? u8(in) : 0;
        if (b == 1) {
            v[i].iov_base = NULL;
            v[i].iov_len = pick_len(in);
        } else if (b == 2) {
            v[i].iov_base = NULL;
            v[i].iov_len = 0;
        } else if (b == 3) {
            v[i].iov_base = block(1, fill);
            v[i].iov_len = huge_len(in);
        } else {
            v[i].iov_len = i < 8 ? pick_len(in) : 0;
            v[i].iov_base = block(v[i].iov_len, fill);
        }
    }
    return v;
}

static void
free_iov(struct iovec *v, int cnt)
{
    for (int i = 0; i < cnt; i++) {
        free(v[i].iov_base);
    }
    free(v);
}

/* An iovec count with its array: the array holds `*alloc` entries, which
 * is the count itself unless the count is one Linux refuses unread. */
static int
pick_iovcnt(struct in *in, int *alloc)
{
    uint8_t b = u8(in);
    int cnt;
    switch (b >> 5) {
    case 0:
        cnt = 0;
        break;
    case 1:
        cnt = -1 - (b & 3);
        break;
    case 2:
        cnt = IOV_MAX + 1 + (b & 3);
        break;
    case 3:
        cnt = IOV_MAX;
        break;
    case 4:
        cnt = INT_MAX;
        break;
    default:
        cnt = 1 + (b & 3);
        break;
    }
    *alloc = cnt < 0 || cnt > IOV_MAX ? 1 : cnt;
    return cnt;
}

/* FUZZ_SOCK_TRACE=1 in the environment prints each call's result, to
 * read what an input does (the harness's only switch; off when fuzzing). */
static bool
tracing(void)
{
    const char *t = getenv("FUZZ_SOCK_TRACE");
    return t != NULL && t[0] == '1';
}

/* The result of a call that returns a count or -1 with errno. */
static void
check_ret(long long r, long long max)
{
    if (tracing()) {
        fprintf(stderr, "  -> %lld %s\n", r, r == -1 ? strerror(errno) : "");
    }
    require(r >= -1 && r <= max);
    if (r == -1) {
        require(errno > 0);
    }
}

/* ---- the ops ---- */

static void
op_socket(struct world *w, struct in *in)
{
    uint8_t b = u8(in);
    int domain = (b & 0x80) ? (int)u8(in) : AF_INET;
    /* Bit 2: a datagram (UDP) socket instead of a stream one. */
    int type = ((b & 4) ? SOCK_DGRAM : SOCK_STREAM) | ((b & 1) ? SOCK_NONBLOCK : 0) |
               ((b & 2) ? SOCK_CLOEXEC : 0);
    if (b & 0x40) {
        type = (int)u32(in);
    }
    int proto = (b & 0x20) ? (int)u8(in) : 0;
    errno = 0;
    int fd = (b & 0x10) ? tern_socket(domain, type, proto)
                        : tern_socket_in(w->rt[(b >> 3) & 1], 0, domain, type, proto);
    check_ret(fd, INT_MAX);
    keep(w, fd);
}

static void
op_bind_connect(struct world *w, struct in *in)
{
    bool connect = u8(in) & 1;
    int fd = pick_fd(w, in);
    struct sockaddr_storage ss;
    pick_sin(in, &ss);
    socklen_t len = pick_addrlen(in);
    bool null = (u8(in) & 7) == 0;
    /* A block of exactly len bytes, or sockaddr_storage for lengths Linux
     * refuses before reading. */
    size_t have = len <= sizeof(ss) ? len : sizeof(ss);
    uint8_t *a = block(have, 0);
    memcpy(a, &ss, have);
    errno = 0;
    int r = connect ? tern_connect(fd, null ? NULL : (struct sockaddr *)a, len)
                    : tern_bind(fd, null ? NULL : (struct sockaddr *)a, len);
    check_ret(r, 0);
    free(a);
}

static void
op_listen(struct world *w, struct in *in)
{
    int fd = pick_fd(w, in);
    static const int bl[] = {0, 1, 4, -1, INT_MAX, 128};
    errno = 0;
    check_ret(tern_listen(fd, bl[pick(in, 6)]), 0);
}

/* An address buffer and length pointer for calls that write an address:
 * NULL pointers, or a block of exactly *len bytes (sockaddr_storage when
 * the length is beyond it, as Linux writes at most the address). */
struct addr_out {
    uint8_t *buf;
    socklen_t len;
    bool null_buf, null_len;
};

static void
addr_out_make(struct in *in, struct addr_out *o)
{
    uint8_t b = u8(in);
    o->len = pick_addrlen(in);
    o->null_buf = (b & 3) == 0;
    o->null_len = (b & 0x1c) == 0;
    o->buf = block(
        o->len <= sizeof(struct sockaddr_storage) ? o->len : sizeof(struct sockaddr_storage), 0xaa);
}

static struct sockaddr *
ao_addr(struct addr_out *o)
{
    return o->null_buf ? NULL : (struct sockaddr *)o->buf;
}

static socklen_t *
ao_len(struct addr_out *o)
{
    return o->null_len ? NULL : &o->len;
}

/* An iovec argument: the count, the array (NULL now and then). */
struct iov_arg {
    int cnt, alloc;
    struct iovec *v;
    struct iovec *pass;
};

static void
iov_arg_make(struct in *in, struct iov_arg *a, uint8_t fill)
{
    a->cnt = pick_iovcnt(in, &a->alloc);
    a->v = make_iov(in, a->alloc, fill);
    a->pass = (u8(in) & 7) == 0 ? NULL : a->v;
}

/* A data buffer argument: the length (fitting the block, or above
 * SSIZE_MAX), the block, the pointer passed (NULL now and then), flags;
 * `how` picks the call. */
struct data_arg {
    uint8_t how;
    size_t n;
    uint8_t *buf;
    void *p;
    int flags;
};

static void
data_arg_make(struct in *in, struct data_arg *d, uint8_t fill)
{
    d->how = u8(in);
    d->n = pick_len(in);
    bool huge = (d->how & 0x30) == 0x30;
    if (huge) {
        d->n = huge_len(in);
    }
    d->buf = block(huge ? 1 : d->n, fill);
    d->p = (d->how & 0xc0) == 0xc0 ? NULL : d->buf;
    d->flags = pick_flags(in);
}

static void
op_accept(struct world *w, struct in *in)
{
    int fd = pick_fd(w, in);
    struct addr_out o;
    addr_out_make(in, &o);
    int flags = (u8(in) & 1) ? SOCK_NONBLOCK | SOCK_CLOEXEC : (int)u32(in) & 0x7fffffff;
    bool four = u8(in) & 1;
    errno = 0;
    int r = four ? tern_accept4(fd, ao_addr(&o), ao_len(&o), flags)
                 : tern_accept(fd, ao_addr(&o), ao_len(&o));
    check_ret(r, INT_MAX);
    keep(w, r);
    free(o.buf);
}

static void
op_names(struct world *w, struct in *in)
{
    int fd = pick_fd(w, in);
    struct addr_out o;
    addr_out_make(in, &o);
    bool peer = u8(in) & 1;
    errno = 0;
    int r = peer ? tern_getpeername(fd, ao_addr(&o), ao_len(&o))
                 : tern_getsockname(fd, ao_addr(&o), ao_len(&o));
    check_ret(r, 0);
    free(o.buf);
}

/* A receiving or sending call on a random fd with random buffers: every
 * argument is made (an address buffer filled with an address, iovecs, a
 * message header), the call takes what it needs. */
static void
op_io(struct world *w, struct in *in)
{
    int fd = pick_fd(w, in);
    struct data_arg d;
    data_arg_make(in, &d, 0x33);
    struct iov_arg v;
    iov_arg_make(in, &v, 0x55);
    struct addr_out o;
    addr_out_make(in, &o);
    struct sockaddr_storage ss;
    pick_sin(in, &ss);
    memcpy(o.buf, &ss, o.len < sizeof(ss) ? o.len : sizeof(ss));
    uint8_t *ctl = block(64, 0);
    bool with_ctl = u8(in) & 1;
    struct msghdr m = {.msg_name = ao_addr(&o),
                       .msg_namelen = o.len,
                       .msg_iov = v.pass,
                       .msg_iovlen = (size_t)v.cnt,
                       .msg_control = with_ctl ? ctl : NULL,
                       .msg_controllen = with_ctl ? 64 : 0};
    struct msghdr *mp = (u8(in) & 15) == 0 ? NULL : &m;
    errno = 0;
    ssize_t r;
    switch (d.how % 10) {
    case 0:
        r = tern_read(fd, d.p, d.n);
        break;
    case 1:
        r = tern_recv(fd, d.p, d.n, d.flags);
        break;
    case 2:
        r = tern_recvfrom(fd, d.p, d.n, d.flags, ao_addr(&o), ao_len(&o));
        break;
    case 3:
        r = tern_readv(fd, v.pass, v.cnt);
        break;
    case 4:
        r = tern_recvmsg(fd, mp, d.flags);
        break;
    case 5:
        r = tern_write(fd, d.p, d.n);
        break;
    case 6:
        r = tern_send(fd, d.p, d.n, d.flags);
        break;
    case 7:
        r = tern_sendto(fd, d.p, d.n, d.flags, ao_addr(&o), o.len);
        break;
    case 8:
        r = tern_writev(fd, v.pass, v.cnt);
        break;
    default:
        r = tern_sendmsg(fd, mp, d.flags);
        break;
    }
    check_ret(r, SSIZE_MAX);
    free(ctl);
    free(o.buf);
    free_iov(v.v, v.alloc);
    free(d.buf);
}

static void
op_shutdown(struct world *w, struct in *in)
{
    int fd = pick_fd(w, in);
    uint8_t b = u8(in);
    errno = 0;
    check_ret(tern_shutdown(fd, b < 0xf0 ? b % 3 : (int)u32(in)), 0);
}

static void
op_close(struct world *w, struct in *in)
{
    int fd = pick_fd(w, in);
    if (fd == w->pipe_fd[0] || fd == w->pipe_fd[1]) {
        return; /* the pipe stays for the whole input */
    }
    bool libc = (u8(in) & 7) == 0;
    if (libc && fd >= 0 && fd < w->open_limit && ours(w, fd)) {
        /* An application that closes a tern socket with libc's close(). */
        require(close(fd) == 0);
        forget(w, fd);
        return;
    }
    errno = 0;
    int r = tern_close(fd);
    check_ret(r, 0);
    if (r == 0) {
        forget(w, fd);
    }
}

static void
op_sockopt(struct world *w, struct in *in)
{
    static const int levels[] = {SOL_SOCKET, IPPROTO_TCP, IPPROTO_IP, SOL_SOCKET, IPPROTO_TCP};
    static const int names[] = {
        SO_ERROR,    SO_TYPE,          SO_REUSEADDR, SO_KEEPALIVE,  SO_LINGER,    SO_RCVBUF,
        SO_SNDBUF,   SO_RCVTIMEO,      SO_SNDTIMEO,  SO_ACCEPTCONN, SO_OOBINLINE, SO_RCVLOWAT,
        TCP_NODELAY, TCP_MAXSEG,       TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT,  TCP_INFO,
        TCP_CORK,    TCP_USER_TIMEOUT, IP_TOS,       IP_TTL,        SO_DOMAIN,    SO_PROTOCOL};
    int fd = pick_fd(w, in);
    uint8_t b = u8(in);
    int level = b == 0xff ? (int)u32(in) : levels[b % 5];
    uint8_t c = u8(in);
    int name = c == 0xff ? (int)u32(in) : names[c % (sizeof names / sizeof names[0])];
    /* The value: exactly len bytes when len is small; len above 512 gets
     * 512 bytes (more than any option's size, which is all Linux copies). */
    uint8_t lb = u8(in);
    socklen_t len;
    switch (lb >> 5) {
    case 0:
        len = 0;
        break;
    case 1:
        len = (socklen_t)(lb & 31);
        break;
    case 2:
        len = UINT_MAX;
        break;
    case 3:
        len = 0x80000000u;
        break;
    case 4:
        len = 100000;
        break;
    default:
        len = sizeof(int) * (1 + (lb & 3));
        break;
    }
    uint8_t *val = block(len <= 512 ? len : 512, 0);
    for (socklen_t i = 0; i < (len <= 512 ? len : 512); i++) {
        val[i] = u8(in);
    }
    bool null_val = (u8(in) & 7) == 0, null_len = (u8(in) & 7) == 0;
    errno = 0;
    if (u8(in) & 1) {
        check_ret(tern_setsockopt(fd, level, name, null_val ? NULL : val, len), 0);
    } else {
        socklen_t l = len;
        int r = tern_getsockopt(fd, level, name, null_val ? NULL : val, null_len ? NULL : &l);
        check_ret(r, 0);
        if (r == 0 && !null_len) {
            require(l <= len || (int)len < 0);
        }
    }
    free(val);
}

static void
op_fcntl(struct world *w, struct in *in)
{
    int fd = pick_fd(w, in);
    static const int cmds[] = {F_GETFL, F_SETFL, F_GETFD, F_SETFD, F_GETFL, F_SETFL};
    uint8_t b = u8(in);
    int cmd = cmds[b % 6];
    long arg = (b & 0x80) ? (long)u32(in) : ((b & 0x40) ? O_NONBLOCK : 0);
    bool pipe_end = fd == w->pipe_fd[0] || fd == w->pipe_fd[1];
    if (cmd == F_SETFL) {
        arg &= ~(long)(O_ASYNC | O_DIRECT); /* no signals; the pipe stays usable */
    }
    if (pipe_end && cmd == F_SETFL) {
        arg |= O_NONBLOCK; /* the harness's pipe never blocks */
    }
    if ((b & 0x3f) == 0x3f && !pipe_end && !ours(w, fd)) {
        cmd = (int)u32(in); /* an unknown command, on no file or a closed one */
        if (fcntl(fd, F_GETFD) >= 0) {
            cmd = F_GETFL;
        }
    }
    errno = 0;
    check_ret(tern_fcntl(fd, cmd, arg), INT_MAX);
}

static void
op_ioctl(struct world *w, struct in *in)
{
    int fd = pick_fd(w, in);
    static const unsigned long reqs[] = {FIONREAD, FIONBIO, SIOCATMARK, SIOCOUTQ,
                                         SIOCINQ,  FIOCLEX, FIONCLEX};
    uint8_t b = u8(in);
    unsigned long req = reqs[b % 7];
    bool pipe_end = fd == w->pipe_fd[0] || fd == w->pipe_fd[1];
    if ((b & 0xf0) == 0xf0 && tern_is_socket(fd)) {
        req = u32(in); /* an unknown request, to a tern socket only */
    }
    int *arg = (int *)block(sizeof(int), 0);
    *arg = (int)u8(in);
    if (pipe_end && req == FIONBIO) {
        *arg = 1;
    }
    errno = 0;
    check_ret(tern_ioctl(fd, req, (b & 0x08) ? NULL : arg), INT_MAX);
    free(arg);
}

static void
op_poll(struct world *w, struct in *in)
{
    uint8_t b = u8(in);
    nfds_t n = b & 3;
    struct pollfd *p = calloc(n ? n : 1, sizeof(*p));
    require(p != NULL);
    for (nfds_t i = 0; i < n; i++) {
        p[i].fd = pick_fd(w, in);
        p[i].events = (short)(u8(in) | u8(in) << 8);
    }
    nfds_t pass = n;
    struct pollfd *arr = p;
    if ((b & 0x1c) == 0x1c) {
        pass = (b & 0x20) ? (nfds_t)w->open_limit + 1 : ~(nfds_t)0; /* Linux: EINVAL */
    } else if ((b & 0x1c) == 0x18) {
        arr = NULL; /* Linux: EFAULT when n > 0 */
    }
    errno = 0;
    int r = tern_poll(arr, pass, 0);
    check_ret(r, (long long)pass);
    free(p);
}

static void
op_epoll(struct world *w, struct in *in)
{
    uint8_t b = u8(in);
    errno = 0;
    switch (b % 3) {
    case 0: {
        int ep = tern_epoll_create1((b & 0x80) ? (int)u32(in) : EPOLL_CLOEXEC);
        check_ret(ep, INT_MAX);
        keep(w, ep);
        break;
    }
    case 1: {
        int ep = pick_fd(w, in), fd = pick_fd(w, in);
        struct epoll_event *ev = (struct epoll_event *)block(sizeof(*ev), 0);
        ev->events = u32(in);
        ev->data.u64 = 7;
        int op = (int)(u8(in) % 4);
        check_ret(tern_epoll_ctl(ep, op, fd, (b & 0x40) ? NULL : ev), 0);
        free(ev);
        break;
    }
    default: {
        int ep = pick_fd(w, in);
        int max = (int)(u8(in) % 5);
        if (b & 0x40) {
            max = (b & 0x20) ? -1 : INT_MAX; /* Linux: EINVAL, the buffer unread */
        }
        struct epoll_event *ev = calloc(max > 0 && max < 5 ? (size_t)max : 1, sizeof(*ev));
        require(ev != NULL);
        int r = tern_epoll_wait(ep, (b & 0x10) && max == 0 ? NULL : ev, max, 0);
        check_ret(r, max > 0 ? max : 0);
        free(ev);
        break;
    }
    }
}

/* dup, dup2, dup3 and F_DUPFD: the new number names the same socket (or
 * is the kernel's duplicate of the pipe); a live number it replaced is
 * closed (forgotten here), and the new one is kept, so that the end of
 * the input closes every number once. */
static void
op_dup(struct world *w, struct in *in)
{
    uint8_t b = u8(in);
    int fd = pick_fd(w, in);
    int target;
    if (b & 0x10) {
        target = pick_fd(w, in); /* a live slot, a closed one, -1, past the limit */
    } else {
        target = 600 + (b >> 5); /* a free number, when it is */
        if (fcntl(target, F_GETFD) >= 0 && !ours(w, target)) {
            return; /* the library's */
        }
    }
    if (target == w->pipe_fd[0] || target == w->pipe_fd[1]) {
        return; /* the pipe stays for the whole input */
    }
    errno = 0;
    int r;
    switch (b & 3) {
    case 0:
        r = tern_dup(fd);
        break;
    case 1:
        r = tern_dup2(fd, target);
        break;
    case 2:
        r = tern_dup3(fd, target, (b & 4) ? O_CLOEXEC : (int)(b & 0x0c) << 20);
        break;
    default:
        r = tern_fcntl(fd, (b & 4) ? F_DUPFD_CLOEXEC : F_DUPFD, (b & 8) ? target : 0);
        break;
    }
    check_ret(r, INT_MAX);
    if (r >= 0 && r != fd) {
        forget(w, r);
        keep(w, r);
    }
}

/* Moves the simulated time on: packets are delivered, timers fire. */
static void
op_run(struct world *w, struct in *in)
{
    static const int64_t dt[] = {0, 1000000, 10000000, 200000000, 1000000000, 30000000000};
    tern_sim_run_until(w->sim, tern_sim_now(w->sim) + dt[pick(in, 6)]);
}

/* An input's byte picks the op; sockets, bind/connect and the data calls
 * have two slots. */
static void (*const ops[])(struct world *, struct in *) = {
    op_socket, op_socket, op_bind_connect, op_listen, op_bind_connect, op_accept,
    op_io,     op_io,     op_shutdown,     op_close,  op_sockopt,      op_fcntl,
    op_ioctl,  op_poll,   op_epoll,        op_names,  op_run,          op_dup,
};
#define N_OPS (sizeof ops / sizeof ops[0])

static int
count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    require(d != NULL);
    int n = 0;
    while (readdir(d) != NULL) {
        n++;
    }
    closedir(d);
    return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fds_before = count_fds();
    struct world w;
    memset(&w, 0, sizeof(w));
    struct rlimit rl;
    require(getrlimit(RLIMIT_NOFILE, &rl) == 0);
    w.open_limit = rl.rlim_cur < 1u << 24 ? (int)rl.rlim_cur : 1 << 24;
    for (int i = 0; i < SLOTS; i++) {
        w.slot[i] = -1;
    }
    require(pipe2(w.pipe_fd, O_NONBLOCK) == 0);

    require(tern_sim_new(1, &w.sim) == TERN_OK);
    struct tern_config cfg;
    tern_config_init(&cfg);
    cfg.deterministic = true;
    cfg.seed = 1;
    cfg.n_netifs = 1;
    cfg.netifs[0] = (struct tern_netif_config){.addr = A_ADDR, .prefix_len = 24, .mtu = 1500};
    cfg.pool_bytes = 64 * 1024;
    int ha, hb, link;
    require(tern_sim_add_host(w.sim, "a", &cfg, &ha) == TERN_OK);
    cfg.netifs[0].addr = B_ADDR;
    require(tern_sim_add_host(w.sim, "b", &cfg, &hb) == TERN_OK);
    require(tern_sim_link(w.sim, ha, 0, hb, 0, NULL, NULL, &link) == TERN_OK);
    require(tern_rt_attach(tern_sim_host_stack(w.sim, ha), sim_clock, w.sim, &w.rt[0]) == TERN_OK);
    require(tern_rt_attach(tern_sim_host_stack(w.sim, hb), sim_clock, w.sim, &w.rt[1]) == TERN_OK);
    tern_rt_set_default(w.rt[0], 0);

    struct in in = {data, size, 0};
    for (int k = 0; k < MAX_OPS && in.at < in.n; k++) {
        if (tracing()) {
            fprintf(stderr, "op %zu (byte %zu)\n", (size_t)in.p[in.at] % N_OPS, in.at);
        }
        ops[u8(&in) % N_OPS](&w, &in);
        /* The pipe's ends stay non-blocking whatever a call did. */
        for (int i = 0; i < 2; i++) {
            int fl = fcntl(w.pipe_fd[i], F_GETFL);
            require(fl >= 0);
            if (!(fl & O_NONBLOCK)) {
                require(fcntl(w.pipe_fd[i], F_SETFL, fl | O_NONBLOCK) == 0);
            }
        }
    }

    for (int i = 0; i < SLOTS; i++) {
        if (w.live[i]) {
            require(tern_close(w.slot[i]) == 0);
        }
    }
    tern_rt_set_default(NULL, 0);
    tern_rt_free(w.rt[0]);
    tern_rt_free(w.rt[1]);
    tern_sim_free(w.sim);
    close(w.pipe_fd[0]);
    close(w.pipe_fd[1]);
    require(count_fds() == fds_before);
    return 0;
}
