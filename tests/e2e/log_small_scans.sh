#!/usr/bin/env bash
# log_small_scans: a log used only by small scans keeps a bounded number of
# table files.  Every eighth writer session flushes a table per family
# (eventlog/log_flush.c) and a short session ends before RocksDB's own
# compaction of them runs, so they used to pile up (91 after ~100 scans of
# the sample mission, every open loading each one); a closing writer now
# compacts a small family once it holds 4 tables.  48 unchanged rescans:
# the table count stays at most 3 per family that has tables, at least one
# close compacted (the count went down), and no compaction changed what the
# log holds -- each scan's export starts with the previous one whole and adds
# the same number of events, the snapshot parity never changes, verify is
# clean and every run is whole (check_log.py).
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"

m=$(sample_copy)
log="$WORK/log"
scan() { "$BIN" scan "$m" --mission-type software-dev --log "$log" -q > /dev/null || fail "scan $1"; }
tables() { find "$log" -maxdepth 1 -name '*.sst' | wc -l; }
parity() {
  "$BIN" snapshot --log "$log" --json > "$WORK/snap.json" || fail "snapshot after scan $1"
  "$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["parity_hash_sha256"])' "$WORK/snap.json"
}

scan 1
"$BIN" events --log "$log" > "$WORK/prev.ndjson" || fail "events after scan 1"
per_scan=$(wc -l < "$WORK/prev.ndjson")
[ "$per_scan" -gt 1 ] || fail "the first scan recorded $per_scan events"
p0=$(parity 1)
prev_tables=$(tables)
max_tables=$prev_tables
compactions=0
for i in $(seq 2 48); do
  scan "$i"
  "$BIN" events --log "$log" > "$WORK/cur.ndjson" || fail "events after scan $i"
  n_prev=$(wc -l < "$WORK/prev.ndjson")
  [ "$(wc -l < "$WORK/cur.ndjson")" -eq $((n_prev + per_scan)) ] \
    || fail "scan $i: $(wc -l < "$WORK/cur.ndjson") events, expected $((n_prev + per_scan))"
  head -n "$n_prev" "$WORK/cur.ndjson" > "$WORK/cur_head.ndjson"
  cmp -s "$WORK/cur_head.ndjson" "$WORK/prev.ndjson" \
    || fail "scan $i: the events recorded before it changed"
  [ "$(parity "$i")" = "$p0" ] || fail "scan $i: the snapshot parity changed"
  t=$(tables)
  [ "$t" -lt "$prev_tables" ] && compactions=$((compactions + 1))
  [ "$t" -gt "$max_tables" ] && max_tables=$t
  prev_tables=$t
  mv "$WORK/cur.ndjson" "$WORK/prev.ndjson"
done

options=$(find "$log" -maxdepth 1 -name 'OPTIONS-*' | sed -n 1p)
families=$(grep -c '^\[CFOptions' "$options")
[ "$max_tables" -le $((3 * families)) ] \
  || fail "up to $max_tables table files for $families families (at most $((3 * families)) expected)"
[ "$compactions" -ge 1 ] || fail "no close compacted the tables (their count never went down)"
"$PY" "$SRC/tests/support/check_log.py" "$WORK/prev.ndjson" > /dev/null || fail "check_log"
expect_exit 0 "$BIN" verify --log "$log" -q
echo "log_small_scans: 48 scans, at most $max_tables table files for $families families," \
     "$compactions compacting closes, events and snapshot unchanged by them"
