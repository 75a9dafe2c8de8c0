/*
 * tests/preload/pl_semantics.c: what a real program relies on, checked
 * the same way on Linux's sockets and on tern's (run under
 * libtern_preload.so by tests/shell/test_preload_semantics.sh).
 *
 *   pl_semantics CASE PEER_IP PORT [SELF_IP DROP_IP]
 *
 * PEER_IP:PORT is a tests/preload/pl_echo_server.py. Each check prints
 * "ok: CASE: what" or "FAIL: CASE: what (got ...)"; the exit status is 0
 * only when every check passed. The expected values are Linux's: the
 * script runs each case without the preload too, so an expectation that
 * is not Linux's fails there. The program knows nothing of tern (it is
 * linked against nothing of it); only "fork" asks whether it runs under
 * the preload (LD_PRELOAD names it), since a forked child's tern socket
 * fails by design where Linux's works.
 *
 * Cases: passthrough, fork, exec, dup, threads, select, mmsg, signals.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *which; /* the case */
static const char *peer_ip;
static int peer_port;
static int failures;

static void
check(bool ok, const char *what, const char *fmt, ...)
{
    char got[256] = "";
    if (!ok && fmt != NULL) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(got, sizeof(got), fmt, ap);
        va_end(ap);
    }
    if (ok) {
        printf("ok: %s: %s\n", which, what);
    } else {
        printf("FAIL: %s: %s (got %s)\n", which, what, got);
        failures++;
    }
    fflush(stdout);
}

/* "r=-1 EINTR" style, for messages. */
static const char *
res(long r, int e)
{
    static __thread char b[64];
    if (r < 0) {
        snprintf(b, sizeof(b), "-1 %s", strerrorname_np(e) ? strerrorname_np(e) : "?");
    } else {
        snprintf(b, sizeof(b), "%ld", r);
    }
    return b;
}

static int64_t
mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct sockaddr_in
sin_of(const char *ip, int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, ip, &a.sin_addr);
    return a;
}

static bool
read_full(int fd, void *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, (char *)buf + got, n - got);
        if (r <= 0) {
            return false;
        }
        got += (size_t)r;
    }
    return true;
}

static bool
write_full(int fd, const void *buf, size_t n)
{
    size_t put = 0;
    while (put < n) {
        ssize_t r = write(fd, (const char *)buf + put, n - put);
        if (r <= 0) {
            return false;
        }
        put += (size_t)r;
    }
    return true;
}

/* A connection to the echo server that begins with line `tag`; its echo
 * read back. -1 on failure. */
static int
conn_flags(const char *tag, int flags)
{
    int fd = socket(AF_INET, SOCK_STREAM | flags, 0);
    struct sockaddr_in a = sin_of(peer_ip, peer_port);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        printf("FAIL: %s: connect to %s:%d: %s\n", which, peer_ip, peer_port, strerror(errno));
        exit(1);
    }
    char line[128], back[128];
    int n = snprintf(line, sizeof(line), "%s\n", tag);
    if (!write_full(fd, line, (size_t)n)) {
        exit(1);
    }
    if (strcmp(tag, "sink") != 0 && (!read_full(fd, back, (size_t)n) || memcmp(line, back, n))) {
        printf("FAIL: %s: echo of the tag\n", which);
        exit(1);
    }
    return fd;
}

static int
conn(const char *tag)
{
    return conn_flags(tag, 0);
}

/* n bytes out through `wfd`, back through `rfd` (the same connection),
 * byte-exact. */
static bool
echo_via(int wfd, int rfd, size_t n)
{
    static char out[1 << 16], in[1 << 16];
    if (n > sizeof(out)) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        out[i] = (char)(i * 7 + (size_t)wfd);
    }
    return write_full(wfd, out, n) && read_full(rfd, in, n) && memcmp(in, out, n) == 0;
}

/* The server's word on the connection that began with `tag`. */
static void
ask(const char *tag, char *ans, size_t cap)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = sin_of(peer_ip, peer_port);
    ans[0] = '\0';
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        snprintf(ans, cap, "connect: %s", strerror(errno));
        return;
    }
    char q[128];
    int n = snprintf(q, sizeof(q), "?%s\n", tag);
    size_t got = 0;
    if (write_full(fd, q, (size_t)n)) {
        ssize_t r;
        while (got + 1 < cap && (r = read(fd, ans + got, cap - 1 - got)) > 0) {
            got += (size_t)r;
        }
    }
    ans[got] = '\0';
    char *nl = strchr(ans, '\n');
    if (nl != NULL) {
        *nl = '\0';
    }
    close(fd);
}

/* Asks until the answer is `want` (every 20 ms, at most 10 s). */
static bool
ask_until(const char *tag, const char *want, char *ans, size_t cap)
{
    int64_t end = mono_ms() + 10000;
    for (;;) {
        ask(tag, ans, cap);
        if (strcmp(ans, want) == 0) {
            return true;
        }
        if (mono_ms() > end) {
            return false;
        }
        struct timespec t = {0, 20000000};
        nanosleep(&t, NULL);
    }
}

