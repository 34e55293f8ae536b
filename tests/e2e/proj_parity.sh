#!/usr/bin/env bash
# The snapshot parity hash equals an independent computation (Python hashlib:
# SHA-256 over the sorted, concatenated hex SHA-256 of every present file) on
# a generated tree, and does not change with --jobs or with the order in
# which the files were created.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"

gen() {  # gen DIR ORDER(forward|reverse)
  "$PY" - "$1" "$2" <<'PYEOF'
import os, sys
root, order = sys.argv[1], sys.argv[2]
files = []
for d in range(12):
    for i in range(40):
        body = f"artifact {d}/{i}: {'x' * (i % 13)} \u00e9t\u00e9\n" * (1 + (d * i) % 9)
        if i % 10 == 0:
            body = "duplicate content\n"          # equal hashes are all counted
        files.append((f"area{d}/sub{i % 3}/file{i}.md", body))
files.append(("spec.md", "# Spec\n"))
files.append(("empty.txt", ""))
if order == "reverse":
    files.reverse()
for rel, body in files:
    p = os.path.join(root, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "w", encoding="utf-8") as f:
        f.write(body)
PYEOF
}

expected_parity() {  # expected_parity DIR
  "$PY" - "$1" <<'PYEOF'
import hashlib, os, sys
root = sys.argv[1]
hashes = []
for dirpath, dirnames, filenames in os.walk(root):
    dirnames[:] = [d for d in dirnames if d != ".dossier"]
    for name in filenames:
        with open(os.path.join(dirpath, name), "rb") as f:
            hashes.append(hashlib.sha256(f.read()).hexdigest())
print(hashlib.sha256("".join(sorted(hashes)).encode()).hexdigest())
PYEOF
}

parity_of() {  # parity_of LOG
  "$BIN" snapshot --log "$1" --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["parity_hash_sha256"])'
}

mkdir -p "$WORK/fwd" "$WORK/rev"
gen "$WORK/fwd" forward
gen "$WORK/rev" reverse
want=$(expected_parity "$WORK/fwd")
[ "$want" = "$(expected_parity "$WORK/rev")" ] || fail "generator: trees differ"

"$BIN" scan --feature tree --jobs 1 --log "$WORK/log1" -q "$WORK/fwd"
"$BIN" scan --feature tree --jobs 4 --log "$WORK/log4" -q "$WORK/fwd"
"$BIN" scan --feature tree --jobs 3 --log "$WORK/logr" -q "$WORK/rev"

for l in log1 log4 logr; do
  got=$(parity_of "$WORK/$l")
  [ "$got" = "$want" ] || fail "$l: parity $got, expected $want (Python hashlib)"
done

# the snapshot counts every file once, duplicates included
n=$("$BIN" snapshot --log "$WORK/log1" --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["artifact_counts"]["optional_present"])')
[ "$n" = "482" ] || fail "expected 482 present artifacts, snapshot says $n"

# the derived snapshot event carries the same parity hash
ev=$("$BIN" events --log "$WORK/log4" --type mission_dossier_snapshot_computed | "$PY" -c 'import json,sys; print(json.loads(sys.stdin.readline())["payload"]["parity_hash_sha256"])')
[ "$ev" = "$want" ] || fail "snapshot event parity $ev, expected $want"
echo "parity ok: $want"
