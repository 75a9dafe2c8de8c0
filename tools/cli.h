/*
 * tools/cli.h: the one command-line grammar of every tern subcommand.
 *
 * Each subcommand describes its options in a table (struct cli_opt) and
 * calls cli_parse(), which reads argv with getopt_long and stores every
 * value, checked, into the subcommand's own options struct. The grammar:
 *
 *   --name value, --name=value    a long option with its value
 *   -x value, -xvalue             a short option (where one exists)
 *   -ab                           short flags together
 *   --flag                        a flag; --flag=value is refused
 *   --                            the end of the options
 *
 * Options and operands may come in any order. Long names are given whole
 * (no abbreviations). A usage error prints one line on stderr,
 *
 *   tern CMD: <what is wrong, naming the option and the accepted form>; see 'tern CMD --help'
 *
 * and the subcommand exits with status 2. -h and --help print the help and
 * exit 0.
 */
#ifndef TERN_TOOLS_CLI_H
#define TERN_TOOLS_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* What an option's value is, and the type of the field it is stored in. */
enum cli_kind {
    CLI_FLAG,   /* bool, set to true; takes no value */
    CLI_LONG,   /* long: a decimal integer in [min, max] */
    CLI_U64,    /* uint64_t: a decimal integer from 0 to 2^64-1 */
    CLI_SIZE,   /* uint64_t: an integer with an optional K, M or G (binary) suffix, in [min, max] */
    CLI_REAL,   /* double: a number in [min, max], stored multiplied by scale (if not 0) */
    CLI_STRING, /* const char *: any non-empty value (a file name, a device) */
    CLI_CHOICE, /* int: the value of the name given, one of choices */
    CLI_CUSTOM, /* parse() decides; with arg NULL a flag whose effect is parse(NULL, opts) */
};

/* A name an option accepts, with the value stored for it. */
struct cli_choice {
    const char *name;
    int value;
};

struct cli_opt {
    const char *name; /* the long name without "--"; NULL: a short option only */
    char short_name;  /* the letter of -x (not h: -h is --help); 0: a long option only */
    enum cli_kind kind;
    const char *arg; /* the value's name in --help ("N", "FILE", "rack|rfc6675"); NULL: a flag */
    double min, max; /* CLI_LONG, CLI_SIZE, CLI_REAL: the accepted range */
    double scale;    /* CLI_REAL: the factor from the given unit to the stored one; 0: 1 */
    size_t offset;   /* the field in the options struct (not CLI_CUSTOM) */
    const struct cli_choice *choices; /* CLI_CHOICE: ended by a NULL name */
    /* CLI_CUSTOM: stores val into the options struct; false if val is bad. */
    bool (*parse)(const char *val, void *opts);
    const char *form; /* CLI_CUSTOM: what parse accepts ("A.B.C.D/N"), for errors */
    const char *help; /* one paragraph; --help wraps it */
};

/* A subcommand's grammar. */
struct cli_cmd {
    const char *name; /* "ping": messages start "tern ping: " */
    const struct cli_opt *opts;
    size_t n_opts;
    int max_operands;         /* more is a usage error */
    const char *operand_note; /* said with an extra operand ("the target is always ...") */
};

#define CLI_OK    0
#define CLI_USAGE 2 /* a usage error, already reported: exit with this status */
#define CLI_HELP  3 /* -h or --help: print the help and exit 0 */

/* Reads argv[1..argc-1]: stores each option's value into *opts, and the
 * operands, in order, into operands[0..*n_operands-1] (room for
 * cmd->max_operands). Returns CLI_OK, CLI_HELP, or CLI_USAGE after one
 * line on stderr. */
int cli_parse(const struct cli_cmd *cmd, int argc, char **argv, void *opts, char **operands,
              int *n_operands);

/* Prints the table's options as --help shows them, -h, --help last. */
void cli_print_options(FILE *out, const struct cli_cmd *cmd);

/* Reports a usage error of cmd in the grammar's form (printf format);
 * returns CLI_USAGE. */
int cli_usage_error(const struct cli_cmd *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A macro's value as a string, for help texts: CLI_STR(MAX_REPS) is "15". */
#define CLI_STR_(x) #x
#define CLI_STR(x)  CLI_STR_(x)

/* Value parsers for CLI_CUSTOM options: the whole string must be the number. */
bool cli_parse_long(const char *s, long min, long max, long *out);
bool cli_parse_u64(const char *s, unsigned long long *out);

#endif