/* Whether thread `tid` sleeps (state S), within 5 s. */
static bool
sleeping(pid_t tid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
    for (int i = 0; i < 5000; i++) {
        FILE *f = fopen(path, "r");
        if (f == NULL) {
            return false;
        }
        char line[512];
        char *ok = fgets(line, sizeof(line), f);
        fclose(f);
        char *p = ok != NULL ? strrchr(line, ')') : NULL;
        if (p != NULL && p[1] == ' ' && p[2] == 'S') {
            return true;
        }
        struct timespec t = {0, 1000000};
        nanosleep(&t, NULL);
    }
    return false;
}

/* ---- passthrough: files, pipes, AF_UNIX, eventfd beside tern sockets ---- */

static void
case_passthrough(void)
{
    int s = conn("passthrough");
    char tmpl[] = "/tmp/pl_semantics.XXXXXX";
    int f = mkstemp(tmpl);
    check(f >= 0, "mkstemp", "%s", strerror(errno));
    unlink(tmpl);
    check(write(f, "file", 4) == 4 && lseek(f, 0, SEEK_SET) == 0, "file write", NULL);
    char b[16] = "";
    check(read(f, b, sizeof(b)) == 4 && memcmp(b, "file", 4) == 0, "file read", NULL);
    char ab[] = "ab", cd[] = "cd";
    struct iovec iv[2] = {{ab, 2}, {cd, 2}};
    check(lseek(f, 0, SEEK_SET) == 0 && writev(f, iv, 2) == 4, "file writev", NULL);
    close(f);

    int p[2];
    check(pipe(p) == 0, "pipe", NULL);
    check(write(p[1], "pipe", 4) == 4, "pipe write", NULL);
    struct pollfd pf = {.fd = p[0], .events = POLLIN};
    check(poll(&pf, 1, 1000) == 1 && pf.revents == POLLIN, "pipe poll", NULL);
    check(read(p[0], b, sizeof(b)) == 4 && memcmp(b, "pipe", 4) == 0, "pipe read", NULL);
    struct stat st;
    check(fstat(p[0], &st) == 0 && S_ISFIFO(st.st_mode), "pipe is a FIFO", NULL);

    int u[2];
    check(socketpair(AF_UNIX, SOCK_STREAM, 0, u) == 0, "socketpair", NULL);
    check(send(u[0], "unix", 4, 0) == 4, "AF_UNIX send", NULL);
    check(recv(u[1], b, sizeof(b), 0) == 4 && memcmp(b, "unix", 4) == 0, "AF_UNIX recv", NULL);
    int dom = 0;
    socklen_t dl = sizeof(dom);
    check(getsockopt(u[0], SOL_SOCKET, SO_DOMAIN, &dom, &dl) == 0 && dom == AF_UNIX,
          "AF_UNIX SO_DOMAIN", "%d", dom);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    check(getsockname(u[0], (struct sockaddr *)&ss, &sl) == 0 && ss.ss_family == AF_UNIX,
          "AF_UNIX getsockname", NULL);
    check(shutdown(u[0], SHUT_WR) == 0 && read(u[1], b, sizeof(b)) == 0, "AF_UNIX shutdown", NULL);
    int d = dup(u[1]);
    check(d >= 0 && close(d) == 0, "AF_UNIX dup, close", NULL);
    int ud = socket(AF_UNIX, SOCK_DGRAM, 0);
    check(ud >= 0, "AF_UNIX datagram socket", NULL);

    int e = eventfd(0, 0);
    uint64_t v = 5, w = 0;
    check(e >= 0 && write(e, &v, 8) == 8 && read(e, &w, 8) == 8 && w == 5, "eventfd", NULL);
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 7};
    check(epoll_ctl(ep, EPOLL_CTL_ADD, e, &ev) == 0, "epoll_ctl eventfd", NULL);
    check(write(e, &v, 8) == 8, "eventfd write", NULL);
    struct epoll_event out;
    check(epoll_wait(ep, &out, 1, 1000) == 1 && out.data.u32 == 7, "epoll eventfd", NULL);
    check(echo_via(s, s, 1000), "the network socket still echoes", NULL);
    close(ep);
    close(e);
    close(ud);
    close(u[0]);
    close(u[1]);
    close(p[0]);
    close(p[1]);
    close(s);
}

/* ---- fork ---- */

static void
case_fork(bool tern)
{
    int s = conn("fork");
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        int bad = 0;
        if (tern) {
            /* docs/preload.md: a child's call on the parent's tern socket
             * fails with EBADFD (after one line on stderr). */
            errno = 0;
            ssize_t r = send(s, "x", 1, 0);
            bad += !(r == -1 && errno == EBADFD);
            errno = 0;
            char c;
            r = recv(s, &c, 1, MSG_DONTWAIT);
            bad += !(r == -1 && errno == EBADFD);
            int n = socket(AF_INET, SOCK_STREAM, 0);
            bad += !(n == -1 && errno == EAFNOSUPPORT);
            int u[2]; /* the kernel's sockets work in the child */
            bad += socketpair(AF_UNIX, SOCK_STREAM, 0, u) != 0;
        }
        bad += close(s) != 0;
        _exit(bad);
    }
    int status = -1;
    check(pid > 0 && waitpid(pid, &status, 0) == pid, "fork, wait", NULL);
    check(WIFEXITED(status) && WEXITSTATUS(status) == 0,
          tern ? "child: EBADFD on the inherited socket, close() fine" : "child: close() fine",
          "status %d", status);
    check(echo_via(s, s, 4096), "parent's socket still echoes", NULL);
    char ans[64];
    check(ask_until("fork", "open", ans, sizeof(ans)), "parent's connection still open", "%s", ans);
    close(s);
    check(ask_until("fork", "closed", ans, sizeof(ans)), "closed with the parent's close", "%s",
          ans);
}

