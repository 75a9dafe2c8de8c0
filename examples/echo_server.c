/*
 * examples/echo_server.c: a TCP echo server written against tern's socket
 * API (include/tern/socket.h), with an epoll event loop.
 *
 *   echo_server --dev tern0 --addr 10.77.0.2/24 --linux-addr 10.77.0.1/24 --port 7
 *
 * puts a tern stack on the TUN device tern0 (tern is 10.77.0.2 on it, the
 * kernel 10.77.0.1) and sends every byte each client sends straight back,
 * to any number of clients at once. When a client ends its half of the
 * connection, the server finishes echoing and closes.
 *
 * The same file builds against the kernel's sockets with
 * -DUSE_KERNEL_SOCKETS: every socket call is written S(name), which is
 * tern_name or plain name, and the only other difference is net_start(),
 * which opens the TUN runtime in the tern build. Both live in
 * example_net.h, with the network options shared with http_client.c
 * (examples/README.md lists the lines).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define PROG     "echo_server" /* before example_net.h, whose messages name it */
#define BUF_SIZE 65536
#define MAX_EVS  64

#include "example_net.h"

/* Many clients at once, each with room to send while it reads. */
static const struct net_use net_use = {
    .bind_addr = true, /* the kernel build listens on --addr (0: any) */
    .max_connections = 256,
    .sndbuf = 256 * 1024,
};

struct opts {
    struct net_opts net; /* --dev, --addr, --linux-addr, --gw */
    int port;            /* port to listen on */
    unsigned max_conns;  /* exit after this many connections, 0 = never */
};

/* One client: what was read and is not yet written back. */
struct conn {
    struct conn *prev, *next; /* every open client, to free them at exit */
    int fd;
    char peer[32]; /* "A.B.C.D:PORT", for the log */
    unsigned long long echoed;
    size_t off, len; /* buf[off..len) is still to be written */
    bool eof;        /* the client sent FIN */
    unsigned char buf[BUF_SIZE];
};

/* The event loop's state. */
struct server {
    int ep;             /* the epoll instance */
    int lfd;            /* the listening socket */
    struct conn *conns; /* the clients, newest first */
};

static void
usage(FILE *f)
{
    fprintf(f,
            "usage: " PROG " --port N %s\n"
            "\n"
            "A TCP echo server. The tern build puts a tern stack on the TUN device NAME\n"
            "(created if missing) with address A.B.C.D/N and listens there; the kernel\n"
            "build (-DUSE_KERNEL_SOCKETS) listens on the kernel's sockets, on --addr if\n"
            "given, else on every address.\n"
            "\n"
            "%s"
            "  --port N                TCP port to listen on (required)\n"
            "  --count N               exit after N connections have closed (default: never)\n"
            "  -h, --help              show this help and exit\n"
            "\n"
            "Prints 'listening on A.B.C.D:N' on stdout once ready, one line per connection\n"
            "on stderr. SIGINT or SIGTERM stop it. Exit status: 0 stopped, 1 runtime error\n"
            "(not root, device busy...), 2 usage error.\n",
            NET_USAGE_SYNOPSIS, NET_USAGE_OPTIONS);
}

/* Returns 0, or the exit status (2) after printing why. */
static int
parse_opts(int argc, char **argv, struct opts *o)
{
    memset(o, 0, sizeof(*o));
    net_opts_init(&o->net);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            exit(0);
        }
        if (i + 1 >= argc) {
            return usage_error("unknown option or missing value", a);
        }
        const char *v = argv[++i];
        char *end;
        long n;
        int rc;
        if (net_opt(&o->net, a, v, &rc)) {
            if (rc != 0) {
                return rc;
            }
        } else if (strcmp(a, "--port") == 0) {
            n = strtol(v, &end, 10);
            if (*v == '\0' || *end != '\0' || n < 1 || n > 65535) {
                return usage_error("bad --port", v);
            }
            o->port = (int)n;
        } else if (strcmp(a, "--count") == 0) {
            n = strtol(v, &end, 10);
            if (*v == '\0' || *end != '\0' || n < 0 || n > 1000000) {
                return usage_error("bad --count", v);
            }
            o->max_conns = (unsigned)n;
        } else {
            return usage_error("unknown option", a);
        }
    }
    if (o->port == 0) {
        return usage_error("missing --port", NULL);
    }
    return 0;
}

