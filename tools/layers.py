#!/usr/bin/env python3
"""tools/layers.py: the include-and-call graph of tern's modules, and the
edges that break the layering (docs/design.md, "Layers").

The order, lowest first (a module may use those before it, never after):

    wire <- core <- link <- ip <- {tcp, udp} <- root <- svc <- api <- drivers <- {tools, preload}

tcp and udp share a rank: transports side by side over ip, neither may
include or call the other (an edge between modules of the same rank is a
violation, like an edge up).

  wire     src/wire     packet formats; libc and other wire headers only
  core     src/core     services below every layer: config, clock, rng,
                        hash, timers, counters, pool, trace (core/core.h)
  link     src/link     Ethernet and ARP
  ip       src/ip       IPv4, ICMP, reassembly
  tcp      src/tcp      TCP; src/tcp/api.c is its tern_tcp_* entry points
  udp      src/udp      UDP, its socket table and tern_udp_* entry points
  root     src/stack    the composition root: knows every layer
  svc      src/svc      services built on the public API (DHCP client, DNS
                        resolver): public headers and src/wire only
  api      src/api      the socket runtime, a user of the stack
  drivers  drivers/*    packet paths (sim, TUN, pcap, scenarios)
  tools    tools/*.c    the tern command
  preload  preload/     libtern_preload.so: it defines libc's names (read,
                        close...), which are libc's everywhere else, so its
                        definitions are not call targets of other modules

Rules (each violation is printed as FILE:LINE: what):
  1. An include or a call goes down the order or stays in its module
     (never sideways, between modules of the same rank).
  2. src/wire includes only wire headers.
  3. api, drivers and tools include only public headers (include/tern/)
     and headers of their own directory, and call into other modules only
     functions that a public header declares.
  4. No file of src/tcp but api.c calls a function defined in src/tcp/api.c
     (the engine owns its primitives; api.c is a thin layer on top).
  5. The module graph has no circle.

Edges. An include edge: `#include "x"` resolved against the file's own
directory, src/, include/, drivers/ and tools/. A call edge: a function
defined in module B (universal-ctags finds the definitions; names written
`type (name)(args)` to escape a macro are found by a pattern) whose name
appears followed by `(` in a file of module A, outside comments and
strings, and not after `.` or `->`. A function passed by name (a
registration) is not a call: calls through function pointers are the way
a lower layer reaches a higher one.

Known violations: tools/layers.known lists edges that are tolerated for
now, one a line: `FILE include HEADER` or `FILE call FUNCTION`, then `#`
and why. They are printed, not counted; a line that matches nothing any
more is printed as stale (delete it).

Usage: tools/layers.py [--root DIR] [--known FILE] [--quiet]
Exit status: 0 clean, 1 violations or a circle, 2 the tool could not run.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys

# Ranks, lowest first; the modules of one rank may not use each other.
ORDER = ["wire", "core", "link", "ip", ("tcp", "udp"), "root", "svc", "api", "drivers",
         ("tools", "preload")]
RANK = {m: i for i, r in enumerate(ORDER) for m in (r if isinstance(r, tuple) else (r,))}
ORDER_TEXT = " <- ".join("{%s}" % ", ".join(r) if isinstance(r, tuple) else r for r in ORDER)
SRC_MODULES = {"wire": "wire", "core": "core", "link": "link", "ip": "ip", "tcp": "tcp",
               "udp": "udp",
               "stack": "root", "svc": "svc", "api": "api"}
PUBLIC_ONLY = {"api", "drivers", "tools", "preload"}
TCP_API = "src/tcp/api.c"


def rel(a, b):
    """How module a stands to module b in a violation's text."""
    return "above" if RANK[a] > RANK[b] else "beside"


def module_of(path):
    """(module, own directory) of a path relative to the tree, or (None, None)."""
    parts = path.split("/")
    if parts[0] == "src" and len(parts) > 2:
        return SRC_MODULES.get(parts[1]), "src/" + parts[1]
    if parts[0] == "drivers" and len(parts) > 2:
        return "drivers", "drivers/" + parts[1]
    if parts[0] == "tools" and len(parts) == 2:
        return "tools", "tools"
    if parts[0] == "preload" and len(parts) == 2:
        return "preload", "preload"
    if parts[0] == "include" and len(parts) > 2 and parts[1] == "tern":
        return "public", "include/tern"
    return None, None


