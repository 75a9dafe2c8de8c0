/*
 * tools/cli.c: the one command-line grammar of every tern subcommand
 * (cli.h), on top of getopt_long.
 *
 * getopt_long runs in the "return in order" mode ("-" first in the option
 * string): operands come back one by one where they stand, so options and
 * operands mix the same way whatever POSIXLY_CORRECT says, and nothing in
 * argv is permuted. ":" next makes getopt_long silent and tells a missing
 * value (':') from an unknown option ('?'); every message is ours.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_OPTS  64  /* options of one subcommand, --help not counted */
#define LONG_BASE 256 /* getopt_long's value for the long option i: LONG_BASE + i */
#define HELP_COL  24  /* where the help text of an option starts */
#define WIDTH     79  /* --help lines end before this column */

int
cli_usage_error(const struct cli_cmd *cmd, const char *fmt, ...)
{
    fprintf(stderr, "tern %s: ", cmd->name);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "; see 'tern %s --help'\n", cmd->name);
    return CLI_USAGE;
}

/* ---- Values ------------------------------------------------------------------ */

/* A number starts at once: strto* would skip leading blanks. */
static bool
starts_number(const char *s)
{
    return *s != '\0' && *s != ' ' && *s != '\t' && *s != '\n' && *s != '\v' && *s != '\f' &&
           *s != '\r';
}

bool
cli_parse_long(const char *s, long min, long max, long *out)
{
    if (!starts_number(s)) {
        return false;
    }
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max) {
        return false;
    }
    *out = v;
    return true;
}

bool
cli_parse_u64(const char *s, unsigned long long *out)
{
    /* strtoull takes "-1" as 2^64-1: no sign at all. */
    if (!starts_number(s) || strchr(s, '-') != NULL) {
        return false;
    }
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0') {
        return false;
    }
    *out = v;
    return true;
}

/* "123", "64K", "256M", "1G" (binary multiples), in [min, max]. */
static bool
parse_size(const char *s, double min, double max, uint64_t *out)
{
    if (!starts_number(s) || strchr(s, '-') != NULL) {
        return false;
    }
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || errno != 0) {
        return false;
    }
    unsigned long long mul = 1;
    if (*end == 'K' || *end == 'k') {
        mul = 1ULL << 10, end++;
    } else if (*end == 'M' || *end == 'm') {
        mul = 1ULL << 20, end++;
    } else if (*end == 'G' || *end == 'g') {
        mul = 1ULL << 30, end++;
    }
    if (*end != '\0' || v > UINT64_MAX / mul) {
        return false;
    }
    v *= mul;
    if ((double)v < min || (double)v > max) {
        return false;
    }
    *out = v;
    return true;
}

static bool
parse_real(const char *s, double min, double max, double *out)
{
    if (!starts_number(s)) {
        return false;
    }
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || *end != '\0' || !isfinite(v) || v < min || v > max) {
        return false;
    }
    *out = v;
    return true;
}

/* A size as --help and errors write it: "1G" rather than 1073741824. */
static void
fmt_size(char *buf, size_t len, double v)
{
    static const char units[] = "GMK";
    unsigned long long n = (unsigned long long)v;
    for (int i = 0; i < 3; i++) {
        unsigned long long m = 1ULL << (10 * (3 - i));
        if (n >= m && n % m == 0) {
            snprintf(buf, len, "%llu%c", n / m, units[i]);
            return;
        }
    }
    snprintf(buf, len, "%llu", n);
}

/* A bound as --help and errors write it: no exponent, no trailing zeros. */
static void
fmt_num(char *buf, size_t len, double v)
{
    snprintf(buf, len, "%.6f", v);
    char *dot = strchr(buf, '.');
    if (dot != NULL) {
        char *end = buf + strlen(buf);
        while (end > dot + 1 && end[-1] == '0') {
            *--end = '\0';
        }
        if (end == dot + 1) {
            *dot = '\0';
        }
    }
}

