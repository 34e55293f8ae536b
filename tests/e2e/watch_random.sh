#!/usr/bin/env bash
# `dossier watch` under randomized sequences: each step makes 1-4 random
# changes (create, modify, same-content rewrite, chmod, rename within or out
# of the tree, delete, mkdir -p with files, rm -rf, save through a temp
# file), then the watched snapshot must settle to a fresh scan's and the
# run hold exactly the changes.  Seeded (DOSSIER_WATCH_SEED, else random;
# the seed is printed on failure), bounded in steps (8) and in time (40 s).
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"
seed=${DOSSIER_WATCH_SEED:-$RANDOM}
cp -r "$SRC/examples/sample-mission" "$WORK/mission"
rm -rf "$WORK/mission/.dossier"
timeout 300 "$PY" "$SRC/tests/support/watch_seq.py" "$BIN" "$WORK" random "$seed" 8 40 \
  || fail "randomized watch sequences, seed $seed (rerun with DOSSIER_WATCH_SEED=$seed)"
expect_exit 0 "$BIN" verify --log "$WORK/log" -q
echo "watch_random ok (seed $seed)"
