#!/usr/bin/env bash
# Crash safety of projection rebuilds: `dossier replay --from-zero` is killed
# with SIGKILL at random moments, 20 times; after each kill a plain
# `dossier replay` completes the rebuild and the projection state is
# byte-identical to a clean rebuild, with not a single event added.  Small
# chunks (DOSSIER_REPLAY_CHUNK_EVENTS) make kills land between commits.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"

m="$WORK/mission"
"$PY" - "$m" <<'PYEOF'
import os, sys
root = sys.argv[1]
for d in range(20):
    os.makedirs(f"{root}/evidence/d{d}", exist_ok=True)
    for i in range(100):
        with open(f"{root}/evidence/d{d}/f{i}.md", "w") as f:
            f.write(f"evidence {d}/{i}\n" * (1 + i % 5))
open(f"{root}/spec.md", "w").write("# spec\n")
PYEOF
log="$WORK/log"
for i in $(seq 1 8); do
  echo "change $i" >> "$m/evidence/d$i/f$i.md"
  [ "$i" -eq 5 ] && rm "$m/evidence/d0/f0.md"
  "$BIN" scan --mission-type software-dev --log "$log" -q --jobs 2 "$m" || true
  "$BIN" replay --log "$log" > /dev/null
  [ "$i" -eq 2 ] && "$BIN" baseline accept --log "$log" > /dev/null
done

"$BIN" replay --from-zero --log "$log" > /dev/null
"$BIN" replay --dump --log "$log" > "$WORK/clean.dump"
events=$("$BIN" events --log "$log" | wc -l)

export DOSSIER_REPLAY_CHUNK_EVENTS=150
start=$(date +%s%N)
"$BIN" replay --from-zero --log "$log" > /dev/null
ms=$(( ($(date +%s%N) - start) / 1000000 + 1 ))

rounds=$(scaled 20)
kills=0
for i in $(seq 1 "$rounds"); do
  "$BIN" replay --from-zero --log "$log" > /dev/null &
  pid=$!
  CLEANUP_PIDS+=("$pid")
  delay=$(( RANDOM % ms ))
  sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
  if kill -9 "$pid" 2>/dev/null; then kills=$((kills + 1)); fi
  wait "$pid" 2>/dev/null || true
  "$BIN" replay --log "$log" > /dev/null || fail "replay after kill $i failed"
  "$BIN" replay --dump --log "$log" > "$WORK/after.dump"
  cmp -s "$WORK/clean.dump" "$WORK/after.dump" || fail "state after kill $i differs from a clean rebuild"
  [ "$("$BIN" events --log "$log" | wc -l)" -eq "$events" ] || fail "kill $i: event count changed"
done
[ "$kills" -ge $(( (rounds + 3) / 4 )) ] || fail "only $kills of $rounds runs were killed while running (rebuild takes ${ms} ms)"
expect_exit 0 "$BIN" replay --verify --log "$log"
echo "survived $kills kills (a rebuild takes ${ms} ms)"