/* What the option accepts, for its errors: "an integer from 1 to 100000". */
static void
describe(const struct cli_opt *o, char *buf, size_t len)
{
    switch (o->kind) {
    case CLI_FLAG:
        snprintf(buf, len, "no value");
        return;
    case CLI_LONG:
        snprintf(buf, len, "an integer from %.0f to %.0f", o->min, o->max);
        return;
    case CLI_U64:
        snprintf(buf, len, "an integer from 0 to %llu", (unsigned long long)UINT64_MAX);
        return;
    case CLI_SIZE: {
        char lo[32], hi[32];
        fmt_size(lo, sizeof(lo), o->min);
        fmt_size(hi, sizeof(hi), o->max);
        snprintf(buf, len, "an integer from %s to %s%s", lo, hi,
                 o->max >= 1024 ? " (K, M, G: binary multiples)" : "");
        return;
    }
    case CLI_REAL: {
        char lo[64], hi[64];
        fmt_num(lo, sizeof(lo), o->min);
        fmt_num(hi, sizeof(hi), o->max);
        snprintf(buf, len, "a number from %s to %s", lo, hi);
        return;
    }
    case CLI_STRING:
        snprintf(buf, len, "a non-empty %s", o->arg);
        return;
    case CLI_CHOICE: {
        size_t n = (size_t)snprintf(buf, len, "one of");
        for (const struct cli_choice *c = o->choices; c->name != NULL && n < len; c++) {
            n += (size_t)snprintf(buf + n, len - n, "%s %s", c == o->choices ? "" : ",", c->name);
        }
        return;
    }
    case CLI_CUSTOM:
        snprintf(buf, len, "%s", o->form);
        return;
    }
    snprintf(buf, len, "?");
}

/* Stores val into the option's field; false if val is not of its form. */
static bool
store(const struct cli_opt *o, const char *val, void *opts)
{
    char *field = (char *)opts + o->offset;
    switch (o->kind) {
    case CLI_FLAG: {
        bool yes = true;
        memcpy(field, &yes, sizeof(yes));
        return true;
    }
    case CLI_LONG: {
        long v;
        if (!cli_parse_long(val, (long)o->min, (long)o->max, &v)) {
            return false;
        }
        memcpy(field, &v, sizeof(v));
        return true;
    }
    case CLI_U64: {
        unsigned long long v;
        if (!cli_parse_u64(val, &v)) {
            return false;
        }
        uint64_t u = v;
        memcpy(field, &u, sizeof(u));
        return true;
    }
    case CLI_SIZE: {
        uint64_t v;
        if (!parse_size(val, o->min, o->max, &v)) {
            return false;
        }
        memcpy(field, &v, sizeof(v));
        return true;
    }
    case CLI_REAL: {
        double v;
        if (!parse_real(val, o->min, o->max, &v)) {
            return false;
        }
        v *= o->scale != 0 ? o->scale : 1;
        memcpy(field, &v, sizeof(v));
        return true;
    }
    case CLI_STRING:
        if (*val == '\0') {
            return false;
        }
        memcpy(field, &val, sizeof(val));
        return true;
    case CLI_CHOICE:
        for (const struct cli_choice *c = o->choices; c->name != NULL; c++) {
            if (strcmp(c->name, val) == 0) {
                memcpy(field, &c->value, sizeof(c->value));
                return true;
            }
        }
        return false;
    case CLI_CUSTOM:
        return o->parse(val, opts);
    }
    return false;
}

/* ---- Parsing ----------------------------------------------------------------- */

static bool
takes_value(const struct cli_opt *o)
{
    return o->arg != NULL;
}

/* The table's entry of short option c, or NULL. */
static const struct cli_opt *
find_short(const struct cli_cmd *cmd, int c)
{
    for (size_t i = 0; i < cmd->n_opts; i++) {
        if (cmd->opts[i].short_name != 0 && cmd->opts[i].short_name == c) {
            return &cmd->opts[i];
        }
    }
    return NULL;
}

