/*
 * tools/sim.c: `tern sim`, runs a scenario in the simulator and prints the
 * conversation as RFC 9293 section 3.5-3.6 draws it.
 *
 *   tern sim                      the basic three-way handshake (rfc9293-fig6)
 *   tern sim NAME                 a bundled scenario (tern sim --list)
 *   tern sim FILE                 a scenario file (docs/scenarios.md)
 *   tern sim --explain ...        the RFC rules under each line
 *   tern sim --pcap OUT ...       the drawn link's packets as a capture
 *   tern sim --print NAME         the source of a bundled scenario
 *
 * Exit status: 0 when every expectation held, 1 when one failed (the
 * message names it and its line), 2 for a usage error, a scenario that does
 * not parse or a run error.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundled.h"
#include "cli.h"
#include "tern/scenario.h"
#include "tern/stack.h"

int tern_cmd_sim(int argc, char **argv);

#define DEFAULT_SCENARIO "rfc9293-fig6"
#define MAX_FILE_BYTES   (1024 * 1024)

static const struct tern_bundled *
find_bundled(const char *name)
{
    for (size_t i = 0; i < tern_bundled_scenario_count; i++) {
        if (strcmp(tern_bundled_scenarios[i].name, name) == 0) {
            return &tern_bundled_scenarios[i];
        }
    }
    return NULL;
}

/* What the command line asks for. */
struct sim_opts {
    bool list;
    const struct tern_bundled *print; /* --print NAME */
    bool explain;
    const char *pcap;
};

static bool
set_print(const char *name, void *opts)
{
    struct sim_opts *o = opts;
    o->print = find_bundled(name);
    return o->print != NULL;
}

/* One option to an entry, its fields together. */
/* clang-format off */
static const struct cli_opt sim_opts[] = {
    {.name = "list", .kind = CLI_FLAG, .offset = offsetof(struct sim_opts, list),
     .help = "list the bundled scenarios with their titles"},
    {.name = "print", .kind = CLI_CUSTOM, .arg = "NAME", .parse = set_print,
     .form = "the name of a bundled scenario, as 'tern sim --list' shows them",
     .help = "print the source of a bundled scenario"},
    {.name = "explain", .kind = CLI_FLAG, .offset = offsetof(struct sim_opts, explain),
     .help = "print under each line the RFC rules that produced it"},
    {.name = "pcap", .kind = CLI_STRING, .arg = "FILE", .offset = offsetof(struct sim_opts, pcap),
     .help = "write the packets of the drawn link to FILE (pcap)"},
};
/* clang-format on */

static const struct cli_cmd sim_cmd = {
    .name = "sim",
    .opts = sim_opts,
    .n_opts = sizeof(sim_opts) / sizeof(sim_opts[0]),
    .max_operands = 1,
    .operand_note = "one scenario at a time",
};

static void
usage(FILE *out)
{
    fprintf(out,
            "usage: tern sim [--explain] [--pcap FILE] [SCENARIO]\n"
            "       tern sim --list | --print NAME | --help\n"
            "\n"
            "Runs a scenario in the simulator (virtual time, no privileges) and prints the\n"
            "conversation the way RFC 9293 section 3.5 draws its figures: numbered lines,\n"
            "each side's state after the departure or arrival of a segment, --> and <--,\n"
            "'...' for a segment still in the network, comments in parentheses.\n"
            "\n"
            "SCENARIO is the name of a bundled scenario (see --list) or a scenario file\n"
            "(format: docs/scenarios.md). Without SCENARIO, runs %s, the basic\n"
            "three-way handshake.\n"
            "\n",
            DEFAULT_SCENARIO);
    cli_print_options(out, &sim_cmd);
    fprintf(out, "\n"
                 "Exit status: 0 all expectations held, 1 an expectation failed,\n"
                 "2 usage error, scenario error or run error.\n");
}

/* Names in the order a reader expects: runs of digits compare as numbers,
 * so rfc9293-fig6 comes before rfc9293-fig10. */
static int
natural_cmp(const void *pa, const void *pb)
{
    const char *a = (*(const struct tern_bundled *const *)pa)->name;
    const char *b = (*(const struct tern_bundled *const *)pb)->name;
    while (*a != '\0' && *b != '\0') {
        if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
            char *ea, *eb;
            unsigned long long na = strtoull(a, &ea, 10), nb = strtoull(b, &eb, 10);
            if (na != nb) {
                return na < nb ? -1 : 1;
            }
            a = ea;
            b = eb;
        } else if (*a != *b) {
            return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
        } else {
            a++;
            b++;
        }
    }
    return (*a != '\0') - (*b != '\0');
}

