/*
 * examples/http_client.c: fetches one URL over HTTP with blocking sockets
 * from tern's socket API (include/tern/socket.h).
 *
 *   http_client --dev tern1 --addr 10.77.0.2/24 --linux-addr 10.77.0.1/24 \
 *       -o page.html http://10.77.0.1:8080/index.html
 *
 * puts a tern stack on the TUN device tern1, connects to the server, sends
 * a GET and writes the response body to stdout or -o FILE; the status line
 * goes to stderr. The body ends at Content-Length when the server gives
 * one, else when the server closes the connection. URLs are
 * http://A.B.C.D[:PORT][/PATH]: no DNS, no TLS, no redirects.
 *
 * Like echo_server.c, the same file builds against the kernel's sockets
 * with -DUSE_KERNEL_SOCKETS: socket calls are written S(name), and only
 * net_start() differs; both are in example_net.h, with the network options
 * (examples/README.md).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define PROG     "http_client" /* before example_net.h, whose messages name it */
#define HEAD_MAX 16384         /* the response's status line and headers */
#define BUF_SIZE 65536

#include "example_net.h"

/* One connection with tern's default buffers; the kernel build refuses
 * --addr too (it has no use for it). */
static const struct net_use net_use = {.bind_addr = false};

struct opts {
    struct net_opts net; /* --dev, --addr, --linux-addr, --gw */
    const char *out;     /* -o FILE, NULL for stdout */
    int timeout_s;       /* give up after this long without progress */
    /* The URL, split. */
    struct sockaddr_in server;
    char host[32]; /* "A.B.C.D" or "A.B.C.D:PORT", for the Host header */
    const char *path;
};

static void
usage(FILE *f)
{
    fprintf(f,
            "usage: " PROG " %s\n"
            "                   [-o FILE] [--timeout SEC] http://A.B.C.D[:PORT][/PATH]\n"
            "\n"
            "Fetches the URL with HTTP/1.0 GET and writes the body to stdout (or FILE);\n"
            "the status line goes to stderr. The tern build puts a tern stack on the TUN\n"
            "device NAME (created if missing) with address A.B.C.D/N; the kernel build\n"
            "(-DUSE_KERNEL_SOCKETS) uses the kernel's sockets and takes no --dev.\n"
            "\n"
            "%s"
            "  -o, --output FILE       write the body to FILE instead of stdout\n"
            "  --timeout SEC           give up when a connect, read or write waits longer\n"
            "                          (default 30)\n"
            "  -h, --help              show this help and exit\n"
            "\n"
            "Exit status: 0 a 2xx response read completely, 1 anything else (connection\n"
            "refused, timeout, truncated body, other status, not root...), 2 usage error.\n",
            NET_USAGE_SYNOPSIS, NET_USAGE_OPTIONS);
}

/* http://A.B.C.D[:PORT][/PATH] into o->server, o->host and o->path. */
static bool
parse_url(const char *url, struct opts *o)
{
    const char *p = url;
    if (strncmp(p, "http://", 7) != 0) {
        return false;
    }
    p += 7;
    size_t n = strcspn(p, ":/");
    char ip[INET_ADDRSTRLEN];
    if (n == 0 || n >= sizeof(ip)) {
        return false;
    }
    memcpy(ip, p, n);
    ip[n] = '\0';
    memset(&o->server, 0, sizeof(o->server));
    o->server.sin_family = AF_INET;
    if (inet_pton(AF_INET, ip, &o->server.sin_addr) != 1) {
        return false;
    }
    p += n;
    long port = 80;
    if (*p == ':') {
        char *end;
        port = strtol(p + 1, &end, 10);
        if (end == p + 1 || port < 1 || port > 65535 || (*end != '\0' && *end != '/')) {
            return false;
        }
        p = end;
    }
    o->server.sin_port = htons((uint16_t)port);
    if (port == 80) {
        snprintf(o->host, sizeof(o->host), "%s", ip);
    } else {
        snprintf(o->host, sizeof(o->host), "%s:%ld", ip, port);
    }
    o->path = *p == '/' ? p : "/";
    /* The path goes on the request line as it is: no spaces or controls. */
    for (const char *c = o->path; *c != '\0'; c++) {
        if ((unsigned char)*c <= ' ' || *c == 0x7f) {
            return false;
        }
    }
    return true;
}

