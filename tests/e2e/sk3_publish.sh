#!/usr/bin/env bash
# `publish --profile spec-kitty-3` (issue 19 item 3): the stream holds one
# spec-kitty-events 3.0.0 envelope per event of the four dossier types
# (sk3_validate.py accepts every body), none of the internal types, under
# <prefix>.<feature>.<PascalCaseType>; a wp04 publisher of the same log to
# another stream keeps its own cursor and publishes everything, canonical.
# Loopback only.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"
source "$DOSSIER_SRC/tests/support/nats_lib.sh"
nats_require

m=$(sample_copy mission)
L="$WORK/L"
"$BIN" scan --mission-type software-dev --log "$L" -q "$m" || true
"$BIN" baseline accept --log "$L" > /dev/null
echo "one more line" >> "$m/plan.md"
"$BIN" scan --mission-type software-dev --log "$L" -q "$m" || true
n_four=$("$BIN" events --log "$L" | grep -c '"event_type":"mission_dossier_')
n_all=$("$BIN" events --log "$L" | wc -l)

expect_exit 2 "$BIN" publish --nats nats://127.0.0.1:1 --profile nope --log "$L"
nats_start
"$BIN" publish --nats "$NATS_URL" --stream SK3 --subject-prefix sk3 --profile spec-kitty-3 --log "$L" -q \
  || fail "publish --profile spec-kitty-3"
NATS_STREAM=SK3 nats_stream bodies > "$WORK/sk3.ndjson"
[ "$(wc -l < "$WORK/sk3.ndjson")" -eq "$n_four" ] || fail "expected $n_four messages in SK3"
"$PY" "$SRC/tests/support/sk3_validate.py" --strict-types "$WORK/sk3.ndjson" \
  || fail "a published body fails sk3_validate.py"
# publishing again adds nothing (the profile's own cursor)
"$BIN" publish --nats "$NATS_URL" --stream SK3 --subject-prefix sk3 --profile spec-kitty-3 --log "$L" -q
[ "$(NATS_STREAM=SK3 nats_stream bodies | wc -l)" -eq "$n_four" ] || fail "second publish added messages"
# the wp04 publisher of the same log: everything, canonical
"$BIN" publish --nats "$NATS_URL" --stream CANON --log "$L" -q || fail "publish wp04"
NATS_STREAM=CANON nats_stream bodies > "$WORK/canon.ndjson"
[ "$(wc -l < "$WORK/canon.ndjson")" -eq "$n_all" ] || fail "expected $n_all messages in CANON"
"$BIN" validate -q "$WORK/canon.ndjson" || fail "wp04 bodies are not canonical envelopes"
# the spec-kitty-3 stream round-trips through import into a fresh log
"$BIN" import --profile spec-kitty-3 --log "$WORK/F" -q "$WORK/sk3.ndjson" || fail "import of the stream's bodies"
echo "ok"
