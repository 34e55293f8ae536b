#!/usr/bin/env bash
# malloc_policy: the bulk commands re-execute themselves once with glibc's
# malloc tunables (common/malloc_policy.c), keep the same pid and arguments,
# and leave alone a GLIBC_TUNABLES that already tunes malloc; other commands
# and DOSSIER_MALLOC_POLICY=default run with the defaults.  Observed through
# /proc/PID/environ of an `import -` blocked on its standard input.  Skipped
# (77) in sanitizer builds, where the policy is off by design.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"
if [ -n "${DOSSIER_SANITIZE:-}" ]; then echo "malloc_policy: sanitizer build"; exit 77; fi
unset DOSSIER_MALLOC_POLICY GLIBC_TUNABLES

# environ_of CMD_ENV...: start `dossier import -` with the given environment
# assignments, wait until it reads its (empty) standard input, print its
# GLIBC_TUNABLES (or "unset"), then let it finish and check it succeeded.
# glibc splits the variable in place when it parses it (each ':' becomes a
# NUL), so the tunables after the first show in /proc/PID/environ as entries
# of their own, right after it; they are joined back with ':' here.
environ_of() {
  local fifo=$WORK/in.$RANDOM
  mkfifo "$fifo"
  env "$@" "$BIN" import - --log "$WORK/log" < "$fifo" > "$WORK/import.out" 2>&1 &
  local pid=$!
  CLEANUP_PIDS+=("$pid")
  exec 3> "$fifo"                       # the import now blocks reading stdin
  # wait until it blocks in read(0, ...) (x86-64 syscall 0 on fd 0): by then
  # any re-exec has happened, so its environment is final
  local t=0 line=""
  while [ $t -lt 200 ]; do
    case $(cat /proc/$pid/syscall 2>/dev/null) in "0 0x0 "*) break ;; esac
    sleep 0.05; t=$((t + 1))
  done
  [ $t -lt 200 ] || fail "import - never blocked reading its standard input"
  # re-executed or not, it keeps its name (ps, pgrep) and its pid
  local comm
  comm=$(cat /proc/$pid/comm)
  [ "$comm" = "$(basename "$BIN" | cut -c1-15)" ] || fail "the process is called '$comm'"
  line=$(tr '\0' '\n' < /proc/$pid/environ \
         | awk '/^GLIBC_TUNABLES=/ { v = substr($0, 16); on = 1; next }
                on && /^glibc\./ && !/=.*=.*=/ && index($0, "=") { v = v ":" $0; next }
                { on = 0 } END { print v }')
  exec 3>&-
  wait "$pid" || fail "import - failed: $(cat "$WORK/import.out")"
  rm -f "$fifo"
  echo "${line:-unset}"
}

got=$(environ_of)
case $got in
  *glibc.malloc.hugetlb=1*glibc.malloc.mmap_threshold=*glibc.malloc.trim_threshold=*glibc.malloc.arena_max=1*) ;;
  *) fail "a bulk command runs with GLIBC_TUNABLES='$got'" ;;
esac

got=$(environ_of DOSSIER_MALLOC_POLICY=default)
[ "$got" = unset ] || fail "DOSSIER_MALLOC_POLICY=default still set GLIBC_TUNABLES='$got'"

got=$(environ_of GLIBC_TUNABLES=glibc.malloc.arena_max=2)
[ "$got" = glibc.malloc.arena_max=2 ] || fail "the user's malloc tunables became '$got'"

got=$(environ_of GLIBC_TUNABLES=glibc.cpu.hwcaps=-AVX512F)
case $got in
  glibc.cpu.hwcaps=-AVX512F:glibc.malloc.hugetlb=1:*) ;;
  *) fail "other tunables are kept and extended: got '$got'" ;;
esac

# after the exec the scan works as ever, and global options before the
# command survive it: -q silences the warning about a skipped FIFO
mission=$(sample_copy)
mkfifo "$mission/pipe.md"
"$BIN" scan "$mission" --mission-type software-dev --log "$WORK/scanlog" > /dev/null 2> "$WORK/warn.err" \
  || fail "scan failed"
grep -q "pipe.md" "$WORK/warn.err" || fail "no warning about the FIFO: $(cat "$WORK/warn.err")"
"$BIN" -q scan "$mission" --mission-type software-dev --log "$WORK/scanlog" > /dev/null 2> "$WORK/q.err" \
  || fail "scan after re-exec failed"
[ ! -s "$WORK/q.err" ] || fail "-q before the command was lost: $(cat "$WORK/q.err")"
[ "$("$BIN" events --log "$WORK/scanlog" --type mission_dossier_snapshot_computed | wc -l)" -eq 2 ] \
  || fail "the two scans did not record two snapshots"
echo "malloc_policy: ok"
