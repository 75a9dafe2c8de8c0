/*
 * drivers/scenario/scenario.c: the scenario file parser (the format is
 * described in docs/scenarios.md).
 *
 * One statement per line; `#` starts a comment. A line is split into
 * tokens at blanks, except inside "quoted text"; a segment written the
 * RFC's way (<SEQ=90><CTL=SYN>) is one token. Every error names the file,
 * the line and what was expected, and the parser never reads past the text
 * it was given.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "scenario/scenario_internal.h"
#include "tern/stack.h"

#define MAX_TOKENS 16
#define NOT_GLOBAL 1 /* act_global: the line is not a global statement */
#define TOKEN_LEN  SC_TEXT

struct parser {
    const char *name;
    int line;
    char tok[MAX_TOKENS][TOKEN_LEN];
    int n_tok;
    char *err;
    size_t err_len;
    struct tern_scenario *sc;
};

static int
fail(struct parser *p, const char *fmt, ...)
{
    if (p->err_len > 0) {
        int n = snprintf(p->err, p->err_len, "%s:%d: ", p->name, p->line);
        if (n >= 0 && (size_t)n < p->err_len) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(p->err + n, p->err_len - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return TERN_ERR_INVAL;
}

static int
expected(struct parser *p, int i, const char *what)
{
    if (i >= p->n_tok) {
        return fail(p, "expected %s, got the end of the line", what);
    }
    return fail(p, "expected %s, got '%s'", what, p->tok[i]);
}

/* Splits one line into tokens. Returns TERN_OK or a parse error. */
static int
tokenize(struct parser *p, const char *s, size_t len)
{
    p->n_tok = 0;
    size_t i = 0;
    while (i < len) {
        while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r')) {
            i++;
        }
        if (i >= len || s[i] == '#') {
            break;
        }
        if (p->n_tok == MAX_TOKENS) {
            return fail(p, "expected at most %d words on a line", MAX_TOKENS);
        }
        char *t = p->tok[p->n_tok];
        size_t n = 0;
        if (s[i] == '"') {
            t[n++] = '"';
            i++;
            while (i < len && s[i] != '"') {
                if (n + 2 >= TOKEN_LEN) {
                    return fail(p, "expected a quoted text shorter than %d bytes", TOKEN_LEN - 2);
                }
                t[n++] = s[i++];
            }
            if (i >= len) {
                return fail(p, "expected a closing '\"'");
            }
            i++;
        } else {
            while (i < len && s[i] != ' ' && s[i] != '\t' && s[i] != '\r') {
                if (n + 1 >= TOKEN_LEN) {
                    return fail(p, "expected a word shorter than %d bytes", TOKEN_LEN);
                }
                t[n++] = s[i++];
            }
        }
        t[n] = '\0';
        p->n_tok++;
    }
    return TERN_OK;
}

static bool
parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    if (!isdigit((unsigned char)s[0])) {
        return false;
    }
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > max) {
        return false;
    }
    *out = v;
    return true;
}

static int
num(struct parser *p, int i, uint64_t max, const char *what, uint64_t *out)
{
    if (i >= p->n_tok || !parse_u64(p->tok[i], max, out)) {
        return expected(p, i, what);
    }
    return TERN_OK;
}

/* A duration: an integer and a unit, ns us ms s (10ms, 2s). */
static bool
parse_dur(const char *s, int64_t *out)
{
    char digits[32];
    size_t n = 0;
    while (isdigit((unsigned char)s[n]) && n + 1 < sizeof(digits)) {
        digits[n] = s[n];
        n++;
    }
    digits[n] = '\0';
    uint64_t v = 0;
    if (n == 0 || !parse_u64(digits, 1000000000ULL * 1000000, &v)) {
        return false;
    }
    const char *unit = s + n;
    int64_t mult;
    if (strcmp(unit, "ns") == 0) {
        mult = 1;
    } else if (strcmp(unit, "us") == 0) {
        mult = 1000;
    } else if (strcmp(unit, "ms") == 0) {
        mult = 1000000;
    } else if (strcmp(unit, "s") == 0) {
        mult = 1000000000;
    } else {
        return false;
    }
    if (v > (uint64_t)(INT64_MAX / mult)) {
        return false;
    }
    *out = (int64_t)v * mult;
    return true;
}

