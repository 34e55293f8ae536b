#!/usr/bin/env bash
# bench/nats.sh - how fast does `dossier publish` mirror a log to JetStream?
#
# Generates a log of EVENTS (default 100,000) mission_dossier_artifact_indexed
# events (tests/support/gen_envelopes.py | dossier import) stamped with the
# log's own node_id, and one of events from another node; then, each against
# a fresh local nats-server -js (file storage, 127.0.0.1, a temporary store):
#   dossier publish --window 4096   (the default: async, bounded window)
#   dossier publish --window 16384
#   dossier publish --window 256
#   dossier publish, relayed events (each checked against what the log pulled)
#   dossier publish --window 1      (one publish in flight: the synchronous
#                                     baseline; on a 5,000-event log)
#   nats_raw_pub (bench/nats_raw_pub.c): bare libnats async publishing of the
#     same number of messages of the same average size, nothing else to do -
#     the ceiling on this machine
# `dossier publish` times its own round (publishing and waiting for every
# ack, cursor persisted) and prints events/s; the connect and the opening of
# the log are not in it.  Each config runs RUNS times (default 3), the best
# counts.  Prints a table with the ratio to the raw peer; target: >= 50,000
# events/s with the default window.  A CSV copy goes to bench/results/.
#
# Environment: DOSSIER_BIN (default: build/bench/dossier, built here as
# Release when missing), EVENTS, RUNS.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RESULTS=$ROOT/bench/results
EVENTS=${EVENTS:-100000}
RUNS=${RUNS:-3}
PY=/usr/bin/python3

command -v nats-server >/dev/null || { echo "bench/nats.sh: nats-server not found" >&2; exit 1; }
BIN=${DOSSIER_BIN:-$ROOT/build/bench/dossier}
if [ ! -x "$BIN" ]; then
  echo "building Release dossier into build/bench ..." >&2
  cmake -S "$ROOT" -B "$ROOT/build/bench" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
  cmake --build "$ROOT/build/bench" -j"$(nproc)" --target dossier >/dev/null
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/dossier-bench-nats.XXXXXX")
NATS_PID=""
cleanup() {
  [ -n "$NATS_PID" ] && kill -9 "$NATS_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

RAW=$WORK/nats_raw_pub
cc -O2 -o "$RAW" "$ROOT/bench/nats_raw_pub.c" $(pkg-config --cflags --libs libnats)

echo "generating logs of $EVENTS events ..." >&2
# "own": events stamped with the log's own node_id, as on a scanning node (the
# log is created by scanning an empty folder, which also gives its node_id).
# "relayed": events of another node, as on a node that imported them; the
# publisher checks each against what it pulled from the stream.
mkdir -p "$WORK/empty"
"$BIN" scan --log "$WORK/log" -q "$WORK/empty" || true
NODE=$("$BIN" events --log "$WORK/log" | "$PY" -c 'import json,sys; print(json.loads(sys.stdin.readline())["node_id"])')
HAVE=$("$BIN" events --log "$WORK/log" | wc -l)
"$PY" "$ROOT/tests/support/gen_envelopes.py" $((EVENTS - HAVE)) --node-id "$NODE" > "$WORK/own.ndjson"
"$BIN" import --log "$WORK/log" "$WORK/own.ndjson" >/dev/null
"$PY" "$ROOT/tests/support/gen_envelopes.py" "$EVENTS" --seed 2 > "$WORK/events.ndjson"
"$BIN" import --log "$WORK/relayed" "$WORK/events.ndjson" >/dev/null
head -n 5000 "$WORK/events.ndjson" > "$WORK/small.ndjson"
"$BIN" import --log "$WORK/small" "$WORK/small.ndjson" >/dev/null
# Average body size, for the raw peer.
BYTES=$(awk '{s += length($0)} END {printf "%d", s / NR}' "$WORK/events.ndjson")

server_up() {   # a fresh server and store for every run
  [ -n "$NATS_PID" ] && { kill -9 "$NATS_PID" 2>/dev/null || true; }
  rm -rf "$WORK/js"
  PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  nats-server -js -a 127.0.0.1 -p "$PORT" -sd "$WORK/js" >"$WORK/nats.log" 2>&1 &
  NATS_PID=$!
  disown "$NATS_PID"      # no "Killed" noise; cleanup and the next run kill it
  for _ in $(seq 1 100); do
    "$PY" -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 0.2)" 2>/dev/null && return 0
    sleep 0.05
  done
  echo "nats-server did not start" >&2; cat "$WORK/nats.log" >&2; exit 1
}


