/*
 * examples/http_server.c: a static-file HTTP/1.1 server written against
 * tern's socket API (include/tern/socket.h), with an epoll event loop.
 *
 *   http_server --dev tern0 --addr 10.77.0.2/24 --linux-addr 10.77.0.1/24 \
 *               --port 8080 --root /tmp/www
 *
 * puts a tern stack on the TUN device tern0 (tern is 10.77.0.2 on it, the
 * kernel 10.77.0.1) and answers GET and HEAD for the files under --root:
 * 200 with Content-Length, 404, 400 for a malformed request, 405 for any
 * other method. Every response says "Connection: close", and the server
 * closes its end once the response is out: the server closes first, so
 * TIME-WAIT stays on its side (on tern's, in the tern build). It then reads
 * and drops what the client still sends until the client closes too, so
 * that a request body left unread does not turn the close into a reset.
 *
 * It serves up to --max-clients connections at once without threads, each
 * with two fixed buffers allocated at start; a connection idle for
 * --timeout seconds is closed.
 *
 * The same file builds against the kernel's sockets with
 * -DUSE_KERNEL_SOCKETS: every socket call is written S(name), which is
 * tern_name or plain name, and the only other difference is in
 * example_net.h (examples/README.md).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PROG      "http_server" /* before example_net.h, whose messages name it */
#define REQ_MAX   8192          /* request line and headers; longer is a 400 */
#define OUT_SIZE  16384         /* response headers, then the file, in pieces */
#define DRAIN_MAX 65536         /* bytes read and dropped after a response, at most */
#define MAX_EVS   64

#include "example_net.h"

/* tern's defaults: connection table, buffers (the point of the churn test
 * in tests/shell/test_churn_socket.sh is the default table size). */
static const struct net_use net_use = {
    .bind_addr = true, /* the kernel build listens on --addr (0: any) */
};

struct opts {
    struct net_opts net; /* --dev, --addr, --linux-addr, --gw */
    int port;            /* port to listen on */
    const char *root;    /* directory served */
    unsigned max_clients;
    unsigned timeout_s;
    unsigned max_conns; /* exit after this many connections, 0 = never */
    bool quiet;         /* no line per request */
};

enum phase {
    READING,   /* the request head is arriving */
    WRITING,   /* the response is going out */
    LINGERING, /* our FIN is sent: drop what comes until the client's FIN */
};

/* One client. The slots are allocated once, at start. */
struct conn {
    struct conn *prev, *next; /* the live list (most recently active first), or free */
    int fd;
    int file; /* the file being sent, or -1 */
    enum phase phase;
    int64_t deadline_ms;        /* closed when idle until then */
    char peer[32];              /* "A.B.C.D:PORT", for the log */
    size_t req_len;             /* bytes in req */
    size_t off, len;            /* out[off..len) is still to be written */
    unsigned long long left;    /* file bytes still to be read into out */
    unsigned long long drained; /* bytes dropped while lingering */
    bool file_ok;               /* false once reading the file failed */
    char req[REQ_MAX + 1];
    unsigned char out[OUT_SIZE];
};

struct counts {
    unsigned long long conns, requests, s200, s400, s404, s405, timeouts, errors, bytes_out;
};

/* The event loop's state. */
struct server {
    const struct opts *o;
    int ep;              /* the epoll instance */
    int lfd;             /* the listening socket */
    int rootfd;          /* --root, opened once */
    bool accepting;      /* the listener is watched (false while every slot is taken) */
    struct conn *slots;  /* max_clients of them */
    struct conn *free;   /* unused slots, through next */
    struct conn *newest; /* the live list: newest activity first ... */
    struct conn *oldest; /* ... the next to time out last */
    unsigned live;
    unsigned long long closed;
    struct counts n;
};

