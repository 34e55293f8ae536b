#!/usr/bin/env bash
# secret_redaction: a password or token in a NATS or webhook URL never
# reaches stdout or stderr -- errors included (`publish --nats
# nats://alice:S3cretPW@...` printed it; issue 17 item 6) -- and is not
# stored in the publish cursor store.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"
source "$DOSSIER_SRC/tests/support/deliver_lib.sh"

m=$(sample_copy)
log="$WORK/log"
"$BIN" scan "$m" --mission-type software-dev --log "$log" -q > /dev/null || [ $? -eq 1 ] || fail "scan"
port=$(closed_port)
PW=S3cretPW
TOK=T0kenXYZ
all="$WORK/all"
: > "$all"
run() {  # cmd...: any exit; stdout and stderr collected
  "$@" >> "$all" 2>&1 || true
}

if "$BIN" publish --help > /dev/null 2>&1; then
  run timeout 60 "$BIN" publish --nats "nats://alice:$PW@127.0.0.1:$port" --log "$log"
  run timeout 60 "$BIN" publish --nats "nats://127.0.0.1:$port,nats://bob:$PW@127.0.0.1:$port" --log "$log"
  run timeout 60 "$BIN" pull --nats "nats://$TOK@127.0.0.1:$port" --log "$log"
  grep -q 'nats://\*\*\*@127.0.0.1' "$all" || { cat "$all"; fail "the NATS error does not show the redacted URL"; }
  ! grep -rqs "$PW" "$log/publish" || fail "the password is stored in $log/publish"
fi
run "$BIN" deliver --url "http://alice:$PW@127.0.0.1:$port/hook?token=$TOK" --log "$log" --max-attempts 1 --timeout 2s
run "$BIN" endpoint add h --url "http://alice:$PW@127.0.0.1:$port/?token=$TOK" --log "$log"
run "$BIN" endpoint list --log "$log"
run "$BIN" endpoint list --log "$log" --json
run "$BIN" deliveries --log "$log"
run "$BIN" deliver --endpoint h --log "$log" --max-attempts 1 --timeout 2s
run "$BIN" status "$m"
if grep -n -e "$PW" -e "$TOK" "$all"; then
  fail "a password or token was printed (lines above)"
fi
echo "secret_redaction: no password or token in $(wc -l < "$all") lines of output"
