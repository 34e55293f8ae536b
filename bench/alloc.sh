#!/usr/bin/env bash
# bench/alloc.sh - which malloc should the dossier binary run with?
#
# Workloads (data generated once; the log under the build folder):
#   scan     dossier scan of corpus A (100,000 files of 256 B - 8 KiB, the
#            generator and seed of bench/run.sh, in bench/work/A), fresh log
#            each run (cold log, warm page cache)
#   replay   dossier replay --from-zero of a 1,000,000-event log made by
#            bench/replay_gen.c (as bench/replay.sh makes it)
#   log      bench/log_bench.c: 1,000,000 events appended through the emitter
#            in batches of 16,384, each committed with sync (then read back)
#   index    dossier index of a copy of examples/sample-mission, START times
#            in a row (start-up cost of a small bulk command)
#   version  dossier --version, START times in a row
# Variants (VARIANTS picks some; default all that apply to the binary):
#   reexec      a binary that re-executes its bulk commands with glibc malloc
#               tunables (dossier before it linked jemalloc): REEXEC_BIN, a
#               copy of such a build's dossier; not for the log workload
#   glibc       glibc malloc, its defaults
#   tunables    glibc malloc with the old re-exec's four tunables set in the
#               environment (the same malloc as reexec, without the 2nd exec)
#   mimalloc    libmimalloc.so.2 preloaded (LD_PRELOAD), its defaults
#   mi-large    the same, MIMALLOC_LARGE_OS_PAGES=1 (2 MiB pages, eager commit)
#   mi-tuned    the same, with $MI_TUNED (MIMALLOC_* assignments: large
#               pages, a reserved arena, no decommit)
#   jemalloc    libjemalloc.so.2 preloaded, its defaults
#   je-thp      the same, MALLOC_CONF=$JE_THP (THP, one arena)
#   je-tuned    the same, MALLOC_CONF=$JE_TUNED (and no purging)
#   linked      the binary as built, with the allocator it links and that
#               allocator's built-in options (cli/malloc_policy.c); for the
#               log workload, log_bench linked the same way
# The glibc/tunables/preload variants run a second binary built with
# -DDOSSIER_ALLOCATOR=system (in $BUILD-system) when the main build links an
# allocator, so that glibc's malloc (or the preloaded one) is really used.
# Runs alternate variant by variant (round 1: each variant once, round 2:
# ...), so that the load of a shared machine hits all of them alike.  Every
# run is timed by /usr/bin/time: wall, user+sys CPU, peak RSS, minor faults.
# Prints medians and ranges, and ratios to the first variant; CSV of every
# run to bench/results/alloc-<date>.csv.
#
# Usage: bench/alloc.sh [--runs N] [--only scan,replay,log,index,version]
# Environment: DOSSIER_BUILD (default build/bench; configured Release,
# BUILD_TESTING=OFF, and built here), VARIANTS, REEXEC_BIN, START (default 20), EVENTS
# (default 1000000), JOBS (default nproc), MI_TUNED, JE_THP, JE_TUNED.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RESULTS=$ROOT/bench/results
RUNS=5
ONLY="scan,replay,log,index,version"
START=${START:-20}
EVENTS=${EVENTS:-1000000}
JOBS=${JOBS:-$(nproc)}
BUILD=${DOSSIER_BUILD:-$ROOT/build/bench}
MI_TUNED=${MI_TUNED:-MIMALLOC_LARGE_OS_PAGES=1 MIMALLOC_RESERVE_OS_MEMORY=256MiB MIMALLOC_ALLOW_DECOMMIT=0}
JE_THP=${JE_THP:-thp:always,metadata_thp:auto,narenas:1}
JE_TUNED=${JE_TUNED:-thp:always,metadata_thp:auto,narenas:1,dirty_decay_ms:-1,muzzy_decay_ms:-1}
OLD_TUNABLES="glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=268435456:glibc.malloc.arena_max=1"
PY=/usr/bin/python3
while [ $# -gt 0 ]; do
  case $1 in
    --runs) RUNS=$2; shift ;;
    --only) ONLY=$2; shift ;;
    -h|--help) sed -n '2,40p' "$0"; exit 0 ;;
    *) echo "bench/alloc.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
