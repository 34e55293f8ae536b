#!/usr/bin/env bash
# reader_missing_table: a reader sees the whole committed log or fails.  One
# events table file is removed from a copy of a log: `dossier events` exits 3
# naming the file and prints nothing; `dossier deliver` fails the same way,
# sends nothing and keeps its cursor, so that once the file is restored every
# event is delivered, each exactly once.  (A RocksDB secondary skips table
# files it cannot open, which used to show 1 of 49 events with exit 0 and
# move the delivery cursor past the other 48 for good.)
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"
source "$DOSSIER_SRC/tests/support/deliver_lib.sh"

LOG="$WORK/log"
import_events 48 3 "$LOG" 31
flush_to_tables "$LOG"                       # the WAL becomes tables
import_events 1 1 "$LOG" 32                  # one event only in the WAL
[ "$("$BIN" events --log "$LOG" | wc -l)" -eq 49 ] || fail "the log should hold 49 events"
log_ids "$LOG" > "$WORK/ids"

sst=$(grep -la "column.family.name.*events\|nameevents" "$LOG"/*.sst | sed -n 1p)
[ -n "$sst" ] || fail "no events table in $LOG"
name=$(basename "$sst")
mv "$sst" "$WORK/$name.saved"

# events: exit 3, the file named, nothing printed.
rc=0
"$BIN" events --log "$LOG" > "$WORK/ev.out" 2> "$WORK/ev.err" || rc=$?
[ "$rc" -eq 3 ] || { cat "$WORK/ev.err"; fail "events with $name missing: exit $rc, expected 3"; }
grep -q "${name%.sst}" "$WORK/ev.err" || { cat "$WORK/ev.err"; fail "events does not name $name"; }
[ ! -s "$WORK/ev.out" ] || fail "events printed $(wc -l < "$WORK/ev.out") events of a partial log"

# deliver: fails, sends nothing, keeps its cursor.
make_secret
start_receiver recv --secret-file "$SECRET" --default 204 --deadline 60
URL="http://127.0.0.1:$RECV_PORT/hook"
rc=0
"$BIN" deliver --log "$LOG" --url "$URL" --secret-file "$SECRET" -q > /dev/null \
  2> "$WORK/d1.err" || rc=$?
[ "$rc" -eq 3 ] || { cat "$WORK/d1.err"; fail "deliver with $name missing: exit $rc, expected 3"; }
[ ! -s "$WORK/recv.ndjson" ] || fail "deliver sent $(wc -l < "$WORK/recv.ndjson") events of a partial log"

# Restored: everything arrives, once.
mv "$WORK/$name.saved" "$sst"
[ "$("$BIN" events --log "$LOG" | wc -l)" -eq 49 ] || fail "events after restoring $name"
"$BIN" deliver --log "$LOG" --url "$URL" --secret-file "$SECRET" -q > /dev/null \
  || fail "deliver after restoring $name"
recv_check "$WORK/recv.ndjson" "$WORK/ids" --exact || fail "not every event delivered exactly once"
echo "ok: events and deliver refuse a log with $name missing; all 49 delivered once restored"
