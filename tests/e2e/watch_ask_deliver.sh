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
make_secret
chmod 600 "$SECRET"
start_receiver recv --secret-file "$SECRET" --deadline 120
"$BIN" endpoint add hook --log "$log" --url "http://127.0.0.1:$RECV_PORT/hooks/dossier" \
  --secret-file "$SECRET" > /dev/null || fail "endpoint add hook"
received() { if [ -f "$WORK/recv.ndjson" ]; then wc -l < "$WORK/recv.ndjson"; else echo 0; fi; }

"$BIN" watch "$m" --log "$log" --mission-type software-dev --debounce 3600s -q \
  2> "$WORK/watch.err" &
pid=$!
CLEANUP_PIDS+=("$pid")
wait_snapshot "$log"
[ -S "$log/watch.sock" ] || fail "no socket in the watcher's log folder"
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

# requests no scan sends are refused before any run (the framing: u32
# length and bytes; the answer: u32 exit status, then standard output and
# error as length and bytes)
n_before=$("$BIN" events --log "$log" | wc -l)
for req in 'dossier-scan=3\0emit=full\0deliver=1\0endpoint=hook\0' \
           'dossier-scan=3\0deliver=1\0' 'dossier-scan=3\0emit=both\0deliver=1\0'; do
  "$PY" - "$log/watch.sock" "$m" "$req" > "$WORK/e" <<'PYEOF' || fail "request $req: $(cat "$WORK/e")"
import socket, struct, sys
req = sys.argv[3].replace("\\0", "\0").encode() + b"mission=" + sys.argv[2].encode() + b"\0arg=m\0"
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.sendall(struct.pack("<I", len(req)) + req)
def take(n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            sys.exit("the watcher closed the connection")
        b += c
    return b
code = struct.unpack("<i", take(4))[0]
out = take(struct.unpack("<I", take(4))[0])
err = take(struct.unpack("<I", take(4))[0]).decode()
print(code, err)
assert code == 3 and not out and "does not read" in err, (code, out, err)
PYEOF
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