/* ---- exec with close-on-exec ---- */

static int
exec_child(char **argv)
{
    int a = atoi(argv[2]), b = atoi(argv[3]), c = atoi(argv[4]);
    errno = 0;
    check(fcntl(a, F_GETFD) == -1 && errno == EBADF, "SOCK_CLOEXEC socket gone after exec", "%s",
          res(-1, errno));
    errno = 0;
    check(fcntl(b, F_GETFD) == -1 && errno == EBADF, "FD_CLOEXEC (F_SETFD) socket gone after exec",
          "%s", res(-1, errno));
    check(fcntl(c, F_GETFD) == 0, "socket without close-on-exec kept across exec", NULL);
    return failures == 0 ? 0 : 1;
}

static void
case_exec(const char *self)
{
    int a = conn_flags("exec-a", SOCK_CLOEXEC);
    int b = conn("exec-b");
    int c = conn("exec-c");
    check((fcntl(a, F_GETFD) & FD_CLOEXEC) != 0, "SOCK_CLOEXEC gives FD_CLOEXEC", NULL);
    check(fcntl(b, F_GETFD) == 0, "no FD_CLOEXEC by default", NULL);
    check(fcntl(b, F_SETFD, FD_CLOEXEC) == 0 && fcntl(b, F_GETFD) == FD_CLOEXEC,
          "F_SETFD FD_CLOEXEC", NULL);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        char fa[16], fb[16], fc[16];
        snprintf(fa, sizeof(fa), "%d", a);
        snprintf(fb, sizeof(fb), "%d", b);
        snprintf(fc, sizeof(fc), "%d", c);
        execl(self, self, "exec-child", fa, fb, fc, (char *)NULL);
        _exit(127);
    }
    int status = -1;
    check(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
              WEXITSTATUS(status) == 0,
          "the exec'd program saw its fds right", "status %d", status);
    check(echo_via(a, a, 1000) && echo_via(c, c, 1000), "the sockets still echo here", NULL);
    close(a);
    close(b);
    close(c);
}

/* ---- dup, dup2, dup3, F_DUPFD_CLOEXEC ---- */

static void
case_dup(void)
{
    char tag[32], ans[64];
    snprintf(tag, sizeof(tag), "dup-%d", (int)getpid());
    int s = conn(tag);
    int d1 = dup(s);
    int d2 = dup2(s, 100);
    int d3 = dup3(s, 101, O_CLOEXEC);
    int d4 = fcntl(s, F_DUPFD_CLOEXEC, 200);
    check(d1 >= 0 && d1 != s, "dup", "%d", d1);
    check(d2 == 100, "dup2 to 100", "%d", d2);
    check(d3 == 101, "dup3 to 101", "%d", d3);
    check(d4 >= 200, "F_DUPFD_CLOEXEC from 200", "%d", d4);
    check(dup2(s, s) == s, "dup2 onto itself", NULL);
    errno = 0;
    check(dup3(s, s, 0) == -1 && errno == EINVAL, "dup3 onto itself: EINVAL", "%s", res(-1, errno));
    check(fcntl(d1, F_GETFD) == 0 && fcntl(d2, F_GETFD) == 0, "dup, dup2: no FD_CLOEXEC", NULL);
    check(fcntl(d3, F_GETFD) == FD_CLOEXEC && fcntl(d4, F_GETFD) == FD_CLOEXEC,
          "dup3 O_CLOEXEC, F_DUPFD_CLOEXEC: FD_CLOEXEC", NULL);
    check((fcntl(s, F_GETFD) & FD_CLOEXEC) == 0, "the original keeps its flags", NULL);
    check(echo_via(s, d1, 3000) && echo_via(d2, d3, 3000) && echo_via(d4, s, 3000),
          "every number writes and reads the one connection", NULL);
    struct sockaddr_in a1, a2;
    socklen_t l1 = sizeof(a1), l2 = sizeof(a2);
    check(getsockname(s, (struct sockaddr *)&a1, &l1) == 0 &&
              getsockname(d4, (struct sockaddr *)&a2, &l2) == 0 && a1.sin_port == a2.sin_port,
          "getsockname same on a dup", NULL);
    /* O_NONBLOCK is the open file's: set on one number, seen on all. */
    check(fcntl(d1, F_SETFL, O_NONBLOCK) == 0 && (fcntl(s, F_GETFL) & O_NONBLOCK),
          "O_NONBLOCK shared by the numbers", NULL);
    char c;
    errno = 0;
    check(read(s, &c, 1) == -1 && errno == EAGAIN, "...and acts on them", "%s", res(-1, errno));
    check(fcntl(s, F_SETFL, 0) == 0 && !(fcntl(d2, F_GETFL) & O_NONBLOCK), "cleared on all", NULL);
    close(s);
    check(ask_until(tag, "open", ans, sizeof(ans)), "open after closing the original", "%s", ans);
    check(echo_via(d4, d1, 2000), "echo through the dups", NULL);
    close(d1);
    close(d2);
    close(d3);
    check(ask_until(tag, "open", ans, sizeof(ans)), "open while one number remains", "%s", ans);
    check(echo_via(d4, d4, 2000), "echo through the last number", NULL);
    /* dup2 onto a number that holds a pipe closes the pipe's end. */
    signal(SIGPIPE, SIG_IGN);
    int p[2];
    check(pipe(p) == 0, "pipe", NULL);
    int d5 = dup2(d4, p[0]);
    check(d5 == p[0], "dup2 onto a pipe's number", NULL);
    check(echo_via(d4, p[0], 100), "that number is the connection now", NULL);
    errno = 0;
    check(write(p[1], "x", 1) == -1 && errno == EPIPE, "the pipe lost its reader", "%s",
          res(-1, errno));
    close(p[1]);
    close(d4);
    check(ask_until(tag, "open", ans, sizeof(ans)), "open while the dup2'd number remains", "%s",
          ans);
    close(p[0]);
    check(ask_until(tag, "closed", ans, sizeof(ans)), "closed with the last number", "%s", ans);
    errno = 0;
    check(write(d4, "x", 1) == -1 && errno == EBADF, "a closed number: EBADF", "%s",
          res(-1, errno));
}

