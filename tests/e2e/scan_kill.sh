#!/usr/bin/env bash
# Durability: `dossier scan` killed with SIGKILL at random moments, 25 times.
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
kills=0
for i in $(seq 1 25); do
  "$BIN" scan "$m" --log "$log" --jobs 2 -q --wait &
  pid=$!
  sleep "0.$(( RANDOM % 40 ))"
  if kill -9 "$pid" 2>/dev/null; then kills=$((kills + 1)); fi
  wait "$pid" 2>/dev/null || true
  "$BIN" events --log "$log" > "$WORK/events.ndjson" || fail "log does not open after kill $i"
  "$PY" "$SRC/tests/support/check_log.py" "$WORK/events.ndjson" > "$WORK/check.txt" \
    || { cat "$WORK/check.txt"; fail "invariant broken after kill $i"; }
done
# a final, uninterrupted scan completes and the log is still consistent
"$BIN" scan "$m" --log "$log" -q || fail "final scan failed"
"$BIN" events --log "$log" | "$PY" "$SRC/tests/support/check_log.py" > "$WORK/check.txt" || fail "final check"
cat "$WORK/check.txt"
[ "$kills" -ge 20 ] || fail "only $kills of 25 scans were killed mid-run (too fast?)"
echo "scan_kill: $kills kills survived"
