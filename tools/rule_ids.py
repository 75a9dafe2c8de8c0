#!/usr/bin/env python3
"""tools/rule_ids.py: the numeric ids of tern's rule texts.

Every trace event names the rule that made the stack act: a text such as
"RFC 9293 3.10.7.4 first: sequence number not acceptable" in event.rule,
and its id in event.rule_id. A library built without rule texts (CMake
-DTERN_RULE_TEXT=OFF) keeps only the id; this tool turns ids back into
texts on a host, from the source tree the library was built from.

    rule_ids.py                 list every rule text with its id (sorted by id)
    rule_ids.py --check         only check (exit 1 on any problem)
    rule_ids.py 0x1234abcd ...  print the text of each id (exit 1 if one is unknown)
    rule_ids.py --decode [FILE] copy FILE (or stdin) to stdout, each "rule #0x..."
                                replaced by its text
    rule_ids.py --id TEXT       print the id of TEXT
    rule_ids.py --texts         print the texts only, one a line
    --root DIR                  the source tree (default: this script's ../)

The id of a text (src/core/rule.h, where the C side computes it) is
    sum over its bytes c[i] (i = 0, 1, ...) of c[i] * M**(i + 1), modulo 2**32,
with M = TERN_RULE_ID_MUL. 0 means "no rule".

Where rule texts are (src/ and include/, outside comments):
  - TERN_RULE("...") anywhere;
  - the rule argument of a function-like macro that passes one of its
    parameters through TERN_RULE_ARG() (tcp_send_ack(st, tcb, "..."),
    stack_trace(...), ...): found from the #define lines themselves;
  - the third field of each X(NAME, "layer", "rule") in TERN_DROP_REASONS.

The check fails (exit 1) when two different texts share an id, when a text
hashes to 0, when a text is longer than TERN_RULE_ID_MAX bytes (a build
without texts cannot hash it) or shorter than 8 (it would look like a
pointer), when the constants of src/core/rule.h's macro are not the powers
of M, and when a literal reaches a rule without being the whole argument
(e.g. `cond ? "a" : "b"` as the rule, or assigned to a variable whose name
ends in "rule"): without texts such a literal can be neither hashed nor
left out; write each branch as TERN_RULE("...").
"""
import os
import re
import signal
import sys

TOKEN_RE = re.compile(
    r"""
     (?P<nl>\n)
    |(?P<cont>\\\n)
    |(?P<ws>[ \t\r\f\v]+)
    |(?P<comment>//[^\n]*|/\*.*?\*/)
    |(?P<str>(?:u8|u|U|L)?"(?:[^"\\\n]|\\.)*")
    |(?P<chr>(?:u8|u|U|L)?'(?:[^'\\\n]|\\.)*')
    |(?P<id>[A-Za-z_]\w*)
    |(?P<num>\.?\d(?:[eEpP][+-]|[\w.])*)
    |(?P<punct>\#\#|->|\+\+|--|<<=|>>=|<=|>=|==|!=|&&|\|\||[-+*/%&|^]=|<<|>>|\.\.\.|.)
    """,
    re.S | re.X,
)


class Tok:
    __slots__ = ("kind", "text", "line", "directive", "glued")

    def __init__(self, kind, text, line, directive, glued):
        self.kind = kind  # "str", "chr", "id", "num", "punct"
        self.text = text
        self.line = line
        self.directive = directive  # index of the # directive holding it, or -1
        self.glued = glued  # no white space before it


def tokenize(src):
    toks = []
    line = 1
    at_line_start = True
    directive = -1
    n_directives = 0
    glued = False
    for m in TOKEN_RE.finditer(src):
        kind = m.lastgroup
        text = m.group()
        if kind == "nl":
            line += 1
            at_line_start = True
            directive = -1
            glued = False
            continue
        if kind in ("cont", "ws", "comment"):
            line += text.count("\n")
            glued = False
            continue
        if at_line_start and text == "#":
            directive = n_directives
            n_directives += 1
        at_line_start = False
        toks.append(Tok(kind, text, line, directive, glued))
        glued = True
    return toks


ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "\\": "\\", '"': '"', "'": "'",
           "a": "\a", "b": "\b", "f": "\f", "v": "\v", "?": "?"}