/* ---- threads ---- */

struct early {
    int go[2]; /* main sends the number of a socket it made */
    bool ok_theirs, ok_own;
};

static void *
early_main(void *arg)
{
    struct early *e = arg;
    int fd;
    if (read(e->go[0], &fd, sizeof(fd)) != sizeof(fd)) {
        return NULL;
    }
    e->ok_theirs = echo_via(fd, fd, 30000);
    int own = conn("early-own");
    e->ok_own = echo_via(own, own, 30000);
    close(own);
    return NULL;
}

struct reader {
    int fd;
    volatile pid_t tid;
    size_t want;
    char *buf;
    bool ok;
};

static void *
reader_main(void *arg)
{
    struct reader *r = arg;
    r->tid = (pid_t)syscall(SYS_gettid);
    r->ok = read_full(r->fd, r->buf, r->want);
    return NULL;
}

static void
case_threads(void)
{
    /* A thread that exists before the program's first socket. */
    struct early e = {0};
    check(pipe(e.go) == 0, "pipe", NULL);
    pthread_t t;
    check(pthread_create(&t, NULL, early_main, &e) == 0, "thread before the first socket", NULL);
    int s = conn("threads");
    check(write(e.go[1], &s, sizeof(s)) == sizeof(s), "hand the socket over", NULL);
    pthread_join(t, NULL);
    check(e.ok_theirs, "that thread echoes on main's socket", NULL);
    check(e.ok_own, "that thread echoes on a socket of its own", NULL);

    /* A blocking read in one thread while another writes: 1 MiB. */
    size_t n = 1 << 20;
    char *out = malloc(n), *in = malloc(n);
    for (size_t i = 0; i < n; i++) {
        out[i] = (char)(i * 131 + (i >> 11));
    }
    struct reader r = {.fd = s, .want = n, .buf = in};
    check(pthread_create(&t, NULL, reader_main, &r) == 0, "reader thread", NULL);
    while (r.tid == 0) {
        sched_yield();
    }
    check(sleeping(r.tid), "the reader blocks in read", NULL);
    check(write_full(s, out, n), "1 MiB written while it blocks", NULL);
    pthread_join(t, NULL);
    check(r.ok && memcmp(in, out, n) == 0, "the reader got the 1 MiB byte-exact", NULL);
    free(out);
    free(in);
    close(s);
}

/* ---- select, poll, epoll with tern and kernel fds ---- */