/* Returns 0, or the exit status (2) after printing why. */
static int
parse_opts(int argc, char **argv, struct opts *o)
{
    memset(o, 0, sizeof(*o));
    net_opts_init(&o->net);
    o->timeout_s = 30;
    const char *url = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            exit(0);
        }
        if (a[0] != '-') {
            if (url != NULL) {
                return usage_error("more than one URL", a);
            }
            url = a;
            continue;
        }
        if (i + 1 >= argc) {
            return usage_error("unknown option or missing value", a);
        }
        const char *v = argv[++i];
        int rc;
        if (net_opt(&o->net, a, v, &rc)) {
            if (rc != 0) {
                return rc;
            }
        } else if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) {
            o->out = v;
        } else if (strcmp(a, "--timeout") == 0) {
            char *end;
            long t = strtol(v, &end, 10);
            if (*v == '\0' || *end != '\0' || t < 1 || t > 86400) {
                return usage_error("bad --timeout", v);
            }
            o->timeout_s = (int)t;
        } else {
            return usage_error("unknown option", a);
        }
    }
    if (url == NULL) {
        return usage_error("missing URL", NULL);
    }
    if (!parse_url(url, o)) {
        return usage_error("bad URL (want http://A.B.C.D[:PORT][/PATH])", url);
    }
    return 0;
}

/* ---- From here on, socket calls only ---- */

static bool
write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = S(write)(fd, p, n);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w < 0) {
            return false;
        }
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* A connected socket, or -1 after printing why. */
static int
dial(const struct opts *o)
{
    int fd = S(socket)(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        perror(PROG ": socket");
        return -1;
    }
    /* Every blocking call below gives up after the timeout (EAGAIN for a
     * read or write, EINPROGRESS for connect, as on Linux). */
    struct timeval tv = {.tv_sec = o->timeout_s};
    if (S(setsockopt)(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
        S(setsockopt)(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0) {
        perror(PROG ": setsockopt");
        S(close)(fd);
        return -1;
    }
    if (S(connect)(fd, (const struct sockaddr *)&o->server, sizeof(o->server)) < 0) {
        int e = errno == EINPROGRESS ? ETIMEDOUT : errno;
        fprintf(stderr, PROG ": connect to %s: %s\n", o->host, strerror(e));
        S(close)(fd);
        return -1;
    }
    return fd;
}

/* The value of header `name` in the head (NUL-terminated, lines end in
 * CRLF), or NULL. */
static const char *
header(const char *head, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = strstr(head, "\r\n"); p != NULL; p = strstr(p, "\r\n")) {
        p += 2;
        if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
            p += n + 1;
            while (*p == ' ' || *p == '\t') {
                p++;
            }
            return p;
        }
    }
    return NULL;
}

/* Reads one socket call's worth; on failure prints why and returns -1. */
static ssize_t
recv_some(int fd, char *buf, size_t n, const char *what)
{
    ssize_t r;
    do {
        r = S(read)(fd, buf, n);
    } while (r < 0 && errno == EINTR);
    if (r < 0) {
        fprintf(stderr, PROG ": reading the %s: %s\n", what,
                errno == EAGAIN || errno == EWOULDBLOCK ? "timed out" : strerror(errno));
    }
    return r;
}