def unquote(lit):
    body = lit[lit.index('"') + 1:-1]
    out = []
    i = 0
    while i < len(body):
        c = body[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        e = body[i + 1]
        if e == "x":
            m = re.match(r"[0-9a-fA-F]+", body[i + 2:])
            out.append(chr(int(m.group(), 16)))
            i += 2 + len(m.group())
        elif e in "01234567":
            m = re.match(r"[0-7]{1,3}", body[i + 1:])
            out.append(chr(int(m.group(), 8)))
            i += 1 + len(m.group())
        else:
            out.append(ESCAPES.get(e, e))
            i += 2
    return "".join(out)


def rule_id(text, mul):
    h = 0
    w = mul
    for c in text.encode("utf-8"):
        h = (h + c * w) & 0xFFFFFFFF
        w = (w * mul) & 0xFFFFFFFF
    return h


def split_args(toks, open_i):
    """toks[open_i] is '('. Returns (list of token lists, index after ')')."""
    depth = 0
    args = [[]]
    i = open_i
    while i < len(toks):
        t = toks[i]
        if t.text in "([{" and t.kind == "punct":
            depth += 1
            if depth > 1:
                args[-1].append(t)
        elif t.text in ")]}" and t.kind == "punct":
            depth -= 1
            if depth == 0:
                return args, i + 1
            args[-1].append(t)
        elif t.text == "," and depth == 1:
            args.append([])
        else:
            args[-1].append(t)
        i += 1
    return args, i


class Scan:
    def __init__(self, root):
        self.root = root
        self.texts = {}  # text -> [where, ...]
        self.errors = []
        self.files = []
        for top in ("src", "include"):
            for d, _, names in os.walk(os.path.join(root, top)):
                for n in sorted(names):
                    if n.endswith((".c", ".h")):
                        self.files.append(os.path.join(d, n))
        self.files.sort()
        self.toks = {}
        self.seen = set()  # id() of the literal tokens taken as rule texts
        for f in self.files:
            with open(f, encoding="utf-8") as fh:
                self.toks[f] = tokenize(fh.read())
        self.read_rule_h()
        self.macros = self.find_rule_macros()
        for f in self.files:
            self.scan_file(f)
        for f in self.files:
            self.find_strays(f)

    def rel(self, f):
        return os.path.relpath(f, self.root)

    def read_rule_h(self):
        path = os.path.join(self.root, "src", "core", "rule.h")
        with open(path, encoding="utf-8") as fh:
            src = fh.read()
        m = re.search(r"#define\s+TERN_RULE_ID_MUL\s+(0x[0-9a-fA-F]+)u?", src)
        n = re.search(r"#define\s+TERN_RULE_ID_MAX\s+(\d+)", src)
        if not m or not n:
            sys.exit("rule_ids.py: src/core/rule.h defines no TERN_RULE_ID_MUL or TERN_RULE_ID_MAX")
        self.mul = int(m.group(1), 16)
        self.max_len = int(n.group(1))
        # The compile-time macro: TERN_RULE_C_(s, (i) + j) * K_j in
        # TERN_RULE_H8_, TERN_RULE_H8_(s, 8k) * P_k in TERN_RULE_ID.
        src = src.replace("\\\n", " ")
        h8 = re.search(r"#define\s+TERN_RULE_H8_\(s, i\)(.*)", src)
        idm = re.search(r"#define\s+TERN_RULE_ID\(s\)(.*)", src)
        if not h8 or not idm:
            self.errors.append("src/core/rule.h: TERN_RULE_H8_ or TERN_RULE_ID not found")
            return
        ks = re.findall(r"TERN_RULE_C_\(s, (?:\(i\) \+ )?(\d+|i)\) \* (0x[0-9a-fA-F]+)u", h8.group(1))
        for j, (pos, k) in enumerate(ks):
            if int(k, 16) != pow(self.mul, j + 1, 1 << 32) or pos not in ("i", str(j)):
                self.errors.append("src/core/rule.h: TERN_RULE_H8_ term %d is not c[i+%d] * M^%d"
                                   % (j, j, j + 1))
        terms = re.findall(r"TERN_RULE_H8_\(s, (\d+)\)(?: \* (0x[0-9a-fA-F]+)u)?", idm.group(1))
        for k, (pos, p) in enumerate(terms):
            want = pow(self.mul, 8 * k, 1 << 32)
            if int(pos) != 8 * k or (int(p, 16) if p else 1) != want:
                self.errors.append("src/core/rule.h: TERN_RULE_ID term %d is not H8(s, %d) * M^%d"
                                   % (k, 8 * k, 8 * k))
        if len(ks) != 8 or len(terms) * 8 != self.max_len:
            self.errors.append("src/core/rule.h: TERN_RULE_ID covers %d bytes, TERN_RULE_ID_MAX is %d"
                               % (len(terms) * len(ks), self.max_len))

    def find_rule_macros(self):
        """name -> index of the parameter that goes through TERN_RULE_ARG."""
        macros = {}
        for f in self.files:
            toks = self.toks[f]
            i = 0
            while i < len(toks):
                t = toks[i]
                if (t.directive >= 0 and t.text == "define" and i + 2 < len(toks)
                        and toks[i + 1].kind == "id" and toks[i + 2].text == "("
                        and toks[i + 2].glued):
                    name = toks[i + 1].text
                    params, j = split_args(toks, i + 2)
                    params = [p[0].text if p else "" for p in params]
                    body = []
                    while j < len(toks) and toks[j].directive == t.directive:
                        body.append(toks[j])
                        j += 1
                    for k in range(len(body) - 3):
                        if (body[k].text == "TERN_RULE_ARG" and body[k + 1].text == "("
                                and body[k + 2].text in params and body[k + 3].text == ")"):
                            macros[name] = params.index(body[k + 2].text)
                    i = j
                    continue
                i += 1
        return macros

    def add(self, f, tok_list, what):
        for t in tok_list:
            self.seen.add(id(t))
        text = "".join(unquote(t.text) for t in tok_list)
        self.texts.setdefault(text, []).append("%s:%d" % (self.rel(f), tok_list[0].line))

    def check_expr(self, f, toks, what):
        """Literals in a rule expression must each be inside TERN_RULE()."""
        i = 0
        while i < len(toks):
            t = toks[i]
            if t.text == "TERN_RULE" and i + 1 < len(toks) and toks[i + 1].text == "(":
                _, i = split_args(toks, i + 1)
                continue
            if t.kind == "str":
                self.errors.append("%s:%d: a literal inside %s: write it TERN_RULE(\"...\")"
                                   % (self.rel(f), t.line, what))
            i += 1

    def scan_file(self, f):
        toks = self.toks[f]
        in_drops = -1
        i = 0
        while i < len(toks):
            t = toks[i]
            if t.directive >= 0:
                if t.text == "TERN_DROP_REASONS" and toks[i - 1].text == "define":
                    in_drops = t.directive
                if (in_drops == t.directive and t.text == "X" and i + 1 < len(toks)
                        and toks[i + 1].text == "("):
                    args, _ = split_args(toks, i + 1)
                    if len(args) == 3 and args[2] and all(a.kind == "str" for a in args[2]):
                        self.add(f, args[2], "drop reason")
                    else:
                        self.errors.append("%s:%d: a drop reason without a literal rule"
                                           % (self.rel(f), t.line))
                if t.text == "TERN_RULE" and i + 1 < len(toks) and toks[i + 1].text == "(":
                    self.rule_call(f, toks, i)
                i += 1
                continue
            if t.kind == "id" and i + 1 < len(toks) and toks[i + 1].text == "(":
                if t.text == "TERN_RULE":
                    self.rule_call(f, toks, i)
                elif t.text in self.macros:
                    parenthesized = (i > 0 and toks[i - 1].text == "(" and toks[i + 1].text == ")")
                    if not parenthesized:
                        args, _ = split_args(toks, i + 1)
                        k = self.macros[t.text]
                        if k < len(args) and args[k]:
                            a = args[k]
                            if all(x.kind == "str" for x in a):
                                self.add(f, a, t.text)
                            else:
                                self.check_expr(f, a, "the rule of " + t.text + "()")
            # `x_rule = ...;` / `const char *rule = ...;`
            if (t.kind == "id" and t.text.lower().endswith("rule") and i + 1 < len(toks)
                    and toks[i + 1].text == "="):
                j = i + 2
                depth = 0
                while j < len(toks):
                    x = toks[j]
                    if x.text in "([{" and x.kind == "punct":
                        depth += 1
                    elif x.text in ")]}" and x.kind == "punct":
                        if depth == 0:
                            break
                        depth -= 1
                    elif x.text in ";," and depth == 0:
                        break
                    j += 1
                self.check_expr(f, toks[i + 2:j], "the value of " + t.text)
            i += 1

    def find_strays(self, f):
        """A literal that reads like a rule ("RFC <n>...") but is none of the
        above, e.g. `return "RFC ..."` from a function whose result becomes a
        rule: without texts it would pass as if it were an id."""
        toks = self.toks[f]
        i = 0
        while i < len(toks):
            if toks[i].kind != "str":
                i += 1
                continue
            j = i
            while j < len(toks) and toks[j].kind == "str":
                j += 1
            run = toks[i:j]
            text = "".join(unquote(t.text) for t in run)
            if re.match(r"RFC \d", text) and not any(id(t) in self.seen for t in run):
                self.errors.append("%s:%d: reads like a rule text but is not one: write it "
                                   "TERN_RULE(\"...\") (or pass it to a rule macro)"
                                   % (self.rel(f), run[0].line))
            i = j

    def rule_call(self, f, toks, i):
        args, _ = split_args(toks, i + 1)
        a = args[0] if len(args) == 1 else []
        if a and all(x.kind == "str" for x in a):
            self.add(f, a, "TERN_RULE")
        elif not (len(a) == 1 and a[0].kind == "id" and toks[i].directive >= 0):
            # (#define TERN_RULE(text) itself has a parameter, not a literal)
            self.errors.append("%s:%d: TERN_RULE() takes one string literal"
                               % (self.rel(f), toks[i].line))

    def check(self):
        errors = list(self.errors)
        by_id = {}
        for text, where in self.texts.items():
            rid = rule_id(text, self.mul)
            if rid == 0:
                errors.append("%s: id 0 (means no rule): %r" % (where[0], text))
            if len(text.encode("utf-8")) > self.max_len:
                errors.append("%s: %d bytes, more than TERN_RULE_ID_MAX (%d): %r"
                              % (where[0], len(text.encode("utf-8")), self.max_len, text))
            if len(text.encode("utf-8")) < 8:
                errors.append("%s: shorter than 8 bytes: %r" % (where[0], text))
            if rid in by_id:
                errors.append("%s: id 0x%08x collides with %s: %r and %r"
                              % (where[0], rid, self.texts[by_id[rid]][0], text, by_id[rid]))
            by_id[rid] = text
        return errors, by_id


def main(argv):
    root = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    args = list(argv)
    if "--root" in args:
        k = args.index("--root")
        if k + 1 >= len(args):
            print("rule_ids.py: --root needs a directory", file=sys.stderr)
            return 2
        root = args[k + 1]
        del args[k:k + 2]
    if args and args[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0
    if args and args[0] == "--id":
        if len(args) != 2:
            print("rule_ids.py: --id takes one TEXT", file=sys.stderr)
            return 2
        mul = Scan.__new__(Scan)
        mul.root, mul.errors = root, []
        mul.read_rule_h()
        print("0x%08x" % rule_id(args[1], mul.mul))
        return 0
    scan = Scan(root)
    errors, by_id = scan.check()
    if not args or args[0] == "--check":
        if len(args) > 1:
            print("rule_ids.py: --check takes no operand", file=sys.stderr)
            return 2
        if not args:
            for rid in sorted(by_id):
                print("0x%08x  %s" % (rid, by_id[rid]))
        for e in errors:
            print("rule_ids.py: " + e, file=sys.stderr)
        print("rule_ids.py: %d rule texts in %s, %d problems"
              % (len(by_id), root, len(errors)), file=sys.stderr)
        return 1 if errors else 0
    if args[0] == "--texts":
        for text in sorted(scan.texts):
            print(text)
        return 1 if errors else 0
    if args[0] == "--decode":
        if len(args) > 2:
            print("rule_ids.py: --decode takes at most one FILE", file=sys.stderr)
            return 2
        src = open(args[1], encoding="utf-8") if len(args) == 2 else sys.stdin

        def text_of(m):
            rid = int(m.group(1), 16)
            return by_id.get(rid, m.group(0))

        for line in src:
            sys.stdout.write(re.sub(r"rule #0x([0-9a-fA-F]{8})\b", text_of, line))
        return 0
    if args[0].startswith("-"):
        print("rule_ids.py: unknown option %s (see --help)" % args[0], file=sys.stderr)
        return 2
    rc = 0
    for a in args:
        try:
            rid = int(a, 16) if a.lower().startswith("0x") else int(a, 0)
        except ValueError:
            print("rule_ids.py: %s is not an id (0x1234abcd)" % a, file=sys.stderr)
            return 2
        if rid in by_id:
            print("0x%08x  %s" % (rid, by_id[rid]))
        else:
            print("0x%08x  (unknown: no rule text in %s has this id)" % (rid, root))
            rc = 1
    return rc


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `rule_ids.py | head` ends quietly
    sys.exit(main(sys.argv[1:]))
