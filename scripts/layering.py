#!/usr/bin/env python3
"""layering.py - check that the library's files depend on each other only
downward, from the symbols their object files define and use.

  scripts/layering.py BUILD_DIR [--graph]

For every object file of the library's modules (BUILD_DIR/CMakeFiles/
dossier_<module>.dir/...), `nm` tells which global symbols it defines and
which it uses.  A use of a symbol defined in another file is an edge
file -> file.  The check fails (exit 1) when
  1. an edge goes from a module to one that is not below it in MODULES
     (folders are the dependency graph: arrows point down only), or
  2. files form a circle (a strongly connected set of two or more files,
     calls through a table of function pointers included, since the table
     names the functions).
--graph prints every edge.  Exit 0 when the layering holds, 2 on usage.
"""
import os
import subprocess
import sys

# Bottom up: a module may use the modules listed before it, and only those
# it names here.
MODULES = {
    "common":   [],
    "scanner":  ["common"],
    "codec":    ["common"],
    "eventlog": ["common", "codec"],
    "sets":     ["common", "codec"],
    "replay":   ["common", "codec", "eventlog", "sets"],
    "verify":   ["common", "codec", "eventlog", "sets", "replay"],
    "delivery": ["common", "codec", "eventlog"],
    "nats":     ["common", "codec", "eventlog"],
    "ingest":   ["common", "scanner", "codec", "eventlog", "sets", "replay", "delivery"],
    "watch":    ["common", "scanner", "codec", "eventlog", "sets", "replay", "delivery",
                 "ingest"],
}


def source_dir(build):
    """The source tree of a CMake build (CMakeCache.txt), or None."""
    try:
        for line in open(os.path.join(build, "CMakeCache.txt")):
            if line.startswith("CMAKE_HOME_DIRECTORY:"):
                return line.split("=", 1)[1].strip()
    except OSError:
        pass
    return None


def objects(build):
    out = {}
    src = source_dir(build)
    for mod in MODULES:
        d = os.path.join(build, "CMakeFiles", "dossier_%s.dir" % mod)
        if not os.path.isdir(d):
            continue
        for root, _, files in os.walk(d):
            for f in files:
                if f.endswith(".c.o"):
                    rel = os.path.relpath(os.path.join(root, f), d)[:-2]
                    # an object left behind by a source file since removed
                    if src and not os.path.exists(os.path.join(src, rel)):
                        continue
                    out[rel] = (mod, os.path.join(root, f))
    return out


def symbols(path):
    res = subprocess.run(["nm", path], capture_output=True, text=True, check=True)
    defined, used = set(), set()
    for line in res.stdout.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "U":
            used.add(parts[1])
        elif len(parts) == 3 and parts[1] in "TDBRVWC":
            defined.add(parts[2])
    return defined, used


def circles(nodes, edges):
    """Strongly connected components of two or more nodes (Tarjan)."""
    index, low, stack, on, out, n = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = n[0]
        n[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
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
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return out


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 2 if len(argv) < 2 else 0
    objs = objects(argv[1])
    if not objs:
        print("layering: no module objects under %s/CMakeFiles (build first)" % argv[1],
              file=sys.stderr)
        return 2
    owner, uses = {}, {}
    for f, (mod, path) in objs.items():
        d, u = symbols(path)
        for s in d:
            owner[s] = f
        uses[f] = u
    edges, problems = {}, []
    for f, u in uses.items():
        for s in sorted(u):
            g = owner.get(s)
            if g is None or g == f:
                continue
            edges.setdefault(f, set()).add(g)
            fm, gm = objs[f][0], objs[g][0]
            if fm != gm and gm not in MODULES[fm]:
                problems.append("%s (%s) uses %s from %s (%s): %s is not below %s"
                                % (f, fm, s, g, gm, gm, fm))
    if "--graph" in argv:
        for f in sorted(edges):
            for g in sorted(edges[f]):
                print("%s -> %s" % (f, g))
    for c in circles(list(uses), edges):
        problems.append("files call each other in a circle: " + ", ".join(c))
    for p in problems:
        print("layering: " + p)
    if problems:
        return 1
    print("layering: %d files in %d modules, every dependency points down"
          % (len(objs), len({m for m, _ in objs.values()})))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
