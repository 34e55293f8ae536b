#!/usr/bin/env bash
# bench/log.sh - durable append and read-back throughput of the event log.
#
# Builds bench/log_bench.c against the build tree's libdossier.a (pkg-config
# supplies the dependency flags), then for each batch size appends EVENTS
# events twice -- through the emitter (validate + envelope + append) and as
# ready-made records straight into the log (its peer: the log alone) -- every
# batch committed with sync (in the background while the next is built, as
# `dossier scan` does), and reads them all back (decode + validate).
# Prints a table with events/s and the emit/raw ratio, and appends CSV rows
# to bench/results/log.csv.
#
# Usage: bench/log.sh [BUILD_DIR]        (default: build/bench-log, configured
#                                          RelWithDebInfo if missing)
# Environment: EVENTS (default 1000000), BATCHES (default "4096 16384 65536"),
#              BENCH_TMP (where the logs go; default $TMPDIR or /tmp).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
build=${1:-$src/build/bench-log}
events=${EVENTS:-1000000}
batches=${BATCHES:-"4096 16384 65536"}
tmp_root=${BENCH_TMP:-${TMPDIR:-/tmp}}

if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF > /dev/null
fi
cmake --build "$build" --target dossier_static -j2 > /dev/null

work=$(mktemp -d "$tmp_root/dossier-logbench.XXXXXX")
trap 'rm -rf "$work"' EXIT
pcs="msgpack openssl libxxhash yaml-0.1 libcurl libisal"
pkg-config --exists libnats && pcs="$pcs libnats"
# RocksDB linked as the dossier binary links it (CMakeLists.txt:
# DOSSIER_STATIC_ROCKSDB): its static archive when there is one.
rocksdb_libs=$(bash "$here/rocksdb_libs.sh")
# shellcheck disable=SC2046,SC2086
cc -std=c11 -D_GNU_SOURCE -O2 -I"$src/include" -I"$src/common" -I"$src/codec/include" \
   $(pkg-config --cflags $pcs rocksdb) -o "$work/log_bench" "$src/bench/log_bench.c" \
   "$build/libdossier.a" $(pkg-config --libs $pcs) $rocksdb_libs -lpthread -lm

mkdir -p "$src/bench/results"
csv="$src/bench/results/log.csv"
[ -f "$csv" ] || echo "date,host_load1,mode,events,batch,append_s,append_eps,commit_s,append_cpu_s,open_ro_s,read_s,read_eps,record_bytes" > "$csv"

printf '%-6s %7s %9s %12s %9s %10s %12s %10s\n' mode batch append_s append_ev/s cpu_us/ev commit_s read_ev/s emit/raw
for batch in $batches; do
  declare -A eps=()
  for mode in raw emit; do
    rm -rf "$work/log"
    load=$(cut -d' ' -f1 /proc/loadavg)
    line=$("$work/log_bench" "$work/log" "$events" "$batch" "$mode")
    echo "$(date -u +%FT%TZ),$load,$line" >> "$csv"
    IFS=, read -r m n b as aeps cs cpu os rs reps bytes <<< "$line"
    eps[$mode]=$aeps
    ratio=""
    [ "$mode" = emit ] && ratio=$(awk -v e="$aeps" -v r="${eps[raw]}" 'BEGIN { printf "%.2f", e / r }')
    printf '%-6s %7s %9s %12s %9.2f %10s %12s %10s\n' "$m" "$b" "$as" "$aeps" \
      "$(awk -v c="$cpu" -v n="$n" 'BEGIN { print c * 1e6 / n }')" "$cs" "$reps" "$ratio"
  done
  unset eps
done
echo "record size: ${bytes} bytes (emit); target: 500000 events/s appended durably"
echo "CSV: $csv"
