#!/usr/bin/env bash
# Durability: `dossier scan` killed with SIGKILL at random moments, 20 times
# (fewer in sanitizer builds: see scaled in e2e_lib.sh).
# After each kill the log opens, holds no duplicate event_id, and every scan
# run that has a completion marker is whole (tests/support/check_log.py).
# Small batches (DOSSIER_BATCH_EVENTS) make kills land between commits.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"

m="$WORK/mission"
mkdir -p "$m/evidence"
"$PY" - "$m" <<'PYEOF'
import os, sys
root = sys.argv[1]
for d in range(16):
    os.makedirs(f"{root}/evidence/d{d}", exist_ok=True)
    for i in range(250):
        with open(f"{root}/evidence/d{d}/f{i}.log", "w") as f:
            f.write(f"file {d}/{i}\n" * (1 + i % 7))
open(f"{root}/spec.md", "w").write("# spec\n")
PYEOF
log="$WORK/log"
export DOSSIER_BATCH_EVENTS=300
# Time an uninterrupted rescan (of a scratch log that already holds one
# scan: most killed scans below are rescans, which the scan cache makes
# faster than the first) so the kills spread over the whole run, whatever
# the speed of this machine and its load.
"$BIN" scan "$m" --log "$WORK/scratch-log" --jobs 2 -q || fail "reference scan failed"
t0=$(date +%s%N)
"$BIN" scan "$m" --log "$WORK/scratch-log" --jobs 2 -q || fail "reference rescan failed"
run_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$run_ms" -ge 20 ] || run_ms=20
kills=0
i=0
want=$(scaled 20)
while [ "$kills" -lt "$want" ] && [ "$i" -lt $((want * 4)) ]; do
  i=$((i + 1))
  "$BIN" scan "$m" --log "$log" --jobs 2 -q --wait &
  pid=$!
  delay_ms=$(( RANDOM % run_ms ))
  sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
  if kill -9 "$pid" 2>/dev/null; then kills=$((kills + 1)); fi
  wait "$pid" 2>/dev/null || true
  # killed before the log was even created: nothing to check yet
  [ -e "$log/CURRENT" ] || continue
  "$BIN" events --log "$log" > "$WORK/events.ndjson" || fail "log does not open after kill $i"
  "$PY" "$SRC/tests/support/check_log.py" "$WORK/events.ndjson" > "$WORK/check.txt" \
    || { cat "$WORK/check.txt"; fail "invariant broken after kill $i"; }
done
# a final, uninterrupted scan completes and the log is still consistent
"$BIN" scan "$m" --log "$log" -q || fail "final scan failed"
"$BIN" events --log "$log" | "$PY" "$SRC/tests/support/check_log.py" > "$WORK/check.txt" || fail "final check"
cat "$WORK/check.txt"
[ "$kills" -ge "$want" ] || fail "only $kills of $i scans were killed mid-run (too fast?)"
echo "scan_kill: $kills kills in $i runs survived"