wants() { case ",$ONLY," in *",$1,"*) return 0 ;; esac; return 1; }

LIBDIR=$(dirname "$(cc -print-file-name=libc.so.6)")
MI_SO=$(ls "$LIBDIR"/libmimalloc.so.2 2>/dev/null || true)
JE_SO=$(ls "$LIBDIR"/libjemalloc.so.2 2>/dev/null || true)

# ---- binaries ----------------------------------------------------------------
build() {   # build DIR [cmake args...]: the dossier binary and libdossier.a
  local dir=$1; shift
  echo "building Release dossier in $dir ..." >&2
  cmake -S "$ROOT" -B "$dir" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF "$@" >/dev/null
  cmake --build "$dir" -j"$JOBS" --target dossier dossier_static >/dev/null
}
build "$BUILD"
BIN=$BUILD/dossier
# the allocator the main binary links, from its dynamic section (or its
# own malloc, where it links jemalloc's archive: DOSSIER_STATIC_DEPS)
LINKED=""
if readelf -d "$BIN" | grep -q 'libmimalloc'; then LINKED=mimalloc
elif readelf -d "$BIN" | grep -q 'libjemalloc'; then LINKED=jemalloc
elif nm -D --defined-only "$BIN" | grep -qw malloc; then LINKED=jemalloc
fi
SYSBIN=$BIN
if [ -n "$LINKED" ]; then
  build "$BUILD-system" -DDOSSIER_ALLOCATOR=system
  SYSBIN=$BUILD-system/dossier
fi
REEXEC_BIN=${REEXEC_BIN:-}
if [ -n "$REEXEC_BIN" ] && ! grep -q glibc.malloc.hugetlb "$REEXEC_BIN"; then
  echo "bench/alloc.sh: $REEXEC_BIN does not re-execute with glibc tunables" >&2; exit 2
fi

if [ -z "${VARIANTS:-}" ]; then
  VARIANTS=""
  [ -n "$REEXEC_BIN" ] && VARIANTS="reexec"
  [ -n "$LINKED" ] && VARIANTS="$VARIANTS linked"
  VARIANTS="$VARIANTS glibc tunables"
  [ -n "$MI_SO" ] && VARIANTS="$VARIANTS mimalloc mi-large mi-tuned"
  [ -n "$JE_SO" ] && VARIANTS="$VARIANTS jemalloc je-thp je-tuned"
fi
read -r -a VARIANTS <<< "$VARIANTS"

# env_of VARIANT: the environment assignments the variant runs with (shell
# words, prefixed to the command inside bash -c so that bash itself and
# /usr/bin/time keep the system malloc)
env_of() {
  case $1 in
    reexec|linked) echo "" ;;
    glibc)    echo "" ;;
    tunables) echo "GLIBC_TUNABLES=$OLD_TUNABLES" ;;
    mimalloc) echo "LD_PRELOAD=$MI_SO" ;;
    mi-large) echo "LD_PRELOAD=$MI_SO MIMALLOC_LARGE_OS_PAGES=1" ;;
    mi-tuned) echo "LD_PRELOAD=$MI_SO $MI_TUNED" ;;
    jemalloc) echo "LD_PRELOAD=$JE_SO" ;;
    je-thp)   echo "LD_PRELOAD=$JE_SO MALLOC_CONF=$JE_THP" ;;
    je-tuned) echo "LD_PRELOAD=$JE_SO MALLOC_CONF=$JE_TUNED" ;;
    *) echo "bench/alloc.sh: unknown variant $1" >&2; exit 2 ;;
  esac
}
bin_of() { case $1 in reexec) echo "$REEXEC_BIN" ;; linked) echo "$BIN" ;; *) echo "$SYSBIN" ;; esac; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/dossier-bench-alloc.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# log_bench and replay_gen, built against the system-malloc libdossier.a
SYSBUILD=$(dirname "$SYSBIN")
# the library's dependencies as CMake found them (pkg_check_modules in
# CMakeLists.txt), so that this list never falls behind it
cache_flags() { sed -n "s/^$1:INTERNAL=//p" "$SYSBUILD/CMakeCache.txt" | tr ';' ' '; }
libs="$(cache_flags DEPS_LDFLAGS) $(cache_flags NATS_LDFLAGS) $(bash "$ROOT/bench/rocksdb_libs.sh") -lpthread -lm"
incs="-I$ROOT/include -I$ROOT/common -I$ROOT/eventlog/include -I$ROOT/codec/include"
# shellcheck disable=SC2086
cc -O2 -std=c11 -D_GNU_SOURCE $incs -o "$WORK/replay_gen" "$ROOT/bench/replay_gen.c" \
  "$SYSBUILD/libdossier.a" $libs
