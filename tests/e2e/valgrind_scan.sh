#!/usr/bin/env bash
# valgrind_scan: `dossier scan` of the bundled sample (a fresh log, then a
# rescan after an edit, so both the create and the append paths run), then
# `dossier verify` and `verify --repair` of the result, under
# valgrind --leak-check=full: no leak, no invalid access (exit 0).  Skipped
# (77) without valgrind, and in sanitizer builds (ASan and valgrind cannot
# share a process).
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"

command -v valgrind > /dev/null || { echo "valgrind_scan: valgrind not installed"; exit 77; }
if [ -n "${DOSSIER_SANITIZE:-}" ] || ldd "$BIN" 2>/dev/null | grepq "lib[at]san"; then
  echo "valgrind_scan: sanitizer build"; exit 77
fi
m=$(sample_copy m)
vg() {
  valgrind --leak-check=full --show-leak-kinds=definite,indirect,possible \
    --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99 \
    --num-callers=30 --log-file="$WORK/vg.%p.txt" "$@"
}
rc=0
vg "$BIN" scan "$m" --mission-type software-dev --log "$WORK/log" --jobs 2 -q 2>/dev/null || rc=$?
[ "$rc" -eq 0 ] || { cat "$WORK"/vg.*.txt | tail -60; fail "first scan under valgrind: exit $rc"; }
echo "edited" >> "$m/spec.md"
rm "$m/plan.md"
rc=0
vg "$BIN" scan "$m" --mission-type software-dev --step plan --log "$WORK/log" --jobs 2 -q \
  2>/dev/null || rc=$?
# exit 1: plan.md is now missing (incomplete), which is the scan's verdict, not valgrind's
[ "$rc" -eq 1 ] || { cat "$WORK"/vg.*.txt | tail -60; fail "rescan under valgrind: exit $rc"; }
# and the checker itself, verify and --repair
rc=0
vg "$BIN" verify --log "$WORK/log" -q > /dev/null || rc=$?
[ "$rc" -eq 0 ] || { cat "$WORK"/vg.*.txt | tail -60; fail "verify under valgrind: exit $rc"; }
vg "$BIN" verify --repair --log "$WORK/log" -q > /dev/null || rc=$?
[ "$rc" -eq 0 ] || { cat "$WORK"/vg.*.txt | tail -60; fail "verify --repair under valgrind: exit $rc"; }
grep -h "ERROR SUMMARY\|definitely lost\|indirectly lost\|possibly lost" "$WORK"/vg.*.txt
! grep -q "ERROR SUMMARY: [1-9]" "$WORK"/vg.*.txt || fail "valgrind reported errors"
expect_exit 0 "$BIN" verify --log "$WORK/log" -q
echo "valgrind_scan: two scans, verify and verify --repair clean under valgrind"
