#ifndef TERN_CORE_RULE_H
#define TERN_CORE_RULE_H

/* Rule texts ("RFC 9293 3.10.7.4 ...") name the rule behind each trace
 * event. Built with TERN_NO_RULE_TEXT (CMake -DTERN_RULE_TEXT=OFF) they are
 * left out of the binary: every function that carries a rule to a trace
 * event has a macro of its own name (after its declaration) that passes
 * TERN_RULE_ARG(rule) instead, so the literal at the call never reaches the
 * object file, and the event's rule is NULL. A rule stored in a variable
 * first is written TERN_RULE("..."). Whether a rule was given at all stays
 * known (tcp_close_tcb() reads NULL as "already traced"): a given rule
 * becomes the empty string on its way down, and the event is built with
 * TERN_RULE_OUT(rule), which is NULL. Without the option all three are the
 * identity. */
#include <stddef.h>

#ifdef TERN_NO_RULE_TEXT
static inline const char *
tern_rule_given_(const char *rule)
{
    return rule != NULL ? "" : NULL;
}
#define TERN_RULE(text)     ""
#define TERN_RULE_ARG(rule) tern_rule_given_(rule)
#define TERN_RULE_OUT(rule) ((void)(rule), (const char *)NULL)
#else
#define TERN_RULE(text)     (text)
#define TERN_RULE_ARG(rule) (rule)
#define TERN_RULE_OUT(rule) (rule)
#endif

#endif
