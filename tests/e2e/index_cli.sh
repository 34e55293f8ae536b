#!/usr/bin/env bash
# dossier index command line: broken manifests are refused before scanning
# with "file:line: what" and exit 2; unknown options, bad --jobs, unknown
# mission types and steps exit 2; an unreadable mission folder exits 3;
# --help documents options and exit status.  Global -q (and
# DOSSIER_LOG_LEVEL=error) silence the summaries of index and scan as their
# own -q does; index's JSON result on stdout stays.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"

M=$(sample_copy mission)
"$BIN" index --help > "$WORK/help" || fail "--help failed"
for s in --manifest --mission-type --step --feature --jobs "Exit status" software-dev research; do
  grep -q -- "$s" "$WORK/help" || fail "--help lacks $s"
done

expect_exit 2 "$BIN" index "$M" --bogus
expect_exit 2 "$BIN" index
expect_exit 2 "$BIN" index "$M" extra-arg
expect_exit 2 "$BIN" index "$M" --jobs 0
expect_exit 2 "$BIN" index "$M" --jobs abc
expect_exit 2 "$BIN" index "$M" --mission-type no-such-type
expect_exit 2 "$BIN" index "$M" --mission-type software-dev --step no-such-step
expect_exit 2 "$BIN" index "$M" --step plan
expect_exit 3 "$BIN" index "$WORK/does-not-exist"

check_manifest() {  # expected "line: text", manifest body
  local want=$1 body=$2 f=$WORK/bad.yaml
  printf '%s' "$body" > "$f"
  local rc=0
  "$BIN" index "$M" --manifest "$f" > "$WORK/mout" 2> "$WORK/merr" || rc=$?
  [ "$rc" -eq 2 ] || fail "manifest '$want': expected exit 2, got $rc"
  [ ! -s "$WORK/mout" ] || fail "manifest '$want': something was printed on stdout"
  grep -qF "$f:$want" "$WORK/merr" || fail "expected '$f:$want' in: $(cat "$WORK/merr")"
}
check_manifest "4: YAML syntax error" $'mission_type: x\nrequired_always:\n  - {artifact_key: a\n'
check_manifest "2: unknown key 'optional'" $'mission_type: x\noptional: []\n'
check_manifest "4: artifact_class 'docs' is not one of" \
  $'mission_type: x\nrequired_always:\n  - artifact_key: a\n    artifact_class: docs\n    path_pattern: a.md\n'
check_manifest "4: duplicate artifact_key 'a' (first defined at line 3)" \
  $'mission_type: x\nrequired_always:\n  - {artifact_key: a, artifact_class: input, path_pattern: a.md}\n  - {artifact_key: a, artifact_class: input, path_pattern: b.md}\n'
check_manifest "3: path_pattern is empty" \
  $'mission_type: x\nrequired_always:\n  - {artifact_key: a, artifact_class: input, path_pattern: ""}\n'
check_manifest "3: blocking: expected true or false" \
  $'mission_type: x\nrequired_always:\n  - {artifact_key: a, artifact_class: input, path_pattern: a, blocking: 1}\n'

# a good custom manifest works, and --feature is printed
printf 'mission_type: custom\nrequired_always:\n  - {artifact_key: k.spec, artifact_class: input, path_pattern: spec.md}\n' > "$WORK/good.yaml"
"$BIN" index "$M" --manifest "$WORK/good.yaml" --feature feat-7 -q > "$WORK/gout" || fail "custom manifest run failed"
grep -q '^{"feature_slug":"feat-7","artifact_key":"k.spec","artifact_class":"input","relative_path":"spec.md"' "$WORK/gout" \
  || fail "custom manifest key not used: $(head -3 "$WORK/gout")"
# global -q: errors only, for index and scan alike; the result stays on stdout
"$BIN" index "$M" > "$WORK/iout" 2> "$WORK/ierr" || fail "index failed"
[ -s "$WORK/ierr" ] || fail "index printed no summary without -q"
"$BIN" -q index "$M" > "$WORK/qout" 2> "$WORK/qerr" || fail "dossier -q index failed"
[ ! -s "$WORK/qerr" ] || fail "dossier -q index printed on stderr: $(cat "$WORK/qerr")"
cmp -s "$WORK/iout" "$WORK/qout" || fail "dossier -q index changed the result on stdout"
"$BIN" scan "$M" --log "$WORK/log" > "$WORK/sout" 2>&1 || fail "scan failed"
grep -q 'completeness' "$WORK/sout" || fail "scan printed no summary: $(cat "$WORK/sout")"
"$BIN" -q scan "$M" --log "$WORK/log" > "$WORK/sqout" 2>&1 || fail "dossier -q scan failed"
[ ! -s "$WORK/sqout" ] || fail "dossier -q scan printed: $(cat "$WORK/sqout")"
DOSSIER_LOG_LEVEL=error "$BIN" scan "$M" --log "$WORK/log" > "$WORK/seout" 2>&1 \
  || fail "scan with DOSSIER_LOG_LEVEL=error failed"
[ ! -s "$WORK/seout" ] || fail "DOSSIER_LOG_LEVEL=error scan printed: $(cat "$WORK/seout")"
# scan -v reports each phase's wall and CPU seconds
"$BIN" scan "$M" --log "$WORK/log" -v > /dev/null 2> "$WORK/verr" || fail "scan -v failed"
grep -Eq 'timings \(wall s / CPU s\): open [0-9.]+/[0-9.]+, walk\+hash [0-9.]+/[0-9.]+, record [0-9.]+/[0-9.]+, projections [0-9.]+/[0-9.]+$' \
  "$WORK/verr" || fail "scan -v: no phase timings in: $(cat "$WORK/verr")"
echo "ok"