static int
dur(struct parser *p, int i, int64_t *out)
{
    if (i >= p->n_tok || !parse_dur(p->tok[i], out)) {
        return expected(p, i, "a duration such as 10ms (units ns, us, ms, s)");
    }
    return TERN_OK;
}

static int
find_host(const struct tern_scenario *sc, const char *name)
{
    for (int h = 0; h < sc->n_hosts; h++) {
        if (strcmp(sc->hosts[h].name, name) == 0) {
            return h;
        }
    }
    return -1;
}

static int
host_arg(struct parser *p, int i, int *out)
{
    if (i < p->n_tok) {
        *out = find_host(p->sc, p->tok[i]);
        if (*out >= 0) {
            return TERN_OK;
        }
    }
    return expected(p, i, "the name of a declared host");
}

/* HOST:PORT */
static int
endpoint(struct parser *p, int i, int *host, uint16_t *port)
{
    if (i >= p->n_tok) {
        return expected(p, i, "HOST:PORT");
    }
    char buf[TOKEN_LEN];
    memcpy(buf, p->tok[i], TOKEN_LEN);
    char *colon = strchr(buf, ':');
    uint64_t v = 0;
    if (colon == NULL || !parse_u64(colon + 1, 65535, &v) || v == 0) {
        return expected(p, i, "HOST:PORT with a port from 1 to 65535");
    }
    *colon = '\0';
    *host = find_host(p->sc, buf);
    if (*host < 0) {
        return expected(p, i, "HOST:PORT naming a declared host");
    }
    *port = (uint16_t)v;
    return TERN_OK;
}

static bool
parse_ctl(const char *s, uint8_t *flags)
{
    static const struct {
        const char *name;
        uint8_t bit;
    } names[] = {{"FIN", 0x01}, {"SYN", 0x02}, {"RST", 0x04},
                 {"PSH", 0x08}, {"ACK", 0x10}, {"URG", 0x20}};
    *flags = 0;
    while (*s != '\0') {
        size_t n = strcspn(s, ",");
        bool found = false;
        for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
            if (strlen(names[k].name) == n && strncmp(s, names[k].name, n) == 0) {
                *flags |= names[k].bit;
                found = true;
            }
        }
        if (!found) {
            return false;
        }
        s += n;
        if (*s == ',') {
            s++;
            if (*s == '\0') {
                return false;
            }
        }
    }
    return true;
}

/* One <KEY=VALUE> field of a segment. */
static bool
seg_field(const char *f, size_t n, struct sc_seg *seg)
{
    char buf[64];
    if (n >= sizeof(buf)) {
        return false;
    }
    memcpy(buf, f, n);
    buf[n] = '\0';
    if (strcmp(buf, "DATA") == 0) {
        seg->has_data = true;
        seg->data_len = 10;
        return true;
    }
    char *eq = strchr(buf, '=');
    if (eq == NULL) {
        return false;
    }
    *eq = '\0';
    const char *v = eq + 1;
    uint64_t x;
    if (strcmp(buf, "SEQ") == 0 && parse_u64(v, UINT32_MAX, &x)) {
        seg->has_seq = true;
        seg->seq = (uint32_t)x;
    } else if (strcmp(buf, "ACK") == 0 && parse_u64(v, UINT32_MAX, &x)) {
        seg->has_ack = true;
        seg->ack = (uint32_t)x;
    } else if (strcmp(buf, "DATA") == 0 && parse_u64(v, 65535, &x)) {
        seg->has_data = true;
        seg->data_len = (uint32_t)x;
    } else if (strcmp(buf, "WND") == 0 && parse_u64(v, 65535, &x)) {
        seg->has_wnd = true;
        seg->wnd = (uint16_t)x;
    } else if (strcmp(buf, "CTL") == 0 && parse_ctl(v, &seg->flags)) {
        seg->has_ctl = true;
    } else {
        return false;
    }
    return true;
}

static int
segment(struct parser *p, int i, struct sc_seg *seg)
{
    static const char *what =
        "a segment such as <SEQ=100><ACK=301><CTL=SYN,ACK> (fields SEQ ACK CTL DATA WND)";
    memset(seg, 0, sizeof(*seg));
    if (i >= p->n_tok || p->tok[i][0] != '<') {
        return expected(p, i, what);
    }
    const char *s = p->tok[i];
    while (*s != '\0') {
        if (*s != '<') {
            return expected(p, i, what);
        }
        const char *end = strchr(s, '>');
        if (end == NULL || !seg_field(s + 1, (size_t)(end - s - 1), seg)) {
            return expected(p, i, what);
        }
        s = end + 1;
    }
    return TERN_OK;
}

