#!/usr/bin/env bash
# `dossier scan` while `dossier watch` holds the log: the scan asks the
# watcher, which records the run and answers with what the scan would
# print.  Checked:
#   - after every kind of change made just before the scan (edit, new file,
#     new folder with files, delete, rename, folder removed, a required
#     artifact deleted, an edit that keeps size and mtime aside), asked in
#     turn with --emit changed and as a full scan, the answer's snapshot
#     parity equals that of a fresh scan of the same tree into another log,
#     and the exit status is the scan's (1 while a required artifact is
#     missing); a full answer records an artifact_indexed for every present
#     artifact and an artifact_missing for every missing one, as the fresh
#     full scan does; the debounce is an hour, so only the asking can have
#     recorded the run;
#   - the answer is the scan's report: human text with the watcher named,
#     and --json valid against schemas/reports/scan.schema.json;
#   - four scans asking at once are all answered, one run each, the edit
#     made before them indexed by exactly one;
#   - a scan the watcher cannot answer is refused, naming why: other
#     settings, a request of a version it does not read (exit 3, and no run
#     recorded) (scans with --deliver or --endpoint are answered:
#     watch_ask_deliver; with --rehash or --verify-cache: watch_ask_rehash);
#   - once the watcher stops (SIGTERM) its socket is gone and scans run
#     themselves; a watcher killed with SIGKILL leaves its socket, which
#     answers nobody and is replaced by the next watcher.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"
m=$(sample_copy mission)
log="$WORK/log"
start_watcher "$log" "$m" --mission-type software-dev --debounce 3600s -v
pid=$WATCH_PID

parity_json() { "$PY" -c 'import json,sys; print(json.load(sys.stdin)["parity_hash_sha256"])'; }
fresh() {   # the parity of a scan of the tree as it is now, into a new log
  rm -rf "$WORK/fresh"
  "$BIN" scan "$m" --log "$WORK/fresh" --mission-type software-dev --json \
    > "$WORK/fresh.json" 2> /dev/null || true   # 1 while a required artifact is missing
  parity_json < "$WORK/fresh.json"
}
# asked EXPECTED_EXIT MODE: a scan answered by the watcher (MODE changed:
# with --emit changed; full: without), compared with a fresh full one
round=0
asked() {
  round=$((round + 1))
  local got=0 emit=()
  [ "$2" = changed ] && emit=(--emit changed)
  "$BIN" scan "$m" --log "$log" "${emit[@]}" --json > "$WORK/ask.json" \
    2> "$WORK/ask.err" || got=$?
  [ "$got" -eq "$1" ] || fail "round $round ($2): exit $got, expected $1: $(cat "$WORK/ask.err")"
  local want
  want=$(fresh)
  "$PY" - "$WORK/ask.json" "$pid" "$2" "$WORK/fresh.json" <<'PYEOF' \
    || fail "round $round ($2): the answer (above)"
import json, sys
r = json.load(open(sys.argv[1]))
mode = sys.argv[3]
assert r["watcher"]["pid"] == int(sys.argv[2]), r.get("watcher")
assert r["emit_mode"] == mode and r["completed"], r
if mode == "full":
    # every artifact, as the scan of its own recorded them
    f = json.load(open(sys.argv[4]))
    for k in ("indexed", "missing", "removed"):
        assert r[k] == f[k], (k, r[k], f[k])
    assert r["indexed"] == r["artifact_counts"]["present"], r
PYEOF
  [ "$(parity_json < "$WORK/ask.json")" = "$want" ] \
    || fail "round $round ($2): the watcher's answer differs from a fresh scan ($want)"
}

asked 0 changed                                          # nothing changed: a run all the same
asked 0 full                                             # ... and a full one
echo "one more line" >> "$m/spec.md";  asked 0 changed   # an edit
echo "again" >> "$m/spec.md";          asked 0 full
echo "new" > "$m/notes.md";             asked 0 full      # a new file
mkdir -p "$m/extra/deep"
echo a > "$m/extra/deep/a.md"; echo b > "$m/extra/b.md"; asked 0 changed   # a new folder
rm "$m/notes.md";                       asked 0 full      # a file deleted
mv "$m/extra/b.md" "$m/extra/c.md";     asked 0 changed   # a rename
mv "$m/extra/c.md" "$m/extra/d.md";     asked 0 full
rm -rf "$m/extra";                      asked 0 full      # a folder removed
mv "$m/spec.md" "$WORK/spec.md.away";   asked 1 full      # the required artifact gone
asked 1 changed
mv "$WORK/spec.md.away" "$m/spec.md";   asked 0 changed   # ... and back
# an edit that keeps the size, with the mtime put back: stat says unchanged,
# inotify saw the write
for mode in changed full; do
  cp -p "$m/plan.md" "$WORK/plan.md.orig"
  "$PY" -c 'import sys; p=sys.argv[1]; b=bytearray(open(p,"rb").read()); b[0]^=1; open(p,"wb").write(b)' "$m/plan.md"
  touch -r "$WORK/plan.md.orig" "$m/plan.md"
  asked 0 "$mode"
