#!/usr/bin/env bash
# bench/replay.sh - how fast do the projections replay the log?
#
# Generates a log of EVENTS (default 1,000,000) events with bench/replay_gen.c
# (scan runs of ARTS (default 1000) artifacts over 20 features, ~1% of the
# files edited per rescan, every 10th rescan missing a required artifact, a
# baseline per feature: every run yields a new artifact set, a snapshot and a
# drift assessment -- the heavy case).  Then, RUNS times (default 3):
#   dossier replay --from-zero      all projections rebuilt from sequence 1
#                                   (timed by /usr/bin/time -v: wall, CPU, peak RSS)
#   $BASELINE replay --from-zero    the same with another binary (optional; the
#                                   two alternate, so both see the same machine)
#   replay_gen read                 the peer: iterate + decode every event with
#                                   dsr_record_decode and nothing else
# Prints the median and [range] of events/s (wall, and per CPU-second: the
# figure to compare when the machine is shared), the peak RSS, the ratio to
# the peer, and issue 21's targets (>= 1,500,000 events/s, < 300 MB).  A CSV
# of every run goes to bench/results/.
#
# Environment: DOSSIER_BUILD (default build/bench, built here as Release when
# missing), EVENTS, ARTS, RUNS, BASELINE (path of a dossier binary to compare;
# it must read the log this build writes), LOG_DIR (reuse a log generated
# before, with the same EVENTS and ARTS: generating takes a while).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RESULTS=$ROOT/bench/results
EVENTS=${EVENTS:-1000000}
ARTS=${ARTS:-1000}
RUNS=${RUNS:-3}
BUILD=${DOSSIER_BUILD:-$ROOT/build/bench}
BIN=$BUILD/dossier
BASELINE=${BASELINE:-}

if [ ! -x "$BIN" ] || [ ! -f "$BUILD/libdossier.a" ]; then
  echo "building Release dossier into $BUILD ..." >&2
  cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
  cmake --build "$BUILD" -j"$(nproc)" --target dossier dossier_static >/dev/null
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/dossier-bench-replay.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
GEN=$WORK/replay_gen
# RocksDB linked as the dossier binary links it (see bench/rocksdb_libs.sh)
libs="$(pkg-config --libs openssl libxxhash msgpack yaml-0.1 libcurl libisal) $(bash "$ROOT/bench/rocksdb_libs.sh") -lpthread -lm"
if pkg-config --exists libnats; then libs="$libs $(pkg-config --libs libnats)"; fi
# shellcheck disable=SC2086
cc -O2 -std=c11 -D_GNU_SOURCE -I"$ROOT/include" -I"$ROOT/common" -o "$GEN" "$ROOT/bench/replay_gen.c" \
  "$BUILD/libdossier.a" $libs

if [ -n "${LOG_DIR:-}" ] && [ -d "$LOG_DIR" ]; then
  LOG=$LOG_DIR
  echo "reusing the log in $LOG"
else
  LOG=${LOG_DIR:-$WORK/log}
  echo "generating $EVENTS events ($ARTS artifacts per scan) into $LOG ..."
  "$GEN" gen "$LOG" "$EVENTS" "$ARTS" 20
fi

# median and [min-max] of a list of numbers (one per line on stdin)
stats() { sort -g | awk '{ v[NR] = $1 } END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
  printf "%.0f [%.0f-%.0f]", m, v[1], v[NR] }'; }

# One replay by binary $1; appends "rate cpu_rate rss_kb wall" to $2.
replay_once() {
  /usr/bin/time -v "$1" replay --from-zero --log "$LOG" > "$WORK/out.txt" 2> "$WORK/time.txt"
  events=$(sed -n 's/.*: \([0-9]*\) events read.*/\1/p' "$WORK/out.txt")
  appended=$(sed -n 's/.*read, \([0-9]*\) derived events appended.*/\1/p' "$WORK/out.txt")
  [ "$appended" = 0 ] || { echo "replay appended $appended events" >&2; exit 1; }
  wall=$(sed -n 's/^time \([0-9.]*\) s.*/\1/p' "$WORK/out.txt")
  user=$(sed -n 's/.*User time (seconds): //p' "$WORK/time.txt")
  sys=$(sed -n 's/.*System time (seconds): //p' "$WORK/time.txt")
  rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$WORK/time.txt")
  rate=$(awk -v e="$events" -v t="$wall" 'BEGIN { printf "%.0f", e / t }')
  cpu_rate=$(awk -v e="$events" -v u="$user" -v s="$sys" 'BEGIN { printf "%.0f", e / (u + s) }')
  echo "$rate $cpu_rate $rss $wall" >> "$2"
  echo "  $(basename "$1"): $events events in $wall s wall (user $user s, sys $sys s)," \
       "$rate events/s, peak RSS $((rss / 1024)) MB"
}