static int
no_more(struct parser *p, int i)
{
    if (i < p->n_tok) {
        return fail(p, "expected the end of the line, got '%s'", p->tok[i]);
    }
    return TERN_OK;
}

static struct sc_stmt *
new_stmt(struct parser *p, enum sc_op op)
{
    struct tern_scenario *sc = p->sc;
    if (sc->n_stmts == sc->cap_stmts) {
        size_t cap = sc->cap_stmts ? sc->cap_stmts * 2 : 32;
        struct sc_stmt *n = realloc(sc->stmts, cap * sizeof(*n));
        if (n == NULL) {
            return NULL;
        }
        sc->stmts = n;
        sc->cap_stmts = cap;
    }
    struct sc_stmt *st = &sc->stmts[sc->n_stmts++];
    memset(st, 0, sizeof(*st));
    st->op = op;
    st->line = p->line;
    st->host = st->host2 = -1;
    size_t off = 0;
    for (int k = 0; k < p->n_tok && off + 1 < sizeof(st->text); k++) {
        /* A quoted token keeps its opening quote only: close it again. */
        const char *close = p->tok[k][0] == '"' ? "\"" : "";
        int n = snprintf(st->text + off, sizeof(st->text) - off, "%s%s%s", k ? " " : "", p->tok[k],
                         close);
        if (n < 0) {
            break;
        }
        off += (size_t)n;
    }
    return st;
}

#define NEW_STMT(var, p, op)                                                                       \
    struct sc_stmt *var = new_stmt(p, op);                                                         \
    if (var == NULL) {                                                                             \
        return TERN_ERR_NOMEM;                                                                     \
    }

/* ---- declarations ---- */

static bool
valid_name(const char *s)
{
    static const char *reserved[] = {"title", "seed",    "host",    "link",   "draw", "style",
                                     "wait",  "crash",   "restart", "reboot", "hold", "drop",
                                     "delay", "release", "inject",  "expect", "all"};
    if (!isalpha((unsigned char)s[0]) || strlen(s) >= SC_NAME) {
        return false;
    }
    for (const char *c = s; *c; c++) {
        if (!isalnum((unsigned char)*c) && *c != '-' && *c != '_') {
            return false;
        }
    }
    for (size_t k = 0; k < sizeof(reserved) / sizeof(reserved[0]); k++) {
        if (strcmp(s, reserved[k]) == 0) {
            return false;
        }
    }
    return true;
}

/* An IPv4 address in TEST-NET-1, 192.0.2.0/24 (RFC 5737). */
static bool
parse_addr(const char *s, uint32_t *out)
{
    unsigned a, b, c, d;
    char extra;
    if (sscanf(s, "%3u.%3u.%3u.%3u%c", &a, &b, &c, &d, &extra) != 4) {
        return false;
    }
    if (a != 192 || b != 0 || c != 2 || d == 0 || d >= 255) {
        return false;
    }
    *out = TERN_IPV4(a, b, c, d);
    return true;
}

