#!/usr/bin/env bash
# `dossier watch --exclude --profile`: the watcher's runs leave out what the
# pattern matches and hash by the profile, as `scan` does: a file created in
# an excluded folder while watching is never recorded, a file beside it is,
# and the settled snapshot (of profile spec-kitty-3) equals a fresh
# `scan --exclude --profile` of the same tree.  The runs after the starting
# scan cover the changed paths only (--json's paths_only), so the exclusion
# rules and the profile hold on that path too.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"
m="$WORK/mission"
cp -r "$SRC/examples/sample-mission" "$m"
rm -rf "$m/.dossier"
"$BIN" watch "$m" --log "$WORK/log" --exclude 'build/' --profile spec-kitty-3 \
  --debounce 100 --json > "$WORK/runs.ndjson" &
pid=$!
CLEANUP_PIDS+=("$pid")
# the starting scan, then one change inside and one outside the excluded folder
wait_snapshot "$WORK/log"
mkdir -p "$m/build"
echo "object" > "$m/build/a.o"
echo "# new" > "$m/new.md"
wait_recorded "$WORK/log" new.md
kill -TERM $pid
wait $pid || fail "watch did not stop cleanly on SIGTERM"
"$BIN" events --log "$WORK/log" > "$WORK/ev"
! grep -q 'a\.o' "$WORK/ev" || fail "an excluded file was recorded"
parity() {
  "$PY" -c 'import json,sys; d=json.load(sys.stdin); print(d.get("profile"), d["parity_hash_sha256"])'
}
w=$("$BIN" snapshot --log "$WORK/log" --json | parity)
expect_exit 0 "$BIN" scan "$m" --log "$WORK/fresh" --exclude 'build/' --profile spec-kitty-3 -q
f=$("$BIN" snapshot --log "$WORK/fresh" --json | parity)
[ "${w%% *}" = spec-kitty-3 ] && [ "$w" = "$f" ] || fail "watched snapshot $w differs from a fresh scan's $f"
"$PY" - "$WORK/runs.ndjson" > "$WORK/kinds" <<'PYEOF' || fail "run kinds (above)"
import json, sys
runs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert runs and runs[0]["starting"] and not runs[0]["paths_only"], runs[:1]
later = runs[1:]
assert later, "no run after the starting scan"
for r in later:
    assert r["paths_only"] and r["paths"] >= 1, r
print(len(later))
PYEOF
echo "watch_exclude ok"
