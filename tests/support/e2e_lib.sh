# Shared helpers for end-to-end tests (source "$DOSSIER_SRC/tests/support/e2e_lib.sh").
# Provides: $BIN, $SRC, $WORK (a temp dir removed on exit), fail, grepq, expect_exit, PY,
# build_helper (a C helper against libdossier.a), sample_copy, start_watcher, ...
set -euo pipefail
BIN=${DOSSIER_BIN:?DOSSIER_BIN not set (run through ctest)}
SRC=${DOSSIER_SRC:?DOSSIER_SRC not set}
PY=/usr/bin/python3
WORK=$(mktemp -d "${TMPDIR:-/tmp}/dossier-e2e.XXXXXX")
declare -a CLEANUP_PIDS=()
# Kill what is left of the background processes this test started.  Only
# this shell's own children: a listed process that ended long ago may have
# left its PID to someone else -- once, another test running beside a long
# crash loop was SIGKILLed by this cleanup.
cleanup() {
  local p
  for p in "${CLEANUP_PIDS[@]:-}"; do
    [ -n "$p" ] || continue
    # /proc/PID/stat: "pid (comm) state ppid ..."
    [ "$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | cut -d' ' -f2)" = "$$" ] || continue
    kill -9 "$p" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

# producer | grepq ARGS...: grep -q ARGS, then the rest of the input is read.
# grep -q stops at its first match; a producer still writing would then die
# of SIGPIPE, and pipefail would fail a pipeline that matched.  The status
# is grep's, and pipefail still reports a producer that failed on its own.
grepq() {
  local rc=0
  grep -q "$@" || rc=$?
  cat > /dev/null
  return "$rc"
}

# scaled N: how many rounds a repetition loop (kill loop, writer race) runs.
# N in a plain build; a third of N (at least 4) in a sanitizer build, whose
# checks see the same code paths in the first rounds already while each
# round costs several times more -- the Release pass runs all N, and the
# sanitizer pass has to fit CI's time budget.
scaled() {
  local n=$1
  if [ -n "${DOSSIER_SANITIZE:-}" ]; then
    n=$(( (n + 2) / 3 ))
    [ "$n" -ge 4 ] || n=4
  fi
  echo "$n"
}

# expect_exit CODE cmd...: run cmd, fail unless it exits with CODE.
expect_exit() {
  local want=$1; shift
  local got=0
  "$@" || got=$?
  [ "$got" -eq "$want" ] || fail "expected exit $want, got $got: $*"
}

# build_helper NAME WHAT: compile tests/e2e/NAME.c against this build's
# libdossier.a (with its sanitizers) into $WORK/NAME; WHAT names it in the
# failure message.
build_helper() {
  local name=$1 what=$2 build=${DOSSIER_BUILD:?DOSSIER_BUILD not set}
  local libs san cflags=""
  libs="$(pkg-config --libs openssl libxxhash msgpack rocksdb yaml-0.1 libcurl libisal) -lpthread -lm"
  if pkg-config --exists libnats; then libs="$libs $(pkg-config --libs libnats)"; fi
  san=$(sed -n 's/^DOSSIER_SANITIZE:STRING=//p' "$build/CMakeCache.txt")
  [ -n "$san" ] && cflags="-fsanitize=$san"
  # shellcheck disable=SC2086
  cc -std=c11 $cflags -I"$SRC/include" -o "$WORK/$name" "$SRC/tests/e2e/$name.c" \
    "$build/libdossier.a" $libs || fail "cannot build the $what"
}

# A copy of the bundled sample mission in $WORK/<name>.
sample_copy() {
  local name=${1:-sample-mission}
  cp -r "$SRC/examples/sample-mission" "$WORK/$name"
  rm -rf "$WORK/$name/.dossier"
  echo "$WORK/$name"
}

# flush_to_tables LOG: move what LOG's WAL holds into table files.  A writer's
# open keeps what it replays in memory (the WAL stays) and a writer flushes at
# close once the WAL is spread over 8 files (eventlog/log_flush.c), so 8
# writer sessions (replay) end with a flush.
flush_to_tables() {
  local i
  for i in 1 2 3 4 5 6 7 8; do "$BIN" replay --log "$1" > /dev/null; done
  ls "$1" > "$WORK/flush_to_tables.ls"
  grep -q '\.sst$' "$WORK/flush_to_tables.ls" || fail "no table file in $1 after 8 writer sessions"
}

# wait_snapshot LOG: poll until LOG holds a snapshot (a watcher running in
# the background has recorded its starting scan), for up to 30 s; what the
# test does next checks the outcome.
wait_snapshot() {
  local _
  for _ in $(seq 1 300); do
    "$BIN" snapshot --log "$1" --json > /dev/null 2>&1 && return 0
    sleep 0.1
  done
}

# wait_recorded LOG NAME: poll LOG's events (into $WORK/ev, then grep: grep
# -q closing a pipe early would fail it under pipefail) until one names the
# path NAME, for up to 30 s; fail "NAME was not recorded" otherwise.  For a
# watcher running in the background.
wait_recorded() {
  local _
  for _ in $(seq 1 300); do
    "$BIN" events --log "$1" > "$WORK/ev" 2> /dev/null
    grep -q "\"$2\"" "$WORK/ev" && return 0
    sleep 0.1
  done
  fail "$2 was not recorded"
}

# start_watcher LOG ARGS...: `dossier watch ARGS... --log LOG` in the
# background (its output in $WORK/watch.out and watch.err), its pid in
# WATCH_PID; returns once its starting scan is recorded and its answering
# socket is there.
start_watcher() {
  local log=$1; shift
  "$BIN" watch "$@" --log "$log" > "$WORK/watch.out" 2> "$WORK/watch.err" &
  WATCH_PID=$!
  CLEANUP_PIDS+=("$WATCH_PID")
  wait_snapshot "$log"
  [ -S "$log/watch.sock" ] || fail "no socket in the watcher's log folder: $(cat "$WORK/watch.err")"
}
