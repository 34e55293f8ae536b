#!/usr/bin/env bash
# scan and watch --step without --manifest or --mission-type on a feature's
# first scan (no log folder yet), or with --reset-settings: no manifest can
# be remembered, so the options are refused as a usage error (exit 2) naming
# --step and the missing log, before anything is written -- the log folder
# does not exist afterwards.  With a remembered manifest the same --step is
# accepted.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"

m=$(sample_copy m)
# refused CMD...: exit 2, the message, and no log folder left behind
refused() {
  local log=$1; shift
  local code=0
  "$@" > "$WORK/out" 2> "$WORK/err" || code=$?
  [ "$code" -eq 2 ] || { cat "$WORK/err" >&2; fail "expected exit 2, got $code: $*"; }
  grep -q "^dossier [a-z]*: --step needs a manifest (--manifest or --mission-type): none is remembered, there is no log at $log yet" \
    "$WORK/err" || { cat "$WORK/err" >&2; fail "message: $*"; }
  [ ! -e "$log" ] || fail "$log was created: $*"
  [ ! -s "$WORK/out" ] || fail "something on stdout: $*"
}
refused "$m/.dossier" "$BIN" scan "$m" --step plan
refused "$WORK/log" "$BIN" scan "$m" --step plan --log "$WORK/log"
refused "$WORK/log" "$BIN" --log "$WORK/log" scan "$m" --step plan --json
DOSSIER_LOG="$WORK/log" refused "$WORK/log" "$BIN" scan "$m" --step plan
refused "$m/.dossier" "$BIN" watch "$m" --step plan
[ "$(ls -A "$WORK" | sort | tr '\n' ' ')" = "err m out " ] || fail "left behind: $(ls -A "$WORK")"

# a remembered manifest: --step alone applies to it
expect_exit 0 "$BIN" scan "$m" --mission-type software-dev -q
expect_exit 0 "$BIN" scan "$m" --step plan -q
# --reset-settings leaves the remembered manifest out: refused, log unchanged
head=$("$BIN" status --log "$m/.dossier" --json) || fail "status"
code=0
"$BIN" scan "$m" --step plan --reset-settings > /dev/null 2> "$WORK/err" || code=$?
[ "$code" -eq 2 ] || fail "--reset-settings --step: exit $code"
grep -q "^dossier scan: --step needs a manifest (--manifest or --mission-type): --reset-settings leaves the remembered one out" \
  "$WORK/err" || { cat "$WORK/err" >&2; fail "--reset-settings --step: message"; }
[ "$("$BIN" status --log "$m/.dossier" --json)" = "$head" ] || fail "--reset-settings --step changed the log"
echo "scan_step_no_manifest: ok"
