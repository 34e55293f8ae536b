#!/usr/bin/env bash
# Golden test of the command line's error messages and exit codes: each case
# runs the real binary and its exit status and stderr must equal the recorded
# ones in tests/golden/cli_errors.txt.  Regenerate after a deliberate change:
#   DOSSIER_GOLDEN_UPDATE=1 ctest -R cli_golden
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"
golden="$SRC/tests/golden/cli_errors.txt"
cd "$WORK"
mkdir -p empty mission && echo "# spec" > mission/spec.md
printf 'schema_version: "1"\nmission_type: x\nmanifest_version: "1"\nrequired_always:\n  - artifact_key: a\n    artifact_class: nonsense\n    path_pattern: a.md\n    blocking: true\n' > bad.yaml
echo '{"event_id": 1}' > bad.ndjson

cases=(
  ""
  "--bogus"
  "frob"
  "index"
  "index /nonexistent"
  "index mission --jobs 0"
  "index mission --mission-type nope"
  "index mission --manifest bad.yaml"
  "index mission --step plan"
  "scan"
  "scan mission --log empty/log --bogus"
  "scan mission --log"
  "status -q --log /nonexistent --feature"
  "log -n"
  "drift --color=blue"
  "help frob"
  "events --log /nonexistent"
  "events --log empty --limit x"
  "import"
  "import /nonexistent --log empty/log"
  "import bad.ndjson --log empty/log"
  "validate"
  "validate bad.ndjson"
  "status --log /nonexistent"
  "drift --log /nonexistent"
  "replay --projection nope --log empty/log"
  "deliver"
  "endpoint frob"
)
out="$WORK/actual.txt"
: > "$out"
for c in "${cases[@]}"; do
  code=0
  # shellcheck disable=SC2086
  err=$("$BIN" $c 2>&1 >/dev/null) || code=$?
  printf '$ dossier %s\n[exit %d]\n%s\n\n' "$c" "$code" "$err" >> "$out"
done
if [ -n "${DOSSIER_GOLDEN_UPDATE:-}" ]; then
  cp "$out" "$golden"
  echo "cli_golden: updated $golden"
  exit 0
fi
diff -u "$golden" "$out" || fail "CLI errors differ from $golden (DOSSIER_GOLDEN_UPDATE=1 to accept)"
echo "cli_golden: ${#cases[@]} cases match"
