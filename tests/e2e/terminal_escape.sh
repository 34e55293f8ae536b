#!/usr/bin/env bash
# terminal_escape: file names and feature slugs from a mission reach the
# terminal escaped (issue 17, smaller point).  A file named with an OSC
# sequence (ESC ] 0 ; ... BEL: retitles the window) and a feature slug with a
# CSI sequence (ESC [ 2 J: clears the screen) are printed as \x1b / \x07 by
# scan, snapshot, status, drift, index and in error messages; no ESC or BEL
# byte reaches stdout or stderr.  JSON output keeps them as \u001b.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"

M="$WORK/m"
mkdir -p "$M"
bad_file=$(printf 'a\033]0;owned\007b.md')
bad_slug=$(printf 'f\033[2J')
printf 'x' > "$M/$bad_file"
cat > "$WORK/manifest.yaml" <<'YAML'
schema_version: "1.0"
mission_type: "t"
manifest_version: "1"
required_always:
  - artifact_key: "input.spec"
    artifact_class: "input"
    path_pattern: "a*b.md"
    blocking: true
YAML
LOG="$WORK/log"

clean() {  # WHAT FILE: no ESC or BEL byte in FILE
  if LC_ALL=C grep -q "$(printf '[\033\007]')" "$2"; then
    cat -v "$2"; fail "$1: a raw escape sequence reached the terminal"
  fi
}
run() {  # WHAT cmd...: stdout and stderr checked, exit status ignored
  local what=$1; shift
  "$@" > "$WORK/out" 2>&1 || true
  clean "$what" "$WORK/out"
  cp "$WORK/out" "$WORK/last"
}

run "scan" "$BIN" scan "$M" --manifest "$WORK/manifest.yaml" --feature "$bad_slug" --log "$LOG"
grep -qF 'feature f\x1b[2J' "$WORK/last" || { cat "$WORK/last"; fail "scan: the slug is not shown escaped"; }
run "snapshot" "$BIN" snapshot --log "$LOG" --feature "$bad_slug"
grep -qF 'f\x1b[2J' "$WORK/last" || { cat "$WORK/last"; fail "snapshot: the slug is not shown escaped"; }
run "status" "$BIN" status --log "$LOG"
run "baseline accept" "$BIN" baseline accept --log "$LOG" --feature "$bad_slug"
rm "$M/$bad_file"
run "rescan" "$BIN" scan "$M" --manifest "$WORK/manifest.yaml" --feature "$bad_slug" --log "$LOG"
run "drift" "$BIN" drift --log "$LOG" --feature "$bad_slug"
grep -qF 'a\x1b]0;owned\x07b.md' "$WORK/last" || { cat "$WORK/last"; fail "drift: the path is not shown escaped"; }
printf 'x' > "$M/$bad_file"
mkdir "$M/sub" && ln -s "$M/sub" "$M/sub/$(printf 'loop\033[31m')"
run "index" "$BIN" index "$M" --manifest "$WORK/manifest.yaml" --list-skipped
run "error" "$BIN" scan "$WORK/$(printf 'none\033[2J')" --log "$WORK/log2"
grep -qF 'none\x1b[2J' "$WORK/last" || { cat "$WORK/last"; fail "an error message does not name the folder escaped"; }
"$BIN" snapshot --log "$LOG" --feature "$bad_slug" --json > "$WORK/json" || true
grep -qF 'f\u001b[2J' "$WORK/json" || fail "snapshot --json: the slug is not JSON-escaped"
echo "terminal_escape: names and slugs escaped in text output and errors"