static int
list(void)
{
    int width = 16; /* the names, then the titles in one column */
    const struct tern_bundled **order = malloc(tern_bundled_scenario_count * sizeof(*order) + 1);
    if (order == NULL) {
        fprintf(stderr, "tern sim: out of memory\n");
        return 2;
    }
    for (size_t i = 0; i < tern_bundled_scenario_count; i++) {
        int n = (int)strlen(tern_bundled_scenarios[i].name);
        width = n > width ? n : width;
        order[i] = &tern_bundled_scenarios[i];
    }
    qsort(order, tern_bundled_scenario_count, sizeof(*order), natural_cmp);
    for (size_t i = 0; i < tern_bundled_scenario_count; i++) {
        const struct tern_bundled *b = order[i];
        struct tern_scenario *sc = NULL;
        char err[256];
        const char *title = "(does not parse)";
        if (tern_scenario_parse(b->name, b->text, b->len, &sc, err, sizeof(err)) == TERN_OK) {
            title = tern_scenario_title(sc);
        }
        printf("%-*s %s\n", width, b->name, title);
        tern_scenario_free(sc);
    }
    free(order);
    return 0;
}

/* Reads a whole file (at most MAX_FILE_BYTES). Returns NULL with a message
 * on stderr. */
static char *
read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    char *buf = malloc(MAX_FILE_BYTES + 1);
    if (buf == NULL) {
        fclose(f);
        return NULL;
    }
    *len = fread(buf, 1, MAX_FILE_BYTES + 1, f);
    bool bad = ferror(f) != 0 || *len > MAX_FILE_BYTES;
    fclose(f);
    if (bad) {
        fprintf(stderr, "tern sim: cannot read '%s' (error or larger than %d bytes)\n", path,
                MAX_FILE_BYTES);
        free(buf);
        return NULL;
    }
    buf[*len] = '\0';
    return buf;
}

static int
run(const char *arg, const struct tern_scenario_opts *opts)
{
    const struct tern_bundled *b = find_bundled(arg);
    char *owned = NULL;
    const char *text;
    size_t len;
    if (b != NULL) {
        text = b->text;
        len = b->len;
    } else {
        owned = read_file(arg, &len);
        if (owned == NULL) {
            fprintf(stderr,
                    "tern sim: no bundled scenario or readable file named '%s'; see "
                    "'tern sim --list'\n",
                    arg);
            return 2;
        }
        text = owned;
    }
    struct tern_scenario *sc = NULL;
    char err[512];
    int rc = tern_scenario_parse(arg, text, len, &sc, err, sizeof(err));
    free(owned);
    if (rc != TERN_OK) {
        fprintf(stderr, "tern sim: %s\n", rc == TERN_ERR_INVAL ? err : tern_strerror(rc));
        return 2;
    }
    int result = tern_scenario_run(sc, opts, stdout, stderr);
    fflush(stdout);
    tern_scenario_free(sc);
    return result;
}

int
tern_cmd_sim(int argc, char **argv)
{
    struct sim_opts o = {0};
    char *scenario[1];
    int n;
    int rc = cli_parse(&sim_cmd, argc, argv, &o, scenario, &n);
    if (rc != CLI_OK) {
        if (rc == CLI_HELP) {
            usage(stdout);
            return 0;
        }
        return rc;
    }
    if (o.list || o.print != NULL) {
        /* Nothing runs: whatever would shape a run is a mistake. */
        const char *what = o.list ? "--list" : "--print";
        if (o.list && o.print != NULL) {
            return cli_usage_error(&sim_cmd, "--list and --print exclude each other");
        }
        if (n > 0) {
            return cli_usage_error(&sim_cmd, "%s runs no scenario (got '%s')", what, scenario[0]);
        }
        if (o.explain || o.pcap != NULL) {
            return cli_usage_error(&sim_cmd,
                                   "%s runs no scenario: --explain and --pcap go with one", what);
        }
        if (o.list) {
            return list();
        }
        fwrite(o.print->text, 1, o.print->len, stdout);
        return 0;
    }
    struct tern_scenario_opts opts = {
        .explain = o.explain, .pcap_path = o.pcap, .prefix = "tern sim: "};
    return run(n > 0 ? scenario[0] : DEFAULT_SCENARIO, &opts);
}
