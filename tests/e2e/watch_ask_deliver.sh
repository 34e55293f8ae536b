#!/usr/bin/env bash
# watch_ask_deliver: `dossier scan --deliver` and `--endpoint NAME` while
# `dossier watch` holds the log are answered by the watcher, which records
# the run and then runs the scan's delivery window.  The endpoint is saved
# without --auto and the watcher started without --deliver, so nothing but
# an asked window can reach the receiver.  Checked:
#   - scan --deliver (a full scan) and, after an edit, --endpoint hook
#     --emit changed are answered (the JSON names the watcher), exit 0,
#     print the window's line on standard error as a scan does, and the
#     receiver gets events each time;
#   - --endpoint nope: exit 0, the note names it; -q: nothing printed;
#   - requests a scan never sends (a delivery to every endpoint and to one,
#     or no emission named) are refused at once: exit 3, no run recorded;
#   - once the watcher stops, `dossier deliver` sends what the bounded
#     windows left, and every event of the log reached the receiver, signed,
#     nothing else.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"
source "$DOSSIER_SRC/tests/support/deliver_lib.sh"

m=$(sample_copy mission)
log="$WORK/log"
receiver_endpoint "$log" hook
received() { if [ -f "$WORK/recv.ndjson" ]; then wc -l < "$WORK/recv.ndjson"; else echo 0; fi; }

start_watcher "$log" "$m" --mission-type software-dev --debounce 3600s -q
pid=$WATCH_PID
[ "$(received)" -eq 0 ] || fail "the watcher's own run delivered to an endpoint saved without --auto"

# asked LABEL ARGS...: a scan answered by this watcher, exit 0, its
# delivery line on stderr, and more requests at the receiver than before
asked() {
  local label=$1; shift
  local before got=0
  before=$(received)
  "$BIN" scan "$m" --log "$log" "$@" --json > "$WORK/ask.json" 2> "$WORK/ask.err" || got=$?
  [ "$got" -eq 0 ] || fail "$label: exit $got: $(cat "$WORK/ask.err")"
  "$PY" -c 'import json, sys
r = json.load(open(sys.argv[1]))
assert r["watcher"]["pid"] == int(sys.argv[2]), r.get("watcher")
assert r["completed"], r' "$WORK/ask.json" "$pid" || fail "$label: not the watcher's answer"
  grepq "delivery: [0-9]* delivered, [0-9]* failed attempt(s), 0 dead-lettered, [0-9]* pending (1 endpoint(s))" \
    < "$WORK/ask.err" || fail "$label: no delivery line: $(cat "$WORK/ask.err")"
  [ "$(received)" -gt "$before" ] || fail "$label: nothing reached the receiver"
}

asked "scan --deliver" --deliver
echo "one more line" >> "$m/spec.md"
asked "scan --endpoint hook --emit changed" --endpoint hook --emit changed

expect_exit 0 "$BIN" scan "$m" --log "$log" --endpoint nope 2> "$WORK/e" > /dev/null
grepq "no saved endpoint 'nope'" < "$WORK/e" || fail "unknown endpoint not said: $(cat "$WORK/e")"
expect_exit 0 "$BIN" scan "$m" --log "$log" --deliver -q > "$WORK/q.out" 2> "$WORK/q.err"
[ ! -s "$WORK/q.out" ] && [ ! -s "$WORK/q.err" ] || fail "-q printed: $(cat "$WORK/q.out" "$WORK/q.err")"

# requests no scan sends are refused before any run
n_before=$("$BIN" events --log "$log" | wc -l)
for req in 'dossier-scan=3\0emit=full\0deliver=1\0endpoint=hook\0' \
           'dossier-scan=3\0deliver=1\0' 'dossier-scan=3\0emit=both\0deliver=1\0'; do
  "$PY" "$SRC/tests/support/watch_ask_unread.py" "$log/watch.sock" "$m" "$req" \
    || fail "request $req was not refused"
done
[ "$("$BIN" events --log "$log" | wc -l)" -eq "$n_before" ] || fail "a refused request recorded a run"

kill -TERM "$pid"
wait "$pid" || fail "watch did not stop cleanly: $(cat "$WORK/watch.err")"
"$BIN" deliver --log "$log" --endpoint hook -q || fail "deliver the rest to hook"
log_ids "$log" | sort > "$WORK/ids"
# a window that ends with a request in flight leaves its event pending,
# so `deliver` may send it again: at-least-once
recv_check "$WORK/recv.ndjson" "$WORK/ids" --max-dup 5 || fail "receiver check"
echo "watch_ask_deliver: ok"
