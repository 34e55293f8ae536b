#!/usr/bin/env bash
# dossier index reports a file it cannot open as unreadable with the errno
# text, keeps scanning, and exits 1 when that file is required.  Tests run as
# root, which can read anything, so the binary is run as user nobody
# (setpriv) on a tree where one file is mode 000 and one folder is mode 000.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"

[ "$(id -u)" -eq 0 ] || { echo "skip: needs root to switch to nobody"; exit 77; }
command -v setpriv >/dev/null || { echo "skip: setpriv missing"; exit 77; }
AS_NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups)
"${AS_NOBODY[@]}" "$BIN" index --help >/dev/null 2>&1 \
  || { echo "skip: user nobody cannot run $BIN"; exit 77; }

chmod 755 "$WORK"
M=$(sample_copy mission)
chmod -R a+rX "$M"
chmod 000 "$M/plan.md"
mkdir "$M/locked" && echo x > "$M/locked/inside.md" && chmod 000 "$M/locked"

expect_exit 1 "${AS_NOBODY[@]}" "$BIN" index "$M" --mission-type software-dev --step plan \
  > "$WORK/out" 2> "$WORK/err"
grep -q '"relative_path":"plan.md".*"required_status":"required","present":false,"reason_code":"unreadable","reason_detail":"Permission denied"' "$WORK/out" \
  || fail "unreadable plan.md not reported: $(grep plan.md "$WORK/out")"
grep -q 'warning: locked: directory skipped: cannot open: Permission denied' "$WORK/err" \
  || fail "unreadable folder not warned about: $(cat "$WORK/err")"
# the rest of the mission was still indexed
grep -q '"relative_path":"tasks.md".*"present":true' "$WORK/out" || fail "scan stopped early"
# without --step plan, plan.md is optional: the mission is complete
expect_exit 0 "${AS_NOBODY[@]}" "$BIN" index "$M" --mission-type software-dev -q > /dev/null
echo "ok"
