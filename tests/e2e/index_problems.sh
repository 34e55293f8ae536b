#!/usr/bin/env bash
# dossier index keeps going past broken entries: invalid UTF-8 text becomes
# invalid_format (exit 1 when required), symlink loops, FIFOs, sockets and
# links out of the root are skipped with a warning on stderr, hidden entries
# and the .dossier log folder are never indexed, and nothing hangs on a FIFO.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"

M=$(sample_copy mission)
mkdir -p "$M/.dossier" "$M/notes"
echo "log data" > "$M/.dossier/events"
echo "hidden" > "$M/.secret.md"
printf 'caf\xe9 latin-1\n' > "$M/notes/latin1.md"
ln -s loop-b "$M/loop-a"
ln -s loop-a "$M/loop-b"
ln -s .. "$M/notes/up"
ln -s /etc/passwd "$M/passwd-link"
mkfifo "$M/notes/pipe"
$PY -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])" "$M/notes/sock"

# bounded: a FIFO must never block the scan
timeout 60 "$BIN" index "$M" --mission-type software-dev --list-skipped > "$WORK/out" 2> "$WORK/err" \
  || fail "index should succeed (exit 0): $(cat "$WORK/err")"
grep -q '"relative_path":"notes/latin1.md".*"present":false,"reason_code":"invalid_format","reason_detail":"invalid UTF-8 at byte offset 3"' "$WORK/out" \
  || fail "invalid UTF-8 not reported: $(grep latin1 "$WORK/out")"
for w in "loop-a: symlink loop" "loop-b: symlink loop" "notes/up: symlink loop" \
         "notes/pipe: FIFO skipped" "notes/sock: socket skipped" \
         "passwd-link: symlink points outside the mission root"; do
  grep -q "warning: $w" "$WORK/err" || fail "missing warning '$w' in: $(cat "$WORK/err")"
done
! grep -q -e '\.dossier' -e '\.secret' -e 'passwd' -e 'loop-' -e 'pipe' "$WORK/out" \
  || fail "skipped entries appear in the output"

# a required artifact that is not valid UTF-8 makes the mission incomplete
printf '\xff\xfe' > "$M/spec.md"
expect_exit 1 "$BIN" index "$M" --mission-type software-dev -q > "$WORK/out2"
grep -q '"relative_path":"spec.md".*"required_status":"required","present":false,"reason_code":"invalid_format"' "$WORK/out2" \
  || fail "required invalid spec.md not reported"

# an absent required artifact is printed with the pattern as its path
rm "$M/spec.md"
expect_exit 1 "$BIN" index "$M" --mission-type software-dev > "$WORK/out3" 2> "$WORK/err3"
grep -q '"artifact_key":"input.spec.main","artifact_class":"input","relative_path":"spec.md","content_hash_sha256":null,"size_bytes":0,"wp_id":null,"step_id":null,"required_status":"required","present":false,"reason_code":"not_found"' "$WORK/out3" \
  || fail "absent spec.md not reported: $(cat "$WORK/out3")"
grep -q 'completeness: incomplete' "$WORK/err3" || fail "summary should say incomplete"

# without --list-skipped, warnings are summarised: the first 5 and a count
nall=$(grep -c "warning:" "$WORK/err")
[ "$nall" -gt 5 ] || fail "fixture should skip more than 5 entries (has $nall)"
"$BIN" index "$M" > /dev/null 2> "$WORK/err4" || true
[ "$(grep -c "warning:" "$WORK/err4")" -eq 5 ] || fail "expected a sample of 5 warnings"
grep -q "and $((nall - 5)) more skipped entr.*--list-skipped" "$WORK/err4" || fail "no count of the rest"
# DOSSIER_LOG_LEVEL=error and -q silence warnings; -v / global -v are accepted
DOSSIER_LOG_LEVEL=error "$BIN" index "$M" > /dev/null 2> "$WORK/err5" || true
grep -q "warning:" "$WORK/err5" && fail "DOSSIER_LOG_LEVEL=error should hide warnings"
"$BIN" -q index "$M" > /dev/null 2> "$WORK/err6" || true
grep -q "warning:" "$WORK/err6" && fail "global -q should hide warnings"
"$BIN" -v index "$M" -v > /dev/null 2>&1 || [ $? -eq 1 ] || fail "-v not accepted"
echo "ok"
