#!/usr/bin/env bash
# `events --follow` (issue 22): a reader started before the log exists waits
# for its first writer, then prints every event committed by each later
# scan, in order, the same bytes a plain `events` prints afterwards; it is
# woken by the writer's changes to the log folder, and a reader whose log
# never changes keeps waiting (the fallback refresh finds nothing).  --limit
# ends a follow after N events; SIGTERM ends it with exit 0.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"

m=$(sample_copy mission)
log="$WORK/log"
scan() { "$BIN" scan --mission-type software-dev --log "$log" -q "$m" || true; }
type=mission_dossier_artifact_indexed

# wait_for FILE PATTERN: until FILE has a line with PATTERN (bounded; the
# bound is a hang guard, not a speed assertion)
wait_for() {
  for _ in $(seq 1 300); do
    grep -q -- "$2" "$1" && return 0
    sleep 0.1
  done
  fail "no line with $2 in $1: $(cat "$1")"
}

# 1. the log does not exist yet: the reader waits for its first writer
"$BIN" events --log "$log" --follow --type "$type" > "$WORK/follow.ndjson" &
fpid=$!
CLEANUP_PIDS+=("$fpid")
sleep 0.3
scan
wait_for "$WORK/follow.ndjson" '"relative_path":"spec.md"'

# 2. each later scan's events are printed, with no restart of the reader
for i in 1 2 3; do
  echo "follow $i" > "$m/evidence/follow-$i.md"
  scan
  wait_for "$WORK/follow.ndjson" "\"relative_path\":\"evidence/follow-$i.md\""
done
kill -TERM "$fpid"
wait "$fpid" || fail "events --follow did not exit 0 on SIGTERM"
"$BIN" events --log "$log" --type "$type" > "$WORK/plain.ndjson"
cmp "$WORK/plain.ndjson" "$WORK/follow.ndjson" \
  || fail "--follow printed other events than a plain events run"

# 3. --limit ends a follow once N new events were printed
last=$("$BIN" events --log "$log" | wc -l)
"$BIN" events --log "$log" --follow --since "$last" --limit 2 > "$WORK/limit.ndjson" &
lpid=$!
CLEANUP_PIDS+=("$lpid")
sleep 0.3
echo "limit" > "$m/evidence/limit.md"
scan
wait "$lpid" || fail "events --follow --limit 2 did not exit 0"
[ "$(wc -l < "$WORK/limit.ndjson")" -eq 2 ] || fail "--limit 2 printed: $(cat "$WORK/limit.ndjson")"
"$BIN" events --log "$log" --since "$last" --limit 2 > "$WORK/limit-plain.ndjson"
cmp "$WORK/limit-plain.ndjson" "$WORK/limit.ndjson" || fail "--follow --limit printed other events"

# 4. an unchanged log: the reader keeps waiting, prints nothing, exits 0 on SIGTERM
"$BIN" events --log "$log" --follow --since "$("$BIN" events --log "$log" | wc -l)" \
  > "$WORK/idle.ndjson" &
ipid=$!
CLEANUP_PIDS+=("$ipid")
sleep 1
kill -0 "$ipid" 2>/dev/null || fail "events --follow on an unchanged log exited"
kill -TERM "$ipid"
wait "$ipid" || fail "events --follow did not exit 0 on SIGTERM"
[ ! -s "$WORK/idle.ndjson" ] || fail "--follow printed on an unchanged log: $(cat "$WORK/idle.ndjson")"
echo "ok"
