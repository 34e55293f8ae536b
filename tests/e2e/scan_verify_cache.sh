#!/usr/bin/env bash
# --verify-cache re-reads everything and reports a file whose content changed
# while its size and mtime did not (edited, then its mtime restored with
# touch -d): exit 1, the path named on stderr, the entry corrected so a second
# audit is clean.  A plain rescan is not fooled by the same edit either: the
# restored mtime still changed ctime, so the file is re-read and its real
# SHA-256 recorded.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"
H="$SRC/tests/support/scan_runs.py"
m="$WORK/mission"
"$PY" "$H" gen-tree "$m" 120 3
victim=$(find "$m/ab" -name '*.bin' -size +100c | sort | sed -n 1p)
[ -n "$victim" ] || fail "no victim file"
rel=${victim#"$m"/}

edit_keep_stat() {  # same size, other bytes, mtime restored
  local old
  old=$(stat -c %Y "$1")
  "$PY" -c "import sys; p=sys.argv[1]; d=bytearray(open(p,'rb').read()); d[-1]^=0x55; open(p,'wb').write(bytes(d))" "$1"
  touch -d "@$old" "$1"
}

"$BIN" scan "$m" --log "$WORK/log" -q || fail "first scan"
"$BIN" scan "$m" --log "$WORK/log2" -q || fail "first scan (second log)"
edit_keep_stat "$victim"

expect_exit 1 "$BIN" scan "$m" --log "$WORK/log" --verify-cache --json \
  > "$WORK/v1.json" 2> "$WORK/v1.err"
grep -q "verify-cache: $rel: content changed" "$WORK/v1.err" \
  || fail "stale entry not reported: $(cat "$WORK/v1.err")"
[ "$(grep -c 'content changed' "$WORK/v1.err")" = 1 ] || fail "other entries reported: $(cat "$WORK/v1.err")"
"$PY" -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['cache']['stale']==1, d" \
  "$WORK/v1.json" || fail "json stale count"
expect_exit 0 "$BIN" scan "$m" --log "$WORK/log" --verify-cache -q 2> "$WORK/v2.err"
[ ! -s "$WORK/v2.err" ] || fail "second audit not clean: $(cat "$WORK/v2.err")"

# the plain cached rescan records the new content too
"$BIN" scan "$m" --log "$WORK/log2" --json > "$WORK/p.json" || fail "plain rescan"
want=$(sha256sum "$victim" | cut -d' ' -f1)
# (through a file: a reader that stops early would SIGPIPE the writer)
"$BIN" events --log "$WORK/log2" --type mission_dossier_artifact_indexed > "$WORK/ev.ndjson"
"$PY" -c "
import json, sys
run = json.load(open(sys.argv[1]))['run_id']
for line in open(sys.argv[4]):
    e = json.loads(line)
    if e['correlation_id'] == run and e['payload']['relative_path'] == sys.argv[2]:
        assert e['payload']['content_hash_sha256'] == sys.argv[3], e['payload']
        sys.exit(0)
sys.exit('not recorded')" "$WORK/p.json" "$rel" "$want" "$WORK/ev.ndjson" \
  || fail "plain rescan missed the edit"
echo "scan_verify_cache ok"
