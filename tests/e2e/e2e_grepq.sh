#!/usr/bin/env bash
# grepq (tests/support/e2e_lib.sh) under pipefail: a match while the
# producer is still writing is a success (grep -q alone exits at the match,
# and the producer's SIGPIPE would fail the pipeline); no match fails, and so
# does a producer that fails on its own.  No e2e script or helper pipes into
# grep -q directly.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"

# 6.9 MB after the first line: far more than a pipe and grep's buffer hold
seq 1 1000000 | grepq '^1$' || fail "a match early in a long stream failed the pipeline"
seq 1 1000 | grepq '^x$' && fail "no match succeeded"
{ seq 1 100000; false; } | grepq '^1$' && fail "a failing producer succeeded"
grepq -- '-F x' <<<"a -F x b" || fail "options after -- are the pattern"

hits=$(grep -nE '\|\s*grep\s+(-[a-zA-Z]+\s+)*-[a-zA-Z]*q' "$SRC"/tests/e2e/*.sh \
         "$SRC"/tests/support/*.sh || true)
[ -z "$hits" ] || fail "pipes into grep -q (use grepq, or grep -q PATTERN <<<\"\$out\"):
$hits"
echo "e2e_grepq: ok"
