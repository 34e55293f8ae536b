#!/usr/bin/env bash
# hostile_paths: a mission folder built to hurt a scanner -- names with
# newlines, quotes and control characters, names that are not UTF-8, paths
# longer than PATH_MAX, a tree 1,000 folders deep (10,000: deep_tree.sh),
# symlinks pointing out of
# the folder, symlink loops, a FIFO, and a folder with many entries
# (HOSTILE_ENTRIES, default 50,000; DOSSIER_TEST_HUGE=1 makes it 1,000,000).
# `dossier scan` must finish, every event must validate against the
# schemas, nothing outside the folder is ever read, and everything it could
# not index is a warning naming the entry.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"

m="$WORK/m"
mkdir -p "$m" "$WORK/outside"
echo "# spec" > "$m/spec.md"
echo "secret outside the mission" > "$WORK/outside/secret.txt"
entries=${HOSTILE_ENTRIES:-50000}
[ "${DOSSIER_TEST_HUGE:-}" = 1 ] && entries=1000000

depth=${HOSTILE_DEPTH:-1000}
"$PY" - "$m" "$WORK/outside" "$entries" "$depth" <<'PYEOF'
import os, sys
root, outside, entries, depth = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
def w(rel, text):
    p = os.path.join(root, rel)
    with open(p, "wb") as f:
        f.write(text)
os.makedirs(f"{root}/odd", exist_ok=True)
w("odd/new\nline.md", b"newline in the name\n")
w('odd/quote"back\\slash.md', b"quotes\n")
w("odd/tab\tand\x01ctl.txt", b"control characters\n")
w(b"odd/bad-\xff\xfe-utf8.md".decode("utf-8", "surrogateescape"), b"name is not UTF-8\n")
w("odd/caf\u00e9-\u6f22\u5b57.md", b"fine UTF-8 name\n")
# paths longer than PATH_MAX (4096): 20 folders of 250 characters
fd = os.open(root, os.O_RDONLY)
for i in range(20):
    name = f"{i:03d}" + "L" * 247
    os.mkdir(name, dir_fd=fd)
    nfd = os.open(name, os.O_RDONLY, dir_fd=fd)
    os.close(fd)
    fd = nfd
f = os.open("long.md", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
os.write(f, b"at the end of a 5000-byte path\n")
os.close(f)
os.close(fd)
# depth levels deep
fd = os.open(root, os.O_RDONLY)
os.mkdir("deep", dir_fd=fd)
for i in range(depth):
    nfd = os.open("deep" if i == 0 else "d", os.O_RDONLY, dir_fd=fd)
    os.close(fd)
    fd = nfd
    os.mkdir("d", dir_fd=fd)
f = os.open("bottom.md", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
os.write(f, b"folders down\n")
os.close(f)
os.close(fd)
# links out of the folder, loops, a FIFO
os.makedirs(f"{root}/links", exist_ok=True)
os.symlink(f"{outside}/secret.txt", f"{root}/links/abs-out.txt")
os.symlink("../../outside/secret.txt", f"{root}/links/rel-out.txt")
os.symlink(outside, f"{root}/links/dir-out")
os.symlink("loop-b", f"{root}/links/loop-a")
os.symlink("loop-a", f"{root}/links/loop-b")
os.symlink("..", f"{root}/links/up")
os.symlink("/", f"{root}/links/root")
os.mkfifo(f"{root}/links/fifo")
# many entries in one folder
os.makedirs(f"{root}/many", exist_ok=True)
for i in range(entries):
    open(f"{root}/many/e{i:07d}.txt", "w").close()
PYEOF

log="$WORK/log"
rc=0
timeout 300 "$BIN" scan "$m" --log "$log" --jobs 2 2> "$WORK/err" > "$WORK/out" || rc=$?
[ "$rc" -eq 0 ] || { tail -20 "$WORK/err"; fail "scan exit $rc"; }
# `scan` counts the skipped entries; `index` names each one on stderr.
rc=0
timeout 300 "$BIN" index "$m" --jobs 2 --list-skipped > /dev/null 2> "$WORK/err" || rc=$?
[ "$rc" -eq 0 ] || { tail -20 "$WORK/err"; fail "index exit $rc"; }
nwarn=$(grep -ac "warning:" "$WORK/err" || true)
grep -aq "skipped *$nwarn entr" "$WORK/out" || { cat "$WORK/out"; fail "scan does not count the $nwarn skipped entries"; }
"$BIN" events --log "$log" > "$WORK/events.ndjson"
"$PY" "$SRC/tests/support/validate_events.py" "$SRC/schemas" "$WORK/events.ndjson" > /dev/null \
  || fail "events do not validate against the schemas"
expect_exit 0 "$BIN" verify --log "$log" -q

"$PY" - "$WORK/events.ndjson" "$WORK/err" "$entries" "$depth" <<'PYEOF' || fail "scan results"
import json, sys
events = [json.loads(l) for l in open(sys.argv[1])]
err = open(sys.argv[2], encoding="utf-8", errors="replace").read()
entries, depth = int(sys.argv[3]), int(sys.argv[4])
paths = {e["payload"]["relative_path"] for e in events
         if e["event_type"] == "mission_dossier_artifact_indexed"}
def need(cond, what):
    if not cond:
        sys.exit("FAIL: " + what)
need("odd/new\nline.md" in paths, "name with a newline not indexed")
need('odd/quote"back\\slash.md' in paths, "name with quotes not indexed")
need("odd/tab\tand\x01ctl.txt" in paths, "name with control characters not indexed")
need("odd/caf\u00e9-\u6f22\u5b57.md" in paths, "UTF-8 name not indexed")
need(not any("bad-" in p for p in paths), "a non-UTF-8 name was indexed")
need("bad-" in err, "no warning for the non-UTF-8 name")
long = [p for p in paths if p.endswith("/long.md")]
need(len(long) == 1 and len(long[0]) > 4096, "the path longer than PATH_MAX was not indexed")
deep = [p for p in paths if p.endswith("/bottom.md")]
need(len(deep) == 1 and deep[0].count("/") == depth, f"the file {depth} folders deep was not indexed")
need(not any(p.startswith("links/") for p in paths), "something under links/ was indexed")
for name in ("abs-out.txt", "rel-out.txt", "dir-out", "loop-a", "root", "fifo"):
    need(f"links/{name}" in err, f"no warning for links/{name}")
many = sum(1 for p in paths if p.startswith("many/"))
need(many == entries, f"{many} of {entries} entries of many/ indexed")
print(f"hostile_paths: {len(events)} events, {len(paths)} artifacts; warnings named every skipped entry")
PYEOF
! grep -rq "secret outside the mission" "$WORK/events.ndjson" || fail "content from outside was read"
