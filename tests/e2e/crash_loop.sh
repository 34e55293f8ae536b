#!/usr/bin/env bash
# crash_loop: SIGKILL at random moments across `scan`, `import`, `replay
# --from-zero` and `deliver --follow` (KILLS_PER_CMD each, 48 in all by
# default).  After every kill `dossier verify` finds the log sound (scan runs
# cut short are notes, not problems).  At the end:
#   - the imported log has exactly the projection state (`replay --dump`,
#     byte for byte) of a log that imported the same file without a kill;
#   - the scanned log's latest snapshot has the parity hash and counts of an
#     uninterrupted scan of the same tree, and `replay --verify` finds its
#     projections equal to a clean rebuild;
#   - every event reached the webhook receiver, with at most KILLS x
#     concurrency duplicates (the documented at-least-once window).
# Small batches and chunks make kills land between commits.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"
source "$DOSSIER_SRC/tests/support/deliver_lib.sh"

K=${KILLS_PER_CMD:-$(scaled 12)}
export DOSSIER_BATCH_EVENTS=200
export DOSSIER_REPLAY_CHUNK_EVENTS=250
kills=0

# sleep_random MS: sleep a random fraction of MS milliseconds
sleep_random() {
  local d=$(( RANDOM % ($1 + 1) ))
  sleep "$(printf '%d.%03d' $((d / 1000)) $((d % 1000)))"
}
# time_ms CMD...: run CMD, print its wall time in ms (at least 20)
time_ms() {
  local t0 ms
  t0=$(date +%s%N)
  "$@" > /dev/null 2>&1 || fail "reference run failed: $*"
  ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  [ "$ms" -ge 20 ] || ms=20
  echo "$ms"
}
# kill_at_random MS CMD...: start CMD, SIGKILL it at a random moment within
# MS; counts the kill when it was still running; then verifies the log.
kill_at_random() {
  local span=$1; shift
  "$@" > /dev/null 2>&1 &
  local pid=$! st=0
  CLEANUP_PIDS+=("$pid")
  sleep_random "$span"
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || st=$?
  [ "$st" -eq 137 ] && kills=$((kills + 1))
  return 0
}
verify_clean() {  # LOG WHAT
  [ -e "$1/CURRENT" ] || return 0   # killed before the log was created
  "$BIN" verify --log "$1" > "$WORK/verify.out" 2>&1 \
    || { cat "$WORK/verify.out"; fail "verify after $2"; }
}

# ---- a mission and a source log with real scans, baselines and drift -------
m="$WORK/mission"
"$PY" - "$m" <<'PYEOF'
import os, sys
root = sys.argv[1]
for d in range(8):
    os.makedirs(f"{root}/evidence/d{d}", exist_ok=True)
    for i in range(150):
        with open(f"{root}/evidence/d{d}/f{i}.md", "w") as f:
            f.write(f"evidence {d}/{i}\n" * (1 + i % 5))
open(f"{root}/spec.md", "w").write("# spec\n")
PYEOF
src="$WORK/src-log"
for i in 1 2 3 4; do
  echo "edit $i" >> "$m/evidence/d$i/f$i.md"
  "$BIN" scan "$m" --mission-type software-dev --log "$src" -q --jobs 2 || fail "source scan $i"
  [ "$i" -eq 1 ] && { "$BIN" baseline accept --log "$src" > /dev/null || fail "baseline"; }
done
"$BIN" events --log "$src" > "$WORK/src.ndjson"
n_src=$(wc -l < "$WORK/src.ndjson")

# ---- import: killed K times, resumed; then equal to an uninterrupted import --
ref="$WORK/ref-log"
span=$(time_ms "$BIN" import "$WORK/src.ndjson" --log "$ref" -q --trust-internal)
"$BIN" replay --dump --log "$ref" > "$WORK/ref.dump"
imp="$WORK/imp-log"
before=$kills
for i in $(seq 1 $((K * 3))); do
  [ $((kills - before)) -ge "$K" ] && break
  kill_at_random "$span" "$BIN" import "$WORK/src.ndjson" --log "$imp" -q --wait --trust-internal
  verify_clean "$imp" "import kill $i"
