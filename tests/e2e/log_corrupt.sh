#!/usr/bin/env bash
# log_corrupt: bit flips in copies of a log's files.  For every flip in the
# events table, the write-ahead log, the MANIFEST, and the first data block
# of every other table, `dossier verify` reports a problem (exit 1, naming
# the file or the damaged sequences) and never crashes; `dossier events`
# fails cleanly (exit 3) or prints what it can; a torn WAL tail (a crash
# mid-write) is tolerated.  Flip positions come from fixed seeds, so a
# failure is reproducible.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"

m=$(sample_copy m)
log="$WORK/log"
"$BIN" scan "$m" --mission-type software-dev --log "$log" -q 2>/dev/null || fail "scan 1"
flush_to_tables "$log"                        # the WAL becomes tables
echo "more" >> "$m/spec.md"
"$BIN" scan "$m" --mission-type software-dev --log "$log" -q 2>/dev/null || fail "scan 2"
expect_exit 0 "$BIN" verify --log "$log" -q

# flip FILE SEED [MAXOFF]: flip one bit at a seeded offset (below MAXOFF)
flip() {
  "$PY" - "$@" <<'PYEOF'
import random, sys
path, seed = sys.argv[1], int(sys.argv[2])
b = bytearray(open(path, "rb").read())
limit = min(len(b), int(sys.argv[3])) if len(sys.argv) > 3 else len(b)
r = random.Random(seed)
off = r.randrange(limit)
b[off] ^= 1 << r.randrange(8)
open(path, "wb").write(b)
print(off)
PYEOF
}

events_sst=$(grep -la "column.family.name.*events\|nameevents" "$log"/*.sst | sed -n 1p)
wal=$(find "$log" -maxdepth 1 -name '*.log' -size +0 | sed -n 1p)
manifest=$(ls "$log"/MANIFEST-* | sed -n 1p)
[ -n "$events_sst" ] && [ -n "$wal" ] && [ -n "$manifest" ] || fail "log lacks an events table, WAL or MANIFEST"

checked=0
try() {  # FILE SEED [MAXOFF]
  local base; base=$(basename "$1")
  rm -rf "$WORK/c"
  cp -r "$log" "$WORK/c"
  local off; off=$(flip "$WORK/c/$base" "$2" ${3:-})
  local rc=0
  "$BIN" verify --log "$WORK/c" > "$WORK/v.out" 2>&1 || rc=$?
  [ "$rc" -eq 1 ] || { cat "$WORK/v.out"; fail "$base: flip at $off (seed $2): verify exit $rc, expected 1"; }
  grep -q "problem" "$WORK/v.out" || fail "$base: no problem printed"
  rc=0
  "$BIN" events --log "$WORK/c" > /dev/null 2> "$WORK/e.err" || rc=$?
  [ "$rc" -eq 0 ] || [ "$rc" -eq 3 ] || fail "$base: events exit $rc after a flip at $off"
  checked=$((checked + 1))
}
# The last 53 bytes of a table are its footer, whose padding RocksDB does not
# checksum (a flip there changes nothing that is read): flip before it.
for s in $(seq 1 8); do try "$events_sst" "$s" $(( $(stat -c %s "$events_sst") - 53 )); done
for s in $(seq 1 8); do try "$wal" "$s"; done
for s in $(seq 1 6); do try "$manifest" "$s"; done
for t in "$log"/*.sst; do
  for s in 1 2; do try "$t" "$s" 48; done
done

# A record torn at the end of the WAL (a crash in the middle of a write) is
# dropped whole by recovery: the log verifies, one batch shorter at most.
rm -rf "$WORK/c"
cp -r "$log" "$WORK/c"
size=$(stat -c %s "$WORK/c/$(basename "$wal")")
truncate -s $((size - 7)) "$WORK/c/$(basename "$wal")"
rc=0
"$BIN" verify --log "$WORK/c" > "$WORK/v.out" 2>&1 || rc=$?
[ "$rc" -eq 0 ] || { cat "$WORK/v.out"; fail "a torn WAL tail is not tolerated (exit $rc)"; }

echo "log_corrupt: $checked flipped copies reported by verify"
