#!/usr/bin/env bash
# `dossier deliver -q` hides progress (deliveries, retries) but still reports
# what loses an event: a dead letter is named on stderr even with -q.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"
source "$DOSSIER_SRC/tests/support/deliver_lib.sh"

LOG="$WORK/log"
import_events 3 1 "$LOG" 21
make_secret
# e1: 500 then 204 (a retry, hidden by -q); e2: 404 (dead letter, shown); e3: 204
start_receiver recv --secret-file "$SECRET" --script "500,204,404,204" --default 204 --deadline 60
URL="http://127.0.0.1:$RECV_PORT/hook"
rc=0
"$BIN" deliver --log "$LOG" --url "$URL" --secret-file "$SECRET" --backoff-base 20ms \
  --backoff-max 50ms -q > "$WORK/out" 2> "$WORK/err" || rc=$?
[ "$rc" -eq 1 ] || { cat "$WORK/err"; fail "deliver exited $rc, want 1 (a dead letter)"; }
[ "$(grep -c "dead-lettered" "$WORK/err")" -eq 1 ] || { cat "$WORK/err"; fail "-q hid the dead letter"; }
grep -q "retry in" "$WORK/err" && { cat "$WORK/err"; fail "-q printed a retry"; }
[ ! -s "$WORK/out" ] || fail "-q printed on stdout: $(cat "$WORK/out")"
echo "deliver_quiet: ok"
