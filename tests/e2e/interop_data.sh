#!/usr/bin/env bash
# The spec-kitty-3 test data (tests/data/interop/, docs/interop.md) holds
# together without any spec-kitty code: expected per-file hashes, WP
# projections and snapshot hashes follow from the files, and the independent
# event validator (tests/support/sk3_validate.py, Debian's python3-jsonschema)
# gives the recorded verdict and messages on our valid and invalid streams.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"
"$PY" "$SRC/tests/support/sk3_check_data.py" "$SRC/tests/data/interop" || fail "interop data"
echo "ok"