static void
usage(FILE *f)
{
    fprintf(f,
            "usage: " PROG " --port N [--root DIR] %s\n"
            "\n"
            "A static-file HTTP/1.1 server: GET and HEAD of the files under DIR, each\n"
            "response with 'Connection: close', after which the server closes first.\n"
            "The tern build puts a tern stack on the TUN device NAME (created if missing)\n"
            "with address A.B.C.D/N and listens there; the kernel build\n"
            "(-DUSE_KERNEL_SOCKETS) listens on the kernel's sockets, on --addr if given,\n"
            "else on every address.\n"
            "\n"
            "%s"
            "  --port N                TCP port to listen on (required)\n"
            "  --root DIR              directory to serve (default: .); / is /index.html\n"
            "  --max-clients N         connections served at once (default: 64)\n"
            "  --timeout S             close a connection idle for S seconds (default: 10)\n"
            "  --count N               exit after N connections have closed (default: never)\n"
            "  --quiet                 no log line per request\n"
            "  -h, --help              show this help and exit\n"
            "\n"
            "Prints 'listening on A.B.C.D:N' on stdout once ready, one line per request\n"
            "on stderr, and counters at exit (the tern build adds the stack's own).\n"
            "SIGINT or SIGTERM stop it. Exit status: 0 stopped, 1 runtime error (not\n"
            "root, device busy, no --root...), 2 usage error.\n",
            NET_USAGE_SYNOPSIS, NET_USAGE_OPTIONS);
}

/* A number in [lo, hi] into *out; false if `v` is not one. */
static bool
parse_num(const char *v, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (*v == '\0' || *end != '\0' || errno != 0 || n < lo || n > hi) {
        return false;
    }
    *out = n;
    return true;
}

