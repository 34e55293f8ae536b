#!/usr/bin/env bash
# reader_sweep_links: the sweep of stale reader folders in $TMPDIR never
# follows a link.  Planted in the test's own TMPDIR: a symlink named like a
# stale reader folder pointing at a victim folder, and a stale-looking folder
# holding a link to another victim.  After `dossier events` the victims'
# files remain; a genuine stale folder of this user is still swept.  (The
# sweep used to delete every file of the folder a planted link pointed at.)
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"

LOG="$WORK/log"
"$PY" "$SRC/tests/support/gen_envelopes.py" 3 --seed 51 > "$WORK/gen.ndjson"
"$BIN" import --log "$LOG" "$WORK/gen.ndjson" > /dev/null || fail "import"

T="$WORK/tmp"
mkdir -p "$T" "$WORK/victim" "$WORK/victim2"
echo precious > "$WORK/victim/a.txt"
echo precious > "$WORK/victim2/b.txt"
# pids far above any pid_max: their owners do not exist
ln -s "$WORK/victim" "$T/dossier-reader-999999991-aB3xYz"
mkdir "$T/dossier-reader-999999992-Qw7eRt"
ln -s "$WORK/victim2/b.txt" "$T/dossier-reader-999999992-Qw7eRt/LOG"
mkdir "$T/dossier-reader-999999993-Zx9cVb"
echo old > "$T/dossier-reader-999999993-Zx9cVb/LOG"

n=$(TMPDIR="$T" "$BIN" events --log "$LOG" | wc -l)
[ "$n" -eq 3 ] || fail "events printed $n events, expected 3"
[ -f "$WORK/victim/a.txt" ] || fail "the sweep deleted a file through a planted folder link"
[ -f "$WORK/victim2/b.txt" ] || fail "the sweep deleted a file through a planted file link"
[ -L "$T/dossier-reader-999999991-aB3xYz" ] || fail "the planted link itself should be left alone"
[ ! -e "$T/dossier-reader-999999993-Zx9cVb" ] || fail "a stale reader folder was not swept"
[ ! -e "$T/dossier-reader-999999992-Qw7eRt" ] || fail "a stale reader folder holding a link was not swept"
echo "ok: planted links not followed, victims intact, stale folders swept"
