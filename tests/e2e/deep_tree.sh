#!/usr/bin/env bash
# deep_tree: a mission folder 10,000 folders deep, scanned with a 1 MiB
# stack (what a thread or a small-stack platform gives; 8 MiB main-thread
# stacks only hide the problem).  `dossier index` must list the file at the
# bottom and exit 0 -- the walk must not recurse once per level (it keeps
# its own heap stack of levels with at most 64 folder fds open; see
# scanner/scan_walk.c), and must stay within the fd limit.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"
m="$WORK/m"
mkdir -p "$m"
echo "# spec" > "$m/spec.md"
"$PY" - "$m" <<'PYEOF'
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
os.mkdir("deep", dir_fd=fd)
for i in range(10000):
    nfd = os.open("deep" if i == 0 else "d", os.O_RDONLY, dir_fd=fd)
    os.close(fd)
    fd = nfd
    os.mkdir("d", dir_fd=fd)
f = os.open("bottom.md", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
os.write(f, b"10,000 folders down\n")
os.close(f)
PYEOF
rc=0
( ulimit -s 1024; exec "$BIN" index "$m" --jobs 2 ) > "$WORK/out.ndjson" 2> "$WORK/err" || rc=$?
[ "$rc" -eq 0 ] || { tail -5 "$WORK/err"; fail "index of a 10,000-level tree with a 1 MiB stack: exit $rc"; }
"$PY" -c '
import json, sys
paths = [json.loads(l)["relative_path"] for l in open(sys.argv[1])]
deep = [p for p in paths if p.endswith("/bottom.md")]
assert len(deep) == 1 and deep[0].count("/") == 10000, deep[:1]' "$WORK/out.ndjson" \
  || fail "the file 10,000 folders down is missing"
echo "deep_tree: 10,000 levels indexed with a 1 MiB stack"