/* Returns 0, or the exit status (2) after printing why. */
static int
parse_opts(int argc, char **argv, struct opts *o)
{
    memset(o, 0, sizeof(*o));
    net_opts_init(&o->net);
    o->root = ".";
    o->max_clients = 64;
    o->timeout_s = 10;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            exit(0);
        }
        if (strcmp(a, "--quiet") == 0) {
            o->quiet = true;
            continue;
        }
        if (i + 1 >= argc) {
            return usage_error("unknown option or missing value", a);
        }
        const char *v = argv[++i];
        long n;
        int rc;
        if (net_opt(&o->net, a, v, &rc)) {
            if (rc != 0) {
                return rc;
            }
        } else if (strcmp(a, "--port") == 0) {
            if (!parse_num(v, 1, 65535, &n)) {
                return usage_error("bad --port", v);
            }
            o->port = (int)n;
        } else if (strcmp(a, "--root") == 0) {
            o->root = v;
        } else if (strcmp(a, "--max-clients") == 0) {
            if (!parse_num(v, 1, 65536, &n)) {
                return usage_error("bad --max-clients (1 to 65536)", v);
            }
            o->max_clients = (unsigned)n;
        } else if (strcmp(a, "--timeout") == 0) {
            if (!parse_num(v, 1, 86400, &n)) {
                return usage_error("bad --timeout (1 to 86400 seconds)", v);
            }
            o->timeout_s = (unsigned)n;
        } else if (strcmp(a, "--count") == 0) {
            if (!parse_num(v, 0, 1000000000, &n)) {
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

static int64_t
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- The request: parsing and the response head (no socket calls) ---- */

/* RFC 9110 5.6.2: a token character. */
static bool
is_tchar(int c)
{
    return isalnum(c) || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int
hexval(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/*
 * The file a target names, relative to --root, into path[size]: the
 * path of the origin form (or of the absolute form, RFC 9112 3.2.2),
 * without its query, percent-decoded; "index.html" appended to a
 * directory path. False for a target that is not one of these, or that
 * would leave the root (a ".." segment) or holds a NUL or a control byte.
 */
static bool
target_path(const char *t, char *path, size_t size)
{
    if (strncasecmp(t, "http://", 7) == 0) {
        t = strchr(t + 7, '/');
        if (t == NULL) {
            t = "/";
        }
    }
    if (t[0] != '/') {
        return false;
    }
    size_t n = 0;
    for (t++; *t != '\0' && *t != '?' && *t != '#'; t++) {
        int c = (unsigned char)*t;
        if (c == '%') {
            int hi = hexval((unsigned char)t[1]);
            int lo = hi < 0 ? -1 : hexval((unsigned char)t[2]);
            if (lo < 0) {
                return false;
            }
            c = hi * 16 + lo;
            t += 2;
        }
        if (c < 0x20 || c == 0x7f || n + 1 >= size) {
            return false;
        }
        path[n++] = (char)c;
    }
    path[n] = '\0';
    /* Relative to the root: "//etc/x" or "/%2Fetc/x" must not name /etc/x. */
    size_t slashes = strspn(path, "/");
    memmove(path, path + slashes, n - slashes + 1);
    n -= slashes;
    /* No ".." segment once decoded: the path stays under the root. */
    for (const char *seg = path; seg != NULL;) {
        if (seg[0] == '.' && seg[1] == '.' && (seg[2] == '/' || seg[2] == '\0')) {
            return false;
        }
        seg = strchr(seg, '/');
        seg = seg != NULL ? seg + 1 : NULL;
    }
    if (n == 0 || path[n - 1] == '/') {
        if (n + sizeof("index.html") > size) {
            return false;
        }
        memcpy(path + n, "index.html", sizeof("index.html"));
    }
    return true;
}

/* The next line of the head at *p (LF or CRLF ended, RFC 9112 2.2), NUL
 * terminated in place; NULL at the end. */
static char *
next_line(char **p)
{
    char *s = *p;
    char *lf = strchr(s, '\n');
    if (lf == NULL) {
        return NULL;
    }
    *lf = '\0';
    if (lf > s && lf[-1] == '\r') {
        lf[-1] = '\0';
    }
    *p = lf + 1;
    return s;
}

/*
 * Parses the complete request head in req (NUL terminated; modified).
 * Returns the status: 200 with *head and path[] filled, 400 for a malformed
 * request (RFC 9112 3: request line; 5: field lines; 3.2: exactly one Host
 * in HTTP/1.1), 405 for a method other than GET and HEAD.
 */
static int
parse_request(char *req, bool *head, char *path, size_t size)
{
    char *p = req;
    char *line;
    do { /* RFC 9112 2.2: empty lines before the request line are ignored */
        line = next_line(&p);
    } while (line != NULL && line[0] == '\0');
    if (line == NULL) {
        return 400;
    }
    /* method SP request-target SP HTTP-version, single spaces. */
    char *sp1 = strchr(line, ' ');
    char *sp2 = sp1 != NULL ? strchr(sp1 + 1, ' ') : NULL;
    if (sp1 == NULL || sp2 == NULL || strchr(sp2 + 1, ' ') != NULL || sp1 == line ||
        sp2 == sp1 + 1) {
        return 400;
    }
    *sp1 = *sp2 = '\0';
    const char *method = line, *target = sp1 + 1, *version = sp2 + 1;
    for (const char *m = method; *m != '\0'; m++) {
        if (!is_tchar((unsigned char)*m)) {
            return 400;
        }
    }
    if (strncmp(version, "HTTP/1.", 7) != 0 || !isdigit((unsigned char)version[7]) ||
        version[8] != '\0') {
        return 400;
    }
    int hosts = 0;
    while ((line = next_line(&p)) != NULL && line[0] != '\0') {
        /* field-name ":" OWS value: a token right before the colon (no
         * space there, RFC 9112 5.1) and no obsolete line folding (5.2). */
        char *colon = strchr(line, ':');
        if (colon == NULL || colon == line) {
            return 400;
        }
        for (const char *c = line; c < colon; c++) {
            if (!is_tchar((unsigned char)*c)) {
                return 400;
            }
        }
        if (colon - line == 4 && strncasecmp(line, "Host", 4) == 0) {
            hosts++;
        }
    }
    if (hosts > 1 || (hosts == 0 && version[7] != '0')) {
        return 400;
    }
    *head = strcmp(method, "HEAD") == 0;
    if (!*head && strcmp(method, "GET") != 0) {
        return 405;
    }
    return target_path(target, path, size) ? 200 : 400;
}

/* True once req holds a whole head: it ends with an empty line. */
static bool
head_complete(const char *req)
{
    const char *p = req;
    while (*p == '\r' || *p == '\n') { /* empty lines before the request line */
        p++;
    }
    return strstr(p, "\n\r\n") != NULL || strstr(p, "\n\n") != NULL;
}

static const char *
content_type(const char *path)
{
    static const char *const types[][2] = {
        {".html", "text/html"}, {".htm", "text/html"},      {".txt", "text/plain"},
        {".css", "text/css"},   {".js", "text/javascript"}, {".json", "application/json"},
        {".png", "image/png"},  {".jpg", "image/jpeg"},     {".svg", "image/svg+xml"},
    };
    const char *dot = strrchr(path, '.');
    if (dot != NULL && strchr(dot, '/') == NULL) {
        for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
            if (strcasecmp(dot, types[i][0]) == 0) {
                return types[i][1];
            }
        }
    }
    return "application/octet-stream";
}

/* Appends as much of the file as fits to c->out. Returns false when the
 * file ended before its size (it shrank) or failed. Head and body go out in
 * one write, so a small response is one segment and the FIN follows it at
 * once: a second small write would wait for the first one's ACK (Nagle,
 * RFC 896) and give the client time to close before the server does. */
static bool
fill_out(struct conn *c)
{
    while (c->left > 0 && c->len < sizeof(c->out)) {
        size_t room = sizeof(c->out) - c->len;
        size_t want = c->left < room ? (size_t)c->left : room;
        ssize_t n = read(c->file, c->out + c->len, want);
        if (n <= 0) {
            return false;
        }
        c->len += (size_t)n;
        c->left -= (unsigned long long)n;
    }
    return true;
}

/* Parses c's request and puts the response head (and an error's body)
 * into c->out; opens the file of a 200 GET into c->file. */
static void
respond(struct server *sv, struct conn *c)
{
    bool head = false;
    char path[1024];
    char line[REQ_MAX + 1];
    int status;
    if (c->req_len >= REQ_MAX) {
        status = 400; /* no end of the head within REQ_MAX bytes */
        line[0] = '\0';
    } else {
        size_t ll = strcspn(c->req, "\r\n");
        memcpy(line, c->req, ll);
        line[ll] = '\0';
        status = parse_request(c->req, &head, path, sizeof(path));
    }
    unsigned long long size = 0;
    const char *type = "text/plain";
    if (status == 200) {
        c->file = openat(sv->rootfd, path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        struct stat sb;
        if (c->file < 0 || fstat(c->file, &sb) < 0 || !S_ISREG(sb.st_mode)) {
            status = 404;
        } else {
            size = (unsigned long long)sb.st_size;
            type = content_type(path);
        }
        if (status != 200 || head) {
            if (c->file >= 0) {
                close(c->file);
            }
            c->file = -1;
        }
    }
    const char *reason = "OK", *body = "";
    switch (status) {
    case 200:
        sv->n.s200++;
        break;
    case 404:
        reason = "Not Found", body = "not found\n";
        sv->n.s404++;
        break;
    case 405:
        reason = "Method Not Allowed", body = "method not allowed\n";
        sv->n.s405++;
        break;
    default:
        reason = "Bad Request", body = "bad request\n";
        sv->n.s400++;
        break;
    }
    if (status != 200) {
        size = strlen(body);
    }
    /* RFC 9110 6.6.1: an origin server with a clock sends Date. */
    char date[64];
    time_t t = time(NULL);
    struct tm tm;
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", gmtime_r(&t, &tm));
    int n = snprintf((char *)c->out, sizeof(c->out),
                     "HTTP/1.1 %d %s\r\n"
                     "Server: tern-example\r\n"
                     "Date: %s\r\n"
                     "%s"
                     "Content-Type: %s\r\n"
                     "Content-Length: %llu\r\n"
                     "Connection: close\r\n"
                     "\r\n"
                     "%s",
                     status, reason, date, status == 405 ? "Allow: GET, HEAD\r\n" : "", type, size,
                     head ? "" : body);
    c->off = 0;
    c->len = (size_t)n; /* < OUT_SIZE: the head is short, the body shorter */
    c->left = c->file >= 0 ? size : 0;
    c->file_ok = fill_out(c);
    sv->n.requests++;
    if (!sv->o->quiet) {
        fprintf(stderr, PROG ": %s \"%.200s\" %d %llu\n", c->peer, line, status, size);
    }
}

/* ---- From here on, socket calls ---- */

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

/* Watches the listener for new clients, or stops while no slot is free. */
static void
set_accepting(struct server *sv, bool on)
{
    if (sv->accepting == on) {
        return;
    }
    struct epoll_event ev = {.events = on ? EPOLLIN : 0, .data.ptr = NULL};
    if (S(epoll_ctl)(sv->ep, EPOLL_CTL_MOD, sv->lfd, &ev) == 0) {
        sv->accepting = on;
    }
}

static void
list_unlink(struct server *sv, struct conn *c)
{
    if (c->prev != NULL) {
        c->prev->next = c->next;
    } else {
        sv->newest = c->next;
    }
    if (c->next != NULL) {
        c->next->prev = c->prev;
    } else {
        sv->oldest = c->prev;
    }
}

/* c did something: it goes to the head of the live list, with a new
 * deadline. The tail is then always the first to time out. */
static void
touch(struct server *sv, struct conn *c)
{
    c->deadline_ms = now_ms() + (int64_t)sv->o->timeout_s * 1000;
    if (sv->newest == c) {
        return;
    }
    list_unlink(sv, c);
    c->prev = NULL;
    c->next = sv->newest;
    if (sv->newest != NULL) {
        sv->newest->prev = c;
    } else {
        sv->oldest = c;
    }
    sv->newest = c;
}

/* Closes c and gives its slot back. `error` counts it as failed. */
static void
conn_close(struct server *sv, struct conn *c, bool error)
{
    (void)S(epoll_ctl)(sv->ep, EPOLL_CTL_DEL, c->fd, NULL);
    S(close)(c->fd);
    c->fd = -1;
    if (c->file >= 0) {
        close(c->file);
        c->file = -1;
    }
    sv->n.errors += error;
    list_unlink(sv, c);
    c->next = sv->free;
    sv->free = c;
    sv->live--;
    sv->closed++;
    set_accepting(sv, true);
}

/* Waits for `events` on c. Returns false when c had to be closed. */
static bool
watch(struct server *sv, struct conn *c, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.ptr = c};
    if (S(epoll_ctl)(sv->ep, EPOLL_CTL_MOD, c->fd, &ev) < 0) {
        conn_close(sv, c, true);
        return false;
    }
    return true;
}

/* Accepts pending connections while there are free slots. */
static void
accept_all(struct server *sv)
{
    while (sv->free != NULL) {
        struct sockaddr_in peer;
        socklen_t plen = sizeof(peer);
        int fd = S(accept)(sv->lfd, (struct sockaddr *)&peer, &plen);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNABORTED) {
                perror(PROG ": accept");
            }
            return;
        }
        struct conn *c = sv->free;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        if (set_nonblocking(fd) < 0 || S(epoll_ctl)(sv->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
            fprintf(stderr, PROG ": cannot take a connection: %s\n", strerror(errno));
            S(close)(fd);
            continue;
        }
        sv->free = c->next;
        c->fd = fd;
        c->file = -1;
        c->phase = READING;
        c->req_len = c->off = c->len = 0;
        c->left = c->drained = 0;
        char ip[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof(ip));
        snprintf(c->peer, sizeof(c->peer), "%s:%u", ip, ntohs(peer.sin_port));
        c->prev = c->next = NULL;
        if (sv->newest == NULL) {
            sv->newest = sv->oldest = c;
        } else {
            c->next = sv->newest;
            sv->newest->prev = c;
            sv->newest = c;
        }
        touch(sv, c);
        sv->live++;
        sv->n.conns++;
    }
    set_accepting(sv, false); /* every slot taken: the backlog holds the rest */
}

/* Reads the request head. Returns false when c was closed; leaves
 * c->phase WRITING once the response is ready. */
static bool
read_request(struct server *sv, struct conn *c)
{
    while (c->phase == READING) {
        ssize_t n = S(read)(c->fd, c->req + c->req_len, REQ_MAX - c->req_len);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return true;
        }
        if (n <= 0) { /* gone before a whole request: nothing to answer */
            conn_close(sv, c, n < 0);
            return false;
        }
        c->req_len += (size_t)n;
        c->req[c->req_len] = '\0';
        if (memchr(c->req, '\0', c->req_len) != NULL) {
            c->req_len = REQ_MAX; /* a NUL in the head: malformed */
        }
        if (c->req_len >= REQ_MAX || head_complete(c->req)) {
            respond(sv, c);
            c->phase = WRITING;
        }
    }
    return true;
}

/*
 * Moves c along: read the request, write the response, then close our
 * end and drop whatever the client still sends until its FIN. Returns
 * false when c is over (closed here).
 */
static bool
conn_service(struct server *sv, struct conn *c)
{
    touch(sv, c);
    if (!read_request(sv, c)) {
        return false;
    }
    if (c->phase == READING) {
        return true; /* still EPOLLIN */
    }
    while (c->phase == WRITING) {
        while (c->off < c->len) {
            ssize_t n = S(write)(c->fd, c->out + c->off, c->len - c->off);
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                return watch(sv, c, EPOLLOUT); /* wait until it drains */
            }
            if (n < 0) {
                conn_close(sv, c, true);
                return false;
            }
            c->off += (size_t)n;
            sv->n.bytes_out += (unsigned long long)n;
        }
        if (c->left > 0 || !c->file_ok) {
            c->off = c->len = 0;
            if (!c->file_ok || !fill_out(c)) {
                /* the file shrank or failed: the client sees a short body */
                conn_close(sv, c, true);
                return false;
            }
            continue;
        }
        /* All out: our FIN follows the response (Connection: close). */
        if (S(shutdown)(c->fd, SHUT_WR) < 0) {
            conn_close(sv, c, true);
            return false;
        }
        c->phase = LINGERING;
        if (!watch(sv, c, EPOLLIN)) {
            return false;
        }
    }
    /* LINGERING: read and drop until the client's FIN. Closing with its
     * bytes unread would send a RST (RFC 1122 4.2.2.13) that could destroy
     * the response before the client read it. */
    for (;;) {
        unsigned char sink[4096];
        ssize_t n = S(read)(c->fd, sink, sizeof(sink));
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return true;
        }
        if (n <= 0 || (c->drained += (unsigned long long)n) > DRAIN_MAX) {
            conn_close(sv, c, n < 0);
            return false;
        }
    }
}