static void
case_select(void)
{
    int s = conn("select");
    int p[2];
    check(pipe(p) == 0, "pipe", NULL);
    int hi = (s > p[0] ? s : p[0]) + 1;
    fd_set rd;
    struct timeval tv = {0, 0};
    FD_ZERO(&rd);
    FD_SET(s, &rd);
    FD_SET(p[0], &rd);
    check(select(hi, &rd, NULL, NULL, &tv) == 0, "select: nothing ready", NULL);
    tv = (struct timeval){0, 200000};
    FD_ZERO(&rd);
    FD_SET(s, &rd);
    FD_SET(p[0], &rd);
    int64_t t0 = mono_ms();
    int r = select(hi, &rd, NULL, NULL, &tv);
    int64_t took = mono_ms() - t0;
    check(r == 0 && took >= 190 && tv.tv_sec == 0 && tv.tv_usec == 0,
          "select: the timeout passes, timeval left 0", "r %d, %lld ms, %ld us", r, (long long)took,
          (long)tv.tv_usec);
    check(write(p[1], "x", 1) == 1, "pipe write", NULL);
    FD_ZERO(&rd);
    FD_SET(s, &rd);
    FD_SET(p[0], &rd);
    tv = (struct timeval){5, 0};
    r = select(hi, &rd, NULL, NULL, &tv);
    check(r == 1 && FD_ISSET(p[0], &rd) && !FD_ISSET(s, &rd), "select: the pipe alone", "%d", r);
    char c;
    check(read(p[0], &c, 1) == 1, "pipe read", NULL);
    check(write(s, "y", 1) == 1, "socket write", NULL);
    FD_ZERO(&rd);
    FD_SET(s, &rd);
    FD_SET(p[0], &rd);
    fd_set wr;
    FD_ZERO(&wr);
    FD_SET(s, &wr);
    FD_SET(p[1], &wr);
    tv = (struct timeval){5, 0};
    r = select(hi > p[1] + 1 ? hi : p[1] + 1, &rd, NULL, NULL, &tv);
    check(r == 1 && FD_ISSET(s, &rd) && !FD_ISSET(p[0], &rd), "select: the socket alone (echo)",
          "%d", r);
    tv = (struct timeval){5, 0};
    r = select(hi > p[1] + 1 ? hi : p[1] + 1, NULL, &wr, NULL, &tv);
    check(r == 2 && FD_ISSET(s, &wr) && FD_ISSET(p[1], &wr), "select: both writable", "%d", r);
    check(read(s, &c, 1) == 1 && c == 'y', "socket read", NULL);

    struct pollfd pf[3] = {{.fd = s, .events = POLLIN},
                           {.fd = p[0], .events = POLLIN},
                           {.fd = p[1], .events = POLLOUT}};
    r = poll(pf, 3, 0);
    check(r == 1 && pf[0].revents == 0 && pf[1].revents == 0 && pf[2].revents == POLLOUT,
          "poll: the pipe's write end alone", "%d %x %x %x", r, pf[0].revents, pf[1].revents,
          pf[2].revents);
    check(write(s, "z", 1) == 1, "socket write", NULL);
    pf[2].events = 0;
    r = poll(pf, 3, 5000);
    check(r == 1 && pf[0].revents == POLLIN && pf[1].revents == 0, "poll: the socket's echo",
          "%d %x %x", r, pf[0].revents, pf[1].revents);
    check(read(s, &c, 1) == 1, "socket read", NULL);
    check(write(p[1], "x", 1) == 1, "pipe write", NULL);
    r = poll(pf, 3, 5000);
    check(r == 1 && pf[0].revents == 0 && pf[1].revents == POLLIN, "poll: the pipe's byte",
          "%d %x %x", r, pf[0].revents, pf[1].revents);
    check(read(p[0], &c, 1) == 1, "pipe read", NULL);
    t0 = mono_ms();
    r = poll(pf, 2, 200);
    took = mono_ms() - t0;
    check(r == 0 && took >= 190, "poll: the timeout passes", "%d, %lld ms", r, (long long)took);

    int ep = epoll_create1(EPOLL_CLOEXEC);
    int efd = eventfd(0, EFD_NONBLOCK);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 1};
    check(epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev) == 0, "epoll_ctl socket", NULL);
    ev = (struct epoll_event){.events = EPOLLIN, .data.u64 = 2};
    check(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev) == 0, "epoll_ctl pipe", NULL);
    ev = (struct epoll_event){.events = EPOLLIN | EPOLLET, .data.u64 = 3};
    check(epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev) == 0, "epoll_ctl eventfd (edge)", NULL);
    errno = 0;
    check(epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev) == -1 && errno == EEXIST, "epoll_ctl twice: EEXIST",
          "%s", res(-1, errno));
    struct epoll_event out[4];
    check(epoll_wait(ep, out, 4, 0) == 0, "epoll: nothing ready", NULL);
    uint64_t one = 1;
    check(write(efd, &one, 8) == 8 && write(s, "w", 1) == 1, "eventfd and socket written", NULL);
    bool got1 = false, got3 = false;
    int64_t end = mono_ms() + 5000;
    while (!(got1 && got3) && mono_ms() < end) {
        r = epoll_wait(ep, out, 4, 5000);
        for (int i = 0; i < r; i++) {
            got1 |= out[i].data.u64 == 1 && out[i].events == EPOLLIN;
            got3 |= out[i].data.u64 == 3 && out[i].events == EPOLLIN;
            check(out[i].data.u64 != 2, "epoll: the pipe is not ready", NULL);
        }
    }
    check(got1 && got3, "epoll: the socket and the eventfd", NULL);
    check(read(s, &c, 1) == 1 && c == 'w', "socket read", NULL);
    check(epoll_wait(ep, out, 4, 0) == 0, "epoll: drained (eventfd edge-triggered)", NULL);
    ev = (struct epoll_event){.events = EPOLLOUT, .data.u64 = 4};
    check(epoll_ctl(ep, EPOLL_CTL_MOD, s, &ev) == 0, "epoll_ctl MOD socket to EPOLLOUT", NULL);
    r = epoll_wait(ep, out, 4, 1000);
    check(r == 1 && out[0].data.u64 == 4 && out[0].events == EPOLLOUT, "epoll: socket writable",
          "%d", r);
    check(epoll_ctl(ep, EPOLL_CTL_DEL, s, NULL) == 0, "epoll_ctl DEL socket", NULL);
    check(epoll_wait(ep, out, 4, 0) == 0, "epoll: nothing after DEL", NULL);
    check(shutdown(s, SHUT_WR) == 0, "shutdown SHUT_WR", NULL);
    pf[0] = (struct pollfd){.fd = s, .events = POLLIN | POLLRDHUP};
    r = poll(pf, 1, 5000);
    check(r == 1 && (pf[0].revents & (POLLIN | POLLRDHUP)) == (POLLIN | POLLRDHUP),
          "poll: the peer's FIN is POLLIN|POLLRDHUP", "%d %x", r, pf[0].revents);
    check(read(s, &c, 1) == 0, "read: end of stream", NULL);
    close(ep);
    close(efd);
    close(p[0]);
    close(p[1]);
    close(s);
}

