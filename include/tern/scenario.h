/*
 * include/tern/scenario.h: scenario files, their runner, and the diagram
 * renderer that draws a simulated conversation the way RFC 9293 section
 * 3.5-3.6 draws its figures.
 *
 * A scenario is a small text file (docs/scenarios.md) that declares hosts
 * and a link, then scripts user calls (OPEN, SEND, CLOSE, ABORT), crashes,
 * held / dropped / delayed / injected segments, time steps and
 * expectations. tern_scenario_parse() turns the text into a program;
 * tern_scenario_run() runs it in a fresh simulation (tern/sim.h) and prints
 * the diagram.
 *
 * The diagram is built by struct tern_diagram from two sources only: the
 * simulator's observer (packet events) and the stacks' trace events (state
 * changes, segments sent and dropped, each with its rule). Nothing in the
 * renderer knows about particular figures. It is public so that tests can
 * feed it synthetic events.
 *
 * Memory: both objects allocate with malloc and free everything in their
 * *_free function. No global state.
 */
#ifndef TERN_SCENARIO_H
#define TERN_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tern/sim.h"
#include "tern/trace.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Scenarios ---------------------------------------------------------- */

struct tern_scenario;

/*
 * Parses `len` bytes of scenario text. `name` (a file name, or a bundled
 * scenario's name) is used in error messages only. On success stores the
 * program in *out and returns TERN_OK. On a parse error returns
 * TERN_ERR_INVAL, stores NULL in *out and writes one message of the form
 * "NAME:LINE: expected ..., got '...'" into err (at most err_len bytes,
 * always terminated when err_len > 0). TERN_ERR_NOMEM if allocation fails.
 */
int tern_scenario_parse(const char *name, const char *text, size_t len, struct tern_scenario **out,
                        char *err, size_t err_len);

/* Frees a parsed scenario. NULL is a no-op. */
void tern_scenario_free(struct tern_scenario *sc);

/* The scenario's `title` line ("" if it has none). Valid until freed. */
const char *tern_scenario_title(const struct tern_scenario *sc);

struct tern_scenario_opts {
    bool explain;          /* print the RFC rules under each diagram line */
    const char *pcap_path; /* write the drawn link's packets there (tern_sim_capture), or NULL */
    const char *prefix;    /* written before each message on `err` ("tern sim: "), or NULL */
};

/*
 * Runs the scenario in a new simulation and writes its diagram to `out`.
 * Failures (an expectation not met, a user call or simulator call that
 * failed) are written to `err` as "NAME:LINE: ..." lines. Returns 0 when
 * everything held, 1 when an expectation failed, 2 for a run error (a call
 * the scenario asked for was refused, the pcap file could not be written).
 * The diagram is printed in every case.
 */
int tern_scenario_run(const struct tern_scenario *sc, const struct tern_scenario_opts *opts,
                      FILE *out, FILE *err);

/* ---- The diagram ---------------------------------------------------------- */

struct tern_diagram;

/* How segment text is drawn: <DATA=10> (count, the default) or <DATA>. */
enum tern_diagram_data_style { TERN_DIAGRAM_DATA_COUNT, TERN_DIAGRAM_DATA_PLAIN };

/*
 * A diagram of the conversation between two simulated hosts: `left` and
 * `right` are their sim host ids, `left_name` / `right_name` (copied) name
 * the columns ("TCP Peer A"). Returns NULL if allocation fails. Drawing is
 * on from the start.
 */
struct tern_diagram *tern_diagram_new(int left, const char *left_name, int right,
                                      const char *right_name);
void tern_diagram_free(struct tern_diagram *d);

void tern_diagram_set_data_style(struct tern_diagram *d, enum tern_diagram_data_style s);

/* Turns drawing off (setup steps) or on. Turning it on starts a new
 * picture: its first line shows both sides' states at that moment. */
void tern_diagram_set_drawing(struct tern_diagram *d, bool on);

/*
 * Context. The caller says what the next trace events belong to:
 * tern_diagram_step() before each simulator step (an arrival, or a timer
 * when the step has no arrival), tern_diagram_user() before a user call on
 * `host`, tern_diagram_user_end() after it.
 */
void tern_diagram_step(struct tern_diagram *d);
void tern_diagram_user(struct tern_diagram *d, int host, int64_t now_ns);
void tern_diagram_user_end(struct tern_diagram *d);

/* Feeds a simulator observer event / a trace event of host `host`. */
void tern_diagram_observe(struct tern_diagram *d, const struct tern_sim_event *ev);
void tern_diagram_trace(struct tern_diagram *d, int host, const struct tern_trace_event *ev);

/* A comment on `host`'s side ("(Close)"), drawn above the next line. */
void tern_diagram_mark(struct tern_diagram *d, int host, const char *text);

/* `host` crashed; `reboot` when it came back at once. `peer_note` (may be
 * NULL) is drawn on the other side, e.g. "(send 300,receive 100)". */
void tern_diagram_crash(struct tern_diagram *d, int host, bool reboot, const char *peer_note,
                        int64_t now_ns);

/* A label drawn on the sending side when packet `id` arrives, e.g.
 * "(duplicate)" for an injected old duplicate. */
void tern_diagram_label(struct tern_diagram *d, uint64_t id, const char *label);

/* Writes the diagram. With `explain`, the rules of each line follow it. */
void tern_diagram_render(const struct tern_diagram *d, bool explain, FILE *out);

#ifdef __cplusplus
}
#endif

#endif
