#!/usr/bin/env bash
# The bundled sample mission is complete for the software-dev manifest by
# default and at every step, every line of the output is a JSON object with
# the documented fields in order, and a .dossier log folder inside it is
# ignored.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"

[ ! -e "$SRC/examples/sample-mission/.dossier" ] || echo "note: source sample has a .dossier folder (ignored)" >&2
M=$(sample_copy sample-mission)
mkdir -p "$M/.dossier" && echo junk > "$M/.dossier/LOCK"
"$BIN" index "$M" --mission-type software-dev > "$WORK/out" 2> "$WORK/err" \
  || fail "sample mission is not complete: $(cat "$WORK/err")"
grep -q 'completeness: complete' "$WORK/err" || fail "summary: $(cat "$WORK/err")"
for step in discovery specify plan implement review done; do
  "$BIN" index "$M" --mission-type software-dev --step "$step" -q > /dev/null \
    || fail "sample mission incomplete at step $step"
done
$PY - "$WORK/out" <<'PYEOF'
import json, sys
fields = ["feature_slug", "artifact_key", "artifact_class", "relative_path",
          "content_hash_sha256", "size_bytes", "wp_id", "step_id", "required_status",
          "present", "reason_code", "reason_detail"]
rows = [json.loads(l) for l in open(sys.argv[1])]
assert rows, "no output"
keys = set()
for r in rows:
    assert list(r) == fields, list(r)
    assert r["feature_slug"] == "sample-mission"
    assert r["artifact_class"] in ("input", "workflow", "output", "evidence", "policy", "runtime")
    assert r["present"] is True
    assert r["artifact_key"] not in keys, r["artifact_key"]
    keys.add(r["artifact_key"])
    assert not r["relative_path"].startswith(".dossier")
wps = sorted(r["wp_id"] for r in rows if r["wp_id"])
assert wps == ["WP01", "WP02", "WP03"], wps
spec = [r for r in rows if r["relative_path"] == "spec.md"][0]
assert spec["required_status"] == "required" and spec["artifact_key"] == "input.spec.main"
PYEOF
echo "ok"
