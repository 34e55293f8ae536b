#!/usr/bin/env bash
# wal_damage: a damaged or missing write-ahead log never costs committed
# events silently, and no sequence number is handed out twice (issue 17
# item 2).  A log with a scan, an accepted baseline (the last commit, so it
# is in the WAL) and a webhook endpoint that received every event:
#   1. 16 zero bytes in the middle of the WAL record holding the baseline:
#      scan and status exit 3 naming the WAL file and offset and change
#      nothing;
#      verify exits 1 saying so; verify --repair lists exactly the lost
#      sequence; the next scan numbers its events above the old head; verify
#      is clean; the endpoint receives every new event;
#   2. the WAL deleted: verify exits 1 naming the missing sequences, scan 3;
#   3. the WAL cut in the middle of the baseline's record (a crash
#      mid-write): scan opens the log and numbers past the torn commit;
#      verify is clean.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"
source "$DOSSIER_SRC/tests/support/deliver_lib.sh"

M=$(sample_copy m)
LOG="$WORK/log"
"$BIN" scan --mission-type software-dev "$M" --log "$LOG" -q || fail "first scan"
"$BIN" baseline accept --log "$LOG" > /dev/null || fail "baseline accept"
make_secret
start_receiver recv --secret-file "$SECRET" --deadline 120
"$BIN" endpoint add ep --url "http://127.0.0.1:$RECV_PORT/hooks" --secret-file "$SECRET" \
  --log "$LOG" > /dev/null || fail "endpoint add"
"$BIN" deliver --endpoint ep --log "$LOG" > /dev/null || fail "first delivery"
log_ids "$LOG" > "$WORK/ids.before"
head_before=$(wc -l < "$WORK/ids.before")
baseline_id=$("$BIN" events --log "$LOG" --type dossier_baseline_accepted | "$PY" -c \
  'import sys, json; print(json.loads(sys.stdin.readline())["event_id"])')
[ "$(tail -1 "$WORK/ids.before")" = "$baseline_id" ] || fail "the baseline is not the last event"
recv_check "$WORK/recv.ndjson" "$WORK/ids.before" --exact > /dev/null || fail "first delivery check"

# wal_records FILE: "offset length" of each physical record (RocksDB's
# format: 32 KiB blocks, 7-byte headers crc32c|length|type).
wal_records() {
  "$PY" - "$1" <<'EOF'
import struct, sys
b = open(sys.argv[1], "rb").read()
off = 0
while off + 7 <= len(b):
    if 32768 - off % 32768 < 7:
        off += 32768 - off % 32768
        continue
    ln = struct.unpack_from("<H", b, off + 4)[0]
    print(off, ln)
    off += 7 + ln
EOF
}
wal_of() { find "$1" -maxdepth 1 -name '[0-9]*.log' -size +0 | sort | tail -1; }
wal=$(basename "$(wal_of "$LOG")")
[ -n "$wal" ] || fail "no WAL in the log"
# The record holding the baseline: the first of the WAL (baseline accept's
# session wrote it; the scan's records went to tables when it reopened).
wal_records "$LOG/$wal" > "$WORK/records"
read -r rec_off rec_len < "$WORK/records"
[ "$(wc -l < "$WORK/records")" -ge 2 ] || fail "the WAL holds one record only"

# ---- 1. 16 zero bytes in the middle of a record ------------------------------
C="$WORK/c1"
cp -r "$LOG" "$C"
"$PY" - "$C/$wal" $((rec_off + 7 + rec_len / 2)) <<'EOF'
import sys
p, off = sys.argv[1], int(sys.argv[2])
b = bytearray(open(p, "rb").read())
b[off:off + 16] = bytes(16)
open(p, "wb").write(b)
EOF
cp "$C/$wal" "$WORK/damaged.wal"
echo "changed" >> "$M/spec.md"
rc=0
"$BIN" scan --mission-type software-dev "$M" --log "$C" -q 2> "$WORK/scan.err" || rc=$?
[ "$rc" -eq 3 ] || { cat "$WORK/scan.err"; fail "scan of a log with a damaged WAL exited $rc, want 3"; }
grep -q "$wal" "$WORK/scan.err" && grep -q "offset $rec_off" "$WORK/scan.err" \
  && grep -q "verify --repair" "$WORK/scan.err" \
  || { cat "$WORK/scan.err"; fail "scan's error does not name the WAL, the offset and verify --repair"; }
cmp -s "$C/$wal" "$WORK/damaged.wal" || fail "the refused scan changed the WAL"
# a read command reports the damage too, instead of showing what precedes it
rc=0
"$BIN" status --log "$C" > /dev/null 2> "$WORK/status.err" || rc=$?
[ "$rc" -eq 3 ] && grep -q "offset $rec_off" "$WORK/status.err" \
  || { cat "$WORK/status.err"; fail "status of a log with a damaged WAL exited $rc, want 3 naming the offset"; }
cmp -s "$C/$wal" "$WORK/damaged.wal" || fail "status changed the WAL"