static int
decl_host(struct parser *p)
{
    struct tern_scenario *sc = p->sc;
    if (sc->n_hosts == SC_MAX_HOSTS) {
        return fail(p, "expected at most %d hosts", SC_MAX_HOSTS);
    }
    if (p->n_tok < 2 || !valid_name(p->tok[1])) {
        return expected(p, 1, "a host name (letters, digits, '-', '_'; not a keyword)");
    }
    if (find_host(sc, p->tok[1]) >= 0) {
        return fail(p, "expected a new host name, got '%s' a second time", p->tok[1]);
    }
    struct sc_host *h = &sc->hosts[sc->n_hosts];
    memset(h, 0, sizeof(*h));
    size_t name_len = strlen(p->tok[1]); /* valid_name(): below SC_NAME */
    memcpy(h->name, p->tok[1], name_len < SC_NAME ? name_len + 1 : 1);
    if (p->n_tok < 3 || !parse_addr(p->tok[2], &h->addr)) {
        return expected(p, 2, "an address in 192.0.2.0/24 (TEST-NET-1), such as 192.0.2.1");
    }
    for (int k = 0; k < sc->n_hosts; k++) {
        if (sc->hosts[k].addr == h->addr) {
            return fail(p, "expected an address no other host has, got '%s'", p->tok[2]);
        }
    }
    h->loss = -1;
    int i = 3;
    while (i < p->n_tok) {
        if (strcmp(p->tok[i], "loss") == 0) {
            /* Loss detection (issue 12): RFC 6675's DupThresh or RACK
             * (RFC 8985); named so a scenario does not follow the default. */
            const char *v = i + 1 < p->n_tok ? p->tok[i + 1] : "";
            if (strcmp(v, "rack") == 0) {
                h->loss = TERN_TCP_LOSS_RACK;
            } else if (strcmp(v, "rfc6675") == 0) {
                h->loss = TERN_TCP_LOSS_RFC6675;
            } else {
                return expected(p, i + 1, "'rack' or 'rfc6675'");
            }
            i += 2;
            continue;
        }
        int64_t *dst = strcmp(p->tok[i], "msl") == 0   ? &h->msl_ns
                       : strcmp(p->tok[i], "rto") == 0 ? &h->rto_ns
                                                       : NULL;
        if (dst == NULL) {
            return expected(p, i, "'msl DURATION', 'rto DURATION' or 'loss rack|rfc6675'");
        }
        int rc = dur(p, i + 1, dst);
        if (rc != TERN_OK) {
            return rc;
        }
        if (*dst == 0) {
            return expected(p, i + 1, "a duration above 0");
        }
        i += 2;
    }
    sc->n_hosts++;
    return TERN_OK;
}

static int
decl_link(struct parser *p)
{
    struct tern_scenario *sc = p->sc;
    if (sc->has_link) {
        return fail(p, "expected one link only; this scenario already has one");
    }
    int rc = host_arg(p, 1, &sc->link_a);
    if (rc == TERN_OK) {
        rc = host_arg(p, 2, &sc->link_b);
    }
    if (rc != TERN_OK) {
        return rc;
    }
    if (sc->link_a == sc->link_b) {
        return expected(p, 2, "a host other than the first");
    }
    int i = 3;
    if (i < p->n_tok) {
        if (strcmp(p->tok[i], "delay") != 0) {
            return expected(p, i, "'delay DURATION'");
        }
        rc = dur(p, i + 1, &sc->link_delay_ns);
        if (rc != TERN_OK) {
            return rc;
        }
        i += 2;
    }
    sc->has_link = true;
    return no_more(p, i);
}

static int
decl_draw(struct parser *p)
{
    if (p->n_tok == 2 && (strcmp(p->tok[1], "on") == 0 || strcmp(p->tok[1], "off") == 0)) {
        NEW_STMT(st, p, SC_DRAW);
        st->count = strcmp(p->tok[1], "on") == 0;
        return TERN_OK;
    }
    if (p->sc->n_stmts > 0) {
        return expected(p, 1, "'on' or 'off' (the drawn hosts are chosen before any action)");
    }
    int rc = host_arg(p, 1, &p->sc->draw_left);
    if (rc == TERN_OK) {
        rc = host_arg(p, 2, &p->sc->draw_right);
    }
    if (rc != TERN_OK) {
        return rc;
    }
    if (p->sc->draw_left == p->sc->draw_right) {
        return expected(p, 2, "a host other than the first");
    }
    return no_more(p, 3);
}

static int
decl_style(struct parser *p)
{
    if (p->n_tok != 3 || strcmp(p->tok[1], "data") != 0 ||
        (strcmp(p->tok[2], "count") != 0 && strcmp(p->tok[2], "plain") != 0)) {
        return expected(p, p->n_tok < 2 ? 1 : 2, "'style data count' or 'style data plain'");
    }
    p->sc->data_style =
        strcmp(p->tok[2], "plain") == 0 ? TERN_DIAGRAM_DATA_PLAIN : TERN_DIAGRAM_DATA_COUNT;
    return TERN_OK;
}

