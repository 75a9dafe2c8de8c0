/*
 * tools/bundled.h: the scenarios bundled into the tern binary
 * (the .tern files of scenarios/, embedded at build time by tools/embed_scenarios.cmake).
 */
#ifndef TERN_TOOLS_BUNDLED_H
#define TERN_TOOLS_BUNDLED_H

#include <stddef.h>

struct tern_bundled {
    const char *name; /* the file name without ".tern": "rfc9293-fig6" */
    const char *text; /* the file's bytes, NUL-terminated */
    size_t len;       /* bytes, without the NUL */
};

/* Sorted by name. */
extern const struct tern_bundled tern_bundled_scenarios[];
extern const size_t tern_bundled_scenario_count;

#endif