# shellcheck disable=SC2086
cc -O2 -std=c11 -D_GNU_SOURCE $incs -o "$WORK/log_bench" "$ROOT/bench/log_bench.c" \
  "$SYSBUILD/libdossier.a" $libs
if [ "$LINKED" = jemalloc ]; then   # as CMakeLists.txt links the dossier binary
  # shellcheck disable=SC2086
  cc -O2 -std=c11 -D_GNU_SOURCE $incs -o "$WORK/log_bench_linked" "$ROOT/bench/log_bench.c" \
    "$ROOT/cli/malloc_policy.c" "$SYSBUILD/libdossier.a" $libs $(pkg-config --libs jemalloc)
fi

# ---- data --------------------------------------------------------------------
CORPUS=$ROOT/bench/work/A
if wants scan && [ ! -f "$CORPUS/.complete" ]; then
  rm -rf "$CORPUS"; mkdir -p "$CORPUS"
  echo "generating corpus A: 100,000 files ..." >&2
  # the same generator, arguments and seed as bench/run.sh: the two share the tree
  $PY "$ROOT/bench/gen_corpus.py" "$CORPUS" 100 1000 256 8192 42
  touch "$CORPUS/.complete"
fi
wants scan && find "$CORPUS" -type f -print0 | xargs -0 cat > /dev/null   # warm the page cache
REPLAYLOG=$BUILD/alloc-replay-log-$EVENTS
if wants replay && [ ! -f "$REPLAYLOG/.complete" ]; then
  rm -rf "$REPLAYLOG"
  echo "generating a log of $EVENTS events ..." >&2
  "$WORK/replay_gen" gen "$REPLAYLOG" "$EVENTS" 1000 20 >/dev/null
  touch "$REPLAYLOG/.complete"
fi
SAMPLE=$WORK/sample
cp -r "$ROOT/examples/sample-mission" "$SAMPLE"

# cmd_of WORKLOAD VARIANT: the shell command of one run
cmd_of() {
  local e b
  e=$(env_of "$2"); b=$(bin_of "$2")
  case $1 in
    scan)    echo "rm -rf '$WORK/scanlog' && $e '$b' scan '$CORPUS' --log '$WORK/scanlog' --jobs $JOBS -q" ;;
    replay)  echo "$e '$b' replay --from-zero --log '$REPLAYLOG' > '$WORK/replay.out'" ;;
    log)     local lb=$WORK/log_bench
             [ "$2" = linked ] && lb=$WORK/log_bench_linked
             echo "rm -rf '$WORK/lb' && $e '$lb' '$WORK/lb' $EVENTS 16384 emit > '$WORK/log.out'" ;;
    index)   echo "for i in \$(seq $START); do $e '$b' index '$SAMPLE' -q > /dev/null || exit 1; done" ;;
    version) echo "for i in \$(seq $START); do $e '$b' --version > /dev/null || exit 1; done" ;;
  esac
}

