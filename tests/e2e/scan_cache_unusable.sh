#!/usr/bin/env bash
# A file that is unusable because its text is not valid UTF-8, and has not
# changed since the last scan, is not opened again by a rescan: strace counts
# the opens of a warm scan (plain system calls: DOSSIER_IO_URING=0, since a
# ring's opens are not system calls strace sees).  A changed one is opened
# and its new verdict recorded; one fixed to valid text becomes present.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"
command -v strace > /dev/null || { echo "strace not installed: skipped"; exit 77; }
m="$WORK/mission"
mkdir -p "$m/docs" "$m/notes"
for i in 1 2 3 4 5 6; do
  printf 'bad %d \xff\xfe\n' "$i" > "$m/docs/bad$i.md"
  printf 'good %d\n' "$i" > "$m/notes/good$i.md"
done
touch -d '2020-01-01' "$m"/docs/* "$m"/notes/*
export DOSSIER_IO_URING=0

"$BIN" scan "$m" --log "$WORK/log" -q || fail "first scan"
opens() {  # file of strace output -> count of opens of docs/bad*.md
  grep -c 'openat([^"]*"bad[0-9]\.md"' "$1" || true
}
# (LeakSanitizer cannot run under ptrace: an ASan build checks leaks elsewhere.)
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 strace -f -e trace=openat,open -o "$WORK/warm.trace" "$BIN" scan "$m" --log "$WORK/log" -q \
  || fail "warm scan"
n=$(opens "$WORK/warm.trace")
[ "$n" -eq 0 ] || fail "a warm scan opened $n unchanged files of invalid UTF-8"
# the warm scan really ran the files through the scanner: it knows them
"$BIN" scan "$m" --log "$WORK/log" --json > "$WORK/warm.json" || fail "json scan"
grep -q '"unchanged":12' "$WORK/warm.json" || fail "not every file came from the cache: $(cat "$WORK/warm.json")"

printf 'still bad \xc3' > "$m/docs/bad2.md"          # changed, still invalid
printf 'fixed now\n' > "$m/docs/bad3.md"             # changed, valid
touch -d '2020-01-02' "$m/docs/bad2.md" "$m/docs/bad3.md"
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 strace -f -e trace=openat,open -o "$WORK/changed.trace" "$BIN" scan "$m" --log "$WORK/log" -q \
  || fail "scan after the changes"
n=$(opens "$WORK/changed.trace")
[ "$n" -eq 2 ] || fail "expected the 2 changed files opened, saw $n: $(grep 'bad[0-9]' "$WORK/changed.trace")"
grep -q '"bad2.md"' "$WORK/changed.trace" && grep -q '"bad3.md"' "$WORK/changed.trace" \
  || fail "the changed files were not the ones opened"
"$BIN" snapshot --log "$WORK/log" --json --artifacts > "$WORK/snap.json" || fail "snapshot"
grep -q '"docs/bad3.md"' "$WORK/snap.json" || fail "the fixed file is not in the snapshot"
if grep -q '"docs/bad2.md"' "$WORK/snap.json"; then fail "an invalid file is in the snapshot"; fi
echo "scan_cache_unusable: unchanged invalid files not opened, changed ones re-read"