/* Whether `text` ("--name" or "--name=value") names the long option whole:
 * getopt_long also takes unambiguous abbreviations, which this grammar
 * refuses so that a new option never changes what an old command means. */
static bool
whole_name(const char *text, const char *name)
{
    size_t n = strcspn(text + 2, "=");
    return strncmp(text, "--", 2) == 0 && strlen(name) == n && strncmp(text + 2, name, n) == 0;
}

int
cli_parse(const struct cli_cmd *cmd, int argc, char **argv, void *opts, char **operands,
          int *n_operands)
{
    if (cmd->n_opts > MAX_OPTS) {
        return cli_usage_error(cmd, "too many options in the table (at most %d)", MAX_OPTS);
    }
    struct option longs[MAX_OPTS + 2];
    char shorts[3 + 2 * MAX_OPTS + 2];
    size_t nl = 0, ns = 0;
    shorts[ns++] = '-'; /* operands in order, as option 1 */
    shorts[ns++] = ':'; /* silent; ':' for a missing value */
    shorts[ns++] = 'h';
    for (size_t i = 0; i < cmd->n_opts; i++) {
        const struct cli_opt *o = &cmd->opts[i];
        if (o->name != NULL) {
            longs[nl++] = (struct option){o->name, takes_value(o) ? required_argument : no_argument,
                                          NULL, LONG_BASE + (int)i};
        }
        if (o->short_name != 0) {
            shorts[ns++] = o->short_name;
            if (takes_value(o)) {
                shorts[ns++] = ':';
            }
        }
    }
    const int help_val = LONG_BASE + (int)cmd->n_opts;
    longs[nl++] = (struct option){"help", no_argument, NULL, help_val};
    longs[nl] = (struct option){NULL, 0, NULL, 0};
    shorts[ns] = '\0';

    *n_operands = 0;
    optind = 0; /* glibc: start afresh */
    opterr = 0;
    for (;;) {
        int c = getopt_long(argc, argv, shorts, longs, NULL);
        if (c == -1) {
            break;
        }
        if (c == 1) {
            if (*n_operands == cmd->max_operands) {
                return cli_usage_error(cmd, "unexpected operand '%s' (%s)", optarg,
                                       cmd->operand_note);
            }
            operands[(*n_operands)++] = optarg;
            continue;
        }
        if (c == '?' || c == ':') {
            /* optopt: the short letter, the long option's value, or 0 for
             * an unknown long option (argv[optind - 1] then). */
            const char *text = argv[optind - 1];
            int v = optopt;
            if (v >= LONG_BASE && v < help_val &&
                !whole_name(text, cmd->opts[v - LONG_BASE].name)) {
                v = 0; /* an abbreviation: as unknown */
            }
            if (v == 0 || v == help_val) {
                if (v == 0 || !whole_name(text, "help")) {
                    size_t n = strcspn(text, "=");
                    return cli_usage_error(cmd, "unknown option '%.*s'", (int)n, text);
                }
                return cli_usage_error(cmd, "option --help takes no value (got '%s')", text);
            }
            if (v < LONG_BASE && (c == '?' || find_short(cmd, v) == NULL)) {
                return cli_usage_error(cmd, "unknown option '-%c'", v);
            }
            const struct cli_opt *o =
                v >= LONG_BASE ? &cmd->opts[v - LONG_BASE] : find_short(cmd, v);
            char form[256];
            describe(o, form, sizeof(form));
            if (c == '?') { /* a flag given a value */
                return cli_usage_error(cmd, "option --%s takes no value (got '%s')", o->name, text);
            }
            char flag[64];
            if (v >= LONG_BASE) {
                snprintf(flag, sizeof(flag), "--%s %s", o->name, o->arg);
            } else {
                snprintf(flag, sizeof(flag), "-%c %s", v, o->arg);
            }
            if (o->kind == CLI_STRING || o->kind == CLI_CHOICE) { /* the name says it all */
                return cli_usage_error(cmd, "option needs a value: %s", flag);
            }
            return cli_usage_error(cmd, "option needs a value: %s (expected %s)", flag, form);
        }
        /* A known option. Which element it was: the value, when separate,
         * is argv[optind - 1] and the option the one before. */
        bool is_long = c >= LONG_BASE;
        const struct cli_opt *o = is_long && c < help_val     ? &cmd->opts[c - LONG_BASE]
                                  : c == 'h' || c == help_val ? NULL
                                                              : find_short(cmd, c);
        const char *text = argv[optind - 1];
        if (is_long && o != NULL && takes_value(o) && optarg == argv[optind - 1]) {
            text = argv[optind - 2];
        }
        if (is_long && !whole_name(text, o != NULL ? o->name : "help")) {
            return cli_usage_error(cmd, "unknown option '%.*s'", (int)strcspn(text, "="), text);
        }
        if (o == NULL) {
            return CLI_HELP;
        }
        const char *val = takes_value(o) ? optarg : NULL;
        if (!store(o, val, opts)) {
            char form[256];
            describe(o, form, sizeof(form));
            char flag[64];
            if (is_long) {
                snprintf(flag, sizeof(flag), "--%s", o->name);
            } else {
                snprintf(flag, sizeof(flag), "-%c", o->short_name);
            }
            return cli_usage_error(cmd, "invalid value '%s' for %s: expected %s", val ? val : "",
                                   flag, form);
        }
    }
    /* After "--": the rest are operands. */
    for (int i = optind; i < argc; i++) {
        if (*n_operands == cmd->max_operands) {
            return cli_usage_error(cmd, "unexpected operand '%s' (%s)", argv[i], cmd->operand_note);
        }
        operands[(*n_operands)++] = argv[i];
    }
    return CLI_OK;
}