/* ---- signals interrupting blocked calls ---- */

static volatile sig_atomic_t alarms;

static void
on_alarm(int sig)
{
    (void)sig;
    alarms++;
}

static void
handler(bool restart)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_alarm;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = restart ? SA_RESTART : 0;
    if (sigaction(SIGALRM, &sa, NULL) != 0) {
        exit(1);
    }
    struct sigaction q;
    check(sigaction(SIGALRM, NULL, &q) == 0 && q.sa_handler == on_alarm &&
              (q.sa_flags & SA_RESTART) == (restart ? SA_RESTART : 0),
          "sigaction reports the handler as set", NULL);
}

static void
arm(int ms)
{
    struct itimerval it = {.it_value = {ms / 1000, (ms % 1000) * 1000}};
    setitimer(ITIMER_REAL, &it, NULL);
}

/* A helper thread (SIGALRM blocked: the signal goes to the main thread):
 * once the alarm went off and main sleeps again, it runs `act`. */
struct helper {
    pid_t main_tid;
    int before;
    int fd;
    const char *ip;
    int port;
    int kind; /* 0: write a byte on fd; 1: connect to ip:port */
    int conn_fd;
};

static void *
helper_main(void *arg)
{
    struct helper *h = arg;
    int64_t end = mono_ms() + 10000;
    while (alarms == h->before && mono_ms() < end) {
        struct timespec t = {0, 1000000};
        nanosleep(&t, NULL);
    }
    (void)sleeping(h->main_tid); /* restarted: asleep again */
    if (h->kind == 0) {
        (void)!write(h->fd, "r", 1);
    } else {
        h->conn_fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = sin_of(h->ip, h->port);
        if (connect(h->conn_fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
            close(h->conn_fd);
            h->conn_fd = -1;
        }
    }
    return NULL;
}

static pthread_t
helper_start(struct helper *h)
{
    sigset_t m, old;
    sigemptyset(&m);
    sigaddset(&m, SIGALRM);
    pthread_sigmask(SIG_BLOCK, &m, &old);
    pthread_t t;
    h->main_tid = (pid_t)syscall(SYS_gettid);
    h->before = alarms;
    pthread_create(&t, NULL, helper_main, h);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return t;
}

static void
set_timeo(int fd, int opt, int sec)
{
    struct timeval tv = {sec, 0};
    setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof(tv));
}

/* Fills the send buffer of a connection to a server that never reads:
 * until a non-blocking send finds no room twice in a row, 300 ms apart
 * (ACKs of what was in flight free room meanwhile; at most 20 s). */
static void
fill(int s)
{
    static char junk[65536];
    int fl = fcntl(s, F_GETFL);
    fcntl(s, F_SETFL, fl | O_NONBLOCK);
    int64_t end = mono_ms() + 20000;
    for (int full = 0; full < 2 && mono_ms() < end;) {
        bool took = false;
        while (send(s, junk, sizeof(junk), 0) > 0) {
            took = true;
        }
        full = took ? 0 : full + 1;
        struct timespec t = {0, 300000000};
        nanosleep(&t, NULL);
    }
    fcntl(s, F_SETFL, fl);
}

#define EXPECT_INTR(what, call, want_r, want_e)                                                    \
    do {                                                                                           \
        int before_ = alarms;                                                                      \
        arm(200);                                                                                  \
        int64_t t0_ = mono_ms();                                                                   \
        errno = 0;                                                                                 \
        long r_ = (long)(call);                                                                    \
        int e_ = errno;                                                                            \
        int64_t took_ = mono_ms() - t0_;                                                           \
        arm(0);                                                                                    \
        check(r_ == (want_r) && (r_ >= 0 || e_ == (want_e)) && alarms == before_ + 1 &&            \
                  took_ < 4000,                                                                    \
              what, "%s after %lld ms, %d alarms", res(r_, e_), (long long)took_,                  \
              alarms - before_);                                                                   \
    } while (0)

