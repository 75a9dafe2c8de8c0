#ifndef TERN_CORE_RULE_H
#define TERN_CORE_RULE_H

/* Rule texts and rule ids.
 *
 * A rule text ("RFC 9293 3.10.7.4 ...") names the rule behind each trace
 * event; its rule id, a 32-bit number derived from the text alone, names
 * it too (event.rule and event.rule_id, tern/trace.h). The id of a text is
 *
 *     sum of c[i] * M^(i+1) over its bytes c[0], c[1], ..., modulo 2^32
 *
 * with M = TERN_RULE_ID_MUL: tern_rule_id() computes it at run time,
 * TERN_RULE_ID() from a string literal at compile time (a constant: gcc
 * folds it at any -O level, clang from -O1 on; at clang -O0 the id is the
 * same but computed at run time, and the text stays in the binary), and
 * tools/rule_ids.py on a host, where it also checks that no two texts of
 * the tree share an id and that none has id 0, which means "no rule".
 *
 * Built with TERN_NO_RULE_TEXT (CMake -DTERN_RULE_TEXT=OFF) the texts are
 * left out of the binary and only the ids stay. Rules travel down the call
 * chain as `const char *rule` parameters in both builds; without texts
 * such a parameter holds the rule's id converted to a pointer (never
 * dereferenced), and NULL still means "no rule" (tcp_close_tcb() reads it
 * as "already traced"). These macros make that work without touching the
 * callers:
 *
 * - TERN_RULE_ARG(rule): every function that carries a rule has a macro of
 *   its own name (after its declaration) that passes its rule argument
 *   through this one. A string literal (an array longer than a pointer:
 *   rule texts have 8 bytes at least) becomes its id, at compile time, so
 *   the literal never reaches the object file; a pointer (a rule parameter
 *   passed on, a rule kept in a variable, NULL) passes as it is.
 * - TERN_RULE("..."): a rule text written anywhere else: in a variable, a
 *   table, a branch of a conditional. A pointer to the text, or the id
 *   without texts. Only a string literal is accepted.
 *
 *   A bare literal in an expression (`cond ? "a" : "b"` as a rule, or
 *   `const char *rule = "..."`) is a pointer to a text: without texts it
 *   would pass as if it were an id, and keep the text in the binary. The
 *   compiler cannot tell; tools/rule_ids.py --check can, and fails on it
 *   (tests/shell/test_rule_ids.sh runs it). Write TERN_RULE() around each.
 * - TERN_RULE_OUT(rule), TERN_RULE_ID_OUT(rule): what a trace event gets,
 *   event.rule (the text; NULL without texts) and event.rule_id (computed
 *   from the text when the event is built, only when a trace callback is
 *   installed; without texts the id carried down).
 *
 * Inside the library tern_drop_rule() is a macro too (core/core.h): it
 * gives a drop reason's rule the way TERN_RULE does.
 *
 * Tables of TERN_RULE() must not be static without texts: gcc does not
 * take the folded id as a constant initializer (clang does). */
#include <stddef.h>
#include <stdint.h>

#include "tern/trace.h"

/* M: odd, so that every byte's weight is odd. */
#define TERN_RULE_ID_MUL 0x9e3779b1u
/* The longest rule text TERN_RULE_ID() hashes; a longer literal is a
 * compile error without texts (tools/rule_ids.py reports it in any build). */
#define TERN_RULE_ID_MAX 128

/* Byte i of literal s, or its terminating 0 past the end (so bytes past the
 * end add nothing and the index stays inside the array). */
#define TERN_RULE_C_(s, i)                                                                         \
    ((uint32_t)(unsigned char)((const char *)(s))[(i) < sizeof(s) - 1 ? (i) : sizeof(s) - 1])
/* Bytes i..i+7 of s, weighted M^1..M^8 (the constants are M's powers;
 * tools/rule_ids.py --check verifies them). */
#define TERN_RULE_H8_(s, i)                                                                        \
    (TERN_RULE_C_(s, i) * 0x9e3779b1u + TERN_RULE_C_(s, (i) + 1) * 0xffe6cc61u +                   \
     TERN_RULE_C_(s, (i) + 2) * 0xcc042811u + TERN_RULE_C_(s, (i) + 3) * 0x1f76bcc1u +             \
     TERN_RULE_C_(s, (i) + 4) * 0x8bc6ba71u + TERN_RULE_C_(s, (i) + 5) * 0x5ecd5121u +             \
     TERN_RULE_C_(s, (i) + 6) * 0x6364b0d1u + TERN_RULE_C_(s, (i) + 7) * 0x4b180981u)
/* The id of string literal s (its first TERN_RULE_ID_MAX bytes): chunk k
 * of 8 bytes weighted M^(8k). */
#define TERN_RULE_ID(s)                                                                            \
    ((uint32_t)(TERN_RULE_H8_(s, 0) + TERN_RULE_H8_(s, 8) * 0x4b180981u +                          \
                TERN_RULE_H8_(s, 16) * 0x5e8a5301u + TERN_RULE_H8_(s, 24) * 0x93b6dc81u +          \
                TERN_RULE_H8_(s, 32) * 0x53fda601u + TERN_RULE_H8_(s, 40) * 0x18beaf81u +          \
                TERN_RULE_H8_(s, 48) * 0x6b59f901u + TERN_RULE_H8_(s, 56) * 0xe52f8281u +          \
                TERN_RULE_H8_(s, 64) * 0x2f9f4c01u + TERN_RULE_H8_(s, 72) * 0x04095581u +          \
                TERN_RULE_H8_(s, 80) * 0x2bcd9f01u + TERN_RULE_H8_(s, 88) * 0x804c2881u +          \
                TERN_RULE_H8_(s, 96) * 0xeae4f201u + TERN_RULE_H8_(s, 104) * 0x64f7fb81u +         \
                TERN_RULE_H8_(s, 112) * 0xf7e54501u + TERN_RULE_H8_(s, 120) * 0xbd0cce81u))

#ifdef TERN_NO_RULE_TEXT
/* A literal's id as a pointer; a negative array size when the literal is
 * longer than TERN_RULE_ID_MAX. */
#define TERN_RULE_LIT_(text)                                                                       \
    ((void)sizeof(char[sizeof(text) <= TERN_RULE_ID_MAX + 1 ? 1 : -1]),                            \
     (const char *)(uintptr_t)TERN_RULE_ID(text))
#define TERN_RULE(text) TERN_RULE_LIT_("" text)
/* A literal is an array longer than a pointer (rule texts have 8 bytes at
 * least); a pointer or NULL passes. */
#define TERN_RULE_ARG(rule)                                                                        \
    (sizeof(rule) > sizeof(char *) ? TERN_RULE_LIT_(rule) : (const char *)(rule))
#define TERN_RULE_OUT(rule)    ((void)(rule), (const char *)NULL)
#define TERN_RULE_ID_OUT(rule) ((uint32_t)(uintptr_t)(rule))
#else
#define TERN_RULE(text)        ("" text)
#define TERN_RULE_ARG(rule)    (rule)
#define TERN_RULE_OUT(rule)    (rule)
#define TERN_RULE_ID_OUT(rule) tern_rule_id(rule)
#endif

#endif