done

rc=0
"$PY" "$SRC/tests/support/check_reports.py" "$SRC/schemas/reports" scan "$WORK/ask.json" || rc=$?
[ "$rc" -eq 0 ] || [ "$rc" -eq 77 ] || fail "the answer does not match scan.schema.json"

# several scans asking at once are answered one after the other
echo "for the crowd" >> "$m/plan.md"
for i in 1 2 3 4; do
  "$BIN" scan "$m" --log "$log" --emit changed --json > "$WORK/crowd$i.json" 2> "$WORK/crowd$i.err" &
  crowd[$i]=$!
done
for i in 1 2 3 4; do
  wait "${crowd[$i]}" || fail "a scan of the crowd failed: $(cat "$WORK/crowd$i.err")"
done
want=$(fresh)
indexed=0
for i in 1 2 3 4; do
  [ "$(parity_json < "$WORK/crowd$i.json")" = "$want" ] || fail "crowd answer $i differs from a fresh scan"
  indexed=$((indexed + $("$PY" -c 'import json,sys; print(json.load(sys.stdin)["indexed"])' < "$WORK/crowd$i.json")))
done
[ "$indexed" -eq 1 ] || fail "the edit was indexed $indexed times by the crowd, not once"
round=$((round + 4))

"$BIN" scan "$m" --log "$log" --emit changed > "$WORK/human.out"
grepq "answered by 'dossier watch' (pid $pid)" < "$WORK/human.out" \
  || fail "the human answer does not name the watcher: $(cat "$WORK/human.out")"
grepq '^dossier scan: .*mission (feature mission)$' < "$WORK/human.out" \
  || fail "the human answer is not the scan's summary"

# what the watcher cannot answer
expect_exit 3 "$BIN" scan "$m" --log "$log" --emit changed --mission-type research 2> "$WORK/e"
grepq -- '--mission-type differs' < "$WORK/e" || fail "mismatch not named: $(cat "$WORK/e")"
expect_exit 3 "$BIN" scan "$WORK" --log "$log" --emit changed 2> "$WORK/e"
grepq 'another mission folder' < "$WORK/e" || fail "other folder not named: $(cat "$WORK/e")"

# a request of a later version than this watcher reads (as a newer scan
# would send) is refused at once, with no run (counted below), rather than
# answered as one it knows
"$PY" "$SRC/tests/support/watch_ask_unread.py" "$log/watch.sock" "$m" 'dossier-scan=9\0' \
  || fail "a request of an unknown version was answered"

# the runs are the watcher's: its starting one and one per answered scan
# (the rounds and the human one), and the log is sound
kill -TERM "$pid"
wait "$pid" || fail "watch did not stop cleanly on SIGTERM"
[ ! -e "$log/watch.sock" ] || fail "the socket outlived the watcher"
n=$(grep -c 'recorded' "$WORK/watch.err" || true)
[ "$n" -eq $((round + 2)) ] || fail "expected $((round + 2)) recorded runs, got $n: $(cat "$WORK/watch.err")"
expect_exit 0 "$BIN" verify --log "$log" -q
expect_exit 0 "$BIN" scan "$m" --log "$log" --emit changed -q   # runs itself now

# a watcher killed outright leaves its socket: nobody answers there, the
# scan runs itself, and the next watcher takes the name over
"$BIN" watch "$m" --log "$log" --debounce 3600s -q &
pid=$!
CLEANUP_PIDS+=("$pid")
for _ in $(seq 1 300); do [ -S "$log/watch.sock" ] && break; sleep 0.1; done
kill -9 "$pid"
wait "$pid" 2> /dev/null || true
[ -S "$log/watch.sock" ] || fail "expected the killed watcher's socket to remain"
expect_exit 0 "$BIN" scan "$m" --log "$log" --emit changed -q
"$BIN" watch "$m" --log "$log" --debounce 3600s -q &
pid=$!
CLEANUP_PIDS+=("$pid")
# the new watcher listens once it holds the log; a scan asking before that
# finds nobody and would take the lock itself, so wait for a connect to
# succeed (the watcher drops a connection that sends nothing)
"$PY" - "$log/watch.sock" <<'PYEOF' || fail "the new watcher never listened"
import socket, sys, time
for _ in range(300):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(sys.argv[1])
        sys.exit(0)
    except OSError:
        time.sleep(0.1)
    finally:
        s.close()
sys.exit(1)
PYEOF
ok=0
for _ in $(seq 1 300); do
  if "$BIN" scan "$m" --log "$log" --emit changed --json > "$WORK/ask.json" 2> /dev/null; then
    ok=1; break
  fi
  sleep 0.1
done
[ "$ok" = 1 ] || fail "the new watcher did not answer"
grepq "\"pid\":$pid" < "$WORK/ask.json" || fail "answered by another process: $(cat "$WORK/ask.json")"
kill -TERM "$pid"
wait "$pid" || fail "the second watcher did not stop cleanly"
echo "watch_ask ok: $round rounds"
