#!/usr/bin/env bash
# nats_pull_trust: `pull` applies the trust rule of `import` (issue 17
# item 7; dossier/import.h).  Log A accepts a baseline and publishes; log B
# pulls: A's dossier_baseline_accepted is refused (exit 1, reported as
# refused by the trust rule, terminated for B's consumer), every other event
# is imported; a second pull has nothing left; `pull --trust-internal` on a
# new consumer imports the baseline.  The binary before this fix imported
# the baseline with exit 0.  Loopback only; skipped without nats-server.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"
source "$DOSSIER_SRC/tests/support/nats_lib.sh"
nats_require
nats_start

ma=$(sample_copy mission-a)
A="$WORK/A" B="$WORK/B"
"$BIN" scan --mission-type software-dev --log "$A" -q "$ma" || [ $? -eq 1 ] || fail "scan A"
"$BIN" baseline accept --log "$A" > /dev/null || fail "baseline accept on A"
"$BIN" publish --nats "$NATS_URL" --log "$A" -q || fail "publish A"

count() {  # LOG TYPE: events of TYPE in LOG
  "$BIN" events --log "$1" | "$PY" -c '
import json, sys
print(sum(1 for l in sys.stdin if l.strip() and json.loads(l)["event_type"] == sys.argv[1]))' "$2"
}
nA=$("$BIN" events --log "$A" | wc -l)
[ "$(count "$A" dossier_baseline_accepted)" -eq 1 ] || fail "A holds no baseline"

rc=0
"$BIN" pull --nats "$NATS_URL" --log "$B" --json > "$WORK/pull.json" 2> "$WORK/pull.err" || rc=$?
[ "$rc" -eq 1 ] || { cat "$WORK/pull.err"; fail "pull of a stream holding a baseline: exit $rc, expected 1"; }
grep -q "is refused by the trust rule, not imported: event .*dossier_baseline_accepted from node" \
  "$WORK/pull.err" || { cat "$WORK/pull.err"; fail "the refusal is not reported"; }
"$PY" - "$WORK/pull.json" <<'PYEOF' || fail "pull --json: $(cat "$WORK/pull.json")"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["refused"] == 1 and r["invalid"] == 0, r
PYEOF
[ "$(count "$B" dossier_baseline_accepted)" -eq 0 ] || fail "B imported A's baseline"
nB=$("$BIN" events --log "$B" | wc -l)
[ "$nB" -ge $((nA - 1)) ] || fail "B imported $nB events of A's $nA"

"$BIN" pull --nats "$NATS_URL" --log "$B" -q || fail "a second pull: exit $?"
[ "$(count "$B" dossier_baseline_accepted)" -eq 0 ] || fail "a second pull imported the baseline"

"$BIN" pull --nats "$NATS_URL" --log "$B" --durable trusted --trust-internal -q \
  || fail "pull --trust-internal: exit $?"
[ "$(count "$B" dossier_baseline_accepted)" -eq 1 ] || fail "--trust-internal did not import the baseline"
expect_exit 0 "$BIN" verify --log "$B" -q
echo "nats_pull_trust: baseline refused by default, accepted with --trust-internal"
