#!/usr/bin/env bash
# Durability of `dossier import`: SIGKILL it at random moments, at least 20
# times, while it appends a large NDJSON file in small atomic batches.  After
# every kill the log opens, holds no duplicate event_id, holds only events of
# the file, and holds whole batches only (a multiple of the batch size, in
# file order).  A final uninterrupted import then adds exactly the rest: the
# log ends up with exactly the file's set of events.  A second writer meanwhile
# is refused with a clear "locked" error, and readers keep working.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"

N=40000
BATCH=1000
export DOSSIER_BATCH_EVENTS=$BATCH
"$PY" "$SRC/tests/support/gen_envelopes.py" "$N" --features 7 --seed 4 > "$WORK/big.ndjson"
[ "$(wc -l < "$WORK/big.ndjson")" -eq "$N" ] || fail "generator wrote the wrong count"
cut -c1-40 "$WORK/big.ndjson" | sed 's/.*"event_id":"\([0-9A-Z]\{26\}\)".*/\1/' > "$WORK/ids.txt"
[ "$(sort -u "$WORK/ids.txt" | wc -l)" -eq "$N" ] || fail "generated ids are not unique"

# How long does a whole import take here?  Kill moments are drawn from it.
t0=$(date +%s%N)
"$BIN" import "$WORK/big.ndjson" --log "$WORK/probe" -q || fail "probe import failed"
span_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$span_ms" -gt 0 ] || span_ms=1

# check LOG: the log opens; its events are a prefix of the file made of whole
# batches, with no duplicate event_id.  Prints the number of events.
check() {
  # killed while still validating: the log was never created
  if [ ! -e "$1/CURRENT" ]; then echo 0; return; fi
  "$BIN" events --log "$1" > "$WORK/events.ndjson" || fail "log does not open ($2)"
  "$PY" - "$WORK/events.ndjson" "$WORK/ids.txt" "$BATCH" "$2" <<'PYEOF' || exit 1
import json, sys
events, ids, batch, what = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
want = [l.strip() for l in open(ids)]
got = [json.loads(l)["event_id"] for l in open(events)]
def die(msg):
    print(f"FAIL ({what}): {msg}", file=sys.stderr); sys.exit(1)
if len(set(got)) != len(got):
    die("duplicate event_id")
if got != want[:len(got)]:
    die("log is not a prefix of the file")
if len(got) % batch and len(got) != len(want):
    die(f"{len(got)} events: not whole batches of {batch}")
print(len(got))
PYEOF
}

# The log carries over from one kill to the next (each import resumes what
# the previous one committed); once a log is complete, the next kill starts
# a new one so that kills keep landing mid-append.
gen=0
log="$WORK/log.$gen"
want=$(scaled 22)
kills=0
i=0
while [ "$kills" -lt "$want" ] && [ "$i" -lt $((want * 2 + 1)) ]; do
  i=$((i + 1))
  "$BIN" import "$WORK/big.ndjson" --log "$log" -q --wait &
  pid=$!
  CLEANUP_PIDS+=("$pid")
  delay_ms=$(( RANDOM % (span_ms * 9 / 10 + 1) ))
  sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
  kill -9 "$pid" 2>/dev/null || true
  st=0
  wait "$pid" 2>/dev/null || st=$?
  [ "$st" -eq 137 ] && kills=$((kills + 1))   # 128 + SIGKILL: killed mid-run
  have=$(check "$log" "after kill $i")
  echo "kill $i at ${delay_ms} ms: $have events in log.$gen"
  if [ "$have" -eq "$N" ]; then gen=$((gen + 1)); log="$WORK/log.$gen"; fi
done

# A second writer is refused while an import holds the log; readers work.
head -1 "$WORK/big.ndjson" > "$WORK/one.ndjson"
"$BIN" import "$WORK/big.ndjson" --log "$WORK/busy" -q --wait &
pid=$!
CLEANUP_PIDS+=("$pid")
seen_lock=0
for _ in $(seq 1 2000); do
  rc=0
  "$BIN" import "$WORK/one.ndjson" --log "$WORK/busy" -q 2> "$WORK/lock.err" || rc=$?
  if [ "$rc" -eq 3 ] && grep -q "locked by another writer" "$WORK/lock.err"; then
    grep -q "$WORK/busy" "$WORK/lock.err" || fail "lock error does not name the log folder"
    "$BIN" events --log "$WORK/busy" > /dev/null || fail "reader failed beside a writer"
    seen_lock=1
    break
  fi
  kill -0 "$pid" 2>/dev/null || break
done
wait "$pid" || fail "background import failed"
[ "$seen_lock" -eq 1 ] || echo "note: the background import finished before a second writer tried"

# Finish: exactly the file's events, and the summary adds up.
out=$("$BIN" import "$WORK/big.ndjson" --log "$log") || fail "final import failed"
echo "$out"
added=$(echo "$out" | sed -n 's/.*, \([0-9]*\) added, \([0-9]*\) duplicates*$/\1/p')
dups=$(echo "$out" | sed -n 's/.*, \([0-9]*\) added, \([0-9]*\) duplicates*$/\2/p')
[ -n "$added" ] && [ $((added + dups)) -eq "$N" ] || fail "summary does not add up: $out"
[ "$(check "$log" final)" -eq "$N" ] || fail "final log does not hold exactly the file"
[ "$kills" -ge $((want * 9 / 10)) ] || fail "only $kills of $i imports were killed mid-run (too fast?)"
echo "import_kill: $kills kills in $i runs survived; final import added $added"