static void
case_signals(const char *self_ip, const char *drop_ip)
{
    char buf[65536];
    /* recv */
    int s = conn("signals");
    handler(false);
    EXPECT_INTR("recv, no SA_RESTART: EINTR", recv(s, buf, 1, 0), -1, EINTR);
    EXPECT_INTR("read, no SA_RESTART: EINTR", read(s, buf, 1), -1, EINTR);
    handler(true);
    struct helper h = {.fd = s, .kind = 0};
    pthread_t t = helper_start(&h);
    EXPECT_INTR("recv, SA_RESTART: restarted, then the byte", recv(s, buf, 1, 0), 1, 0);
    pthread_join(t, NULL);
    set_timeo(s, SO_RCVTIMEO, 5);
    EXPECT_INTR("recv, SA_RESTART with SO_RCVTIMEO: EINTR", recv(s, buf, 1, 0), -1, EINTR);
    set_timeo(s, SO_RCVTIMEO, 0);
    check(echo_via(s, s, 1000), "the socket still echoes", NULL);
    struct pollfd pf = {.fd = s, .events = POLLIN};
    EXPECT_INTR("poll, SA_RESTART: EINTR (never restarted)", poll(&pf, 1, 5000), -1, EINTR);
    fd_set rd;
    FD_ZERO(&rd);
    FD_SET(s, &rd);
    struct timeval tv = {5, 0};
    EXPECT_INTR("select, SA_RESTART: EINTR", select(s + 1, &rd, NULL, NULL, &tv), -1, EINTR);
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN};
    epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev);
    EXPECT_INTR("epoll_wait, SA_RESTART: EINTR", epoll_wait(ep, &ev, 1, 5000), -1, EINTR);
    close(ep);
    close(s);

    /* accept */
    int l = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in la = sin_of("0.0.0.0", 5099);
    check(bind(l, (struct sockaddr *)&la, sizeof(la)) == 0 && listen(l, 4) == 0, "listen", "%s",
          strerror(errno));
    handler(false);
    EXPECT_INTR("accept, no SA_RESTART: EINTR", accept(l, NULL, NULL), -1, EINTR);
    handler(true);
    h = (struct helper){.kind = 1, .ip = self_ip, .port = 5099};
    t = helper_start(&h);
    int64_t t0 = mono_ms();
    arm(200);
    int a = accept(l, NULL, NULL);
    arm(0);
    pthread_join(t, NULL);
    check(a >= 0 && h.conn_fd >= 0 && mono_ms() - t0 < 4000,
          "accept, SA_RESTART: restarted, then the connection", "%s", res(a, errno));
    close(a);
    close(h.conn_fd);
    set_timeo(l, SO_RCVTIMEO, 5);
    EXPECT_INTR("accept, SA_RESTART with SO_RCVTIMEO: EINTR", accept(l, NULL, NULL), -1, EINTR);
    close(l);

    /* connect to an address that never answers */
    int c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in da = sin_of(drop_ip, 9);
    handler(false);
    EXPECT_INTR("connect, no SA_RESTART: EINTR", connect(c, (struct sockaddr *)&da, sizeof(da)), -1,
                EINTR);
    fcntl(c, F_SETFL, O_NONBLOCK);
    errno = 0;
    int r = connect(c, (struct sockaddr *)&da, sizeof(da));
    check(r == -1 && errno == EALREADY, "connect again (non-blocking): EALREADY, it goes on", "%s",
          res(r, errno));
    close(c);
    c = socket(AF_INET, SOCK_STREAM, 0);
    handler(true);
    set_timeo(c, SO_SNDTIMEO, 5);
    EXPECT_INTR("connect, SA_RESTART with SO_SNDTIMEO: EINTR",
                connect(c, (struct sockaddr *)&da, sizeof(da)), -1, EINTR);
    close(c);
    /* (connect with SA_RESTART and no timeout restarts on Linux too, and
     * would wait out the SYN retries here: not run.) */

    /* send into a full buffer */
    s = conn("sink");
    fill(s);
    handler(false);
    EXPECT_INTR("send into a full buffer, no SA_RESTART: EINTR", send(s, buf, sizeof(buf), 0), -1,
                EINTR);
    handler(true);
    set_timeo(s, SO_SNDTIMEO, 5);
    EXPECT_INTR("send, SA_RESTART with SO_SNDTIMEO: EINTR", send(s, buf, sizeof(buf), 0), -1,
                EINTR);
    close(s);

    /* UDP */
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in ua = sin_of("0.0.0.0", 5098);
    check(bind(u, (struct sockaddr *)&ua, sizeof(ua)) == 0, "bind UDP", NULL);
    handler(false);
    EXPECT_INTR("recvfrom UDP, no SA_RESTART: EINTR", recvfrom(u, buf, 100, 0, NULL, NULL), -1,
                EINTR);
    handler(true);
    set_timeo(u, SO_RCVTIMEO, 5);
    EXPECT_INTR("recvfrom UDP, SA_RESTART with SO_RCVTIMEO: EINTR",
                recvfrom(u, buf, 100, 0, NULL, NULL), -1, EINTR);
    close(u);

    /* signal(): BSD semantics, SA_RESTART. */
    signal(SIGALRM, on_alarm);
    struct sigaction q;
    check(sigaction(SIGALRM, NULL, &q) == 0 && q.sa_handler == on_alarm &&
              (q.sa_flags & SA_RESTART),
          "signal() installs with SA_RESTART", NULL);
    signal(SIGALRM, SIG_DFL);
}

