#!/usr/bin/env bash
# `deliver --url U --secret-file F` (issue 20 item 15): the ad-hoc endpoint
# it makes records F (absolute), so `endpoint list` shows it signed with F,
# in text and JSON; a later run with another file records that one; a run
# without a secret keeps it.  The receiver is a closed port: each event is
# tried once and dead-lettered, the endpoint is what matters here.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"
source "$DOSSIER_SRC/tests/support/deliver_lib.sh"

M=$(sample_copy m)
LOG="$M/.dossier"
PORT=$(closed_port)
make_secret
expect_exit 0 "$BIN" -q scan "$M"
url="http://127.0.0.1:$PORT/hook"
deliver() { "$BIN" deliver --log "$LOG" --url "$url" --max-attempts 1 -q "$@" >/dev/null 2>&1 || true; }

signed_with() {   # the secret_file endpoint list --json shows for the ad-hoc endpoint
  "$BIN" endpoint list --log "$LOG" --json | "$PY" -c '
import json, sys
eps = [e for e in json.load(sys.stdin) if e["adhoc"]]
assert len(eps) == 1, eps
e = eps[0]
print(e["secret_file"] if e["signed"] else "unsigned")'
}
deliver --secret-file "$SECRET"
[ "$(signed_with)" = "$(realpath "$SECRET")" ] || fail "ad-hoc endpoint not signed with $SECRET: $(signed_with)"
"$BIN" endpoint list --log "$LOG" | grepq "secret file: $(realpath "$SECRET")" \
  || fail "endpoint list (text) does not show the secret file"

cp "$SECRET" "$WORK/other.key"
deliver --secret-file "$WORK/other.key"
[ "$(signed_with)" = "$WORK/other.key" ] || fail "a new --secret-file is not recorded: $(signed_with)"
deliver
[ "$(signed_with)" = "$WORK/other.key" ] || fail "a run without a secret forgot the file: $(signed_with)"
echo "endpoint_adhoc_signed: ok"
