# bench/lib.sh - shell functions the bench scripts share; sourced, not run.

# bench_bin [JOBS]: BIN=$DOSSIER_BIN when set, else a Release dossier built
# (BUILD_TESTING off) in $ROOT/build/bench with JOBS parallel jobs (default
# nproc).  ROOT is the top of the source tree.
bench_bin() {
  BIN=${DOSSIER_BIN:-}
  if [ -z "$BIN" ]; then
    BIN=$ROOT/build/bench/dossier
    echo "building Release dossier in build/bench ..." >&2
    cmake -S "$ROOT" -B "$ROOT/build/bench" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
    cmake --build "$ROOT/build/bench" -j"${1:-$(nproc)}" --target dossier >/dev/null
  fi
}