static int
decl_title(struct parser *p, const char *line, size_t len)
{
    size_t off = 0;
    while (off < len && (line[off] == ' ' || line[off] == '\t')) {
        off++;
    }
    off += strlen("title"); /* the first token is "title" */
    while (off < len && (line[off] == ' ' || line[off] == '\t')) {
        off++;
    }
    size_t n = len - off;
    while (n > 0 && (line[off + n - 1] == '\r' || line[off + n - 1] == ' ')) {
        n--;
    }
    if (n == 0) {
        return expected(p, 1, "a title text");
    }
    if (n >= sizeof(p->sc->title)) {
        n = sizeof(p->sc->title) - 1;
    }
    memcpy(p->sc->title, line + off, n);
    p->sc->title[n] = '\0';
    return TERN_OK;
}

/* ---- actions ---- */

static int
act_count(struct parser *p, int i, struct sc_stmt *st)
{
    st->count = 1;
    if (i < p->n_tok) {
        uint64_t v = 0;
        int rc = num(p, i, 1000, "a segment count from 1 to 1000", &v);
        if (rc != TERN_OK) {
            return rc;
        }
        if (v == 0) {
            return expected(p, i, "a segment count from 1 to 1000");
        }
        st->count = (uint32_t)v;
        i++;
    }
    return no_more(p, i);
}

static int
act_global(struct parser *p, const char *kw)
{
    int rc;
    if (strcmp(kw, "wait") == 0) {
        NEW_STMT(st, p, SC_WAIT);
        if (p->n_tok > 1 && (rc = dur(p, 1, &st->dur)) != TERN_OK) {
            return rc;
        }
        return no_more(p, p->n_tok > 1 ? 2 : 1);
    }
    static const struct {
        const char *kw;
        enum sc_op op;
    } host_ops[] = {{"crash", SC_CRASH}, {"restart", SC_RESTART}, {"reboot", SC_REBOOT}};
    for (size_t k = 0; k < sizeof(host_ops) / sizeof(host_ops[0]); k++) {
        if (strcmp(kw, host_ops[k].kw) == 0) {
            NEW_STMT(st, p, host_ops[k].op);
            if ((rc = host_arg(p, 1, &st->host)) != TERN_OK) {
                return rc;
            }
            return no_more(p, 2);
        }
    }
    if (strcmp(kw, "hold") == 0 || strcmp(kw, "drop") == 0) {
        NEW_STMT(st, p, kw[0] == 'h' ? SC_HOLD : SC_DROP);
        if ((rc = host_arg(p, 1, &st->host)) != TERN_OK) {
            return rc;
        }
        return act_count(p, 2, st);
    }
    if (strcmp(kw, "delay") == 0) {
        NEW_STMT(st, p, SC_DELAY);
        if ((rc = host_arg(p, 1, &st->host)) != TERN_OK || (rc = dur(p, 2, &st->dur)) != TERN_OK) {
            return rc;
        }
        return act_count(p, 3, st);
    }
    if (strcmp(kw, "release") == 0) {
        NEW_STMT(st, p, SC_RELEASE);
        if (p->n_tok > 1 && strcmp(p->tok[1], "all") == 0) {
            return no_more(p, 2);
        }
        if ((rc = host_arg(p, 1, &st->host)) != TERN_OK) {
            return rc;
        }
        return no_more(p, 2);
    }
    if (strcmp(kw, "inject") == 0) {
        NEW_STMT(st, p, SC_INJECT);
        if ((rc = endpoint(p, 1, &st->host, &st->port)) != TERN_OK) {
            return rc;
        }
        if (p->n_tok <= 2 || (strcmp(p->tok[2], ">") != 0 && strcmp(p->tok[2], "->") != 0)) {
            return expected(p, 2, "'>' between the two HOST:PORT");
        }
        if ((rc = endpoint(p, 3, &st->host2, &st->port2)) != TERN_OK ||
            (rc = segment(p, 4, &st->seg)) != TERN_OK) {
            return rc;
        }
        if (st->host == st->host2) {
            return expected(p, 3, "a destination host other than the source");
        }
        if (!st->seg.has_seq) {
            return expected(p, 4, "a segment with a <SEQ=n> field");
        }
        if (st->seg.data_len > SC_INJECT_DATA_MAX) {
            return expected(p, 4, "a segment to inject with at most <DATA=1400>");
        }
        return no_more(p, 5);
    }
    return NOT_GLOBAL;
}

