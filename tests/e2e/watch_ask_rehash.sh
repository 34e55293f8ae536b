#!/usr/bin/env bash
# watch_ask_rehash: `dossier scan --rehash` and `--verify-cache` while
# `dossier watch` holds the log are answered by the watcher with a run over
# the whole tree that reads every file.  The change it is there to catch is
# one inotify does not report: a write through a shared mmap (inotify(7)
# reports nothing for mmap writes, and the file's close comes only when the
# mapping goes, which a helper holds meanwhile).  Checked, for both options:
#   - after such an edit, a plain asked `scan --emit changed` does not see it
#     (its parity differs from a fresh scan's): the watching's known limit;
#   - the asked --verify-cache / --rehash scan is answered by the watcher,
#     reads every file (no cache entry taken as unchanged), records the edit
#     and its parity equals a fresh scan's of the same tree;
#   - the next plain asked scan finds nothing more and agrees with it too.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"
m=$(sample_copy mission)
log="$WORK/log"
# files older than the racy window: their cache entries are trusted, so a
# whole-tree run that is not told to read every file reads none of them
find "$m" -type f -exec touch -d '1 hour ago' {} +
start_watcher "$log" "$m" --mission-type software-dev --debounce 3600s -q
pid=$WATCH_PID

fresh() {   # the parity of a scan of the tree as it is now, into a new log
  rm -rf "$WORK/fresh"
  "$BIN" scan "$m" --log "$WORK/fresh" --mission-type software-dev --json \
    | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["parity_hash_sha256"])'
}
# asked LABEL ARGS...: a scan the watcher answers; sets indexed,
# unchanged (cache entries taken unread) and parity from its JSON
asked() {
  local label=$1; shift
  local got=0
  "$BIN" scan "$m" --log "$log" "$@" --json > "$WORK/ask.json" 2> "$WORK/ask.err" || got=$?
  [ "$got" -le 1 ] || fail "$label: exit $got: $(cat "$WORK/ask.err")"
  "$PY" -c 'import json, sys
r = json.load(open(sys.argv[1]))
assert r["watcher"]["pid"] == int(sys.argv[2]), r.get("watcher")
print(r["indexed"], r["cache"]["unchanged"], r["parity_hash_sha256"])' "$WORK/ask.json" "$pid" \
    > "$WORK/ask.res" || fail "$label: not the watcher's answer"
  read -r indexed unchanged parity < "$WORK/ask.res"
}

# mmap_edit FILE: flip a byte of FILE through a shared mapping, held open
# (no close event) until $WORK/release exists
mmap_edit() {
  rm -f "$WORK/release" "$WORK/mapped"
  "$PY" - "$1" "$WORK/mapped" "$WORK/release" <<'PYEOF' &
import mmap, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR)
m = mmap.mmap(fd, 0)          # MAP_SHARED
os.close(fd)                  # the mapping keeps the file open
m[0] = m[0] ^ 1
m.flush()                     # msync: in the file, and no inotify event
open(sys.argv[2], "w").close()
for _ in range(1200):
    if os.path.exists(sys.argv[3]):
        break
    time.sleep(0.1)
m.close()
PYEOF
  mapper=$!
  CLEANUP_PIDS+=("$mapper")
  for _ in $(seq 1 100); do [ -e "$WORK/mapped" ] && break; sleep 0.1; done
  [ -e "$WORK/mapped" ] || fail "the mmap helper did not write"
}
release() { touch "$WORK/release"; wait "$mapper" || fail "the mmap helper failed"; }

for opt in --verify-cache --rehash; do
  mmap_edit "$m/plan.md"
  want=$(fresh)
  asked "plain, $opt round" --emit changed
  [ "$indexed" -eq 0 ] && [ "$parity" != "$want" ] \
    || fail "$opt round: the watcher saw an mmap write ($indexed indexed); the test needs one it misses"
  asked "$opt" "$opt" --emit changed
  [ "$unchanged" -eq 0 ] || fail "$opt: $unchanged file(s) taken from the cache unread"
  [ "$indexed" -eq 1 ] || fail "$opt: $indexed artifact(s) indexed, expected the edited one"
  [ "$parity" = "$want" ] || fail "$opt: the answer's parity differs from a fresh scan's"
  release
  asked "plain, after $opt" --emit changed
  [ "$indexed" -eq 0 ] && [ "$parity" = "$want" ] || fail "after $opt: $indexed indexed, parity $parity"
done

kill -TERM "$pid"
wait "$pid" || fail "watch did not stop cleanly: $(cat "$WORK/watch.err")"
expect_exit 0 "$BIN" verify --log "$log" -q
echo "watch_ask_rehash: ok"
