#!/usr/bin/env bash
# `dossier index M | head` (issue 20 item 12): when the reader of the rows
# goes away early, index writes its summary to stderr all the same, in one
# write(2) after the rows, prints no error about the broken pipe and ends
# like a writer killed by SIGPIPE (status 141), whether SIGPIPE was left to
# its default or ignored by the caller.  With the reader staying, the
# summary follows the last row.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"
cd "$WORK"
mkdir m
# more rows than a pipe holds (64 KiB), so the writer meets the closed pipe
for i in $(seq 1 1500); do printf 'artifact %d\n' "$i" > "m/file-with-a-long-name-$i.md"; done

check() {   # check LABEL: $WORK/err and $WORK/status from the run
  local label=$1 st
  st=$(cat "$WORK/status")
  [ "$st" -eq 141 ] || { cat "$WORK/err"; fail "$label: exit $st, expected 141 (SIGPIPE)"; }
  ! grep -qi "broken pipe\|cannot write" "$WORK/err" || fail "$label: error printed: $(cat "$WORK/err")"
  [ "$(grep -c '^dossier index: m: artifacts 1500 total: 1500 present.*completeness: unknown$' "$WORK/err")" -eq 1 ] \
    || { cat "$WORK/err"; fail "$label: the summary is missing or cut"; }
}
set +e   # the pipeline fails by design (pipefail)
"$BIN" index m 2>"$WORK/err" | head -n 1 > "$WORK/rows"
echo "${PIPESTATUS[0]}" > "$WORK/status"
set -e
[ "$(wc -l < "$WORK/rows")" -eq 1 ] || fail "head got no row"
check "SIGPIPE default"
(set +e; trap '' PIPE; "$BIN" index m 2>"$WORK/err" | head -n 1 > /dev/null; echo "${PIPESTATUS[0]}" > "$WORK/status")
check "SIGPIPE ignored"

# one write(2) for the summary, after the rows
if command -v strace >/dev/null; then
  strace -f -qq -s 4096 -e trace=write -e signal=none -o "$WORK/trace" "$BIN" index m >/dev/null 2>&1 || true
  n=$(grep -c 'write(2, .*artifacts 1500 total' "$WORK/trace" || true)
  [ "$n" -eq 1 ] || fail "the summary is not one write to stderr ($n)"
  grep 'write(2, "dossier index: m: artifacts 1500 total' "$WORK/trace" | grepq 'completeness: unknown\\n"' \
    || fail "the summary's write does not hold the whole line"
fi
"$BIN" index m 2>&1 | tail -n 1 | grepq '^dossier index: m: artifacts 1500 total' \
  || fail "the summary does not follow the rows"
echo "index_pipe: ok"