static const struct sc_event_name event_names[] = {
    {"connected", TERN_TCP_EV_CONNECTED, 0}, {"closed", TERN_TCP_EV_CLOSED, 0},
    {"peer-fin", TERN_TCP_EV_PEER_FIN, 0},   {"readable", TERN_TCP_EV_READABLE, 0},
    {"error", TERN_TCP_EV_ERROR, 0},         {"reset", 0, TERN_ERR_RESET},
    {"refused", 0, TERN_ERR_REFUSED},        {"timedout", 0, TERN_ERR_TIMEDOUT},
    {"unreach", 0, TERN_ERR_UNREACH},
};

static int
act_expect(struct parser *p)
{
    int rc;
    NEW_STMT(st, p, SC_EXPECT_STATE);
    if ((rc = host_arg(p, 1, &st->host)) != TERN_OK) {
        return rc;
    }
    int i = 2;
    if (i < p->n_tok && strcmp(p->tok[i], "not") == 0) {
        st->negate = true;
        i++;
    }
    if (i >= p->n_tok) {
        return expected(p, i, "'state', 'event', 'sent', 'cwnd' or 'ssthresh'");
    }
    if (strcmp(p->tok[i], "state") == 0) {
        st->op = SC_EXPECT_STATE;
        st->state = -1;
        for (int s = 0; s < TERN_TCP_STATE_COUNT && i + 1 < p->n_tok; s++) {
            if (strcmp(tern_tcp_state_name(s), p->tok[i + 1]) == 0) {
                st->state = s;
            }
        }
        if (st->state < 0) {
            return expected(p, i + 1, "a state name as RFC 9293 spells it (SYN-RECEIVED...)");
        }
        return no_more(p, i + 2);
    }
    if (strcmp(p->tok[i], "event") == 0) {
        st->op = SC_EXPECT_EVENT;
        bool found = false;
        for (size_t k = 0; k < sizeof(event_names) / sizeof(event_names[0]); k++) {
            if (i + 1 < p->n_tok && strcmp(event_names[k].name, p->tok[i + 1]) == 0) {
                st->ev_bit = event_names[k].bit;
                st->ev_err = event_names[k].err;
                found = true;
            }
        }
        if (!found) {
            return expected(p, i + 1,
                            "an event: connected closed peer-fin readable error reset refused "
                            "timedout unreach");
        }
        return no_more(p, i + 2);
    }
    if (strcmp(p->tok[i], "sent") == 0) {
        st->op = SC_EXPECT_SENT;
        if ((rc = segment(p, i + 1, &st->seg)) != TERN_OK) {
            return rc;
        }
        if (i + 2 < p->n_tok && strcmp(p->tok[i + 2], "times") == 0) {
            uint64_t v = 0;
            if ((rc = num(p, i + 3, 1000000, "a count from 0 to 1000000", &v)) != TERN_OK) {
                return rc;
            }
            st->has_times = true;
            st->count = (uint32_t)v;
            return no_more(p, i + 4);
        }
        return no_more(p, i + 2);
    }
    if (strcmp(p->tok[i], "cwnd") == 0 || strcmp(p->tok[i], "ssthresh") == 0) {
        st->op = SC_EXPECT_CWND;
        st->state = strcmp(p->tok[i], "cwnd") == 0 ? 0 : 1;
        uint64_t v = 0;
        if ((rc = num(p, i + 1, UINT32_MAX, "a number of bytes", &v)) != TERN_OK) {
            return rc;
        }
        st->count = (uint32_t)v;
        return no_more(p, i + 2);
    }
    return expected(p, i, "'state', 'event', 'sent', 'cwnd' or 'ssthresh'");
}

static int
opt_iss_backlog(struct parser *p, int i, struct sc_stmt *st, bool backlog_ok, bool port_ok)
{
    while (i < p->n_tok) {
        uint64_t v = 0;
        int rc;
        if (strcmp(p->tok[i], "iss") == 0) {
            if ((rc = num(p, i + 1, UINT32_MAX, "an ISS from 0 to 4294967295", &v)) != TERN_OK) {
                return rc;
            }
            st->has_iss = true;
            st->iss = (uint32_t)v;
        } else if (backlog_ok && strcmp(p->tok[i], "backlog") == 0) {
            if ((rc = num(p, i + 1, 1000, "a backlog from 1 to 1000", &v)) != TERN_OK) {
                return rc;
            }
            st->backlog = (unsigned)v;
        } else if (port_ok && strcmp(p->tok[i], "port") == 0) {
            if ((rc = num(p, i + 1, 65535, "a local port from 1 to 65535", &v)) != TERN_OK) {
                return rc;
            }
            st->port = (uint16_t)v;
        } else {
            return expected(p, i, backlog_ok ? "'iss N' or 'backlog N'" : "'iss N' or 'port N'");
        }
        i += 2;
    }
    return TERN_OK;
}