# Runs alternate between the binaries, so both see the same machine.
: > "$WORK/runs.new"
[ -z "$BASELINE" ] || : > "$WORK/runs.base"
for r in $(seq 1 "$RUNS"); do
  echo "run $r:"
  replay_once "$BIN" "$WORK/runs.new"
  [ -z "$BASELINE" ] || replay_once "$BASELINE" "$WORK/runs.base"
done

: > "$WORK/peer"
for r in $(seq 1 "$RUNS"); do
  "$GEN" read "$LOG" | sed -n 's/.*s (\([0-9]*\) events\/s).*/\1/p' >> "$WORK/peer"
done

row() {   # label, runs file
  printf "%-40s %26s %26s %9s MB\n" "$1" "$(cut -d' ' -f1 "$2" | stats)" \
    "$(cut -d' ' -f2 "$2" | stats)" "$(cut -d' ' -f3 "$2" | sort -n | tail -1 | awk '{ printf "%d", $1 / 1024 }')"
}
echo
printf "%-40s %26s %26s %12s\n" "replay --from-zero, all projections" "events/s, median [range]" \
  "per CPU-second (user+sys)" "peak RSS"
row "dossier ($BIN)" "$WORK/runs.new"
[ -z "$BASELINE" ] || row "baseline ($BASELINE)" "$WORK/runs.base"
printf "%-40s %26s\n" "peer: iterate + dsr_record_decode only" "$(stats < "$WORK/peer")"
med_rate=$(cut -d' ' -f1 "$WORK/runs.new" | stats | cut -d' ' -f1)
med_cpu=$(cut -d' ' -f2 "$WORK/runs.new" | stats | cut -d' ' -f1)
peak=$(cut -d' ' -f3 "$WORK/runs.new" | sort -n | tail -1)
peer_rate=$(stats < "$WORK/peer" | cut -d' ' -f1)
ratio=$(awk -v a="$med_rate" -v b="$peer_rate" 'BEGIN { printf "%.2f", a / b }')
echo "ratio replay / peer (medians): $ratio"
echo "targets (issue 21): >= 1500000 events/s ($( [ "$med_rate" -ge 1500000 ] && echo met || echo NOT met)," \
     "per CPU-second $( [ "$med_cpu" -ge 1500000 ] && echo met || echo NOT met))," \
     "< 300 MB ($( [ "$peak" -lt $((300 * 1024)) ] && echo met || echo NOT met))"
echo "load average during the run: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"

mkdir -p "$RESULTS"
csv=$RESULTS/replay-$(date -u +%Y%m%dT%H%M%SZ).csv
{
  echo "binary,run,events,arts_per_scan,events_per_s,events_per_cpu_s,peak_rss_kb,wall_s,peer_events_per_s_median"
  awk -v b="$BIN" -v e="$events" -v a="$ARTS" -v p="$peer_rate" \
    '{ printf "%s,%d,%s,%s,%s,%s,%s,%s,%s\n", b, NR, e, a, $1, $2, $3, $4, p }' "$WORK/runs.new"
  [ -z "$BASELINE" ] || awk -v b="$BASELINE" -v e="$events" -v a="$ARTS" -v p="$peer_rate" \
    '{ printf "%s,%d,%s,%s,%s,%s,%s,%s,%s\n", b, NR, e, a, $1, $2, $3, $4, p }' "$WORK/runs.base"
} > "$csv"
echo "wrote $csv"