/* ---- From here on, socket calls only ---- */

/* SIGINT/SIGTERM write a byte to this pipe, which sits in the event loop
 * beside the sockets: the signal may land on any thread of the process
 * (the tern runtime has one), so a flag alone would not wake the loop. */
static int stop_pipe[2] = {-1, -1};

static void
on_signal(int sig)
{
    int saved = errno;
    unsigned char b = (unsigned char)sig;
    ssize_t n = write(stop_pipe[1], &b, 1);
    (void)n;
    errno = saved;
}

static int
set_nonblocking(int fd)
{
    int fl = S(fcntl)(fd, F_GETFL, 0);
    return fl < 0 ? -1 : S(fcntl)(fd, F_SETFL, fl | O_NONBLOCK);
}

/* The listening socket, or -1 after printing why. */
static int
open_listener(const struct opts *o)
{
    int fd = S(socket)(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        perror(PROG ": socket");
        return -1;
    }
    int one = 1;
    (void)S(setsockopt)(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in sin = {.sin_family = AF_INET};
    sin.sin_addr.s_addr = htonl(o->net.addr);
    sin.sin_port = htons((uint16_t)o->port);
    if (S(bind)(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
        perror(PROG ": bind");
        S(close)(fd);
        return -1;
    }
    if (S(listen)(fd, 64) < 0 || set_nonblocking(fd) < 0) {
        perror(PROG ": listen");
        S(close)(fd);
        return -1;
    }
    char ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &sin.sin_addr, ip, sizeof(ip));
    printf("listening on %s:%d\n", ip, o->port);
    fflush(stdout);
    return fd;
}

static void
conn_close(struct server *sv, struct conn *c, const char *how)
{
    fprintf(stderr, PROG ": %s %s after %llu bytes\n", c->peer, how, c->echoed);
    (void)S(epoll_ctl)(sv->ep, EPOLL_CTL_DEL, c->fd, NULL);
    S(close)(c->fd);
    if (c->prev != NULL) {
        c->prev->next = c->next;
    } else {
        sv->conns = c->next;
    }
    if (c->next != NULL) {
        c->next->prev = c->prev;
    }
    free(c);
}

/* Waits for `events` on c (EPOLLIN to read more, EPOLLOUT to finish a
 * write). Returns false when the connection had to be closed. */
static bool
watch(struct server *sv, struct conn *c, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.ptr = c};
    if (S(epoll_ctl)(sv->ep, EPOLL_CTL_MOD, c->fd, &ev) < 0) {
        conn_close(sv, c, "epoll_ctl failed");
        return false;
    }
    return true;
}

/* Accepts every pending connection. */
static void
accept_all(struct server *sv)
{
    for (;;) {
        struct sockaddr_in peer;
        socklen_t plen = sizeof(peer);
        int fd = S(accept)(sv->lfd, (struct sockaddr *)&peer, &plen);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNABORTED) {
                perror(PROG ": accept");
            }
            return;
        }
        struct conn *c = malloc(sizeof(*c));
        if (c == NULL || set_nonblocking(fd) < 0) {
            fprintf(stderr, PROG ": cannot take a connection: %s\n", strerror(errno));
            free(c);
            S(close)(fd);
            continue;
        }
        c->fd = fd;
        c->echoed = 0;
        c->off = c->len = 0;
        c->eof = false;
        char ip[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof(ip));
        snprintf(c->peer, sizeof(c->peer), "%s:%u", ip, ntohs(peer.sin_port));
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        if (S(epoll_ctl)(sv->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
            perror(PROG ": epoll_ctl");
            S(close)(fd);
            free(c);
            continue;
        }
        c->prev = NULL;
        c->next = sv->conns;
        if (sv->conns != NULL) {
            sv->conns->prev = c;
        }
        sv->conns = c;
        fprintf(stderr, PROG ": %s connected\n", c->peer);
    }
}