static int
act_host(struct parser *p, int host)
{
    uint64_t v = 0;
    int rc;
    if (p->n_tok < 2) {
        return expected(p, 1, "a call: listen open send close abort iss");
    }
    const char *call = p->tok[1];
    if (strcmp(call, "listen") == 0) {
        NEW_STMT(st, p, SC_LISTEN);
        st->host = host;
        if ((rc = num(p, 2, 65535, "a port from 1 to 65535", &v)) != TERN_OK) {
            return rc;
        }
        if (v == 0) {
            return expected(p, 2, "a port from 1 to 65535");
        }
        st->port = (uint16_t)v;
        return opt_iss_backlog(p, 3, st, true, false);
    }
    if (strcmp(call, "open") == 0) {
        NEW_STMT(st, p, SC_OPEN);
        st->host = host;
        if ((rc = endpoint(p, 2, &st->host2, &st->port2)) != TERN_OK) {
            return rc;
        }
        if (st->host2 == host) {
            return expected(p, 2, "another host's HOST:PORT");
        }
        return opt_iss_backlog(p, 3, st, false, true);
    }
    if (strcmp(call, "send") == 0) {
        NEW_STMT(st, p, SC_SEND);
        st->host = host;
        if (p->n_tok > 2 && p->tok[2][0] == '"') {
            snprintf(st->data, sizeof(st->data), "%s", p->tok[2] + 1);
            st->count = (uint32_t)strlen(st->data);
        } else {
            if ((rc = num(p, 2, 65535, "a byte count or \"quoted text\"", &v)) != TERN_OK) {
                return rc;
            }
            st->count = (uint32_t)v;
            st->data[0] = '\0';
        }
        if (st->count == 0) {
            return expected(p, 2, "at least one byte to send");
        }
        return no_more(p, 3);
    }
    if (strcmp(call, "close") == 0 || strcmp(call, "abort") == 0) {
        NEW_STMT(st, p, call[0] == 'c' ? SC_CLOSE : SC_ABORT);
        st->host = host;
        return no_more(p, 2);
    }
    if (strcmp(call, "iss") == 0) {
        NEW_STMT(st, p, SC_ISS);
        st->host = host;
        if ((rc = num(p, 2, UINT32_MAX, "an ISS from 0 to 4294967295", &v)) != TERN_OK) {
            return rc;
        }
        st->iss = (uint32_t)v;
        return no_more(p, 3);
    }
    return expected(p, 1, "a call: listen open send close abort iss");
}

static int
parse_line(struct parser *p, const char *line, size_t len)
{
    int rc = tokenize(p, line, len);
    if (rc != TERN_OK || p->n_tok == 0) {
        return rc;
    }
    const char *kw = p->tok[0];
    if (strcmp(kw, "title") == 0) {
        return decl_title(p, line, len);
    }
    if (strcmp(kw, "seed") == 0) {
        uint64_t v = 0;
        if ((rc = num(p, 1, UINT64_MAX, "a seed number", &v)) != TERN_OK) {
            return rc;
        }
        p->sc->seed = v;
        return no_more(p, 2);
    }
    bool declaring = strcmp(kw, "host") == 0 || strcmp(kw, "link") == 0;
    if (declaring && p->sc->n_stmts > 0) {
        return fail(p, "expected '%s' before the first action", kw);
    }
    if (strcmp(kw, "host") == 0) {
        return decl_host(p);
    }
    if (strcmp(kw, "link") == 0) {
        return decl_link(p);
    }
    if (strcmp(kw, "draw") == 0) {
        return decl_draw(p);
    }
    if (strcmp(kw, "style") == 0) {
        return decl_style(p);
    }
    if (strcmp(kw, "expect") == 0) {
        return act_expect(p);
    }
    if (!p->sc->has_link && p->sc->n_hosts > 0 && find_host(p->sc, kw) >= 0) {
        return fail(p, "expected a 'link HOST HOST' line before the first action");
    }
    rc = act_global(p, kw);
    if (rc != NOT_GLOBAL) {
        return rc;
    }
    int host = find_host(p->sc, kw);
    if (host >= 0) {
        return act_host(p, host);
    }
    return fail(p,
                "expected a statement (title seed host link draw style wait crash restart reboot "
                "hold drop delay release inject expect, or HOST followed by a call), got '%s'",
                kw);
}