mkdir -p "$RESULTS"
CSV=$RESULTS/alloc-$(date -u +%Y%m%dT%H%M%SZ).csv
echo "workload,variant,run,wall_s,user_s,sys_s,peak_rss_kb,minor_faults,metric,load1" > "$CSV"
WORKLOADS=()
for w in scan replay log index version; do wants "$w" && WORKLOADS+=("$w"); done
echo "variants: ${VARIANTS[*]}; workloads: ${WORKLOADS[*]}; $RUNS runs each, alternating" >&2
for w in "${WORKLOADS[@]}"; do
  for r in $(seq 1 "$RUNS"); do
    for v in "${VARIANTS[@]}"; do
      [ "$w/$v" = log/reexec ] && continue   # log_bench never re-executed since
      cmd=$(cmd_of "$w" "$v")
      load=$(cut -d' ' -f1 /proc/loadavg)
      /usr/bin/time -o "$WORK/time" -f '%e %U %S %M %R' bash -c "$cmd" 2> "$WORK/err" \
        || { echo "failed ($w, $v): $cmd" >&2; cat "$WORK/err" >&2; exit 1; }
      read -r wall user sys rss faults < <(tail -n 1 "$WORK/time")
      # the workload's own figure: events/s for replay (its reported time) and
      # log (append phase); ms per start for index and version; files/s for scan
      case $w in
        scan)    metric=$(awk -v t="$wall" 'BEGIN { printf "%.0f", 100000 / t }') ;;
        replay)  metric=$(sed -n 's/^time \([0-9.]*\) s.*/\1/p' "$WORK/replay.out" \
                          | awk -v e="$EVENTS" '{ printf "%.0f", e / $1 }') ;;
        log)     metric=$(cut -d, -f5 "$WORK/log.out") ;;
        *)       metric=$(awk -v t="$wall" -v n="$START" 'BEGIN { printf "%.2f", t * 1000 / n }') ;;
      esac
      echo "$w,$v,$r,$wall,$user,$sys,$rss,$faults,$metric,$load" >> "$CSV"
      printf '%-8s %-9s run %d: %6ss wall %6ss cpu %5d MB %8d faults  %s\n' "$w" "$v" "$r" "$wall" \
        "$(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }')" $((rss / 1024)) "$faults" "$metric" >&2
    done
  done
done

# ---- summary -----------------------------------------------------------------
$PY - "$CSV" "$START" <<'PYEOF'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
start = int(sys.argv[2])
units = {"scan": "files/s", "replay": "events/s", "log": "appends/s",
         "index": "ms/start", "version": "ms/start"}
by = {}
for r in rows:
    by.setdefault((r["workload"], r["variant"]), []).append(r)
def med(xs): return statistics.median(xs)
def rng(xs): return "%g-%g" % (min(xs), max(xs))
for w in dict.fromkeys(r["workload"] for r in rows):
    vs = [v for (ww, v) in by if ww == w]
    base = by[(w, vs[0])]
    bw = med([float(r["wall_s"]) for r in base])
    bc = med([float(r["user_s"]) + float(r["sys_s"]) for r in base])
    print("\n%s (%s; ratios: the variant's median / %s's)" % (w, units[w], vs[0]))
    print("%-9s %16s %6s %16s %6s %8s %8s %14s" % ("variant", "wall s", "x", "cpu s",
          "x", "RSS MB", "faults", units[w]))
    for v in vs:
        rs = by[(w, v)]
        wall = [float(r["wall_s"]) for r in rs]
        cpu = [round(float(r["user_s"]) + float(r["sys_s"]), 2) for r in rs]
        rss = med([int(r["peak_rss_kb"]) for r in rs]) / 1024
        flt = med([int(r["minor_faults"]) for r in rs])
        m = [float(r["metric"]) for r in rs]
        print("%-9s %6.2f %9s %6.2f %6.2f %9s %6.2f %8.0f %8.0f %14s" % (v, med(wall), rng(wall),
              med(wall) / bw, med(cpu), rng(cpu), med(cpu) / bc, rss, flt,
              "%g (%s)" % (med(m), rng(m))))
PYEOF
echo "load average now: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores; CSV: $CSV"
