#!/usr/bin/env bash
# Text tables stay aligned when keys are longer than the usual column width,
# on a terminal and in a pipe alike: `snapshot --artifacts` (class column),
# `snapshot` (missing required artifacts) and `drift` (changed content).
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"
m=$(sample_copy)
log="$WORK/log"
deep="evidence/a-rather-long-folder-name-for-evidence/and-an-output-file-with-a-long-name.log"
mkdir -p "$m/$(dirname "$deep")" && echo x > "$m/$deep"
"$BIN" scan "$m" --mission-type software-dev --log "$log" -q

# the column after the key starts at one offset on every row
same_column() {  # file word-regex: the offset of the class word on each row
  awk -v re="$2" '{ if (match($0, re)) print RSTART }' "$1" | sort -u | wc -l
}
"$BIN" snapshot --log "$log" --artifacts | sed -n '/^Present artifacts:/,$p' | tail -n +2 > "$WORK/arts"
[ "$(wc -l < "$WORK/arts")" -ge 10 ] || fail "too few artifact rows: $(cat "$WORK/arts")"
[ "$(same_column "$WORK/arts" ' (input|output|workflow|evidence|other|unknown) ')" -eq 1 ] \
  || fail "artifact table not aligned:
$(cat "$WORK/arts")"

"$BIN" baseline accept --log "$log" > /dev/null
echo "changed" >> "$m/$deep"
echo "changed" >> "$m/plan.md"
"$BIN" scan "$m" --mission-type software-dev --log "$log" -q || true
"$BIN" drift --log "$log" > "$WORK/drift" || true
sed -n '/^Changed content/,/^Why:/p' "$WORK/drift" | grep -E '^  [^ ]' > "$WORK/changed"
[ "$(wc -l < "$WORK/changed")" -eq 2 ] || fail "two changed rows expected: $(cat "$WORK/drift")"
[ "$(same_column "$WORK/changed" '  (plan\.md|evidence/)')" -eq 1 ] \
  || fail "drift table not aligned:
$(cat "$WORK/changed")"
echo "ok"