rc=0
"$BIN" verify --log "$C" > "$WORK/verify.out" 2>&1 || rc=$?
[ "$rc" -eq 1 ] || { cat "$WORK/verify.out"; fail "verify exited $rc, want 1"; }
grep -q "^wal: .*$wal.*damaged at offset $rec_off" "$WORK/verify.out" \
  || { cat "$WORK/verify.out"; fail "verify does not report the damaged WAL record"; }

rc=0
"$BIN" verify --repair --log "$C" > "$WORK/repair.out" 2>&1 || rc=$?
[ "$rc" -eq 0 ] || { cat "$WORK/repair.out"; fail "verify --repair exited $rc, want 0"; }
grep -q "^repair: 1 sequence was lost: $head_before;" "$WORK/repair.out" \
  || { cat "$WORK/repair.out"; fail "repair does not say that sequence $head_before was lost"; }
grep -q "0 problems" "$WORK/repair.out" || { cat "$WORK/repair.out"; fail "not clean after repair"; }
rc=0
"$BIN" verify --repair --log "$C" --json > "$WORK/repair.json" || rc=$?
"$PY" - "$WORK/repair.json" <<'EOF' || fail "a second repair reports a loss again"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["ok"] and j["repair"]["lost"] == [] and j["repair"]["lost_seqs"] == 0, j["repair"]
EOF

"$BIN" scan --mission-type software-dev "$M" --log "$C" -q || fail "scan after the repair"
expect_exit 0 "$BIN" verify --log "$C" -q
# Every event the scan added is numbered above the old head: none took the
# lost sequence.
log_ids "$C" | sort > "$WORK/ids.all"
sort "$WORK/ids.before" > "$WORK/ids.before.sorted"
comm -23 "$WORK/ids.all" "$WORK/ids.before.sorted" > "$WORK/ids.new"
[ -s "$WORK/ids.new" ] || fail "the scan after the repair added no event"
"$BIN" events --log "$C" --since "$head_before" | "$PY" -c 'import sys, json
for l in sys.stdin: print(json.loads(l)["event_id"])' | sort > "$WORK/ids.since"
cmp -s "$WORK/ids.new" "$WORK/ids.since" \
  || fail "new events were numbered at or below the old head $head_before (a sequence reused)"
grep -q "$baseline_id" "$WORK/ids.all" && fail "the lost baseline event is still listed"

# The endpoint, whose cursor was at the old head, receives every new event.
n_before=$(wc -l < "$WORK/recv.ndjson")
"$BIN" deliver --endpoint ep --log "$C" > /dev/null || fail "delivery after the repair"
tail -n +$((n_before + 1)) "$WORK/recv.ndjson" > "$WORK/recv.new.ndjson"
recv_check "$WORK/recv.new.ndjson" "$WORK/ids.new" --exact > /dev/null \
  || fail "the endpoint did not receive exactly the new events"

# ---- 2. the WAL deleted -------------------------------------------------------
C="$WORK/c2"
cp -r "$LOG" "$C"
rm "$C/$wal"
rc=0
"$BIN" verify --log "$C" > "$WORK/verify2.out" 2>&1 || rc=$?
[ "$rc" -eq 1 ] || { cat "$WORK/verify2.out"; fail "verify of a log without its WAL exited $rc"; }
grep -q "^seq $head_before: wal: sequences $head_before..$head_before were committed" \
  "$WORK/verify2.out" || { cat "$WORK/verify2.out"; fail "verify does not report the lost WAL"; }
rc=0
"$BIN" scan --mission-type software-dev "$M" --log "$C" -q 2> "$WORK/scan2.err" || rc=$?
[ "$rc" -eq 3 ] || { cat "$WORK/scan2.err"; fail "scan of a log without its WAL exited $rc"; }
expect_exit 0 "$BIN" verify --repair --log "$C" -q
"$BIN" scan --mission-type software-dev "$M" --log "$C" -q || fail "scan after repairing c2"
[ "$("$BIN" events --log "$C" --since "$head_before" | wc -l)" -eq "$(( $(log_ids "$C" | wc -l) - head_before + 1 ))" ] \
  || fail "c2: a new event took a lost sequence"

# ---- 3. a torn tail: the WAL cut in the middle of the baseline's record -----
C="$WORK/c3"
cp -r "$LOG" "$C"
truncate -s $((rec_off + 7 + rec_len / 2)) "$C/$wal"
"$BIN" scan --mission-type software-dev "$M" --log "$C" -q || fail "a torn WAL tail bricks the log"
expect_exit 0 "$BIN" verify --log "$C" -q
[ "$("$BIN" events --log "$C" --since "$head_before" | wc -l)" -eq "$(( $(log_ids "$C" | wc -l) - head_before + 1 ))" ] \
  || fail "c3: a new event took the sequence of the torn commit"
echo "wal_damage: damaged WAL refused and repaired (sequence $head_before lost), deleted WAL reported, torn tail opens"