/* ---- Help -------------------------------------------------------------------- */

/* Prints `text` from column `col` (the cursor is there), breaking lines at
 * blanks before column WIDTH. */
static void
print_wrapped(FILE *out, const char *text, int col)
{
    int at = col;
    const char *p = text;
    while (*p != '\0') {
        int word = (int)strcspn(p, " ");
        if (at > col && at + 1 + word > WIDTH) {
            fprintf(out, "\n%*s", col, "");
            at = col;
        }
        if (at > col) {
            fputc(' ', out);
            at++;
        }
        fprintf(out, "%.*s", word, p);
        at += word;
        p += word;
        while (*p == ' ') {
            p++;
        }
    }
    fputc('\n', out);
}

static void
print_option(FILE *out, bool shorts, char s, const char *name, const char *arg, const char *help)
{
    char left[128];
    size_t n = (size_t)snprintf(left, sizeof(left), "  ");
    if (s != 0) {
        n += (size_t)snprintf(left + n, sizeof(left) - n, "-%c%s", s, name ? ", " : "");
    } else if (shorts) {
        n += (size_t)snprintf(left + n, sizeof(left) - n, "    ");
    }
    if (name != NULL) {
        n += (size_t)snprintf(left + n, sizeof(left) - n, "--%s", name);
    }
    if (arg != NULL) {
        snprintf(left + n, sizeof(left) - n, " %s", arg);
    }
    int len = (int)strlen(left);
    if (len + 2 > HELP_COL) {
        fprintf(out, "%s\n%*s", left, HELP_COL, "");
    } else {
        fprintf(out, "%-*s", HELP_COL, left);
    }
    print_wrapped(out, help, HELP_COL);
}

void
cli_print_options(FILE *out, const struct cli_cmd *cmd)
{
    bool shorts = false;
    for (size_t i = 0; i < cmd->n_opts; i++) {
        shorts = shorts || cmd->opts[i].short_name != 0;
    }
    fprintf(out, "Options (--name value or --name=value%s):\n",
            shorts ? "; -x value or -xvalue" : "");
    for (size_t i = 0; i < cmd->n_opts; i++) {
        const struct cli_opt *o = &cmd->opts[i];
        print_option(out, shorts, o->short_name, o->name, o->arg, o->help);
    }
    print_option(out, shorts, 'h', "help", NULL, "show this help and exit");
}
