#!/usr/bin/env bash
# Read-only commands run side by side: one of them may hold the log's lock
# while it catches up, and the other then reads the committed state.  When
# that state is current (nothing left to fold), no "another process is
# writing" note is printed: the note is only said when it is true.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"
m=$(sample_copy)
log="$WORK/log"
"$BIN" scan "$m" --mission-type software-dev --log "$log" -q
"$BIN" baseline accept --log "$log" > /dev/null
for i in $(seq 1 40); do
  for c in status snapshot drift log; do
    "$BIN" "$c" --log "$log" > /dev/null 2>> "$WORK/err.$i" &
  done
  wait
done
if grep -qh 'note:' "$WORK"/err.*; then
  fail "a note was printed although nothing was writing: $(grep -h 'note:' "$WORK"/err.* | head -n 1)"
fi
echo "ok"
