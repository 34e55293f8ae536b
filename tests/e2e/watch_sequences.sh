#!/usr/bin/env bash
# `dossier watch` follows scripted sequences of changes (create, modify,
# same-content rewrite, chmod, touch, renames within / out of / into the
# tree, delete, editors' save patterns, mkdir -p of a deep path, a folder
# moved in and renamed, rm -rf, symlink changes, a required file deleted and
# restored): after each sequence settles the watched log's latest snapshot
# equals a fresh scan's, the one run recorded holds exactly the changes (the
# expected counts are listed with each sequence), and a sequence that changes
# no content records nothing.  Then SIGINT stops it (exit 0), the log passes
# verify and no event_id is stored twice.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"
cp -r "$SRC/examples/sample-mission" "$WORK/mission"
rm -rf "$WORK/mission/.dossier"
timeout 300 "$PY" "$SRC/tests/support/watch_seq.py" "$BIN" "$WORK" scripted \
  || fail "watch sequences"
expect_exit 0 "$BIN" verify --log "$WORK/log" -q
"$BIN" events --log "$WORK/log" > "$WORK/events.ndjson"
dups=$("$PY" -c 'import json,sys,collections
c=collections.Counter(json.loads(l)["event_id"] for l in open(sys.argv[1]) if l.strip())
print(sum(1 for v in c.values() if v > 1))' "$WORK/events.ndjson")
[ "$dups" = 0 ] || fail "$dups event_id(s) stored twice"
"$PY" "$SRC/tests/support/validate_events.py" "$SRC/schemas" "$WORK/events.ndjson" > /dev/null \
  || fail "the watcher's events do not validate"
echo "watch_sequences ok"
