#!/usr/bin/env bash
# bench/scan.sh - how fast is `dossier index` against the usual shell peers?
#
# Generates (once, under bench/work/, which git ignores):
#   (a) small: 100,000 files of 256 B - 8 KiB in 100 folders
#   (b) big:   8 files of 256 MiB
# warms the page cache, then times, in the same run:
#   dossier index DIR --jobs $(nproc)
#   find DIR -type f -print0 | xargs -0 -P$(nproc) sha256sum
#   find DIR -type f -print0 | xargs -0 -P$(nproc) openssl dgst -sha256
# Each command runs RUNS times (default 3); the best time counts.  The table
# prints wall seconds, throughput, the ratio peer_time / dossier_time (above
# 1: dossier is faster), and the same for CPU time (user + sys).  Targets: (a) >= 2x parallel sha256sum; (b) >= 0.9x the
# parallel openssl rate.  A CSV copy goes to bench/results/.
#
# Environment: DOSSIER_BIN (default: build/bench/dossier, built here as
# Release when missing), RUNS, JOBS (default nproc), XARGS_N (files per
# sha256sum/openssl process for (a); default: xargs' own batching).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORKDIR=$ROOT/bench/work
RESULTS=$ROOT/bench/results
RUNS=${RUNS:-3}
JOBS=${JOBS:-$(nproc)}
PY=/usr/bin/python3

BIN=${DOSSIER_BIN:-$ROOT/build/bench/dossier}
if [ ! -x "$BIN" ]; then
  echo "building Release dossier into build/bench ..." >&2
  cmake -S "$ROOT" -B "$ROOT/build/bench" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
  cmake --build "$ROOT/build/bench" -j"$JOBS" --target dossier >/dev/null
fi

# ---- data -------------------------------------------------------------------
gen_small() {
  local dir=$WORKDIR/small
  [ -f "$dir/.complete" ] && return
  rm -rf "$dir"; mkdir -p "$dir"
  echo "generating 100,000 small files ..." >&2
  $PY - "$dir" <<'PYEOF'
import os, random, sys
root = sys.argv[1]
rng = random.Random(42)
for d in range(100):
    sub = os.path.join(root, "d%03d" % d)
    os.mkdir(sub)
    for i in range(1000):
        n = rng.randint(256, 8192)
        with open(os.path.join(sub, "f%04d.%s" % (i, "md" if i % 4 == 0 else "bin")), "wb") as f:
            if i % 4 == 0:   # text artifacts take the UTF-8 check path too
                f.write((b"# notes %d\n" % i + b"lorem ipsum dolor sit amet " * 400)[:n])
            else:
                f.write(rng.randbytes(n))
PYEOF
  touch "$dir/.complete"
}
gen_big() {
  local dir=$WORKDIR/big
  [ -f "$dir/.complete" ] && return
  rm -rf "$dir"; mkdir -p "$dir"
  echo "generating 8 x 256 MiB ..." >&2
  for i in 1 2 3 4 5 6 7 8; do
    head -c $((256 * 1024 * 1024)) /dev/urandom > "$dir/blob$i.bin"
  done
  touch "$dir/.complete"
}
gen_small
gen_big

warm() { find "$1" -type f -print0 | xargs -0 cat > /dev/null; }

# best_of CMD: runs CMD RUNS times; prints "wall cpu" (seconds) of the run
# with the best wall time.  cpu = user + sys of the command and its children:
# on a shared machine wall time swings with other load, CPU time much less.
best_of() {
  local best="" bcpu=""
  for _ in $(seq 1 "$RUNS"); do
    /usr/bin/time -o "$TIMES" -f '%e %U %S' bash -c "$1" > /dev/null 2>&1 \
      || { echo "command failed: $1" >&2; exit 1; }
    read -r w u s < "$TIMES"
    if [ -z "$best" ] || $PY -c "import sys; sys.exit(0 if $w < $best else 1)"; then
      best=$w; bcpu=$($PY -c "print('%.2f' % ($u + $s))")
    fi
  done
  echo "$best $bcpu"
}

mkdir -p "$RESULTS"
TIMES=$(mktemp)
trap 'rm -f "$TIMES"' EXIT
CSV=$RESULTS/scan-$(date -u +%Y%m%dT%H%M%SZ).csv
echo "dataset,tool,seconds,cpu_seconds,files,bytes,mib_per_s,peer_over_dossier,cpu_peer_over_dossier,command" > "$CSV"

XN=${XARGS_N:+-n $XARGS_N}
declare -A T C
printf '\n%-6s %-10s %9s %9s %9s %11s %9s\n' "data" "tool" "seconds" "MiB/s" "ratio" "cpu-seconds" "cpu-ratio"
for ds in small big; do
  dir=$WORKDIR/$ds
  files=$(find "$dir" -type f ! -name .complete | wc -l)
  bytes=$(find "$dir" -type f ! -name .complete -printf '%s\n' | awk '{s+=$1} END {print s}')
  warm "$dir"
  nflag=$XN
  [ "$ds" = big ] && nflag="-n 1"      # one 256 MiB file per process
  declare -A CMD=(
    [dossier]="'$BIN' index '$dir' --jobs $JOBS -q"
    [sha256sum]="find '$dir' -type f ! -name .complete -print0 | xargs -0 -P$JOBS $nflag sha256sum"
    [openssl]="find '$dir' -type f ! -name .complete -print0 | xargs -0 -P$JOBS $nflag openssl dgst -sha256"
  )
  for tool in dossier sha256sum openssl; do
    read -r T[$ds.$tool] C[$ds.$tool] <<< "$(best_of "${CMD[$tool]}")"
  done
  for tool in dossier sha256sum openssl; do
    t=${T[$ds.$tool]} c=${C[$ds.$tool]}
    rate=$($PY -c "print('%.1f' % ($bytes / 1048576 / $t))")
    ratio=$($PY -c "print('%.2f' % ($t / ${T[$ds.dossier]}))")
    cratio=$($PY -c "print('%.2f' % ($c / max(${C[$ds.dossier]}, 0.01)))")
    printf '%-6s %-10s %9s %9s %8sx %11s %8sx\n' "$ds" "$tool" "$t" "$rate" "$ratio" "$c" "$cratio"
    echo "$ds,$tool,$t,$c,$files,$bytes,$rate,$ratio,$cratio,\"${CMD[$tool]//\"/\"\"}\"" >> "$CSV"
  done
done

a=$($PY -c "print('%.2f' % (${T[small.sha256sum]} / ${T[small.dossier]}))")
b=$($PY -c "print('%.2f' % (${T[big.openssl]} / ${T[big.dossier]}))")
echo
ca=$($PY -c "print('%.2f' % (${C[small.sha256sum]} / ${C[small.dossier]}))")
cb=$($PY -c "print('%.2f' % (${C[big.openssl]} / ${C[big.dossier]}))")
echo "(a) small files: dossier is ${a}x parallel sha256sum   (target >= 2.00x; CPU time ${ca}x)"
echo "(b) big files:   dossier rate is ${b}x parallel openssl (target >= 0.90x; CPU time ${cb}x)"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (other load skews wall times)"
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores; jobs=$JOBS; best of $RUNS"
echo "CSV: $CSV"
