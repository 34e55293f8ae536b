#!/usr/bin/env bash
# bench/replay.sh - how fast do the projections replay the log?
#
# Generates a log of EVENTS (default 1,000,000) events with bench/replay_gen.c
# (scan runs of ARTS (default 1000) artifacts over 20 features, ~1% of the
# files edited per rescan, every 10th rescan missing a required artifact, a
# baseline per feature: every run yields a new artifact set, a snapshot and a
# drift assessment -- the heavy case).  Then, RUNS times (default 3, best
# counts):
#   dossier replay --from-zero      all projections rebuilt from sequence 1
#                                   (timed by /usr/bin/time -v: wall, CPU, peak RSS)
#   replay_gen read                 the peer: iterate + decode every event with
#                                   dsr_record_decode and nothing else
# Prints events/s (wall and per CPU-second), peak RSS, the ratio to the peer,
# and the targets (>= 1,000,000 events/s, < 300 MB).  A CSV copy goes to
# bench/results/.  Wall-clock figures depend on what else runs on the machine;
# the CPU-second rate is printed beside them for that reason.
#
# Environment: DOSSIER_BUILD (default build/bench, built here as Release when
# missing), EVENTS, ARTS, RUNS.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RESULTS=$ROOT/bench/results
EVENTS=${EVENTS:-1000000}
ARTS=${ARTS:-1000}
RUNS=${RUNS:-3}
BUILD=${DOSSIER_BUILD:-$ROOT/build/bench}
BIN=$BUILD/dossier

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

LOG=$WORK/log
echo "generating $EVENTS events ($ARTS artifacts per scan) ..."
"$GEN" gen "$LOG" "$EVENTS" "$ARTS" 20

best_rate=0 best_cpu_rate=0 best_rss=0 best_wall=0 events=0
for r in $(seq 1 "$RUNS"); do
  /usr/bin/time -v "$BIN" replay --from-zero --log "$LOG" > "$WORK/out.txt" 2> "$WORK/time.txt"
  events=$(sed -n 's/.*: \([0-9]*\) events read.*/\1/p' "$WORK/out.txt")
  appended=$(sed -n 's/.*read, \([0-9]*\) derived events appended.*/\1/p' "$WORK/out.txt")
  [ "$appended" = 0 ] || { echo "replay appended $appended events" >&2; exit 1; }
  wall=$(sed -n 's/^time \([0-9.]*\) s.*/\1/p' "$WORK/out.txt")
  user=$(sed -n 's/.*User time (seconds): //p' "$WORK/time.txt")
  sys=$(sed -n 's/.*System time (seconds): //p' "$WORK/time.txt")
  rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$WORK/time.txt")
  rate=$(awk -v e="$events" -v t="$wall" 'BEGIN { printf "%.0f", e / t }')
  cpu_rate=$(awk -v e="$events" -v u="$user" -v s="$sys" 'BEGIN { printf "%.0f", e / (u + s) }')
  echo "run $r: $events events in $wall s wall (user $user s, sys $sys s), $rate events/s," \
       "peak RSS $((rss / 1024)) MB"
  if [ "$rate" -gt "$best_rate" ]; then
    best_rate=$rate best_cpu_rate=$cpu_rate best_rss=$rss best_wall=$wall
  fi
done

peer_rate=0
for r in $(seq 1 "$RUNS"); do
  out=$("$GEN" read "$LOG")
  pr=$(echo "$out" | sed -n 's/.*s (\([0-9]*\) events\/s).*/\1/p')
  [ "$pr" -gt "$peer_rate" ] && peer_rate=$pr
done

ratio=$(awk -v a="$best_rate" -v b="$peer_rate" 'BEGIN { printf "%.2f", a / b }')
echo
printf "%-44s %14s %12s\n" "" "events/s" "peak RSS"
printf "%-44s %14s %9s MB\n" "dossier replay --from-zero (all projections)" "$best_rate" "$((best_rss / 1024))"
printf "%-44s %14s\n" "  same, per CPU-second (user + sys)" "$best_cpu_rate"
printf "%-44s %14s\n" "peer: iterate + dsr_record_decode only" "$peer_rate"
printf "%-44s %14s\n" "ratio replay / peer" "$ratio"
echo "targets: >= 1000000 events/s ($( [ "$best_rate" -ge 1000000 ] && echo met || echo NOT met))," \
     "< 300 MB ($( [ "$best_rss" -lt $((300 * 1024)) ] && echo met || echo NOT met))"
echo "load average during the run: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"

mkdir -p "$RESULTS"
csv=$RESULTS/replay-$(date -u +%Y%m%dT%H%M%SZ).csv
{
  echo "events,arts_per_scan,wall_s,events_per_s,events_per_cpu_s,peak_rss_kb,peer_events_per_s,ratio"
  echo "$events,$ARTS,$best_wall,$best_rate,$best_cpu_rate,$best_rss,$peer_rate,$ratio"
} > "$csv"
echo "wrote $csv"