def strip_c(text):
    """The text with comments, string and character literals blanked out
    (newlines kept, so that line numbers still hold)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "/" and i + 1 < n and text[i + 1] == "*":
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == "/" and i + 1 < n and text[i + 1] == "/":
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(c + re.sub(r"[^\n]", " ", text[i + 1:j - 1]) + c)
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def line_of(text, pos):
    return text.count("\n", 0, pos) + 1


def list_files(root):
    files = []
    for top in ("src", "drivers", "include/tern", "preload"):
        for d, _, names in os.walk(os.path.join(root, top)):
            for name in names:
                if name.endswith((".c", ".h")):
                    files.append(os.path.relpath(os.path.join(d, name), root))
    tools = os.path.join(root, "tools")
    if os.path.isdir(tools):
        files += ["tools/" + f for f in os.listdir(tools) if f.endswith((".c", ".h"))]
    return sorted(f for f in files if module_of(f)[0] is not None)


# `void(name)(args) {`: a definition written so that a function-like macro
# of the same name does not expand (the rule-text macros of core/rule.h).
PAREN_DEF = re.compile(r"^[A-Za-z_][\w \t\*]*\(\s*([A-Za-z_]\w*)\s*\)\s*\([^;{]*\)\s*\{", re.M)


def definitions(root, files, texts):
    """name -> list of (file, is_static) for every function defined."""
    ctags = shutil.which("ctags")
    if ctags is None:
        print("layers: universal-ctags is needed (Debian package universal-ctags)", file=sys.stderr)
        sys.exit(2)
    proc = subprocess.run([ctags, "--output-format=json", "--languages=C", "--language-force=C",
                           "--kinds-C=f", "--fields=+n", "-o", "-"] + files,
                          cwd=root, capture_output=True, text=True)
    if proc.returncode != 0:
        print("layers: ctags failed: " + proc.stderr.strip(), file=sys.stderr)
        sys.exit(2)
    defs = {}
    for line in proc.stdout.splitlines():
        try:
            tag = json.loads(line)
        except ValueError:
            continue
        if tag.get("_type") != "tag" or tag.get("kind") != "function":
            continue
        defs.setdefault(tag["name"], set()).add((tag["path"], bool(tag.get("file"))))
    for f in files:
        for m in PAREN_DEF.finditer(texts[f]):
            is_static = m.group(0).lstrip().startswith("static")
            defs.setdefault(m.group(1), set()).add((f, is_static))
    return {k: sorted(v) for k, v in defs.items()}


def public_names(files, texts):
    names = set()
    for f in files:
        if module_of(f)[0] == "public":
            names.update(re.findall(r"\b(tern_\w+)\s*\(", texts[f]))
    return names


INCLUDE = re.compile(r'^[ \t]*#[ \t]*include[ \t]+"([^"]+)"', re.M)
CALL = re.compile(r"(?<![\w.>])([A-Za-z_]\w*)\s*\(")


def resolve_include(root, f, name):
    for base in (os.path.dirname(f), "src", "include", "drivers", "tools"):
        p = os.path.normpath(os.path.join(base, name))
        if os.path.isfile(os.path.join(root, p)):
            return p
    return None


def callee_file(name, f, defs, included):
    """The file whose definition of `name` a call in f reaches, or None."""
    cands = defs.get(name)
    if not cands:
        return None
    for path, _ in cands:
        if path == f:
            return None  # its own
    extern = [p for p, st in cands if not st and p.endswith(".c")]
    if len(extern) == 1:
        return extern[0]
    # Static inline functions of headers the file includes.
    headers = [p for p, _ in cands if p.endswith(".h") and p in included]
    if len(headers) == 1:
        return headers[0]
    return None


def analyse(root):
    files = list_files(root)
    texts = {}
    for f in files:
        with open(os.path.join(root, f), encoding="utf-8", errors="replace") as fh:
            texts[f] = fh.read()
    stripped = {f: strip_c(t) for f, t in texts.items()}
    # preload's functions are libc's names: never a call target (see above).
    defs = definitions(root, [f for f in files if module_of(f)[0] != "preload"], stripped)
    public = public_names(files, stripped)
    edges = {}  # (A, B) -> [includes, calls]
    violations = []  # (file, line, kind, target, message)

    def edge(a, b, k):
        if a != b and a != "public" and b != "public":
            edges.setdefault((a, b), [0, 0])[k] += 1

    for f in files:
        mod, own = module_of(f)
        if mod == "public":
            continue
        raw = texts[f]
        included = set()
        for m in INCLUDE.finditer(raw):
            name = m.group(1)
            line = line_of(raw, m.start())
            path = resolve_include(root, f, name)
            if path is None:
                violations.append((f, line, "include", name,
                                   '#include "%s" names no file of the tree' % name))
                continue
            included.add(path)
            tmod, town = module_of(path)
            if tmod is None:
                violations.append((f, line, "include", name,
                                   "%s includes %s, outside the library's modules" % (mod, path)))
                continue
            edge(mod, tmod, 0)
            if mod == "wire" and tmod != "wire":
                violations.append((f, line, "include", name,
                                   "wire includes %s (%s): wire includes only wire" % (name, tmod)))
            elif mod == "svc" and tmod not in ("public", "wire", "svc"):
                violations.append((f, line, "include", name,
                                   "svc includes %s (%s): svc uses public headers and src/wire "
                                   "only" % (name, tmod)))
            elif mod in PUBLIC_ONLY and tmod != "public" and town != own:
                violations.append((f, line, "include", name,
                                   "%s includes %s (%s): %s uses public headers (include/tern/) "
                                   "only" % (mod, name, tmod, mod)))
            elif tmod != "public" and tmod != mod and RANK[tmod] >= RANK[mod]:
                violations.append((f, line, "include", name,
                                   "%s includes %s: %s is %s %s" % (mod, name, tmod, rel(tmod, mod),
                                                                     mod)))
        text = stripped[f]
        for m in CALL.finditer(text):
            name = m.group(1)
            target = callee_file(name, f, defs, included)
            if target is None:
                continue
            tmod, _ = module_of(target)
            if tmod is None or tmod == "public":
                continue
            line = line_of(text, m.start())
            edge(mod, tmod, 1)
            where = "%s (defined in %s)" % (name, target)
            if tmod != mod and RANK[tmod] >= RANK[mod]:
                violations.append((f, line, "call", name,
                                   "%s calls %s: %s is %s %s" % (mod, where, tmod, rel(tmod, mod),
                                                                 mod)))
            elif mod == "svc" and tmod not in ("svc", "wire") and name not in public:
                violations.append((f, line, "call", name,
                                   "svc calls %s, which no public header declares" % where))
            elif tmod != mod and mod in PUBLIC_ONLY and name not in public:
                violations.append((f, line, "call", name,
                                   "%s calls %s, which no public header declares" % (mod, where)))
            if (mod == "tcp" and target == TCP_API and f != TCP_API
                    and not f.endswith(".h")):
                violations.append((f, line, "call", name,
                                   "the TCP engine calls %s: engine primitives live outside "
                                   "api.c" % where))
    return edges, violations


def circles(edges):
    """Strongly connected sets of more than one module (Tarjan)."""
    graph = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)
        graph.setdefault(b, set())
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp, key=lambda m: RANK.get(m, 99)))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def read_known(path):
    known = []
    if path and os.path.isfile(path):
        with open(path, encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                body = line.split("#", 1)[0].split()
                if not body:
                    continue
                if len(body) != 3 or body[1] not in ("include", "call"):
                    print("layers: %s:%d: expected FILE include|call TARGET" % (path, n),
                          file=sys.stderr)
                    sys.exit(2)
                known.append(tuple(body))
    return known


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--root", default=os.path.dirname(here), help="the source tree")
    ap.add_argument("--known", default=None,
                    help="tolerated violations (default: ROOT/tools/layers.known)")
    ap.add_argument("--quiet", action="store_true", help="violations only")
    args = ap.parse_args()
    root = os.path.abspath(args.root)
    known = read_known(args.known if args.known is not None
                       else os.path.join(root, "tools", "layers.known"))
    edges, violations = analyse(root)
    cyc = circles(edges)

    if not args.quiet:
        print("layers: %s (public headers: include/tern/)" % ORDER_TEXT)
        print("module graph (A -> B: A includes or calls B):")
        for (a, b), (inc, calls) in sorted(edges.items(),
                                           key=lambda e: (RANK[e[0][0]], RANK[e[0][1]])):
            back = "   BACK EDGE" if a != b and RANK[b] >= RANK[a] else ""
            print("  %-7s -> %-7s %4d includes %5d calls%s" % (a, b, inc, calls, back))
        print("circles: " + ("; ".join(" -> ".join(c + c[:1]) for c in cyc) if cyc else "none"))

    used = set()
    bad = []
    for v in sorted(violations):
        key = (v[0], v[2], v[3])
        if key in known:
            used.add(key)
            if not args.quiet:
                print("known: %s:%d: %s" % (v[0], v[1], v[4]))
        else:
            bad.append(v)
    for k in known:
        if k not in used:
            print("stale entry in layers.known (nothing matches it; delete it): %s" % " ".join(k))
    for v in bad:
        print("violation: %s:%d: %s" % (v[0], v[1], v[4]))
    for c in cyc:
        print("violation: circle between modules: " + " -> ".join(c + c[:1]))
    n = len(bad) + len(cyc)
    print("layers: %d violation%s, %d known" % (n, "" if n == 1 else "s", len(used)))
    return 1 if n else 0


if __name__ == "__main__":
    sys.exit(main())
