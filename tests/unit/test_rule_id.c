/*
 * tests/unit/test_rule_id.c: rule ids (src/core/rule.h). This file is
 * compiled as the library is without rule texts (TERN_NO_RULE_TEXT) and
 * linked against the library with texts, so that the compile-time id of a
 * literal (TERN_RULE_ID, what a build without texts carries) meets the
 * run-time one (tern_rule_id, what a build with texts computes when it
 * emits an event) in one program.
 *
 * tests/shell/test_rule_ids.sh checks the same agreement on whole runs and
 * against tools/rule_ids.py.
 */
#define TERN_NO_RULE_TEXT 1

#include <stdint.h>
#include <string.h>

#include "check.h"
#include "core/rule.h"
#include "tern/stats.h"
#include "tern/trace.h"

#define S16  "0123456789abcdef"
#define S64  S16 S16 S16 S16
#define S128 S64 S64

/* The definition, written out: sum of c[i] * M^(i+1) modulo 2^32. */
static uint32_t
by_definition(const char *s)
{
    uint32_t id = 0, w = 1;
    for (size_t i = 0; s[i] != '\0'; i++) {
        w *= TERN_RULE_ID_MUL;
        id += (uint32_t)(unsigned char)s[i] * w;
    }
    return id;
}

#define SAME(lit)                                                                                  \
    do {                                                                                           \
        CHECK_EQ(TERN_RULE_ID(lit), tern_rule_id(lit));                                            \
        CHECK_EQ(tern_rule_id(lit), by_definition(lit));                                           \
    } while (0)

/* Every chunk boundary of the macro (8 bytes, 8 chunks) up to the
 * longest text it takes: a byte past the end must add nothing, a byte
 * before it must count with its own weight. */
static void
test_compile_time_equals_run_time(void)
{
    SAME("");
    SAME("a");
    SAME("0123456");
    SAME("01234567");
    SAME("012345678");
    SAME(S16);
    SAME(S16 "x");
    SAME(S64 "0123456");
    SAME(S64);
    SAME(S64 "x");
    SAME(S64 S16 S16 S16 "0123456789abcde");
    SAME(S128);
    SAME("RFC 9293 3.10.7.4 first: sequence number not acceptable");
    SAME("\x01\x7f\x80\xff high bytes count as unsigned");
    /* The weights are M, M^2, ...: "ab" and "ba" differ. */
    CHECK_EQ(tern_rule_id("ab"),
             (uint32_t)('a' * TERN_RULE_ID_MUL + 'b' * (TERN_RULE_ID_MUL * TERN_RULE_ID_MUL)));
    CHECK(tern_rule_id("ab") != tern_rule_id("ba"));
    CHECK_EQ(tern_rule_id(NULL), 0);
}

static const char *
pass_on(const char *rule)
{
    return TERN_RULE_ARG(rule);
}

/* What travels down the call chain without texts: a literal becomes its
 * id, a rule passed on (or kept in a variable) and NULL stay as they are;
 * the event gets no text and the id. */
static void
test_no_text_macros(void)
{
    const char *lit = TERN_RULE_ARG("RFC 9293 3.10.1: passive OPEN -> LISTEN");
    CHECK_EQ((uintptr_t)lit, tern_rule_id("RFC 9293 3.10.1: passive OPEN -> LISTEN"));
    CHECK(pass_on(lit) == lit);
    CHECK(pass_on(NULL) == NULL);
    CHECK(TERN_RULE_ARG(NULL) == NULL);
    const char *var = TERN_RULE("RFC 5681 3.2: duplicate ACK counted");
    CHECK(pass_on(var) == var);
    CHECK_EQ(TERN_RULE_ID_OUT(var), tern_rule_id("RFC 5681 3.2: duplicate ACK counted"));
    CHECK(TERN_RULE_OUT(var) == NULL);
    CHECK_EQ(TERN_RULE_ID_OUT(pass_on(NULL)), 0);
    /* A conditional of TERN_RULE()s: each branch its own id. */
    for (int c = 0; c < 2; c++) {
        const char *r =
            c ? TERN_RULE("RFC 1122 3.3.6: accepted, addressed to a broadcast address")
              : TERN_RULE("RFC 1122 3.2.1.3: accepted, addressed to one of our addresses");
        CHECK_EQ(TERN_RULE_ID_OUT(pass_on(r)),
                 tern_rule_id(c ? "RFC 1122 3.3.6: accepted, addressed to a broadcast address"
                                : "RFC 1122 3.2.1.3: accepted, addressed to one of our addresses"));
    }
}

/* Drop reasons: tern_drop_rule_id() is the id of tern_drop_rule()'s text
 * (this program links the library with texts), never 0, and two reasons
 * share an id only when they share the text. */
static void
test_drop_rule_ids(void)
{
    for (int r = 0; r < TERN_DROP_COUNT; r++) {
        const char *text = tern_drop_rule((enum tern_drop_reason)r);
        uint32_t id = tern_drop_rule_id((enum tern_drop_reason)r);
        CHECK(text != NULL);
        CHECK_EQ(id, tern_rule_id(text));
        CHECK(id != 0);
        for (int q = 0; q < r; q++) {
            if (tern_drop_rule_id((enum tern_drop_reason)q) == id) {
                CHECK_STR(tern_drop_rule((enum tern_drop_reason)q), text);
            }
        }
    }
    CHECK_EQ(tern_drop_rule_id(TERN_DROP_COUNT), 0);
    CHECK_EQ(tern_drop_rule_id((enum tern_drop_reason) - 1), 0);
}

int
main(void)
{
    RUN(test_compile_time_equals_run_time);
    RUN(test_no_text_macros);
    RUN(test_drop_rule_ids);
    return CHECK_DONE();
}
