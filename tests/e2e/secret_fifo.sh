#!/usr/bin/env bash
# secret_fifo: a FIFO (or a folder) given as a secret or credentials file is
# refused at once with an error naming the file -- `endpoint add`, `deliver`,
# the delivery window of `scan` and `publish --creds` used to block forever
# in open() (issue 17 item 10).  Every command runs under a 20 s timeout: a
# hang fails the test instead of the suite.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"
source "$DOSSIER_SRC/tests/support/deliver_lib.sh"

m=$(sample_copy)
log="$WORK/log"
mkfifo "$WORK/fifo"
port=$(closed_port)
T="timeout -s KILL 20"

run() {  # WANT_EXIT WHAT cmd...: exit code, no hang, the error names the FIFO
  local want=$1 what=$2; shift 2
  local rc=0
  $T "$@" > "$WORK/out" 2> "$WORK/err" || rc=$?
  [ "$rc" -ne 137 ] || fail "$what: hung on the FIFO (killed after 20 s)"
  [ "$rc" -eq "$want" ] || { cat "$WORK/err"; fail "$what: exit $rc, expected $want"; }
}

"$BIN" scan "$m" --mission-type software-dev --log "$log" -q > /dev/null || [ $? -eq 1 ] || fail "first scan"

run 2 "endpoint add" "$BIN" endpoint add hook --url "http://127.0.0.1:$port/" \
  --secret-file "$WORK/fifo" --log "$log"
grep -q "$WORK/fifo.*not a regular file" "$WORK/err" || { cat "$WORK/err"; fail "endpoint add: error does not name the FIFO"; }
run 2 "endpoint add (a folder)" "$BIN" endpoint add hook --url "http://127.0.0.1:$port/" \
  --secret-file "$WORK" --log "$log"

run 2 "deliver --secret-file" "$BIN" deliver --url "http://127.0.0.1:$port/" \
  --secret-file "$WORK/fifo" --log "$log" -q
grep -q "$WORK/fifo.*not a regular file" "$WORK/err" || { cat "$WORK/err"; fail "deliver: error does not name the FIFO"; }

# A saved endpoint whose secret file became a FIFO: scan's delivery window
# and deliver fail on it without blocking.
make_secret
cp "$SECRET" "$WORK/swap.key"
"$BIN" endpoint add auto --url "http://127.0.0.1:$port/" --secret-file "$WORK/swap.key" \
  --auto --log "$log" || fail "endpoint add with a regular secret file"
rm "$WORK/swap.key"
mkfifo "$WORK/swap.key"
echo "changed" >> "$m/spec.md" 2>/dev/null || echo "changed" > "$m/new-note.md"
rc=0
$T "$BIN" scan "$m" --mission-type software-dev --log "$log" > "$WORK/out" 2> "$WORK/err" || rc=$?
[ "$rc" -ne 137 ] || fail "scan: hung on the endpoint's FIFO secret"
grep -q "swap.key.*not a regular file" "$WORK/out" "$WORK/err" || { cat "$WORK/out" "$WORK/err"; fail "scan: the delivery note does not name the FIFO"; }
run 2 "deliver --endpoint" "$BIN" deliver --endpoint auto --log "$log" -q
grep -q "swap.key.*not a regular file" "$WORK/err" || { cat "$WORK/err"; fail "deliver --endpoint: error does not name the FIFO"; }

if "$BIN" publish --help > /dev/null 2>&1; then
  run 2 "publish --creds" "$BIN" publish --nats "nats://127.0.0.1:$port" --creds "$WORK/fifo" --log "$log"
  grep -q "$WORK/fifo.*not a regular file" "$WORK/err" || { cat "$WORK/err"; fail "publish: error does not name the FIFO"; }
fi
echo "secret_fifo: endpoint add, deliver, scan and publish refuse a FIFO secret at once"
