#!/usr/bin/env bash
# `dossier watch` through a burst of 100,000 file creations (in 100 new
# folders) while it watches: far more events than the kernel's inotify queue
# holds (the watcher is stopped while they appear), so it must notice the
# overflow, say so once on stderr, and fall back to a rescan.  Once the tree
# is quiet, the watched log's latest
# snapshot equals a fresh `scan` of the same tree (artifact set and parity
# hash), every new file has been recorded, no event_id is stored twice, and
# the log passes `verify`.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"
m="$WORK/mission"
cp -r "$SRC/examples/sample-mission" "$m"
rm -rf "$m/.dossier"
"$BIN" watch "$m" --log "$WORK/log" --debounce 200 --json \
  > "$WORK/runs.ndjson" 2> "$WORK/watch.err" &
pid=$!
CLEANUP_PIDS+=("$pid")
wait_snapshot "$WORK/log"
# The 100 folders exist and are watched first (a file created inside a
# folder the watcher has not seen yet queues no event at all); then the
# watcher is stopped (SIGSTOP) while the files appear in them, so it cannot
# drain the queue: the kernel's queue overflows for real.
for d in $(seq -f '%03g' 0 99); do
  mkdir -p "$m/burst/d$d"
  echo "seed $d" > "$m/burst/d$d/seed.txt"
done
wait_recorded "$WORK/log" burst/d099/seed.txt
sleep 0.5   # the folders' watches are added as their runs record them
kill -STOP "$pid"
"$PY" - "$m/burst" <<'PYEOF'
import os, sys
root = sys.argv[1]
for d in range(100):
    for i in range(1000):
        fd = os.open(f"{root}/d{d:03d}/f{i:04d}.txt", os.O_WRONLY | os.O_CREAT, 0o644)
        os.write(fd, f"burst {d}/{i}\n".encode())
        os.close(fd)
PYEOF
kill -CONT "$pid"
expect_exit 0 "$BIN" scan "$m" --log "$WORK/fresh" -q
parity() { "$BIN" snapshot --log "$1" --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["parity_hash_sha256"])'; }
want=$(parity "$WORK/fresh")
got=""
for _ in $(seq 1 600); do
  got=$(parity "$WORK/log" 2> /dev/null || true)
  [ "$got" = "$want" ] && break
  sleep 0.5
done
[ "$got" = "$want" ] || fail "the watched snapshot ($got) never reached a fresh scan's ($want)"
kill -TERM "$pid"
wait "$pid" || fail "watch did not stop cleanly on SIGTERM"
notes=$(grep -c 'inotify event queue overflowed' "$WORK/watch.err" || true)
[ "$notes" -eq 1 ] || fail "expected one overflow note on stderr, got $notes: $(cat "$WORK/watch.err")"
"$BIN" events --log "$WORK/log" > "$WORK/ev.ndjson"
"$PY" - "$WORK/ev.ndjson" <<'PYEOF' || fail "events (above)"
import json, sys
ids, paths = set(), set()
for line in open(sys.argv[1]):
    e = json.loads(line)
    assert e["event_id"] not in ids, "event_id stored twice: " + e["event_id"]
    ids.add(e["event_id"])
    if e["event_type"] == "mission_dossier_artifact_indexed":
        p = e["payload"]["relative_path"]
        if p.startswith("burst/") and not p.endswith("/seed.txt"):
            paths.add(p)
assert len(paths) == 100000, f"{len(paths)} of the 100,000 new files recorded"
PYEOF
expect_exit 0 "$BIN" verify --log "$WORK/log" -q
echo "watch_burst ok: $(wc -l < "$WORK/runs.ndjson") runs, $notes overflow note(s)"