int
tern_scenario_parse(const char *name, const char *text, size_t len, struct tern_scenario **out,
                    char *err, size_t err_len)
{
    if (out != NULL) {
        *out = NULL;
    }
    if (err_len > 0) {
        err[0] = '\0';
    }
    if (text == NULL || out == NULL) {
        return TERN_ERR_INVAL;
    }
    struct tern_scenario *sc = calloc(1, sizeof(*sc));
    if (sc == NULL) {
        return TERN_ERR_NOMEM;
    }
    snprintf(sc->name, sizeof(sc->name), "%s", name != NULL ? name : "scenario");
    sc->draw_left = sc->draw_right = -1;
    sc->seed = 1;
    struct parser p = {.name = sc->name, .err = err, .err_len = err_len, .sc = sc};
    size_t pos = 0;
    int rc = TERN_OK;
    while (pos < len && rc == TERN_OK) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl != NULL ? (size_t)(nl - text) : len;
        p.line++;
        if (memchr(text + pos, '\0', end - pos) != NULL) {
            rc = fail(&p, "expected text, got a NUL byte");
            break;
        }
        rc = parse_line(&p, text + pos, end - pos);
        pos = end + 1;
    }
    if (rc == TERN_OK && sc->n_hosts < 2) {
        p.line++;
        rc = fail(&p, "expected at least two 'host NAME ADDRESS' lines");
    } else if (rc == TERN_OK && !sc->has_link) {
        p.line++;
        rc = fail(&p, "expected a 'link HOST HOST' line");
    }
    if (rc == TERN_ERR_NOMEM && err_len > 0) {
        snprintf(err, err_len, "%s: out of memory", sc->name);
    }
    if (rc != TERN_OK) {
        tern_scenario_free(sc);
        return rc;
    }
    if (sc->draw_left < 0) {
        sc->draw_left = sc->link_a;
        sc->draw_right = sc->link_b;
    }
    *out = sc;
    return TERN_OK;
}

void
tern_scenario_free(struct tern_scenario *sc)
{
    if (sc == NULL) {
        return;
    }
    free(sc->stmts);
    free(sc);
}

const char *
tern_scenario_title(const struct tern_scenario *sc)
{
    return sc != NULL ? sc->title : "";
}

void
sc_seg_format(const struct sc_seg *s, char *out, size_t cap)
{
    size_t off = 0;
    out[0] = '\0';
#define PUT(...)                                                                                   \
    do {                                                                                           \
        int n_ = snprintf(out + off, cap - off, __VA_ARGS__);                                      \
        if (n_ < 0 || (size_t)n_ >= cap - off) {                                                   \
            return;                                                                                \
        }                                                                                          \
        off += (size_t)n_;                                                                         \
    } while (0)
    if (s->has_seq) {
        PUT("<SEQ=%" PRIu32 ">", s->seq);
    }
    if (s->has_ack) {
        PUT("<ACK=%" PRIu32 ">", s->ack);
    }
    if (s->has_ctl) {
        static const struct {
            uint8_t bit;
            const char *name;
        } ctl[] = {{0x02, "SYN"}, {0x01, "FIN"}, {0x04, "RST"},
                   {0x08, "PSH"}, {0x20, "URG"}, {0x10, "ACK"}};
        const char *sep = "<CTL=";
        for (size_t k = 0; k < sizeof(ctl) / sizeof(ctl[0]); k++) {
            if (s->flags & ctl[k].bit) {
                PUT("%s%s", sep, ctl[k].name);
                sep = ",";
            }
        }
        PUT(">");
    }
    if (s->has_data) {
        PUT("<DATA=%" PRIu32 ">", s->data_len);
    }
    if (s->has_wnd) {
        PUT("<WND=%u>", (unsigned)s->wnd);
    }
#undef PUT
}