/* Closes the connections idle past their deadline; returns the time to the
 * next deadline for epoll_wait (-1: none). */
static int
expire(struct server *sv)
{
    int64_t now = now_ms();
    while (sv->oldest != NULL && sv->oldest->deadline_ms <= now) {
        sv->n.timeouts++;
        conn_close(sv, sv->oldest, false);
    }
    if (sv->oldest == NULL) {
        return -1;
    }
    return (int)(sv->oldest->deadline_ms - now);
}

int
main(int argc, char **argv)
{
    struct opts o;
    int rc = parse_opts(argc, argv, &o);
    if (rc != 0) {
        return rc;
    }
    struct server sv = {.o = &o, .ep = -1, .lfd = -1, .rootfd = -1};
    sv.rootfd = open(o.root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (sv.rootfd < 0) {
        fprintf(stderr, PROG ": --root %s: %s\n", o.root, strerror(errno));
        return 1;
    }
    sv.slots = calloc(o.max_clients, sizeof(*sv.slots));
    if (sv.slots == NULL || pipe(stop_pipe) < 0) {
        perror(PROG ": start");
        free(sv.slots);
        close(sv.rootfd);
        return 1;
    }
    for (unsigned i = o.max_clients; i-- > 0;) {
        sv.slots[i].fd = sv.slots[i].file = -1;
        sv.slots[i].next = sv.free;
        sv.free = &sv.slots[i];
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    net_handle net;
    rc = net_start(&o.net, &net_use, &net);
    if (rc != 0) {
        free(sv.slots);
        close(sv.rootfd);
        return rc;
    }
    rc = 1;
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
    sv.accepting = true;

    bool stop = false;
    while (!stop) {
        struct epoll_event evs[MAX_EVS];
        int n = S(epoll_wait)(sv.ep, evs, MAX_EVS, expire(&sv));
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
            } else {
                struct conn *c = p;
                if (c->fd >= 0) { /* not closed earlier in this batch */
                    (void)conn_service(&sv, c);
                }
            }
        }
        stop = stop || (o.max_conns > 0 && sv.closed >= o.max_conns);
    }
    rc = 0;
out:
    while (sv.newest != NULL) { /* clients still connected at a stop */
        conn_close(&sv, sv.newest, false);
    }
    if (sv.lfd >= 0) {
        S(close)(sv.lfd);
    }
    if (sv.ep >= 0) {
        S(close)(sv.ep);
    }
    fprintf(stderr,
            PROG ": stats connections=%llu requests=%llu 200=%llu 400=%llu 404=%llu 405=%llu "
                 "timeouts=%llu errors=%llu bytes_out=%llu\n",
            sv.n.conns, sv.n.requests, sv.n.s200, sv.n.s400, sv.n.s404, sv.n.s405, sv.n.timeouts,
            sv.n.errors, sv.n.bytes_out);
    net_report(net);
    net_stop(net);
    free(sv.slots);
    close(sv.rootfd);
    close(stop_pipe[0]);
    close(stop_pipe[1]);
    return rc;
}
