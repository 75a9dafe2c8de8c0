/*
 * tools/tern.c: the `tern` command line: global options and dispatch to a
 * subcommand (tools/<command>.c, each with one entry point declared below).
 *
 * Exit status: what the subcommand returns; 2 for a usage error (every
 * subcommand: its command line follows tools/cli.h).
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "tern/stack.h"

/* Version of the tool; keep equal to project(VERSION) in CMakeLists.txt. */

/* Subcommand entry points: argv[0] is the subcommand's name. */
int tern_cmd_ping(int argc, char **argv);
int tern_cmd_sim(int argc, char **argv);
int tern_cmd_tun(int argc, char **argv);
int tern_cmd_tap(int argc, char **argv);
int tern_cmd_bench(int argc, char **argv);

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
    {"ping", tern_cmd_ping, "ping a simulated host across an impaired link (virtual time)"},
    {"sim", tern_cmd_sim, "run a scenario and draw it as RFC 9293 draws its figures"},
    {"tun", tern_cmd_tun, "run tern on a TUN device: serve echo/discard/http, get, send, recv"},
    {"tap", tern_cmd_tap, "the same on a TAP (Ethernet) device"},
    {"bench", tern_cmd_bench, "benchmark two stacks in memory against Linux TCP on loopback"},
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void
usage(FILE *out)
{
    fprintf(out, "usage: tern <command> [options]\n"
                 "       tern --help | --version\n"
                 "\n"
                 "tern is a user-space TCP/IP stack; this tool drives it.\n"
                 "\n"
                 "Commands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++) {
        fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
    }
    fprintf(out, "\n"
                 "Options:\n"
                 "  -h, --help   show this help and exit\n"
                 "  --version    print the version and exit\n"
                 "\n"
                 "Run 'tern <command> --help' for the options of a command.\n");
}

static const struct command *
find_command(const char *name)
{
    for (size_t i = 0; i < N_COMMANDS; i++) {
        if (strcmp(commands[i].name, name) == 0) {
            return &commands[i];
        }
    }
    return NULL;
}

int
main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *arg = argv[1];
    /* The options of tern itself and `help CMD` take nothing more; the
     * subcommands read the rest of the line with tools/cli.c. */
    bool help_cmd = strcmp(arg, "help") == 0;
    bool own =
        strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0 || strcmp(arg, "--version") == 0;
    if ((own || help_cmd) && argc > 2 + help_cmd) {
        fprintf(stderr, "tern: unexpected operand '%s'; see 'tern --help'\n", argv[2 + help_cmd]);
        return 2;
    }
    if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(arg, "--version") == 0) {
        printf("tern %s\n", tern_version());
        return 0;
    }
    if (help_cmd) {
        if (argc < 3) {
            usage(stdout);
            return 0;
        }
        const struct command *c = find_command(argv[2]);
        if (c == NULL) {
            fprintf(stderr, "tern: unknown command '%s'; see 'tern --help'\n", argv[2]);
            return 2;
        }
        char help[] = "--help";
        char *args[] = {argv[2], help, NULL};
        return c->run(2, args);
    }
    if (arg[0] == '-') {
        fprintf(stderr, "tern: unknown option '%s'; see 'tern --help'\n", arg);
        return 2;
    }
    const struct command *c = find_command(arg);
    if (c == NULL) {
        fprintf(stderr, "tern: unknown command '%s'; see 'tern --help'\n", arg);
        return 2;
    }
    return c->run(argc - 1, argv + 1);
}