/* sendmmsg and recvmmsg: three datagrams between two UDP sockets of this
 * program on `self_ip`, the counts and lengths as Linux gives them. */
static void
case_mmsg(const char *self_ip)
{
    struct sockaddr_in a = {.sin_family = AF_INET}, b;
    inet_pton(AF_INET, self_ip, &a.sin_addr);
    b = a;
    int sa = socket(AF_INET, SOCK_DGRAM, 0), sb = socket(AF_INET, SOCK_DGRAM, 0);
    socklen_t l = sizeof(b);
    check(sa >= 0 && sb >= 0 && bind(sa, (struct sockaddr *)&a, sizeof(a)) == 0 &&
              bind(sb, (struct sockaddr *)&b, sizeof(b)) == 0 &&
              getsockname(sb, (struct sockaddr *)&b, &l) == 0,
          "two UDP sockets bound", "errno %d", errno);
    static const char *const words[3] = {"one", "two", "three!"};
    struct iovec iov[3];
    struct mmsghdr m[3];
    memset(m, 0, sizeof(m));
    for (int i = 0; i < 3; i++) {
        iov[i].iov_base = (void *)words[i];
        iov[i].iov_len = strlen(words[i]);
        m[i].msg_hdr.msg_iov = &iov[i];
        m[i].msg_hdr.msg_iovlen = 1;
        m[i].msg_hdr.msg_name = &b;
        m[i].msg_hdr.msg_namelen = sizeof(b);
    }
    check(sendmmsg(sa, m, 0, 0) == 0, "sendmmsg of no message: 0", NULL);
    int r = sendmmsg(sa, m, 3, 0);
    check(r == 3 && m[0].msg_len == 3 && m[1].msg_len == 3 && m[2].msg_len == 6,
          "sendmmsg: 3 messages, each length", "r %d errno %d", r, errno);
    char rb[3][16];
    struct iovec riov[3];
    struct mmsghdr rm[3];
    memset(rm, 0, sizeof(rm));
    for (int i = 0; i < 3; i++) {
        riov[i].iov_base = rb[i];
        riov[i].iov_len = sizeof(rb[i]);
        rm[i].msg_hdr.msg_iov = &riov[i];
        rm[i].msg_hdr.msg_iovlen = 1;
    }
    int got = 0;
    for (int k = 0; k < 3 && got < 3; k++) {
        r = recvmmsg(sb, rm + got, (unsigned)(3 - got), MSG_WAITFORONE, NULL);
        if (r <= 0) {
            break;
        }
        got += r;
    }
    bool same = got == 3;
    for (int i = 0; same && i < 3; i++) {
        same = rm[i].msg_len == strlen(words[i]) && memcmp(rb[i], words[i], rm[i].msg_len) == 0;
    }
    check(same, "recvmmsg(MSG_WAITFORONE): the 3 datagrams in order", "got %d", got);
    r = recvmmsg(sb, rm, 3, MSG_DONTWAIT, NULL);
    check(r == -1 && errno == EAGAIN, "recvmmsg on an empty socket, MSG_DONTWAIT: EAGAIN",
          "r %d errno %d", r, errno);
    close(sa);
    close(sb);
}

int
main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc >= 5 && strcmp(argv[1], "exec-child") == 0) {
        which = "exec";
        return exec_child(argv);
    }
    if (argc < 4) {
        fprintf(stderr, "usage: pl_semantics CASE PEER_IP PORT [SELF_IP DROP_IP]\n");
        return 2;
    }
    which = argv[1];
    peer_ip = argv[2];
    peer_port = atoi(argv[3]);
    const char *pre = getenv("LD_PRELOAD");
    bool tern = pre != NULL && strstr(pre, "tern_preload") != NULL;
    if (strcmp(which, "passthrough") == 0) {
        case_passthrough();
    } else if (strcmp(which, "fork") == 0) {
        case_fork(tern);
    } else if (strcmp(which, "exec") == 0) {
        case_exec(argv[0][0] == '/' ? argv[0] : "/proc/self/exe");
    } else if (strcmp(which, "dup") == 0) {
        case_dup();
    } else if (strcmp(which, "threads") == 0) {
        case_threads();
    } else if (strcmp(which, "select") == 0) {
        case_select();
    } else if (strcmp(which, "mmsg") == 0 && argc >= 5) {
        case_mmsg(argv[4]);
    } else if (strcmp(which, "signals") == 0 && argc >= 6) {
        case_signals(argv[4], argv[5]);
    } else {
        fprintf(stderr, "pl_semantics: unknown case %s\n", which);
        return 2;
    }
    return failures == 0 ? 0 : 1;
}