/*
 * Moves bytes for one ready client: write back what is pending, then read
 * more, until the socket would block. Returns false when the connection is
 * over (closed here). A client is read only while nothing is pending, so a
 * slow reader slows its writer down instead of filling our memory.
 */
static bool
conn_service(struct server *sv, struct conn *c)
{
    for (;;) {
        while (c->off < c->len) {
            ssize_t n = S(write)(c->fd, c->buf + c->off, c->len - c->off);
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                return watch(sv, c, EPOLLOUT); /* wait until it drains */
            }
            if (n < 0) {
                conn_close(sv, c, strerror(errno));
                return false;
            }
            c->off += (size_t)n;
            c->echoed += (unsigned long long)n;
        }
        if (c->eof) { /* all echoed: our FIN follows the data */
            conn_close(sv, c, "closed");
            return false;
        }
        ssize_t n = S(read)(c->fd, c->buf, sizeof(c->buf));
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return watch(sv, c, EPOLLIN);
        }
        if (n < 0) {
            conn_close(sv, c, strerror(errno));
            return false;
        }
        c->off = 0;
        c->len = (size_t)n;
        c->eof = n == 0;
    }
}

int
main(int argc, char **argv)
{
    struct opts o;
    int rc = parse_opts(argc, argv, &o);
    if (rc != 0) {
        return rc;
    }
    if (pipe(stop_pipe) < 0) {
        perror(PROG ": pipe");
        return 1;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    net_handle net;
    rc = net_start(&o.net, &net_use, &net);
    if (rc != 0) {
        return rc;
    }
    rc = 1;
    struct server sv = {.ep = -1, .lfd = -1, .conns = NULL};
    sv.ep = S(epoll_create1)(0);
    if (sv.ep < 0) {
        perror(PROG ": epoll_create1");
        goto out;
    }
    sv.lfd = open_listener(&o);
    if (sv.lfd < 0) {
        goto out;
    }
    /* data.ptr is a struct conn for a client, NULL for the listener and
     * stop_pipe for the signal pipe (a kernel fd in the same set). */
    struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL};
    struct epoll_event sev = {.events = EPOLLIN, .data.ptr = stop_pipe};
    if (S(epoll_ctl)(sv.ep, EPOLL_CTL_ADD, sv.lfd, &lev) < 0 ||
        S(epoll_ctl)(sv.ep, EPOLL_CTL_ADD, stop_pipe[0], &sev) < 0) {
        perror(PROG ": epoll_ctl");
        goto out;
    }

    unsigned closed = 0;
    bool stop = false;
    while (!stop) {
        struct epoll_event evs[MAX_EVS];
        int n = S(epoll_wait)(sv.ep, evs, MAX_EVS, -1);
        if (n < 0 && errno == EINTR) {
            continue; /* the signal's byte is in the pipe: next round sees it */
        }
        if (n < 0) {
            perror(PROG ": epoll_wait");
            goto out;
        }
        for (int i = 0; i < n; i++) {
            void *p = evs[i].data.ptr;
            if (p == stop_pipe) {
                fprintf(stderr, PROG ": stopping\n");
                stop = true;
            } else if (p == NULL) {
                accept_all(&sv);
            } else if (!conn_service(&sv, p)) {
                closed++;
                stop = stop || (o.max_conns > 0 && closed >= o.max_conns);
            }
        }
    }
    rc = 0;
out:
    while (sv.conns != NULL) { /* clients still connected at a stop */
        conn_close(&sv, sv.conns, "stopped");
    }
    if (sv.lfd >= 0) {
        S(close)(sv.lfd);
    }
    if (sv.ep >= 0) {
        S(close)(sv.ep);
    }
    net_report(net);
    net_stop(net);
    return rc;
}