# The runs below set RESULT ("events,seconds,rate", best of RUNS) instead of
# printing it: a $(...) subshell would lose NATS_PID and leak its servers.
RESULT=""
run_dossier() {   # run_dossier LOG WINDOW
  local log=$1 window=$2 out line n s r results=""
  for _ in $(seq 1 "$RUNS"); do
    server_up
    rm -rf "$log/publish"          # the cursor store starts empty for every run
    out=$("$BIN" publish --nats "nats://127.0.0.1:$PORT" --log "$log" --window "$window")
    line=$(grep "dossier publish: [0-9]* published" <<<"$out")
    n=$(sed -E 's/.*: ([0-9]+) published.*/\1/' <<<"$line")
    s=$(sed -E 's/.*; ([0-9.]+) s.*/\1/' <<<"$line")
    r=$(awk -v n="$n" -v s="$s" 'BEGIN {printf "%.0f", n / s}')
    results+="$n,$s,$r"$'\n'
  done
  RESULT=$(printf '%s' "$results" | sort -t, -k3 -n -r | head -1)
}

run_raw() {   # run_raw N WINDOW
  local results="" line
  for _ in $(seq 1 "$RUNS"); do
    server_up
    line=$("$RAW" "nats://127.0.0.1:$PORT" RAW "$1" "$BYTES" "$2")
    results+="$(cut -d, -f2,4,5 <<<"$line")"$'\n'
  done
  RESULT=$(printf '%s' "$results" | sort -t, -k3 -n -r | head -1)
}

mkdir -p "$RESULTS"
CSV=$RESULTS/nats-$(date -u +%Y%m%dT%H%M%SZ).csv
echo "config,window,events,seconds,events_per_s,vs_raw" > "$CSV"

run_raw "$EVENTS" 4096
raw=$RESULT
raw_rate=$(cut -d, -f3 <<<"$raw")
printf '\n%-28s %7s %9s %9s %12s %8s\n' "publisher" "window" "events" "seconds" "events/s" "vs raw"
row() {   # row NAME WINDOW "events,seconds,rate"
  local e s r ratio
  IFS=, read -r e s r <<<"$3"
  ratio=$(awk -v r="$r" -v b="$raw_rate" 'BEGIN {printf "%.2f", r / b}')
  printf '%-28s %7s %9s %9s %12s %7sx\n' "$1" "$2" "$e" "$s" "$r" "$ratio"
  echo "$1,$2,$e,$s,$r,$ratio" >> "$CSV"
}
row "libnats raw (peer)" 4096 "$raw"
run_dossier "$WORK/log" 4096;     def=$RESULT; row "dossier publish (default)" 4096 "$def"
run_dossier "$WORK/log" 16384;    row "dossier publish" 16384 "$RESULT"
run_dossier "$WORK/log" 256;      row "dossier publish" 256 "$RESULT"
run_dossier "$WORK/relayed" 4096; row "dossier publish (relayed)" 4096 "$RESULT"
run_dossier "$WORK/small" 1;      row "dossier publish (sync)" 1 "$RESULT"

def_rate=$(cut -d, -f3 <<<"$def")
echo
if [ "$def_rate" -ge 50000 ]; then
  echo "target >= 50,000 events/s with the default window: met ($def_rate events/s)"
else
  echo "target >= 50,000 events/s with the default window: NOT met ($def_rate events/s)"
fi
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); CSV: $CSV"