done
import_kills=$((kills - before))
# (no replay here: re-running the import must finish a catch-up it was
# killed in, even when it has nothing left to add)
"$BIN" import "$WORK/src.ndjson" --log "$imp" -q --trust-internal || fail "final import"
[ "$("$BIN" events --log "$imp" | wc -l)" -eq "$("$BIN" events --log "$ref" | wc -l)" ] \
  || fail "the interrupted import holds a different number of events"
"$BIN" replay --dump --log "$imp" > "$WORK/imp.dump"
cmp -s "$WORK/ref.dump" "$WORK/imp.dump" || fail "projection state differs from an uninterrupted import"

# ---- replay --from-zero: killed K times; then byte-identical state ----------
span=$(time_ms "$BIN" replay --from-zero --log "$imp")
before=$kills
for i in $(seq 1 $((K * 3))); do
  [ $((kills - before)) -ge "$K" ] && break
  kill_at_random "$span" "$BIN" replay --from-zero --log "$imp"
  verify_clean "$imp" "replay kill $i"
done
replay_kills=$((kills - before))
"$BIN" replay --log "$imp" > /dev/null || fail "replay after the replay kills"
"$BIN" replay --dump --log "$imp" > "$WORK/imp.dump"
cmp -s "$WORK/ref.dump" "$WORK/imp.dump" || fail "projection state differs after replay kills"

# ---- scan: killed K times; then the same snapshot as an uninterrupted scan ---
scan_ref="$WORK/scan-ref"
span=$(time_ms "$BIN" scan "$m" --mission-type software-dev --log "$scan_ref" --jobs 2 -q)
scl="$WORK/scan-log"
before=$kills
for i in $(seq 1 $((K * 3))); do
  [ $((kills - before)) -ge "$K" ] && break
  kill_at_random "$span" "$BIN" scan "$m" --mission-type software-dev --log "$scl" --jobs 2 -q --wait
  verify_clean "$scl" "scan kill $i"
done
scan_kills=$((kills - before))
"$BIN" scan "$m" --mission-type software-dev --log "$scl" --jobs 2 -q || fail "final scan"
expect_exit 0 "$BIN" replay --verify --log "$scl"
snap() {
  "$BIN" snapshot --log "$1" --json | "$PY" -c '
import json, sys
s = json.load(sys.stdin)
print(s["parity_hash_sha256"], json.dumps(s["artifact_counts"], sort_keys=True), s["completeness_status"])'
}
[ "$(snap "$scl")" = "$(snap "$scan_ref")" ] || fail "snapshot after scan kills differs: $(snap "$scl") vs $(snap "$scan_ref")"

# ---- deliver --follow: killed K times; then everything delivered ------------
CONC=2
make_secret
start_receiver probe --secret-file "$SECRET" --default 204 --deadline 300
t0=$(date +%s%N)
"$BIN" deliver --log "$ref" --url "http://127.0.0.1:$RECV_PORT/hook" --concurrency $CONC \
  -q > /dev/null 2>&1 || fail "reference delivery"
span=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$span" -ge 50 ] || span=50
start_receiver recv --secret-file "$SECRET" --default 204 --deadline 300
URL="http://127.0.0.1:$RECV_PORT/hook"
log_ids "$imp" > "$WORK/ids"
before=$kills
for i in $(seq 1 $((K * 3))); do
  [ $((kills - before)) -ge "$K" ] && break
  kill_at_random "$span" "$BIN" deliver --log "$imp" --url "$URL" --secret-file "$SECRET" \
    --follow --concurrency $CONC --poll 50ms -q
  verify_clean "$imp" "deliver kill $i"
done
deliver_kills=$((kills - before))
"$BIN" deliver --log "$imp" --url "$URL" --secret-file "$SECRET" --concurrency $CONC -q \
  || fail "final deliver"
recv_check "$WORK/recv.ndjson" "$WORK/ids" --max-dup $((deliver_kills * CONC)) \
  || fail "receiver check after deliver kills"
expect_exit 0 "$BIN" verify --log "$imp" -q

echo "crash_loop: $kills kills survived (scan $scan_kills, import $import_kills," \
     "replay $replay_kills, deliver --follow $deliver_kills); $n_src events imported"
[ "$scan_kills" -ge $((K / 2)) ] && [ "$import_kills" -ge $((K / 2)) ] \
  && [ "$replay_kills" -ge $((K / 2)) ] && [ "$deliver_kills" -ge $((K / 2)) ] \
  || fail "too few runs were killed while running (too fast?)"
