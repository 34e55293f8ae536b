#!/usr/bin/env bash
# `dossier log` lists a feature's snapshots newest first with the baseline
# marked; `dossier diff` shows what changed between two of them (baseline or
# previous -> latest by default), exits 0 when equal, 1 when different, 2 for
# an unknown snapshot or nothing to compare with.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"
m=$(sample_copy)
export DOSSIER_LOG="$WORK/log"
"$BIN" scan "$m" --mission-type software-dev -q

expect_exit 2 "$BIN" diff                        # one snapshot, no baseline
"$BIN" diff 2> "$WORK/err" || true
grep -q 'no snapshot before' "$WORK/err" || fail "diff with one snapshot: $(cat "$WORK/err")"
first=$("$BIN" log --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["snapshots"][0]["snapshot_id"])')
"$BIN" baseline accept > /dev/null

rm "$m/spec.md"
echo "one more line" >> "$m/plan.md"
echo "fresh" > "$m/evidence/new-note.txt"
expect_exit 1 "$BIN" scan "$m" --mission-type software-dev -q

# diff: baseline -> latest
expect_exit 1 "$BIN" diff
"$BIN" diff > "$WORK/diff.txt" || true
grep -q "(baseline) -> .* (latest)" "$WORK/diff.txt" || fail "diff header: $(cat "$WORK/diff.txt")"
grep -qE '^-  input\.spec\.main +spec\.md$' "$WORK/diff.txt" || fail "removed spec.md not shown"
grep -qE '^M  output\.plan\.main +plan\.md  [0-9a-f]{12} -> [0-9a-f]{12}$' "$WORK/diff.txt" \
  || fail "changed plan.md not shown"
grep -qE '^\+  path:evidence/new-note\.txt +evidence/new-note\.txt$' "$WORK/diff.txt" \
  || fail "added file not shown"
grep -q '^1 added, 1 removed, 1 changed$' "$WORK/diff.txt" || fail "diff summary"
"$BIN" diff --json > "$WORK/diff.json" || true
"$PY" - "$WORK/diff.json" "$first" <<'PYEOF' || fail "diff --json"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["from"]["snapshot_id"] == sys.argv[2] and d["from"]["role"] == "baseline", d["from"]
assert d["to"]["latest"] is True and d["equal"] is False
assert [c["relative_path"] for c in d["removed"]] == ["spec.md"]
assert [c["relative_path"] for c in d["added"]] == ["evidence/new-note.txt"]
ch = d["changed"][0]
assert ch["relative_path"] == "plan.md" and ch["old_sha256"] != ch["new_sha256"]
assert len(ch["old_sha256"]) == 64 and d["removed"][0]["new_sha256"] is None
PYEOF

# log: newest first, the baseline marked, -n
"$BIN" log > "$WORK/log.txt"
[ "$(grep -c '^01' "$WORK/log.txt")" -eq 2 ] || fail "log should list 2 snapshots: $(cat "$WORK/log.txt")"
sed -n 3p "$WORK/log.txt" | grepq "^$first .* complete .*baseline$" || fail "baseline row: $(cat "$WORK/log.txt")"
sed -n 2p "$WORK/log.txt" | grepq ' incomplete ' || fail "latest row first: $(cat "$WORK/log.txt")"
[ "$("$BIN" log -n 1 | grep -c '^01')" -eq 1 ] || fail "log -n 1"
latest=$("$BIN" log --json | "$PY" -c 'import json,sys; s=json.load(sys.stdin)["snapshots"]; assert s[1]["is_baseline"] and not s[0]["is_baseline"]; print(s[0]["snapshot_id"])')

# named snapshots
expect_exit 0 "$BIN" diff "$latest" "$latest"
"$BIN" diff "$latest" "$latest" | grepq '^no difference' || fail "equal diff text"
expect_exit 1 "$BIN" diff "$latest" "$first"
expect_exit 2 "$BIN" diff 01AAAAAAAAAAAAAAAAAAAAAAAA
expect_exit 2 "$BIN" diff a b c
expect_exit 2 "$BIN" log -n 0
expect_exit 2 "$BIN" log -n
expect_exit 3 "$BIN" log --log "$WORK/nolog"
echo "ok"
