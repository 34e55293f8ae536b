#!/usr/bin/env bash
# malloc_policy: the dossier binary links jemalloc and configures it itself
# (cli/malloc_policy.c: transparent huge pages, one arena), so every command
# starts once -- a single execve -- and runs on jemalloc with those options;
# MALLOC_CONF from the environment still wins over them.  Observed through
# jemalloc's own statistics (MALLOC_CONF=stats_print:true prints the options
# in effect at exit) and strace.  Skipped (77) in builds that keep the C
# library's malloc: sanitizer builds and -DDOSSIER_ALLOCATOR=system.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"
if [ -n "${DOSSIER_SANITIZE:-}" ]; then echo "malloc_policy: sanitizer build"; exit 77; fi
alloc=$(sed -n 's/^DOSSIER_ALLOCATOR:[A-Z]*=//p' "${DOSSIER_BUILD:?}/CMakeCache.txt")
if [ "$alloc" = system ]; then echo "malloc_policy: built with the system malloc"; exit 77; fi
unset MALLOC_CONF

# linked from its archive (DOSSIER_STATIC_DEPS), the binary defines and
# exports malloc itself; otherwise it needs libjemalloc
readelf -d "$BIN" | grepq 'NEEDED.*libjemalloc' \
  || nm -D --defined-only "$BIN" | grepq -w malloc || fail "$BIN does not link jemalloc"

mission=$(sample_copy)

# opts_of [VAR=VALUE...]: run the bulk command `index` with jemalloc's
# statistics printed at exit; print the options jemalloc ran with
opts_of() {
  env "$@" "$BIN" index "$mission" -q > /dev/null 2> "$WORK/stats.err" \
    || fail "index failed: $(head -5 "$WORK/stats.err")"
  grep -q 'Begin jemalloc statistics' "$WORK/stats.err" \
    || fail "no jemalloc statistics: the command did not run on jemalloc ($*)"
  grep -E '^ +opt\.(narenas|thp|metadata_thp):' "$WORK/stats.err" | tr -s ' ' | sort
}
got=$(opts_of MALLOC_CONF=stats_print:true)
want=$(printf ' opt.metadata_thp: "auto"\n opt.narenas: 1\n opt.thp: "always"\n')
[ "$got" = "$want" ] || fail "the built-in jemalloc options are not in effect: got '$got'"

# the user's MALLOC_CONF is read after the built-in options and wins
got=$(opts_of MALLOC_CONF=stats_print:true,narenas:3,thp:default)
want=$(printf ' opt.metadata_thp: "auto"\n opt.narenas: 3\n opt.thp: "default"\n')
[ "$got" = "$want" ] || fail "MALLOC_CONF did not override the built-in options: got '$got'"

# a bulk command starts once: one execve of the binary (the glibc tunables
# re-exec it replaces was a second one), and it still works
command -v strace > /dev/null || { echo "malloc_policy: strace not installed"; exit 77; }
strace -o "$WORK/execve.txt" -e trace=execve \
  "$BIN" scan "$mission" --mission-type software-dev --log "$WORK/log" > /dev/null 2>&1 \
  || fail "scan under strace failed"
n=$(grep -c '^execve(' "$WORK/execve.txt")
[ "$n" -eq 1 ] || fail "scan executed $n times: $(cat "$WORK/execve.txt")"
[ "$("$BIN" events --log "$WORK/log" --type mission_dossier_snapshot_computed | wc -l)" -eq 1 ] \
  || fail "the scan did not record its snapshot"
echo "malloc_policy: ok"