/* The exchange itself: returns the exit status. */
static int
fetch(const struct opts *o, int fd, FILE *out)
{
    char req[1200];
    int n = snprintf(req, sizeof(req),
                     "GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: tern-example\r\n"
                     "Accept: */*\r\n\r\n",
                     o->path, o->host);
    if (n < 0 || (size_t)n >= sizeof(req)) {
        fprintf(stderr, PROG ": path too long\n");
        return 1;
    }
    if (!write_all(fd, req, (size_t)n)) {
        perror(PROG ": sending the request");
        return 1;
    }
    /* HTTP/1.0 asks the server to close after the response and never to
     * send it chunked: the body ends at Content-Length or at end of stream. */

    /* The head: up to the empty line. */
    static char head[HEAD_MAX + 1];
    size_t hlen = 0;
    char *end = NULL;
    while (end == NULL) {
        if (hlen == HEAD_MAX) {
            fprintf(stderr, PROG ": response head longer than %d bytes\n", HEAD_MAX);
            return 1;
        }
        ssize_t r = recv_some(fd, head + hlen, HEAD_MAX - hlen, "response");
        if (r < 0) {
            return 1;
        }
        if (r == 0) {
            fprintf(stderr, PROG ": connection closed before the end of the response head\n");
            return 1;
        }
        hlen += (size_t)r;
        head[hlen] = '\0';
        end = strstr(head, "\r\n\r\n");
    }
    end[2] = '\0'; /* the head keeps its last CRLF, for header() */
    const char *body = end + 4;
    size_t got = hlen - (size_t)(body - head);

    int status = 0;
    size_t sl = strcspn(head, "\r");
    if (sscanf(head, "HTTP/%*d.%*d %d", &status) != 1) {
        fprintf(stderr, PROG ": not an HTTP response: %.*s\n", (int)sl, head);
        return 1;
    }
    fprintf(stderr, "%.*s\n", (int)sl, head);
    if (header(head, "Transfer-Encoding") != NULL) {
        fprintf(stderr, PROG ": the server sent a Transfer-Encoding to an HTTP/1.0 request\n");
        return 1;
    }
    long long length = -1; /* -1: until the server closes */
    const char *cl = header(head, "Content-Length");
    if (cl != NULL) {
        char *e;
        length = strtoll(cl, &e, 10);
        if (e == cl || length < 0 || (*e != '\r' && *e != ' ' && *e != '\t')) {
            fprintf(stderr, PROG ": bad Content-Length\n");
            return 1;
        }
    }

    /* The body: what came with the head, then the rest. */
    static char buf[BUF_SIZE];
    unsigned long long total = 0;
    for (;;) {
        if (length >= 0 && total + got > (unsigned long long)length) {
            got = (size_t)((unsigned long long)length - total); /* ignore anything after it */
        }
        if (got > 0 && fwrite(body, 1, got, out) != got) {
            perror(PROG ": writing the body");
            return 1;
        }
        total += got;
        if (length >= 0 && total == (unsigned long long)length) {
            break;
        }
        ssize_t r = recv_some(fd, buf, sizeof(buf), "body");
        if (r < 0) {
            return 1;
        }
        if (r == 0) {
            if (length >= 0) {
                fprintf(stderr, PROG ": body truncated: %llu of %lld bytes\n", total, length);
                return 1;
            }
            break; /* no Content-Length: the end of stream ends the body */
        }
        body = buf;
        got = (size_t)r;
    }
    if (fflush(out) != 0) {
        perror(PROG ": writing the body");
        return 1;
    }
    fprintf(stderr, PROG ": %llu bytes of body\n", total);
    if (status < 200 || status > 299) {
        fprintf(stderr, PROG ": HTTP status %d\n", status);
        return 1;
    }
    return 0;
}

int
main(int argc, char **argv)
{
    struct opts o;
    int rc = parse_opts(argc, argv, &o);
    if (rc != 0) {
        return rc;
    }
    FILE *out = stdout;
    if (o.out != NULL && (out = fopen(o.out, "wb")) == NULL) {
        fprintf(stderr, PROG ": cannot write %s: %s\n", o.out, strerror(errno));
        return 1;
    }
    net_handle net;
    rc = net_start(&o.net, &net_use, &net);
    if (rc == 0) {
        int fd = dial(&o);
        rc = fd < 0 ? 1 : fetch(&o, fd, out);
        if (fd >= 0) {
            S(close)(fd);
        }
        net_stop(net);
    }
    if (out != stdout && fclose(out) != 0 && rc == 0) {
        perror(PROG ": writing the body");
        rc = 1;
    }
    return rc;
}
